"""Settings: read from the environment (and `.env`), validated in one place.

Every problem names the setting it is about, so a bad deploy fails at start with a message an
operator can act on. Nothing here raises at import time.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from hotline.core.pmtiles import PmtilesError, read_header


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    """The validated settings of one process."""

    embedded: bool
    instance_path: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    pii_key: bytes
    pii_old_keys: tuple[bytes, ...]
    pii_ratchet: Path
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_messaging_service_sid: str | None
    twilio_from_numbers: tuple[str, ...]
    sender_rate: float
    twilio_timeout: float
    broadcast_rate: float
    twilio_api_base_url: str | None
    public_url: str | None
    trusted_proxies: int
    config_dir: Path
    retention_days: int
    default_region: str
    log_level: str
    # WhatsApp: the sender (E.164, without "whatsapp:"), the approved template for messages
    # outside the 24-hour session window; media kept from MMS and WhatsApp
    twilio_whatsapp_from: str | None = None
    twilio_whatsapp_template_sid: str | None = None
    media_max_bytes: int = 16 * 1024 * 1024
    dashboard: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def queue_mode(self) -> str:
        """`rq` when Redis is configured, else `inline` (a worker thread in this process)."""
        return "rq" if self.redis_url else "inline"


# name -> (description, default shown in the README); the README's table is generated from this.
DOCUMENTED: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("SQLAlchemy URL of the database (postgresql+psycopg://...). Unset: embedded "
                     "SQLite under HOTLINE_INSTANCE.", "unset (embedded)"),
    "REDIS_URL": ("Redis for the RQ queues, scheduler, rate limits. Unset: jobs run in a worker "
                  "thread of the same process.", "unset (embedded)"),
    "HOTLINE_INSTANCE": ("Folder for the embedded SQLite file and generated development secrets.",
                         "./instance"),
    "SECRET_KEY": ("Flask session signing key, at least 32 characters. Required with DATABASE_URL.",
                   "generated in embedded mode"),
    "HOTLINE_PII_KEY": ("32 random bytes, base64: encrypts phone numbers and bodies (AES-256-GCM) "
                        "and keys the phone HMAC. Required with DATABASE_URL.",
                        "generated in embedded mode"),
    "HOTLINE_PII_OLD_KEYS": ("Comma-separated retired PII keys, still accepted for decryption "
                             "during key rotation.", "empty"),
    "TWILIO_ACCOUNT_SID": ("Twilio account SID (AC...).", "ACdevelopment... in embedded mode"),
    "TWILIO_AUTH_TOKEN": ("Twilio auth token: signs and checks webhooks. Required with "
                          "DATABASE_URL.", "generated in embedded mode"),
    "TWILIO_MESSAGING_SERVICE_SID": ("Messaging Service (MG...) for outbound SMS.", "unset"),
    "TWILIO_FROM_NUMBER": ("From number(s) for outbound SMS, comma-separated (a sender pool).",
                           "unset"),
    "TWILIO_WHATSAPP_FROM": ("The WhatsApp sender (whatsapp:+14155238886 or +14155238886) for "
                             "replies, pages and verifier requests on WhatsApp. Unset: the "
                             "Messaging Service's WhatsApp sender, else the number the person "
                             "wrote to.", "unset"),
    "TWILIO_WHATSAPP_TEMPLATE_SID": ("Approved Content template (HX...) with one variable {{1}}, "
                                     "used for WhatsApp messages outside the 24-hour session "
                                     "window. Unset: nothing goes to a reporter on WhatsApp "
                                     "outside it; a responder gets SMS instead.", "unset"),
    "HOTLINE_MEDIA_MAX_BYTES": ("Largest photo, audio or video Hotline keeps from an MMS or "
                                "WhatsApp message (bytes); larger ones are refused and "
                                "recorded.", "16777216 (16 MiB, WhatsApp's limit)"),
    "HOTLINE_SENDER_RATE": ("Messages per second each sender may send (shared by all workers).",
                            "1"),
    "HOTLINE_TWILIO_TIMEOUT": ("Seconds to wait for Twilio's REST API before the outcome is "
                               "checked and the send retried.", "10"),
    "TWILIO_API_BASE_URL": ("Point the twilio REST client at a local stand-in "
                            "(e.g. http://127.0.0.1:8099).", "unset (api.twilio.com)"),
    "HOTLINE_PUBLIC_URL": ("Public base URL Twilio calls (https://hotline.example.org); webhook "
                           "signatures are checked against it. Required with DATABASE_URL unless "
                           "HOTLINE_TRUSTED_PROXIES=1.", "embedded: the request's URL"),
    "HOTLINE_TRUSTED_PROXIES": ("Number of reverse proxies whose X-Forwarded-Proto/Host are "
                                "trusted (0 or 1).", "0"),
    "HOTLINE_CONFIG_DIR": ("Folder of the YAML config (jurisdictions, networks, templates).",
                           "./config"),
    "HOTLINE_PII_RATCHET": ("File of the PII ratchet that wraps each day's data key; the purge "
                            "moves it forward so expired days cannot be decrypted from any "
                            "backup. Keep it out of database backups; every process must read "
                            "the same file.", "<HOTLINE_INSTANCE>/pii-ratchet.json"),
    "HOTLINE_RETENTION_DAYS": ("Days before raw PII (bodies, numbers, recordings) is purged.",
                               "30"),
    "HOTLINE_DEFAULT_REGION": ("Region for phone numbers written without a country code.", "US"),
    "HOTLINE_LOG_LEVEL": ("Logging level.", "INFO"),
    "HOTLINE_REQUIRE_TOTP": ("1/true: admins and dispatchers must use an authenticator app.",
                             "off"),
    "HOTLINE_SESSION_IDLE_MINUTES": ("A dashboard session unused this long ends.", "30"),
    "HOTLINE_SESSION_MAX_HOURS": ("No dashboard session lives longer than this.", "12"),
    "HOTLINE_TILE_URL": ("Map tile template (https://.../{z}/{x}/{y}.png) drawn beneath the "
                         "county outlines; unset: outlines only.", "unset"),
    "HOTLINE_PMTILES_PATH": ("A raster PMTiles v3 file (PNG, JPEG, WebP or AVIF tiles) that "
                             "Hotline serves itself at /tiles/basemap.pmtiles as the map's "
                             "street basemap; must exist. Not with HOTLINE_TILE_URL.", "unset"),
    "HOTLINE_TILE_ATTRIBUTION": ("Credit the tiles' provider asks for.", "unset"),
    "HOTLINE_METRICS_TOKEN": ("Bearer token for /metrics from outside the private networks "
                              "(at least 24 characters).", "unset: private addresses only"),
}


def _dashboard(get: Any) -> dict[str, Any]:  # noqa: ANN401 - the `get` of load_settings
    values: dict[str, Any] = {}
    totp = get("HOTLINE_REQUIRE_TOTP")
    if totp is not None:
        if totp.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise SettingsError("HOTLINE_REQUIRE_TOTP: must be 1/true/yes or 0/false/no")
        values["HOTLINE_REQUIRE_TOTP"] = totp.lower() in ("1", "true", "yes", "on")
    for name, low, high in (("HOTLINE_SESSION_IDLE_MINUTES", 1, 1440),
                            ("HOTLINE_SESSION_MAX_HOURS", 1, 168)):
        if get(name) is not None:
            values[name] = _int(name, get(name), low, high)
    tile = get("HOTLINE_TILE_URL")
    if tile is not None:
        parts = urlsplit(tile)
        if parts.scheme not in ("http", "https") or not parts.netloc or "{z}" not in tile:
            raise SettingsError("HOTLINE_TILE_URL: must be an http(s) tile template with "
                                "{z}, {x} and {y}")
        values["HOTLINE_TILE_URL"] = tile
    basemap = get("HOTLINE_PMTILES_PATH")
    if basemap is not None:
        if tile is not None:
            raise SettingsError("HOTLINE_PMTILES_PATH: set it or HOTLINE_TILE_URL, not both "
                                "(the map has one street basemap)")
        values["HOTLINE_PMTILES_PATH"] = str(_check_pmtiles(basemap))
    if get("HOTLINE_TILE_ATTRIBUTION") is not None:
        values["HOTLINE_TILE_ATTRIBUTION"] = get("HOTLINE_TILE_ATTRIBUTION")
    metrics_token = get("HOTLINE_METRICS_TOKEN")
    if metrics_token is not None:
        if len(metrics_token.strip()) < 24:
            raise SettingsError("HOTLINE_METRICS_TOKEN: must be at least 24 characters")
        values["HOTLINE_METRICS_TOKEN"] = metrics_token.strip()
    return values


def _check_pmtiles(raw: str) -> Path:
    path = Path(raw).expanduser().resolve()
    if not path.exists():
        raise SettingsError(f"HOTLINE_PMTILES_PATH: {path} does not exist")
    if not path.is_file():
        raise SettingsError(f"HOTLINE_PMTILES_PATH: {path} is not a file")
    try:
        header = read_header(path)
    except OSError as exc:
        raise SettingsError(f"HOTLINE_PMTILES_PATH: {path} cannot be read ({exc.strerror})") \
            from None
    except PmtilesError as exc:
        raise SettingsError(f"HOTLINE_PMTILES_PATH: {path} {exc}") from None
    if not header.raster:
        raise SettingsError(f"HOTLINE_PMTILES_PATH: {path} holds {header.tile_type} tiles; the "
                            "dashboard draws raster PMTiles (PNG, JPEG, WebP or AVIF tiles)")
    return path


def _decode_key(name: str, raw: str) -> bytes:
    value = raw.strip()
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SettingsError(f"{name}: not valid base64 ({exc})") from None
    if len(key) != 32:
        raise SettingsError(
            f"{name}: must be 32 bytes encoded as base64 (44 characters); got {len(key)} bytes. "
            'Make one with: python -c "import os,base64;print(base64.urlsafe_b64encode('
            'os.urandom(32)).decode())"'
        )
    return key


def new_pii_key() -> str:
    """A fresh HOTLINE_PII_KEY value."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _check_database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url  # imported here: `hotline triage` never needs it
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw)
    except ArgumentError:
        raise SettingsError(
            "DATABASE_URL: not a database URL (expected e.g. "
            "postgresql+psycopg://user@host:5432/hotline or sqlite:///path.db)"
        ) from None
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise SettingsError(f"DATABASE_URL: unsupported database {backend!r}; use postgresql or "
                            "sqlite")
    if backend == "postgresql" and url.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; a bare postgresql:// would ask for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _check_redis_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix") or (parts.scheme != "unix"
                                                           and not parts.hostname):
        raise SettingsError("REDIS_URL: not a Redis URL (expected redis://host:6379/0)")
    return raw


def _check_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}: must be an http(s) URL such as https://hotline.example.org")
    return raw.rstrip("/")


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def default_config_dir() -> Path:
    """HOTLINE_CONFIG_DIR, or ./config, or the checkout's config/ (for code without an app)."""
    return _config_dir(os.environ.get("HOTLINE_CONFIG_DIR"))


def _config_dir(raw: str | None) -> Path:
    if raw:
        path = Path(raw).resolve()
        if not path.is_dir():
            raise SettingsError(f"HOTLINE_CONFIG_DIR: {path} is not a folder")
        return path
    here = Path("config").resolve()
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "config"


def _embedded_secrets(instance: Path) -> dict[str, str]:
    """Development secrets for the embedded default, generated once and kept in the instance."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "HOTLINE_PII_KEY": new_pii_key(),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle, indent=2)
    return values


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_path: str | os.PathLike[str] | None = ".env",
) -> Settings:
    """Merge `.env`, the environment and `overrides` (in rising priority) and validate them."""
    raw: dict[str, Any] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        raw.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    raw.update(os.environ if environ is None else environ)
    if overrides:
        raw.update(overrides)

    def get(name: str) -> str | None:
        value = raw.get(name)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    instance = Path(get("HOTLINE_INSTANCE") or "instance").resolve()
    database_url = get("DATABASE_URL")
    embedded = database_url is None
    if embedded:
        generated = _embedded_secrets(instance)
        database_url = f"sqlite:///{instance / 'hotline.db'}"
        for name, value in generated.items():
            if not get(name):
                raw[name] = value
    database_url = _check_database_url(database_url)

    redis_url = get("REDIS_URL")
    if redis_url:
        redis_url = _check_redis_url(redis_url)

    required = ("SECRET_KEY", "HOTLINE_PII_KEY", "TWILIO_AUTH_TOKEN")
    for name in required:
        if not get(name):
            raise SettingsError(f"{name}: required when DATABASE_URL is set (see README, Settings)")
    secret_key = get("SECRET_KEY") or ""
    if len(secret_key) < 32:
        raise SettingsError("SECRET_KEY: must be at least 32 characters")
    pii_key = _decode_key("HOTLINE_PII_KEY", get("HOTLINE_PII_KEY") or "")
    old_keys = tuple(
        _decode_key("HOTLINE_PII_OLD_KEYS", part)
        for part in (get("HOTLINE_PII_OLD_KEYS") or "").split(",")
        if part.strip()
    )

    account_sid = get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", account_sid):
        raise SettingsError("TWILIO_ACCOUNT_SID: must be AC followed by 32 hexadecimal digits")
    service_sid = get("TWILIO_MESSAGING_SERVICE_SID")
    if service_sid and not re.fullmatch(r"MG[0-9a-fA-F]{32}", service_sid):
        raise SettingsError("TWILIO_MESSAGING_SERVICE_SID: must be MG followed by 32 "
                            "hexadecimal digits")
    from_numbers = tuple(n.strip() for n in (get("TWILIO_FROM_NUMBER") or "").split(",")
                         if n.strip())
    for number in from_numbers:
        if not (number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16):
            raise SettingsError("TWILIO_FROM_NUMBER: must be E.164 numbers such as +13125550100 "
                                "(several: comma-separated)")
    try:
        sender_rate = float(get("HOTLINE_SENDER_RATE") or "1")
    except ValueError:
        raise SettingsError("HOTLINE_SENDER_RATE: must be a number of messages per second") \
            from None
    if not 0.01 <= sender_rate <= 1000:
        raise SettingsError("HOTLINE_SENDER_RATE: must be between 0.01 and 1000")
    try:
        broadcast_rate = float(get("HOTLINE_BROADCAST_RATE") or "10")
    except ValueError:
        raise SettingsError("HOTLINE_BROADCAST_RATE: must be a number of messages per second") \
            from None
    if not 0.1 <= broadcast_rate <= 1000:
        raise SettingsError("HOTLINE_BROADCAST_RATE: must be between 0.1 and 1000")
    twilio_timeout = float(_int("HOTLINE_TWILIO_TIMEOUT", get("HOTLINE_TWILIO_TIMEOUT") or "10",
                                1, 120))
    api_base = get("TWILIO_API_BASE_URL")
    public_url = get("HOTLINE_PUBLIC_URL")
    trusted_proxies = _int("HOTLINE_TRUSTED_PROXIES", get("HOTLINE_TRUSTED_PROXIES") or "0", 0, 1)
    if not embedded and not public_url and not trusted_proxies:
        # else the URL a signature is checked against follows the request's Host header
        raise SettingsError(
            "HOTLINE_PUBLIC_URL: required when DATABASE_URL is set (the https URL Twilio "
            "calls; signatures and status callbacks use it), unless HOTLINE_TRUSTED_PROXIES=1 "
            "says a reverse proxy you run sets X-Forwarded-Proto and X-Forwarded-Host")

    whatsapp_from = get("TWILIO_WHATSAPP_FROM")
    if whatsapp_from:
        whatsapp_from = whatsapp_from.removeprefix("whatsapp:")
        if not (whatsapp_from.startswith("+") and whatsapp_from[1:].isdigit()
                and 8 <= len(whatsapp_from) <= 16):
            raise SettingsError("TWILIO_WHATSAPP_FROM: must be a WhatsApp sender such as "
                                "whatsapp:+14155238886")
    template_sid = get("TWILIO_WHATSAPP_TEMPLATE_SID")
    if template_sid and not re.fullmatch(r"HX[0-9a-fA-F]{32}", template_sid):
        raise SettingsError("TWILIO_WHATSAPP_TEMPLATE_SID: must be HX followed by 32 "
                            "hexadecimal digits (a Content template)")

    known = {f.name for f in fields(Settings)}
    extra = {k: v for k, v in (overrides or {}).items() if k.lower() not in known}
    return Settings(
        embedded=embedded,
        instance_path=instance,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret_key,
        pii_key=pii_key,
        pii_old_keys=old_keys,
        pii_ratchet=Path(get("HOTLINE_PII_RATCHET") or instance / "pii-ratchet.json").resolve(),
        twilio_account_sid=account_sid,
        twilio_auth_token=get("TWILIO_AUTH_TOKEN") or "",
        twilio_messaging_service_sid=service_sid,
        twilio_from_numbers=from_numbers,
        sender_rate=sender_rate,
        twilio_timeout=twilio_timeout,
        broadcast_rate=broadcast_rate,
        twilio_api_base_url=_check_url("TWILIO_API_BASE_URL", api_base) if api_base else None,
        public_url=_check_url("HOTLINE_PUBLIC_URL", public_url) if public_url else None,
        trusted_proxies=trusted_proxies,
        config_dir=_config_dir(get("HOTLINE_CONFIG_DIR")),
        retention_days=_int("HOTLINE_RETENTION_DAYS", get("HOTLINE_RETENTION_DAYS") or "30",
                            1, 3650),
        default_region=(get("HOTLINE_DEFAULT_REGION") or "US").upper(),
        log_level=(get("HOTLINE_LOG_LEVEL") or "INFO").upper(),
        twilio_whatsapp_from=whatsapp_from,
        twilio_whatsapp_template_sid=template_sid,
        media_max_bytes=_int("HOTLINE_MEDIA_MAX_BYTES", get("HOTLINE_MEDIA_MAX_BYTES")
                             or str(16 * 1024 * 1024), 1024, 100 * 1024 * 1024),
        dashboard=_dashboard(get),
        extra=extra,
    )
