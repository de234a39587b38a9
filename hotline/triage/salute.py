"""SALUTE fields (Size, Activity, Location, Uniform, Time, Equipment) in English and Spanish.

Place and street names found by the location pass are blanked out first, so "Van Nuys" is not a
van and "Story Rd" is not a story.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hotline.triage.places import fold

NUMBER_WORDS = {
    "one": 1, "uno": 1, "two": 2, "dos": 2, "couple": 2, "pair": 2, "three": 3, "tres": 3,
    "four": 4, "cuatro": 4, "five": 5, "cinco": 5, "six": 6, "seis": 6, "seven": 7, "siete": 7,
    "eight": 8, "ocho": 8, "nine": 9, "nueve": 9, "ten": 10, "diez": 10, "eleven": 11,
    "once": 11, "twelve": 12, "doce": 12, "thirteen": 13, "trece": 13, "fourteen": 14,
    "catorce": 14, "fifteen": 15, "quince": 15, "twenty": 20, "veinte": 20, "dozen": 12,
    "docena": 12, "thirty": 30, "treinta": 30,
}
AGENT_NOUNS = frozenset("""
    agent agents agente agentes officer officers oficial oficiales cop cops policia policias
    men guys hombres tipos federales feds marshals troopers soldiers soldados migras
""".split())
VEHICLE_NOUNS = frozenset("""
    car cars carro carros van vans camioneta camionetas truck trucks troca trocas suv suvs
    vehicle vehicles vehiculo vehiculos patrulla patrullas auto autos bus buses tahoe tahoes
    suburban suburbans pickup pickups coche coches
""".split())
# words that may sit between a number and what it counts: "3 black unmarked SUVs"
COUNT_FILLERS = frozenset("""
    black white gray grey dark silver blue unmarked marked ice migra la el de of the del
    federal immigration inmigracion plain clothes plainclothes masked armed armados more mas
    big large tactical border patrol hsi cbp dhs fbi government tinted negras negros blancas
    blancos grises oscuras sin placas with con undercover different other otros otras
""".split())
# after these, a number counts the people taken, not the agents ("agarraron a 3")
VICTIM_MARKERS = frozenset("""
    a took taken detained arrested grabbed picked agarraron detuvieron llevaron llevo arrestaron
    levantaron
""".split())

ACTIVITY = {
    "arrest": r"arrest\w*|detain\w*|detuv\w*|detenid\w*|agarr\w*|se (?:lo |la |los |las )?"
              r"llev\w*|llevando\w*|handcuff\w*|esposad\w*|took (?:him|her|them|someone|a |"
              r"my |his |our |their |the |two |2 |3 )\w*|taking (?:people|ppl|him|her|them|"
              r"a |my |someone)\w*|picked up|grabb\w*|apprehend\w*|levantaron|pescaron|"
              r"snatch\w*|secuestr\w*",
    "raid": r"raid\w*|redada\w*|operativo\w*|sweep\w*|barrida|rodearon|surround\w*|storm\w*",
    "checkpoint": r"checkpoints?|check ?point|reten\w*|puesto de control|stopping (?:cars|"
                  r"everyone|people)|parando (?:carros|a todos|gente)|road ?block",
    "door_knocking": r"knock\w*|tocando|toc\w+ (?:la |las )?puertas?|door to door|puerta por "
                     r"puerta|casa por casa|banging on",
    "waiting": r"waiting|esperando|parked|estacionad\w*|sitting (?:outside|in|there)|"
               r"parad[oa]s|idling|staged|just sitting",
    "surveillance": r"watching|vigiland\w*|observ\w*|photograph\w*|taking (?:photos|pictures)|"
                    r"tomando fotos|following|siguiendo|circling|dando vueltas|patrolling|"
                    r"patrullando|asking (?:\w+ )?(?:for|about)|preguntando|checking (?:ids|"
                    r"papers|documents)|pidiendo (?:papeles|documentos|id)",
}
UNIFORM = {
    "ice": r"ice(?! cream)|i\.c\.e\.?|ero|la migra|migra|migras|inmigracion|immigration",
    "hsi": r"hsi|homeland security investigations",
    "cbp": r"cbp|border patrol|patrulla fronteriza|la border|bortac",
    "police": r"police|policias?|cops|sheriff\w*|nypd|lapd|cpd|sfpd|troopers?|la chota|dps|"
              r"state patrol",
    "vests": r"vests?|chalecos?|tactical gear|body armor",
    "plain_clothes": r"plain ?clothes|plainclothes|civilian clothes|ropa (?:normal|de civil)|"
                     r"de civil|sin uniforme|no uniforms?|vestidos normal",
    "masks": r"mask\w*|mascaras?|enmascarados|tapados|cubiertos|face covered|caras? tapadas?",
}
EQUIPMENT = {
    "unmarked_vehicles": r"unmarked|sin (?:placas|marcas|logos?)|no (?:plates|markings)|"
                         r"tinted|vidrios (?:oscuros|polarizados)",
    "suv": r"suvs?|tahoes?|suburbans?|explorers?|durangos?",
    "van": r"vans?|minivans?|camionetas?",
    "truck": r"trucks?|trocas?|pickups?",
    "weapons": r"guns?|rifles?|weapons?|armas?|armados|armed|pistolas?",
    "bus": r"(?<!parada del )(?<!parada de )(?<!estacion de )bus(?:es)?(?! stop| station)|"
           r"autobus(?:es)?",
    "helicopter": r"helicopter\w*|helicoptero\w*",
    "dogs": r"dogs|k-?9|perros",
}
RELATIVE_TIME = [
    (r"half an hour ago|hace media hora", 30),
    (r"an hour ago|hace una hora|1 hour ago", 60),
    (r"(\d{1,3}) ?(?:min(?:ute)?s?|minutos?) ago|hace (\d{1,3}) ?(?:min(?:uto)?s?)", "minutes"),
    (r"(\d{1,2}) hours? ago|hace (\d{1,2}) horas?", "hours"),
    (r"hace (?:un )?rato|a while ago|earlier", 30),
    (r"right now|just now|now|ahorita|ahora mismo|ahora|en este momento|currently|rn|"
     r"as we speak|happening", 0),
]
PART_OF_DAY = [
    (r"this morning|esta manana|en la manana|hoy en la manana", 8),
    (r"this afternoon|esta tarde|en la tarde", 14),
    (r"tonight|this evening|esta noche|en la noche", 20),
]
CLOCK = re.compile(
    r"\b(?:(?:a las|como a las|desde las|a eso de las|around|since|at about|about|at)\s+)?"
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<meridiem>a\.?m\.?|p\.?m\.?)(?![a-z])"
    r"|\b(?:a las|como a las|desde las|a eso de las)\s+(?P<hour2>\d{1,2})"
    r"(?::(?P<minute2>\d{2}))?(?![\d:a-z])"
    r"|\b(?P<hour3>\d{1,2}):(?P<minute3>\d{2})(?![\d])"
    r"|\b(?P<one>a la una)\b"
)


def _labels(table: dict[str, str], text: str) -> list[str]:
    return [label for label, pattern in table.items()
            if re.search(rf"(?<![a-z])(?:{pattern})(?![a-z])", text)]


def _without(folded: str, phrases: Iterable[str]) -> str:
    """The message with place and street names blanked out."""
    text = folded.replace("'", "")
    for phrase in sorted(phrases, key=len, reverse=True):
        words = [re.escape(w) for w in phrase.split()]
        if words:
            text = re.sub(r"(?<![a-z0-9])" + r"[^a-z0-9]+".join(words) + r"(?![a-z0-9])", " ",
                          text)
    return text


def extract_salute(text: str, location_text: str | None, now: datetime,
                   timezone: str | None, place_phrases: Iterable[str] = ()) -> dict[str, Any]:
    """The SALUTE fields of one message; unknown fields are None (lists may be empty)."""
    folded = fold(text)
    rest = _without(folded, place_phrases)
    return {
        "size": size_of(rest),
        "activity": _labels(ACTIVITY, rest),
        "location": location_text,
        "uniform": _labels(UNIFORM, rest),
        "time": _time(folded, now, timezone),
        "equipment": _labels(EQUIPMENT, rest),
    }


def _number(word: str) -> int | None:
    if word.isdigit():
        value = int(word)
        return value if 0 < value <= 200 else None
    return NUMBER_WORDS.get(word)


def size_of(folded: str) -> dict[str, int | None] | None:
    """How many agents and vehicles: {"agents": n|None, "vehicles": n|None}, or None.

    Only numbers count ("3 agents", "dos camionetas", "10+ agents"); "several" or "muchos"
    are not a size. A number after "a" or an arrest verb counts people taken, not agents.
    """
    words = re.findall(r"[a-z]+|\d+", folded)
    agents: list[int] = []
    vehicles: list[int] = []
    for i, word in enumerate(words):
        count = _number(word)
        if count is None or (i and words[i - 1] in VICTIM_MARKERS):
            continue
        if i + 1 < len(words) and words[i + 1] in ("am", "pm", "min", "minutes", "minutos",
                                                   "hours", "horas"):
            continue
        for noun in words[i + 1:i + 5]:
            if noun in VEHICLE_NOUNS:
                vehicles.append(count)
                break
            if noun in AGENT_NOUNS:
                agents.append(count)
                break
            if noun not in COUNT_FILLERS:
                break
    if not agents and not vehicles:
        return None
    return {"agents": max(agents) if agents else None,
            "vehicles": max(vehicles) if vehicles else None}


def _time(folded: str, now: datetime, timezone: str | None) -> dict[str, str] | None:
    """When it happened, resolved in the jurisdiction's timezone."""
    zone = ZoneInfo(timezone or "UTC")
    local = now.astimezone(zone)
    for pattern, offset in RELATIVE_TIME:
        match = re.search(rf"(?<![a-z0-9])(?:{pattern})(?![a-z])", folded)
        if not match:
            continue
        if offset == "minutes":
            minutes = int(next(g for g in match.groups() if g))
        elif offset == "hours":
            minutes = 60 * int(next(g for g in match.groups() if g))
        else:
            minutes = int(offset)
        return {"text": match.group(0), "at": (local - timedelta(minutes=minutes)).isoformat(
            timespec="minutes")}
    clock = CLOCK.search(folded)
    if clock:
        g = clock.groupdict()
        hour = 1 if g["one"] else int(g["hour"] or g["hour2"] or g["hour3"])
        minute = int(g["minute"] or g["minute2"] or g["minute3"] or 0)
        meridiem = (g["meridiem"] or "").replace(".", "")
        if hour <= 23 and minute <= 59:
            if meridiem == "pm" and hour < 12:
                hour += 12
            elif meridiem == "am" and hour == 12:
                hour = 0
            elif not meridiem and hour < 7:
                hour += 12  # "a las 3" during a raid means the afternoon
            at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if at > local + timedelta(hours=1):
                at -= timedelta(days=1)
            return {"text": clock.group(0).strip(), "at": at.isoformat(timespec="minutes")}
    for pattern, hour in PART_OF_DAY:
        match = re.search(rf"(?<![a-z])(?:{pattern})(?![a-z])", folded)
        if match:
            at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
            if at > local:
                at = local
            return {"text": match.group(0), "at": at.isoformat(timespec="minutes")}
    return None
