"""The one declared schema of `config/*.yaml`: every key, its type and its range.

`jurisdictions.yaml`, `networks.yaml` and `templates.yaml` are each validated by a pydantic
model that forbids unknown keys, so a typo, a wrong type, a number out of range, a bad date or
an unknown responder stops `hotline config load` with the file and the key path, instead of
loading and failing later in triage. `validate_file` turns pydantic's errors into
`ConfigError`s such as `config/networks.yaml: networks[2].rotations[0].overrides[0].start:
not a date and time`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    model_validator,
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
STEP_TARGETS = ("on_call", "next_in_rotation", "network", "dispatchers", "responder")
RESPONDER_ROLES = ("lawyer", "verifier", "dispatcher")


class ConfigError(ValueError):
    """A config file is wrong; the message names the file and the key."""


def _text(value: Any) -> str:  # noqa: ANN401 - YAML gives any scalar
    """Text as YAML may write it (a ZIP can come as a number); never a bool or a mapping."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be text")
    return str(value).strip()


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(f"{value!r} is not a slug (a-z, 0-9, dashes)")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r}") from None
    return value


def _zip(value: str) -> str:
    if not re.fullmatch(r"\d{5}", value):
        raise ValueError(f"{value!r} is not a 5-digit ZIP code")
    return value


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=300)]
Slug = Annotated[str, BeforeValidator(_text), AfterValidator(_slug)]
Timezone = Annotated[str, BeforeValidator(_text), AfterValidator(_timezone)]
Zip = Annotated[str, BeforeValidator(_text), AfterValidator(_zip)]
Number = StrictInt | StrictFloat
Lat = Annotated[Number, Field(ge=-90, le=90)]
Lon = Annotated[Number, Field(ge=-180, le=180)]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
# a phone number as Twilio writes it: + and up to 15 digits
E164 = Annotated[str, BeforeValidator(_text), Field(pattern=r"^\+[1-9]\d{6,14}$")]
# a template's language: an ISO 639-1 code, or one with a script ("zh-Hant")
LanguageTag = Annotated[str, Field(pattern=r"^[a-z]{2}(?:-[A-Z][a-z]{3})?$")]


class Strict(BaseModel):
    """Every node: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- jurisdictions.yaml ---------------------------------------------------------------------

class PolicySchema(Strict):
    """A jurisdiction's `policy:`; each key is optional (the default applies) and honoured
    where the README says."""

    cluster_radius_m: Annotated[StrictInt, Field(ge=10, le=50_000)] | None = None
    cluster_window_min: Annotated[StrictInt, Field(ge=1, le=1440)] | None = None
    verifiers_per_round: Annotated[StrictInt, Field(ge=1, le=10)] | None = None
    verify_deadline_min: Annotated[StrictInt, Field(ge=1, le=240)] | None = None
    max_verifiers: Annotated[StrictInt, Field(ge=0, le=50)] | None = None
    false_alarm_after_no: Annotated[StrictInt, Field(ge=1, le=10)] | None = None
    unconfirmed_after_min: Annotated[StrictInt, Field(ge=5, le=10_080)] | None = None
    auto_verify_reporters: Annotated[StrictInt, Field(ge=0, le=100)] | None = None
    auto_verify_trusted_verifier: StrictBool | None = None
    rate_limit_messages: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    rate_limit_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] | None = None
    flood_new_numbers: Annotated[StrictInt, Field(ge=2, le=10_000)] | None = None
    flood_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] | None = None
    follow_up_window_min: Annotated[StrictInt, Field(ge=1, le=1440)] | None = None
    broadcast_radius_m: Annotated[StrictInt, Field(ge=100, le=100_000)] | None = None
    broadcast_approvals: Annotated[StrictInt, Field(ge=1, le=5)] | None = None


class AliasSchema(Strict):
    """A nickname or neighbourhood: where it is."""

    zip: Zip | None = None
    city: Text | None = None
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    kind: Literal["area", "neighbourhood", "city"] | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> AliasSchema:
        if not (self.zip or self.city or (self.lat is not None and self.lon is not None)):
            raise ValueError("must give zip, city, or lat and lon")
        return self


class LandmarkSchema(Strict):
    """A place people name: the ways they write it, and where it is."""

    name: Text
    match: Annotated[list[Text], Field(min_length=1)]
    zip: Zip | None = None
    lat: Lat | None = None
    lon: Lon | None = None


class JurisdictionSchema(Strict):
    """One jurisdiction: what it covers, how people name its places, its policy."""

    slug: Slug
    name: Text
    state: Annotated[str, BeforeValidator(lambda v: _text(v).upper()),
                     Field(pattern=r"^[A-Z]{2}$")]
    timezone: Timezone
    counties: list[Text] = []
    cities: list[Text] = []
    zips: list[Zip] = []
    aliases: dict[Text, AliasSchema] = {}
    landmarks: list[LandmarkSchema] = []
    streets: list[Text] = []
    # names of its places as other languages and scripts write them (法拉盛, Чикаго,
    # Filadelfia) -> the name triage knows (an alias, a landmark's match, a city)
    exonyms: dict[Text, Text] = {}
    # the languages offered first (voice menu order, the language choice), from languages.yaml
    languages: list[Language] = []
    # the hotline's own numbers for this jurisdiction: a call or text to one of them names it
    hotline_numbers: list[E164] = []
    policy: PolicySchema = PolicySchema()

    @model_validator(mode="after")
    def _covers(self) -> JurisdictionSchema:
        if not (self.counties or self.cities or self.zips):
            raise ValueError("needs at least one of counties, cities, zips")
        return self


class JurisdictionsFile(Strict):
    """`jurisdictions.yaml`."""

    jurisdictions: list[JurisdictionSchema]

    @model_validator(mode="after")
    def _unique(self) -> JurisdictionsFile:
        seen: set[str] = set()
        numbers: dict[str, str] = {}
        for i, j in enumerate(self.jurisdictions):
            if j.slug in seen:
                raise _at(("jurisdictions", i, "slug"), f"duplicate slug {j.slug!r}")
            seen.add(j.slug)
            for k, number in enumerate(j.hotline_numbers):
                if number in numbers:
                    raise _at(("jurisdictions", i, "hotline_numbers", k),
                              f"{number!r} is already {numbers[number]}'s number")
                numbers[number] = j.slug
        return self


# -- networks.yaml --------------------------------------------------------------------------

class MemberSchema(Strict):
    """A responder of a network."""

    key: Slug
    name: Text
    role: Literal["lawyer", "verifier", "dispatcher"]
    phone: Text
    languages: list[Language] = ["en"]
    jurisdictions: list[Slug] = []
    lat: Lat | None = None
    lon: Lon | None = None
    trusted: StrictBool = False
    active: StrictBool = True
    # how pages and verifier requests reach them: SMS, or WhatsApp (SMS when WhatsApp cannot)
    channel: Literal["sms", "whatsapp"] = "sms"


class OverrideSchema(Strict):
    """Someone on call in place of the rotation, from `start` to `end` (the network's time)."""

    start: datetime | date
    end: datetime | date
    responder: Slug

    @model_validator(mode="after")
    def _ordered(self) -> OverrideSchema:
        if _as_datetime(self.end) <= _as_datetime(self.start):
            raise ValueError("end must come after start")
        return self


class RotationSchema(Strict):
    """A daily or weekly rotation in the network's timezone."""

    name: Text
    period: Literal["daily", "weekly"]
    handoff: Annotated[str, BeforeValidator(_text),
                       Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "09:00"
    starts_on: date
    members: Annotated[list[Slug], Field(min_length=1)]
    overrides: list[OverrideSchema] = []


HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ShiftSchema(Strict):
    """A volunteer answering calls on some weekdays from `start` to `end` (the network's time;
    `end` "24:00" is midnight, an end before the start runs past midnight)."""

    volunteer: Slug
    days: Annotated[list[Literal[WEEKDAYS]], Field(min_length=1)] = list(WEEKDAYS)
    start: Annotated[str, BeforeValidator(_text), Field(pattern=HHMM)] = "00:00"
    end: Annotated[str, BeforeValidator(_text),
                   Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")] = "24:00"

    @model_validator(mode="after")
    def _not_empty(self) -> ShiftSchema:
        if self.start == self.end or (self.start == "00:00" and self.end == "00:00"):
            raise ValueError("start and end must differ")
        return self


class RosterSchema(Strict):
    """Who answers the hotline's calls: volunteers (members of the network) on shifts."""

    name: Slug
    # the jurisdictions whose calls it answers (default: all the network serves)
    serves: list[Slug] = []
    # how long every volunteer's phone rings before the caller is offered voicemail
    ring_seconds: Annotated[StrictInt, Field(ge=5, le=60)] = 20
    # calls a number may make in `call_limit_minutes` before it goes straight to voicemail
    call_limit: Annotated[StrictInt, Field(ge=1, le=100)] = 5
    call_limit_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] = 60
    shifts: list[ShiftSchema] = []
    overrides: list[OverrideSchema] = []


class StepSchema(Strict):
    """One step of an escalation policy."""

    target: Literal["on_call", "next_in_rotation", "network", "dispatchers", "responder"]
    responder: Slug | None = None
    wait_minutes: Annotated[StrictInt, Field(ge=0, le=1440)] = 5


class EscalationSchema(Strict):
    """A network's escalation policy."""

    name: Text = "default"
    repeat: Annotated[StrictInt, Field(ge=0, le=20)] = 0
    steps: list[StepSchema] = []


class NetworkSchema(Strict):
    """A legal network: whom it serves, its members, rotations and escalation."""

    slug: Slug
    name: Text
    timezone: Timezone
    serves: list[Slug] = []
    members: list[MemberSchema] = []
    rotations: list[RotationSchema] = []
    escalation: EscalationSchema = EscalationSchema()
    call_rosters: list[RosterSchema] = []

    @model_validator(mode="after")
    def _known_people(self) -> NetworkSchema:
        keys = {m.key for m in self.members}
        names: set[str] = set()
        for j, roster in enumerate(self.call_rosters):
            if roster.name in names:
                raise _at(("call_rosters", j, "name"), f"duplicate roster {roster.name!r}")
            names.add(roster.name)
            for k, shift in enumerate(roster.shifts):
                if shift.volunteer not in keys:
                    raise _at(("call_rosters", j, "shifts", k, "volunteer"),
                              f"{shift.volunteer!r} is not a member")
            for k, override in enumerate(roster.overrides):
                if override.responder not in keys:
                    raise _at(("call_rosters", j, "overrides", k, "responder"),
                              f"{override.responder!r} is not a member")
            for k, slug in enumerate(roster.serves):
                if slug not in self.serves:
                    raise _at(("call_rosters", j, "serves", k),
                              f"{slug!r} is not served by this network")
        for j, rotation in enumerate(self.rotations):
            for key in rotation.members:
                if key not in keys:
                    raise _at(("rotations", j, "members"), f"{key!r} is not a member")
            for k, override in enumerate(rotation.overrides):
                if override.responder not in keys:
                    raise _at(("rotations", j, "overrides", k, "responder"),
                              f"{override.responder!r} is not a member")
        for j, step in enumerate(self.escalation.steps):
            if step.target == "responder" and step.responder not in keys:
                raise _at(("escalation", "steps", j, "responder"),
                          "must name a member of this network")
        return self


class NetworksFile(Strict):
    """`networks.yaml`."""

    networks: list[NetworkSchema]

    @model_validator(mode="after")
    def _unique_keys(self) -> NetworksFile:
        seen: set[str] = set()
        for i, network in enumerate(self.networks):
            for j, member in enumerate(network.members):
                if member.key in seen:
                    raise _at(("networks", i, "members", j, "key"),
                              f"duplicate responder key {member.key!r}")
                seen.add(member.key)
        return self


# -- templates.yaml -------------------------------------------------------------------------

TemplateName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
TemplateText = Annotated[str, Field(min_length=1, max_length=1600)]


class TemplatesFile(Strict):
    """`templates.yaml`: every text Hotline sends, by name and language."""

    templates: dict[TemplateName, dict[LanguageTag, TemplateText]] = {}


# -- languages.yaml and languages/<code>.yaml ------------------------------------------------

class LanguagesFile(Strict):
    """`languages.yaml`: the languages Hotline speaks, in the order offered by default."""

    languages: list[Language]
    # a first message whose language is unclear is answered in these, with the choice offered
    fallback: list[Language] = ["en", "es"]

    @model_validator(mode="after")
    def _consistent(self) -> LanguagesFile:
        if "en" not in self.languages:
            raise _at(("languages",), "must include en (the source of every translation)")
        if len(set(self.languages)) != len(self.languages):
            raise _at(("languages",), "lists a language twice")
        for i, code in enumerate(self.fallback):
            if code not in self.languages:
                raise _at(("fallback", i), f"{code!r} is not in languages")
        return self


Phrase = Annotated[str, BeforeValidator(lambda v: _text(v)), Field(min_length=1, max_length=60)]


# a BCP-47 tag as Twilio's speech takes it: "en-US", "cmn-CN", "arb"
SpeechTag = Annotated[str, Field(pattern=r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,4})*$")]


class VoiceSchema(Strict):
    """How a language is spoken on a call."""

    say: SpeechTag | None = None
    voice: Annotated[str, Field(pattern=r"^[A-Za-z0-9.\-]+$", max_length=64)] | None = None
    transcription: SpeechTag | None = None
    # operator-supplied recordings, by prompt: played instead of text-to-speech (the only way
    # for a language Twilio has no voice for). voice_menu, voice_prompt and voice_thanks make
    # the language speakable; the live-answer prompts may be recorded too (voice_closed names
    # a time, so a language without a voice says voice_missed instead)
    prompt_url: dict[Literal["voice_menu", "voice_prompt", "voice_thanks", "voice_connecting",
                             "voice_missed", "voice_check", "voice_screen_taken"],
                     Annotated[str, Field(pattern=r"^https://\S+$", max_length=500)]] = {}


class KeywordsSchema(Strict):
    """Whole messages that are a keyword, in one language (matched folded)."""

    stop: list[Phrase] = []
    start: list[Phrase] = []
    help: list[Phrase] = []
    rights: list[Phrase] = []
    consent: list[Phrase] = []
    # the first word(s) of a message that asks for community alerts ("ALERTAS Pilsen"), and
    # what after it turns them off ("ALERTS OFF", "ALERTAS NO")
    alerts: list[Phrase] = []
    alerts_off: list[Phrase] = []
    # a responder's availability (`hotline.intake.commands.parse_availability`): the first
    # word(s) of OFF / OFF 3h, ON and STATUS
    away_off: list[Phrase] = []
    away_on: list[Phrase] = []
    away_status: list[Phrase] = []
    # words or phrases that, anywhere in a message, show it asks something ("est-ce que",
    # "吗"): with them a message of any language can be a question (`triage.questions`)
    asks: list[Phrase] = []


class VariantSchema(Strict):
    """A script variant (`Hant` for Traditional Chinese): its own name and templates."""

    name: Text
    # whole messages that switch a reporter to this script ("繁體中文")
    names: list[Phrase] = []
    templates: dict[TemplateName, TemplateText]


# the SALUTE words of a responder's one-line summary of an incident
LABELS = ("arrest", "raid", "checkpoint", "door_knocking", "waiting", "surveillance", "police",
          "vests", "plain_clothes", "masks", "activity", "place_unconfirmed", "agents",
          "vehicles",
          # a verifier's answer as recorded ({outcome} of verify_thanks)
          "outcome_confirmed", "outcome_false_alarm", "outcome_contested", "outcome_unable",
          # an incident's status ({status} of already_closed)
          "status_new", "status_verifying", "status_verified", "status_routed",
          "status_acknowledged", "status_resolved", "status_false_alarm", "status_unconfirmed",
          "status_merged")


class LanguageFile(Strict):
    """`languages/<code>.yaml`: one language's names, voice, keywords, glossary and texts."""

    code: Language
    name: Text
    english: Text
    names: list[Phrase] = []
    # everyday words that give the language away in a short text (also as typed without
    # accents, and romanised for languages of other scripts): evidence for detection only
    markers: list[Phrase] = []
    voice: VoiceSchema = VoiceSchema()
    keywords: KeywordsSchema = KeywordsSchema()
    words: dict[Phrase, Annotated[str, Field(pattern=r"^[a-z][a-z ]*$", max_length=40)]] = {}
    templates: dict[TemplateName, TemplateText]
    labels: dict[Literal[LABELS], Annotated[str, Field(min_length=1, max_length=60)]] = {}
    variants: dict[Annotated[str, Field(pattern=r"^[A-Z][a-z]{3}$")], VariantSchema] = {}
    # the weekdays' names, Monday first, for a language whose CLDR data (Babel) lacks them
    weekdays: Annotated[list[Text], Field(min_length=7, max_length=7)] | None = None


# -- errors ---------------------------------------------------------------------------------

class _PathError(ValueError):
    """A cross-field problem at a path below the node that found it."""

    def __init__(self, loc: tuple[str | int, ...], problem: str) -> None:
        super().__init__(problem)
        self.loc = loc
        self.problem = problem


def _at(loc: tuple[str | int, ...], problem: str) -> ValueError:
    return _PathError(loc, problem)


def _as_datetime(value: datetime | date) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MESSAGES = {
    "extra_forbidden": "is not a known key",
    "missing": "is required",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "date_from_datetime_parsing": "not a date (YYYY-MM-DD)",
    "date_parsing": "not a date (YYYY-MM-DD)",
    "date_type": "not a date (YYYY-MM-DD)",
    "datetime_parsing": "not a date and time",
    "datetime_from_date_parsing": "not a date and time",
}


def _problem(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    context = error.get("ctx") or {}
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"must be {'at least' if 'ge' in context else 'at most'} " \
               f"{context.get('ge', context.get('le'))}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}"
    if kind in ("value_error", "assertion_error"):
        cause = context.get("error")
        return str(cause) if cause is not None else error["msg"]
    return error["msg"].removeprefix("Value error, ")


M = TypeVar("M", bound=BaseModel)


def validate_file(model: type[M], file: Path, data: Any) -> M:  # noqa: ANN401 - parsed YAML
    """The file's data as `model`, or the first problem as `file: key.path: problem`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _PathError):
            loc = (*loc, *cause.loc)
        # a union (a number, a date or a date and time) reports each member: keep the path
        loc = tuple(p for p in loc if not (isinstance(p, str) and p in (
            "int", "float", "datetime", "date", "function-after[_timezone(), str]")))
        raise ConfigError(f"{file}: {_path(loc) or 'top level'}: {_problem(error)}") from None
