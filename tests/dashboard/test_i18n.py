"""The dashboard's own words in English and Spanish (issue 18, part 6): Flask-Babel catalogues,
chosen per user (kept with the account), else by the browser, else English; every string the
dashboard shows is in the Spanish catalogue, with the same placeholders, and the compiled `.mo`
matches the `.po`."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.support import Translations
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import AuditLog, User
from tests.dashboard.conftest import login, make_user, post_form

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "hotline" / "dashboard"
PO = DASHBOARD / "translations" / "es" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog():
    with PO.open("rb") as handle:
        return read_po(handle)


def _extracted() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
                "_l": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(DASHBOARD), method_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_dashboard_string_has_its_spanish_with_the_same_placeholders():
    catalog = _catalog()
    extracted = _extracted()
    assert len(extracted) > 300  # the dashboard's words, not a handful
    missing, empty, mismatched = [], [], []
    for msgid in sorted(extracted):
        message = catalog.get(msgid)
        if message is None:
            missing.append(msgid)
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            empty.append(msgid)
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        if any(set(PLACEHOLDER.findall(s)) - wanted or
               (wanted - {"num"}) - set(PLACEHOLDER.findall(s)) for s in strings):
            mismatched.append(msgid)
    assert not missing, missing[:10]
    assert not empty, empty[:10]
    assert not mismatched, mismatched[:10]


def test_the_compiled_catalogue_matches_the_po():
    compiled = Translations.load(str(DASHBOARD / "translations"), ["es"])
    for message in _catalog():
        if not message.id or isinstance(message.id, tuple):
            continue
        assert compiled.gettext(message.id) == message.string, message.id


def test_english_by_default_and_spanish_for_a_spanish_browser(client, app):
    assert 'lang="en"' in client.get("/login").text
    page = client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}).text
    assert 'lang="es"' in page and "Iniciar sesión" in page


def test_a_user_s_choice_is_kept_with_the_account_and_wins_over_the_browser(app, client):
    make_user(app, "d@example.org", "dispatcher")
    login(client, "d@example.org")
    assert ">Board<" in client.get("/").text
    response = post_form(client, "/account/language", {"language": "es", "next": "/oncall"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/oncall")
    board = client.get("/", headers={"Accept-Language": "en"}).text
    assert 'lang="es"' in board and ">Tablero<" in board
    with app.app_context():
        assert db.session.scalar(select(User.ui_language)) == "es"
        assert db.session.scalar(select(AuditLog.action).where(
            AuditLog.action == "account.language"))
    assert post_form(client, "/account/language", {"language": "fr"}).status_code == 302
    assert ">Tablero<" in client.get("/").text  # an unknown language changes nothing
    post_form(client, "/account/language", {"language": "en", "next": "//evil.example"})
    assert client.get("/").text.count(">Board<") >= 1


def test_spanish_pages_still_escape_what_people_wrote(app, client, twilio):
    from tests.dashboard.conftest import run_jobs

    twilio.post_sms(client, "<b>ICE</b> at Western and 47th Chicago", from_number="+13125550166")
    run_jobs(app)
    make_user(app, "d@example.org", "dispatcher")
    with app.app_context():
        db.session.scalar(select(User)).ui_language = "es"
        db.session.commit()
    login(client, "d@example.org")
    html = client.get("/").text
    assert "<b>ICE</b>" not in html and ">Tablero<" in html
