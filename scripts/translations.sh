#!/usr/bin/env bash
# The dashboard's message catalogues (Flask-Babel, hotline/dashboard/translations/):
#   scripts/translations.sh            extract the strings, update es.po, compile the .mo files
#   scripts/translations.sh --check    fail if a string is not translated (tests/dashboard/test_i18n.py does too)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
DIR=hotline/dashboard/translations
"$BIN/pybabel" -q extract -F "$DIR/babel.cfg" -k lazy_gettext -k _l -k words -k Refusal -k ActionError \
    -k TransitionError -k UserError -k TokenError -k CannotSend -k OverrideError --no-location \
    --sort-output --omit-header -o "$DIR/messages.pot" .
if [ ! -f "$DIR/es/LC_MESSAGES/messages.po" ]; then
    "$BIN/pybabel" -q init -i "$DIR/messages.pot" -d "$DIR" -l es
else
    "$BIN/pybabel" -q update -i "$DIR/messages.pot" -d "$DIR" -l es --no-fuzzy-matching \
        --ignore-obsolete
fi
if [ "${1:-}" = "--check" ]; then
    untranslated=$("$BIN/python" - "$DIR/es/LC_MESSAGES/messages.po" <<'PY'
import sys
from babel.messages.pofile import read_po
with open(sys.argv[1], "rb") as f:
    catalog = read_po(f)
print(sum(1 for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))))
PY
)
    [ "$untranslated" = 0 ] || { echo "$untranslated strings not translated in es.po"; exit 1; }
fi
"$BIN/pybabel" -q compile -d "$DIR" --statistics
