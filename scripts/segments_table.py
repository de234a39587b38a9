"""Print, as a Markdown table, how many SMS segments each template costs in each configured
language (placeholders as written; GSM-7: 160/153 characters, UCS-2: 70/67).

    .venv/bin/python scripts/segments_table.py [--reporters]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.core.languages import load_languages  # noqa: E402
from hotline.messaging.segments import encoding, segments  # noqa: E402
from hotline.messaging.templates import REPORTER_FACING, REQUIRED  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reporters", action="store_true",
                        help="only the texts reporters read")
    args = parser.parse_args(argv)
    languages = load_languages(ROOT / "config")
    data = languages.templates()
    tags = [tag for code in languages.codes for tag in
            (code, *(f"{code}-{s}" for s in languages.by_code[code].variants))]
    names = [n for n in sorted(REQUIRED) if not args.reporters or n in REPORTER_FACING]
    print("| template | " + " | ".join(tags) + " |")
    print("|---|" + "---|" * len(tags))
    for name in names:
        cells = []
        for tag in tags:
            text = data[name][tag]
            mark = "" if encoding(text) == "GSM-7" else "u"
            cells.append(f"{segments(text)}{mark}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n(u: UCS-2, 70 characters a segment; otherwise GSM-7, 160)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
