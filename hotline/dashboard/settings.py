"""Dashboard settings, read from the app config (create_app overrides or the environment)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

TRUE = ("1", "true", "yes", "on")


def flag(name: str, default: bool = False) -> bool:
    """A boolean setting; strings such as "1", "true" or "yes" count as true."""
    value = current_app.config.get(name, default)
    if isinstance(value, str):
        return value.strip().lower() in TRUE
    return bool(value)


def number(name: str, default: float) -> float:
    """A positive number setting; anything unusable falls back to `default`."""
    try:
        value = float(current_app.config.get(name, default))
    except (TypeError, ValueError):
        return default
    return value if value > 0 else default


def require_totp() -> bool:
    """HOTLINE_REQUIRE_TOTP: admins and dispatchers must use a second factor."""
    return flag("HOTLINE_REQUIRE_TOTP")


def idle_timeout() -> timedelta:
    """HOTLINE_SESSION_IDLE_MINUTES (default 30): a session unused this long ends."""
    return timedelta(minutes=number("HOTLINE_SESSION_IDLE_MINUTES", 30))


def absolute_timeout() -> timedelta:
    """HOTLINE_SESSION_MAX_HOURS (default 12): no session lives longer, however busy."""
    return timedelta(hours=number("HOTLINE_SESSION_MAX_HOURS", 12))


def tile_url() -> str | None:
    """HOTLINE_TILE_URL: a Leaflet tile template (https://.../{z}/{x}/{y}.png); unset: none."""
    value = current_app.config.get("HOTLINE_TILE_URL")
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return value if urlsplit(value).scheme in ("http", "https") else None


def tile_attribution() -> str:
    """HOTLINE_TILE_ATTRIBUTION: the credit the tile provider asks for (plain text)."""
    value = current_app.config.get("HOTLINE_TILE_ATTRIBUTION") or ""
    return str(value)[:300]


def pmtiles_path() -> Path | None:
    """HOTLINE_PMTILES_PATH: the local raster PMTiles basemap (checked at start), or None."""
    value = current_app.config.get("HOTLINE_PMTILES_PATH")
    return Path(value) if isinstance(value, str | Path) and str(value).strip() else None
