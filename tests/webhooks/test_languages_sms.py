"""Answered in the language written in: a signed SMS in each language gets its own
acknowledgement; an unclear first message gets the choice; a language's name switches it;
keywords in every language; Twilio's OptOutType wins."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.core.languages import load_languages
from hotline.messaging.templates import load_templates
from hotline.models import Reporter
from tests.conftest import drain

CONFIG = Path(__file__).resolve().parents[2] / "config"
TEMPLATES = load_templates(CONFIG)


def _reply(response) -> str:  # noqa: ANN001
    text = unescape(response.text)
    start, end = text.find("<Message>"), text.find("</Message>")
    return text[start + len("<Message>"):end] if start >= 0 else ""


@pytest.mark.parametrize(("body", "tag"), [
    ("Ajan ICE yo nan Flatbush ak Church Ave kounye a, yo ap arete moun", "ht"),
    ("ICE 在 Canal St 和 Mott St 路口 抓人，三辆车", "zh"),
    ("唐人街有移民局的人在抓人，還有兩輛車", "zh-Hant"),
    ("co ICE o duong Bolsa va Magnolia bay gio, nhieu xe lam", "vi"),
    ("Cảnh sát di trú đang bắt người ở chợ trên đường Story", "vi"),
    ("tem agentes da imigração na esquina da rua, estão prendendo gente agora", "pt"),
    ("코리아타운 Western Ave 에 이민국 단속 지금 3명", "ko"),
    ("May ICE sa kanto ng Vermont at Beverly ngayon, hinuli nila yung tatlong tao", "tl"),
    ("الهجرة في باي ريدج الآن على 5th Ave، اعتقلوا رجلين", "ar"),
    ("des agents de l'immigration arrêtent des gens devant l'école en ce moment", "fr"),
    ("Агенты ICE на Brighton Beach Ave сейчас, задерживают людей", "ru"),
    ("জ্যাকসন হাইটসে এখন ICE এসেছে, লোকজনকে ধরছে", "bn"),
    ("Agenci ICE na rogu Milwaukee i Division, zatrzymują ludzi teraz", "pl"),
])
def test_a_report_is_acknowledged_in_its_own_language(sms_app, twilio, body, tag):
    client = sms_app.test_client()
    reply = _reply(twilio.post_sms(client, body, from_number="+17185550140"))
    assert reply == TEMPLATES.text("ack", tag), (tag, reply)
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.language)) == tag  # remembered


def test_an_unclear_first_message_offers_the_languages_and_a_name_switches(sms_app, twilio):
    client = sms_app.test_client()
    sender = "+12155550177"  # Philadelphia: its languages are offered first
    reply = _reply(twilio.post_sms(client, "ICE 19107", from_number=sender))
    assert reply.startswith(TEMPLATES.text("language_choice", "en"))
    assert TEMPLATES.text("language_choice", "es") in reply
    languages = load_languages(CONFIG)
    for code in ("en", "es", "zh", "vi", "ht", "pt"):  # Philadelphia's own, in its order
        assert languages.name(code) in reply
    assert reply.index("Kreyòl") < reply.index("Português")
    switched = _reply(twilio.post_sms(client, "Kreyòl", from_number=sender))
    assert switched == TEMPLATES.text("language_set", "ht")
    # later messages, however short, are answered in the remembered language
    assert _reply(twilio.post_sms(client, "ICE 19107", from_number=sender)) == \
        TEMPLATES.text("ack", "ht")
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.language)) == "ht"


@pytest.mark.parametrize(("body", "template", "tag"), [
    ("AIDE", "help", "fr"), ("DROITS", "rights", "fr"), ("帮助", "help", "zh"),
    ("권리", "rights", "ko"), ("ПРАВА", "rights", "ru"), ("DIREITOS", "rights", "pt"),
    ("QUYỀN", "rights", "vi"), ("KARAPATAN", "rights", "tl"), ("derechos", "rights", "es"),
    ("RIGHTS", "rights", "en"), ("Tiếng Việt", "language_set", "vi"),
    ("中文", "language_set", "zh"), ("한국어", "language_set", "ko"),
    ("Português", "language_set", "pt"),
])
def test_keywords_and_language_names_in_every_language(sms_app, twilio, body, template, tag):
    reply = _reply(twilio.post_sms(sms_app.test_client(), body, from_number="+13125550141"))
    assert reply == TEMPLATES.text(template, tag)


@pytest.mark.parametrize(("body", "tag"), [
    ("ARRÊT", "fr"), ("停止", "zh"), ("СТОП", "ru"), ("BASTA", "es"), ("KANPE", "ht"),
    ("S\u200bTOP", None), ("STOP", None)])
def test_stop_in_every_language_opts_out_and_is_confirmed_when_twilio_did_not(
        sms_app, twilio, body, tag):
    """Twilio answers its own English opt-out words itself; another language's STOP is
    confirmed by Hotline (Twilio did not opt the sender out, so the reply goes through)."""
    client = sms_app.test_client()
    reply = _reply(twilio.post_sms(client, body, from_number="+13125550142"))
    assert reply == ("" if tag is None else TEMPLATES.text("stopped", tag))
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.opted_out)) is True


@pytest.mark.parametrize(("first", "then", "tag"), [
    ("Ajan ICE yo nan Flatbush ak Church Ave kounye a, yo ap arete moun", "mesi", "ht"),
    ("la migra esta en la esquina de la 26 y Pulaski", "siguen aqui", "es"),
    ("la migra esta en la esquina de la 26 y Pulaski", "no se", "es"),
    ("ICE agents at the corner of Main and 5th right now", "i dont know", "en"),
    ("ICE agents at the corner of Main and 5th right now", "ICE left", "en"),
])
def test_a_short_reply_never_switches_the_remembered_language(sms_app, twilio, first, then,
                                                               tag):
    """Found by an adversarial pass: "mesi" read Polish, "siguen aqui" Portuguese, "i dont
    know" French — each with confidence — and the reporter was switched for good."""
    client = sms_app.test_client()
    sender = "+13125550144"
    assert _reply(twilio.post_sms(client, first, from_number=sender)) == \
        TEMPLATES.text("ack", tag)
    assert _reply(twilio.post_sms(client, then, from_number=sender)) == \
        TEMPLATES.text("ack", tag)
    drain(sms_app)
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.language)) == tag


@pytest.mark.parametrize("yes", ["ha", "oo", "tak", "co"])
def test_another_language_s_yes_is_no_consent_and_switches_nothing(sms_app, twilio, yes):
    client = sms_app.test_client()
    sender = "+13125550145"
    twilio.post_sms(client, "ICE agents at the corner of Main and 5th right now",
                    from_number=sender)
    assert _reply(twilio.post_sms(client, yes, from_number=sender)) == \
        TEMPLATES.text("help", "en")
    with sms_app.app_context():
        reporter = db.session.scalar(select(Reporter))
        assert reporter.language == "en" and reporter.consent_contact is False
    # the reporter's own yes still is consent
    assert _reply(twilio.post_sms(client, "YES", from_number=sender)) == \
        TEMPLATES.text("consent_thanks", "en")


def test_twilio_s_opt_out_type_wins(sms_app, twilio):
    """With Advanced Opt-Out, Twilio names the keyword it matched (its own list, configured in
    the console): a word Hotline's lists lack still opts out."""
    client = sms_app.test_client()
    twilio.post_sms(client, "DESABONNEZ-MOI", from_number="+13125550143", OptOutType="STOP")
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.opted_out)) is True
    reply = _reply(twilio.post_sms(client, "RENTRER", from_number="+13125550143",
                                   OptOutType="START"))
    assert reply == TEMPLATES.text("started", "en")
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.opted_out)) is False
