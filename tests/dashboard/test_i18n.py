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
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def _catalog():
    with PO.open("rb") as handle:
        return read_po(handle)


# the refusals the dashboard shows from outside it (hotline/core/refusals.py), as babel.cfg
REFUSALS = ("words", "Refusal", "ActionError", "TransitionError", "UserError", "TokenError",
            "CannotSend", "OverrideError")


def _extracted() -> set[str]:
    method_map = [("dashboard/**.py", "python"), ("dashboard/templates/**.html", "jinja2"),
                  ("incidents/**.py", "python"), ("accounts/**.py", "python"),
                  ("routing/**.py", "python"), ("intake/conversation.py", "python"),
                  ("api/payloads.py", "python")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
                "_l": None, **dict.fromkeys(REFUSALS)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(DASHBOARD.parent), method_map, keywords=keywords):
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


def _spanish_dispatcher(app, client) -> None:
    make_user(app, "d@example.org", "dispatcher")
    with app.app_context():
        db.session.scalar(select(User).where(User.email == "d@example.org")).ui_language = "es"
        db.session.commit()
    login(client, "d@example.org")


def test_stored_values_read_in_spanish_and_stay_slugs_in_the_api(app, client, seeded):
    """Before, the Spanish incident page showed the timeline's kinds ("report added"), alerts'
    kinds and statuses, SALUTE words and credibility reasons in English."""
    code = seeded["chicago"]
    _spanish_dispatcher(app, client)
    assert post_form(client, f"/incidents/{code}/actions", {"action": "verify"}).status_code \
        == 302
    page = client.get(f"/incidents/{code}").text
    assert "— creado" in page and "— report added" not in page
    assert "verificadores consultados" in page  # verifiers_asked
    # a status change, in words, and why
    assert "cambio de estado" in page and "verificando → verificado (decisión del despacho)" \
        in page and "verificado → enviado a abogados" in page
    assert "aviso al abogado" in page  # the alert kind "page"
    assert "vehículos sin marcas" in page and "unmarked vehicles" not in page  # SALUTE
    assert "corroboración" in page and "1 reportante independiente" in page
    assert "independent reporter" not in page
    assert 'data-alert-status="' in page  # the slug stays for scripts and tests
    from hotline.accounts import tokens
    with app.app_context():
        _row, token = tokens.create_token(db.session, "reader", role="dispatcher")
        db.session.commit()
    api = client.get(f"/api/v1/incidents/{code}", headers={
        "Authorization": f"Bearer {token}", "Accept-Language": "es"})
    assert api.status_code == 200  # the API keeps slugs and English
    body = api.get_json()
    assert {"created", "verifiers_asked"} <= {e["kind"] for e in body["timeline"]}
    assert {"factor": "corroboration", "weight": 0.2, "reporters": 1,
            "detail": "1 independent reporter"} in body["score_reasons"]


def test_refusals_from_outside_the_dashboard_read_in_spanish(app, client, seeded):
    """Before, an action, a text or an override refused by the domain was flashed in English
    on the Spanish dashboard."""
    code = seeded["chicago"]
    _spanish_dispatcher(app, client)
    post_form(client, f"/incidents/{code}/actions", {"action": "verify"})
    refused = post_form(client, f"/incidents/{code}/actions", {"action": "dismiss"},
                        page=f"/incidents/{code}")
    assert refused.status_code == 302
    page = client.get(f"/incidents/{code}").text
    assert "dismiss: no se ofrece en un incidente enviado a abogados" in page
    assert "not offered" not in page
    missing = post_form(client, f"/incidents/{code}/actions",
                        {"action": "merge", "into": "ZZZZ"}, page=f"/incidents/{code}")
    assert missing.status_code == 302
    assert "into: no hay incidente &#39;ZZZZ&#39;" in client.get(f"/incidents/{code}").text
    empty = post_form(client, f"/incidents/{code}/message-responders", {"text": "  "},
                      page=f"/incidents/{code}")
    assert "escriba algo para enviar" in (empty.text + client.get(f"/incidents/{code}").text)
    # the same refusal stays English where no person's language is known: the domain's text
    from hotline.incidents import actions
    with app.app_context():
        from hotline.incidents import lifecycle
        incident = lifecycle.get_by_code(db.session, code)
        try:
            actions.apply_action(db.session, incident, {"action": "dismiss"}, "test")
        except actions.ActionError as exc:
            assert str(exc).startswith("dismiss: not offered on a routed incident")
            assert exc.status == 409
        else:
            raise AssertionError("dismiss was applied to a routed incident")
        db.session.rollback()


def test_an_override_refused_reads_in_spanish(app, client, seeded):
    _spanish_dispatcher(app, client)
    with app.app_context():
        from hotline.models import LegalNetwork
        network = db.session.scalar(select(LegalNetwork).where(
            LegalNetwork.slug == "chicago-legal"))
        rotation = network.rotations[0].name
    response = post_form(client, "/oncall/chicago-legal/overrides",
                         {"schedule": f"rotation:{rotation}", "responder": "nobody-here",
                          "start": "2030-01-01 10:00", "end": "2030-01-01 12:00"},
                         page="/oncall/chicago-legal")
    assert response.status_code == 400
    assert "&#39;nobody-here&#39; no es miembro de" in response.text
    assert "is not a member" not in response.text
