"""Settings are validated at start, and every problem names its setting."""

from __future__ import annotations

import json

import pytest

from hotline import create_app
from hotline.core.settings import SettingsError, load_settings, new_pii_key

GOOD = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/hotline",
    "SECRET_KEY": "s" * 40,
    "HOTLINE_PII_KEY": new_pii_key(),
    "TWILIO_AUTH_TOKEN": "token",
    "HOTLINE_PUBLIC_URL": "https://hotline.example.org",
}


def settings(tmp_path, **changes):
    env = {**GOOD, "HOTLINE_INSTANCE": str(tmp_path)}
    env.update(changes)
    env = {k: v for k, v in env.items() if v is not None}
    return load_settings(environ=env, dotenv_path=None)


def test_good_production_settings(tmp_path):
    s = settings(tmp_path)
    assert not s.embedded
    assert s.database_url.startswith("postgresql+psycopg://")
    assert s.queue_mode == "inline"
    assert settings(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0").queue_mode == "rq"


@pytest.mark.parametrize(("change", "named"), [
    ({"DATABASE_URL": "postgress//oops"}, "DATABASE_URL"),
    ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
    ({"TWILIO_AUTH_TOKEN": None}, "TWILIO_AUTH_TOKEN"),
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"HOTLINE_PII_KEY": None}, "HOTLINE_PII_KEY"),
    ({"HOTLINE_PII_KEY": "c2hvcnQ="}, "HOTLINE_PII_KEY"),
    ({"HOTLINE_PII_KEY": "not base64 !!"}, "HOTLINE_PII_KEY"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ({"HOTLINE_PUBLIC_URL": "hotline.example.org"}, "HOTLINE_PUBLIC_URL"),
    ({"TWILIO_API_BASE_URL": "ftp://x"}, "TWILIO_API_BASE_URL"),
    ({"TWILIO_ACCOUNT_SID": "XX123"}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_MESSAGING_SERVICE_SID": "AB123"}, "TWILIO_MESSAGING_SERVICE_SID"),
    ({"TWILIO_FROM_NUMBER": "5551234"}, "TWILIO_FROM_NUMBER"),
    ({"HOTLINE_TRUSTED_PROXIES": "2"}, "HOTLINE_TRUSTED_PROXIES"),
    ({"HOTLINE_RETENTION_DAYS": "thirty"}, "HOTLINE_RETENTION_DAYS"),
    ({"HOTLINE_CONFIG_DIR": "/nonexistent/config"}, "HOTLINE_CONFIG_DIR"),
])
def test_bad_setting_is_named(tmp_path, change, named):
    with pytest.raises(SettingsError) as caught:
        settings(tmp_path, **change)
    assert str(caught.value).startswith(named + ":")


def test_production_refuses_to_start_without_a_public_url(tmp_path):
    """Without it the URL a Twilio signature is checked against would follow `Host`."""
    with pytest.raises(SettingsError, match=r"^HOTLINE_PUBLIC_URL: required when DATABASE_URL"):
        settings(tmp_path, HOTLINE_PUBLIC_URL=None)
    behind = settings(tmp_path, HOTLINE_PUBLIC_URL=None, HOTLINE_TRUSTED_PROXIES="1")
    assert behind.public_url is None and behind.trusted_proxies == 1
    assert settings(tmp_path).public_url == "https://hotline.example.org"


def test_embedded_needs_nothing_and_keeps_its_secrets(tmp_path):
    first = load_settings(environ={"HOTLINE_INSTANCE": str(tmp_path)}, dotenv_path=None)
    assert first.embedded and first.queue_mode == "inline"
    assert first.database_url == f"sqlite:///{tmp_path / 'hotline.db'}"
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    second = load_settings(environ={"HOTLINE_INSTANCE": str(tmp_path)}, dotenv_path=None)
    assert second.pii_key == first.pii_key
    assert second.twilio_auth_token == stored["TWILIO_AUTH_TOKEN"]


def test_environment_overrides_embedded_defaults(tmp_path):
    s = load_settings(environ={"HOTLINE_INSTANCE": str(tmp_path), "TWILIO_AUTH_TOKEN": "mine",
                               "HOTLINE_PUBLIC_URL": "https://x.example/"}, dotenv_path=None)
    assert s.twilio_auth_token == "mine"
    assert s.public_url == "https://x.example"


def test_dotenv_is_read_and_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"HOTLINE_INSTANCE={tmp_path}\nHOTLINE_LOG_LEVEL=debug\n"
                      "HOTLINE_RETENTION_DAYS=7\n")
    s = load_settings(environ={"HOTLINE_RETENTION_DAYS": "9"}, dotenv_path=dotenv)
    assert s.log_level == "DEBUG"
    assert s.retention_days == 9


def test_create_app_fails_naming_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/x")
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="^TWILIO_AUTH_TOKEN:"):
        create_app({"HOTLINE_INSTANCE": str(tmp_path), "SECRET_KEY": "s" * 40,
                    "HOTLINE_PII_KEY": new_pii_key(), "DOTENV_PATH": None})


@pytest.mark.parametrize(("change", "named"), [
    ({"TWILIO_ACCOUNT_SID": "AC" + "x" * 32}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_MESSAGING_SERVICE_SID": "MG123"}, "TWILIO_MESSAGING_SERVICE_SID"),
    ({"HOTLINE_TWILIO_TIMEOUT": "0"}, "HOTLINE_TWILIO_TIMEOUT"),
])
def test_sids_are_checked_as_twilio_checks_them(tmp_path, change, named):
    """Regression: SIDs Twilio's schema rejects used to pass and fail every send later."""
    with pytest.raises(SettingsError, match=f"^{named}:"):
        settings(tmp_path, **change)


def test_dashboard_settings_from_the_environment(tmp_path):
    s = settings(tmp_path, HOTLINE_REQUIRE_TOTP="yes", HOTLINE_SESSION_IDLE_MINUTES="15",
                 HOTLINE_TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png")
    assert s.dashboard == {"HOTLINE_REQUIRE_TOTP": True, "HOTLINE_SESSION_IDLE_MINUTES": 15,
                           "HOTLINE_TILE_URL": "https://tiles.example.org/{z}/{x}/{y}.png"}
    with pytest.raises(SettingsError, match="^HOTLINE_TILE_URL:"):
        settings(tmp_path, HOTLINE_TILE_URL="javascript:alert(1)")
    with pytest.raises(SettingsError, match="^HOTLINE_REQUIRE_TOTP:"):
        settings(tmp_path, HOTLINE_REQUIRE_TOTP="maybe")


def test_every_setting_is_in_the_readme():
    from pathlib import Path

    from hotline.core.settings import DOCUMENTED

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [name for name in DOCUMENTED if f"| `{name}` |" not in readme]
    assert missing == []


def test_a_pmtiles_basemap_must_be_a_raster_pmtiles_v3_file(tmp_path):
    from tests.dashboard.conftest import png_tile, write_pmtiles

    good = write_pmtiles(tmp_path / "city.pmtiles", {(10, 262, 380): png_tile((1, 2, 3))})
    assert settings(tmp_path, HOTLINE_PMTILES_PATH=str(good)).dashboard == {
        "HOTLINE_PMTILES_PATH": str(good.resolve())}
    vector = write_pmtiles(tmp_path / "vector.pmtiles", {(10, 262, 380): b"\x1a\x00"}, "mvt")
    (tmp_path / "old.pmtiles").write_bytes(b"PMTiles\x02" + bytes(200))
    (tmp_path / "notes.txt").write_text("not tiles at all")
    for value, says in ((tmp_path / "missing.pmtiles", "does not exist"),
                        (tmp_path, "is not a file"),
                        (tmp_path / "notes.txt", "is not a PMTiles archive"),
                        (tmp_path / "old.pmtiles", "is PMTiles version 2"),
                        (vector, "holds mvt tiles; the dashboard draws raster PMTiles")):
        with pytest.raises(SettingsError, match="^HOTLINE_PMTILES_PATH: ") as caught:
            settings(tmp_path, HOTLINE_PMTILES_PATH=str(value))
        assert says in str(caught.value)
    with pytest.raises(SettingsError, match="^HOTLINE_PMTILES_PATH: set it or HOTLINE_TILE_URL"):
        settings(tmp_path, HOTLINE_PMTILES_PATH=str(good),
                 HOTLINE_TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png")


def test_the_pmtiles_header_reader_agrees_with_protomaps_writer(tmp_path):
    from hotline.core.pmtiles import read_header
    from tests.dashboard.conftest import png_tile, write_pmtiles

    path = write_pmtiles(tmp_path / "city.pmtiles", {(11, 524, 761): png_tile((1, 2, 3)),
                                                     (12, 1049, 1522): png_tile((4, 5, 6))},
                         bounds=(-87.94, 41.64, -87.52, 42.02))
    header = read_header(path)
    assert (header.tile_type, header.min_zoom, header.max_zoom) == ("png", 11, 12)
    assert header.bounds == pytest.approx((-87.94, 41.64, -87.52, 42.02))
    assert header.raster
