"""SALUTE fields (Size, Activity, Location, Uniform, Time, Equipment) in English and Spanish."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hotline.triage.places import fold

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "un": 1, "una": 1, "uno": 1, "two": 2, "dos": 2, "couple": 2,
    "three": 3, "tres": 3, "four": 4, "cuatro": 4, "five": 5, "cinco": 5, "six": 6, "seis": 6,
    "seven": 7, "siete": 7, "eight": 8, "ocho": 8, "nine": 9, "nueve": 9, "ten": 10, "diez": 10,
    "eleven": 11, "once": 11, "twelve": 12, "doce": 12, "fifteen": 15, "quince": 15,
    "twenty": 20, "veinte": 20, "dozen": 12, "docena": 12,
}
VAGUE = {"several": 3, "varios": 3, "varias": 3, "some": 2, "unos": 2, "unas": 2, "many": 6,
         "muchos": 6, "muchas": 6, "lots": 6, "bunch": 5, "mucha": 6}
COUNT = rf"(\d{{1,3}}|{'|'.join(sorted(NUMBER_WORDS, key=len, reverse=True))}|" \
        rf"{'|'.join(VAGUE)})"
AGENT_WORDS = (r"agents?|agentes?|officers?|oficiales|cops|policias?|ice agents?|men|guys|"
               r"hombres|tipos|people in vests|federales|feds|migras?|border patrol|troopers|"
               r"ice|la migra|marshals")
VEHICLE_WORDS = (r"cars?|carros?|vans?|camionetas?|trucks?|trocas?|suvs?|vehicles?|vehiculos?|"
                 r"patrullas?|autos?|buses?|unmarked")
SIZE_AGENTS = re.compile(rf"\b{COUNT}\s+(?:\w+\s+){{0,2}}?(?:{AGENT_WORDS})\b")
SIZE_VEHICLES = re.compile(rf"\b{COUNT}\s+(?:\w+\s+){{0,2}}?(?:{VEHICLE_WORDS})\b")

ACTIVITY = {
    "arrest": r"arrest\w*|detain\w*|detuv\w*|detenid\w*|arrest\w*|agarr\w*|llevar\w*|llevaron|"
              r"se llevan|se lo llev\w*|se la llev\w*|handcuff\w*|esposad\w*|took (?:him|her|"
              r"them|someone|a man|a woman)|taking (?:people|him|her|them)|picked up|grabb\w*|"
              r"apprehend\w*|levantaron|pescaron|snatch\w*",
    "raid": r"raid\w*|redada\w*|operativo\w*|sweep|barrida|rodearon|surround\w*|storm\w*",
    "checkpoint": r"checkpoint\w*|check point|reten\w*|puesto de control|stopping (?:cars|"
                  r"everyone|people)|parando (?:carros|a todos|gente)|road ?block",
    "door_knocking": r"knock\w*|tocando|toc\w+ (?:la )?puerta\w*|door to door|puerta por "
                     r"puerta|casa por casa|banging on|at (?:the|my|our) door|en la puerta",
    "waiting": r"waiting|esperando|parked|estacionad\w*|sitting (?:outside|in)|parad[oa]s|"
               r"idling|staged|just sitting",
    "surveillance": r"watching|vigil\w*|observ\w*|photograph\w*|taking (?:photos|pictures)|"
                    r"tomando fotos|following|siguiendo|circling|dando vueltas|patrol\w*|"
                    r"asking (?:for|about)|preguntando|checking (?:ids|papers)|pidiendo papeles",
}
UNIFORM = {
    "ice": r"ice|i\.c\.e\.?|ero|la migra|migra|inmigracion|immigration",
    "hsi": r"hsi|homeland security investigations",
    "cbp": r"cbp|border patrol|patrulla fronteriza|la border|bortac",
    "police": r"police|policia|cops|sheriff\w*|nypd|lapd|cpd|sfpd|troopers?|la chota|pd",
    "vests": r"vests?|chalecos?|tactical|body armor|chaleco antibalas",
    "plain_clothes": r"plain ?clothes|plainclothes|civil(?:ian clothes)?|ropa (?:normal|de "
                     r"civil)|sin uniforme|no uniforms?|vestidos normal",
    "masks": r"mask\w*|mascara\w*|tapados|cubiertos|face covered|cara tapada",
}
EQUIPMENT = {
    "unmarked_vehicles": r"unmarked|sin (?:placas|marcas|logos?)|no (?:plates|markings)|"
                         r"tinted|vidrios (?:oscuros|polarizados)",
    "suv": r"suvs?|tahoes?|suburbans?|explorers?|durangos?",
    "van": r"vans?|camionetas? blancas?|minivans?",
    "truck": r"trucks?|trocas?|pickups?",
    "weapons": r"guns?|rifles?|weapons?|armas?|armados|armed|pistolas?|long guns",
    "bus": r"bus(?:es)?|autobus\w*|camion(?:es)? grandes?",
    "helicopter": r"helicopter\w*|helicoptero\w*|drones?",
    "dogs": r"dogs|k-?9|perros",
}
RELATIVE_TIME = [
    (r"right now|now|ahorita|ahora mismo|ahora|en este momento|currently|happening|just now|"
     r"rn|ya mero|as we speak", 0),
    (r"(\d{1,3}) ?(?:min(?:ute)?s?|minutos?) ago|hace (\d{1,3}) ?minutos?", "minutes"),
    (r"an hour ago|hace una hora|1 hour ago", 60),
    (r"(\d{1,2}) hours? ago|hace (\d{1,2}) horas?", "hours"),
    (r"half an hour ago|hace media hora", 30),
]
PART_OF_DAY = [
    (r"this morning|esta manana|en la manana", 8),
    (r"this afternoon|esta tarde|en la tarde", 14),
    (r"tonight|this evening|esta noche|en la noche", 20),
]
CLOCK = re.compile(
    r"\b(?:at|a las|a la|around|como a las|@)\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
    r"|\b(\d{1,2})(?::(\d{2}))\s*(am|pm)?\b|\b(\d{1,2})\s*(am|pm)\b"
)


def _count(raw: str) -> int:
    if raw.isdigit():
        return int(raw)
    return NUMBER_WORDS.get(raw) or VAGUE.get(raw, 0)


def _labels(table: dict[str, str], text: str) -> list[str]:
    return [label for label, pattern in table.items()
            if re.search(rf"(?<![a-z])(?:{pattern})(?![a-z])", text)]


def extract_salute(text: str, location_text: str | None, now: datetime,
                   timezone: str | None) -> dict[str, Any]:
    """The SALUTE fields of one message; unknown fields are None (lists may be empty)."""
    folded = fold(text)
    agents = [_count(m.group(1)) for m in SIZE_AGENTS.finditer(folded)]
    vehicles = [_count(m.group(1)) for m in SIZE_VEHICLES.finditer(folded)]
    size: dict[str, int] | None = None
    if agents or vehicles:
        size = {}
        if agents:
            size["agents"] = max(agents)
        if vehicles:
            size["vehicles"] = max(vehicles)
    return {
        "size": size,
        "activity": _labels(ACTIVITY, folded),
        "location": location_text,
        "uniform": _labels(UNIFORM, folded),
        "time": _time(folded, now, timezone),
        "equipment": _labels(EQUIPMENT, folded),
    }


def _time(folded: str, now: datetime, timezone: str | None) -> dict[str, str] | None:
    """When it happened, resolved in the jurisdiction's timezone."""
    zone = ZoneInfo(timezone or "UTC")
    local = now.astimezone(zone)
    for pattern, offset in RELATIVE_TIME:
        match = re.search(rf"(?<![a-z])(?:{pattern})(?![a-z])", folded)
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
        groups = clock.groups()
        hour = int(groups[0] or groups[3] or groups[6])
        minute = int(groups[1] or groups[4] or 0)
        meridiem = (groups[2] or groups[5] or groups[7] or "").replace(".", "")
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
