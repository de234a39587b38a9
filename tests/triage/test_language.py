"""English or Spanish from a few words."""

from __future__ import annotations

import pytest

from hotline.triage.language import detect_language


@pytest.mark.parametrize(("text", "language"), [
    ("la migra en la 24 y mission sf", "es"),
    ("ICE at the Home Depot on Western and 47th", "en"),
    ("migra migra migra", "es"),
    ("migra at the 7-eleven in Pasadena", "en"),
    ("LA MIGRA EN LA VILLITA", "es"),
    ("ICE en Little Village, 26th y Kedzie, agarraron a un señor", "es"),
    ("agents w masks taking a guy on 116th st", "en"),
    ("hay 2 camionetas de migra en la Cermak y California", "es"),
    ("ICE raid in LA at the Home Depot on Sunset", "en"),
    ("vi a la migra hace 10 minutos", "es"),
])
def test_language(text, language):
    assert detect_language(text)[0] == language


def test_fallback_breaks_ties():
    assert detect_language("ICE", "es") == ("es", 0.5)
    assert detect_language("ICE") == ("en", 0.5)


def test_confidence_grows_with_margin():
    assert detect_language("la migra esta aqui en la tienda")[1] > \
        detect_language("la migra at the store")[1]


@pytest.mark.parametrize(("text", "code", "tag"), [
    ("唐人街有移民局的人在抓人", "zh", "zh"),
    ("唐人街有移民局的人在抓人，還有兩輛車", "zh", "zh-Hant"),
    ("他們在皇后區外面", "zh", "zh-Hant"),  # 后 and 面 are Traditional too
    ("الهجرة في باي ريدج الآن", "ar", "ar"),
    ("امیگریشن والے یہاں ہیں، دروازہ نہ کھولیں", "ur", "ur"),
    ("kya ICE bina warrant ghar mein aa sakti hai", "ur", "ur"),  # romanised Urdu
    ("você está lá com três agentes", "pt", "pt"),  # ê and ô are not Vietnamese
    ("Cảnh sát đang ở đây", "vi", "vi"),
    ("ICE ayaa jooga suuqa hadda", "so", "so"),
    ("ICE на углу сейчас", "ru", "ru"),
    ("이민국 단속 지금", "ko", "ko"),
])
def test_other_languages_and_scripts(text, code, tag):
    from hotline.triage.language import detect

    found = detect(text)
    assert (found.code, found.tag) == (code, tag)


def test_only_configured_languages_are_ever_answered():
    from hotline.triage.language import default_languages, detect

    codes = set(default_languages().codes)
    for text in ("Die Polizei ist hier, bitte helfen", "ICE è qui davanti alla scuola",
                 "ตำรวจอยู่ที่นี่", "ICE"):
        assert detect(text).code in codes
    unsure = detect("ตำรวจอยู่ที่นี่")  # a script no configured language is written in
    assert unsure.confidence < 0.75 and unsure.code == "en"


def test_a_remembered_language_is_kept_when_a_message_is_unclear():
    from hotline.triage.language import detect

    assert detect("ICE 19107", "ht").tag == "ht"
    assert detect("ICE 19107", "zh-Hant").tag == "zh-Hant"
    assert detect("ICE 19107").confidence < 0.75


@pytest.mark.parametrize("text", ["mesi", "non", "ICE left", "no se", "siguen aqui", "ا",
                                  "i dont know"])
def test_a_few_words_are_never_clear_enough_to_remember(text):
    from hotline.triage.language import detect

    assert not detect(text).clear
