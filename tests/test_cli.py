"""The `hotline` command, driven as a user would: as processes, with only the settings given."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "TWILIO_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"))}
    env.update(extra)
    return env


def hotline(*args: str, env: dict[str, str], cwd=ROOT, input: str | None = None):
    return subprocess.run([sys.executable, "-m", "hotline.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, input=input)


def test_triage_prints_json_and_touches_nothing(tmp_path):
    env = clean_env(HOTLINE_INSTANCE=str(tmp_path / "instance"))
    result = hotline("triage", "--from", "+13125550123",
                     "ICE at the Home Depot on Western and 47th", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"language", "jurisdiction", "needs_location", "location", "salute",
                         "confidence", "language_confidence"}
    assert set(data["location"]) == {"text", "street", "zip", "city", "county", "state", "lat",
                                     "lon", "source"}
    assert set(data["salute"]) == {"size", "activity", "location", "uniform", "time",
                                   "equipment"}
    assert data["language"] == "en" and data["jurisdiction"] == "chicago"
    assert data["needs_location"] is False
    assert 0 <= data["confidence"] <= 1
    assert not (tmp_path / "instance").exists()


def test_triage_of_a_city_alone_needs_location(tmp_path):
    result = hotline("triage", "hay migra en denver", env=clean_env())
    data = json.loads(result.stdout)
    assert data["language"] == "es" and data["jurisdiction"] == "denver"
    assert data["needs_location"] is True


def test_commands_on_the_embedded_database(tmp_path):
    env = clean_env(HOTLINE_INSTANCE=str(tmp_path))
    assert hotline("db", "upgrade", env=env).returncode == 0
    first = hotline("config", "load", env=env)
    assert first.returncode == 0 and "12 created" not in first.stdout  # counts every record
    assert re.search(r"^\d+ created, 0 updated", first.stdout.splitlines()[-1])
    again = hotline("config", "load", env=env)
    assert again.stdout.splitlines()[-1].startswith("0 created, 0 updated")

    made = hotline("users", "create", "Ana@Example.org", "--role", "dispatcher",
                   "--password", "correct horse battery", env=env)
    assert made.returncode == 0 and "created dispatcher ana@example.org" in made.stdout
    prompted = hotline("users", "create", "bo@example.org", "--role", "admin", env=env,
                       input="another long password\nanother long password\n")
    assert prompted.returncode == 0, prompted.stderr
    short = hotline("users", "create", "cy@example.org", "--role", "viewer", "--password", "x",
                    env=env)
    assert short.returncode != 0 and "password" in short.stderr
    spanish = hotline("users", "create", "di@example.org", "--role", "dispatcher", "--password",
                      "correct horse battery", "--ui-language", "es", env=env)
    assert spanish.returncode == 0, spanish.stderr

    token = hotline("tokens", "create", "ops", env=env)
    assert token.returncode == 0 and token.stdout.strip().startswith("htl_")
    scoped = hotline("tokens", "create", "sf-desk", "--role", "viewer", "--jurisdiction",
                     "san-francisco", "--jurisdiction", "santa-clara-county", env=env)
    assert scoped.returncode == 0 and scoped.stdout.strip().startswith("htl_")
    assert "scope: san-francisco, santa-clara-county" in scoped.stderr
    lawyer = hotline("tokens", "create", "chi-legal", "--role", "lawyer", "--network",
                     "chicago-legal", env=env)
    assert lawyer.returncode == 0 and "scope: pages to chicago-legal" in lawyer.stderr
    for bad, problem in ((("--role", "lawyer"), "--network: a lawyer token needs"),
                         (("--jurisdiction", "atlantis"), "unknown slug(s) atlantis")):
        refused = hotline("tokens", "create", "bad", *bad, env=env)
        assert refused.returncode != 0 and problem in refused.stderr
        assert "htl_" not in refused.stdout
    assert hotline("purge", env=env).returncode == 0


def test_bad_config_is_reported_with_file_and_key(tmp_path):
    import shutil

    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "jurisdictions.yaml"
    path.write_text(path.read_text().replace("timezone: America/Denver",
                                             "timezone: America/Denvr"))
    env = clean_env(HOTLINE_INSTANCE=str(tmp_path))
    hotline("db", "upgrade", env=env)
    result = hotline("config", "load", str(config), env=env)
    assert result.returncode == 1
    assert f"{path}: jurisdictions[7].timezone: unknown timezone 'America/Denvr'" in result.stderr


def test_missing_setting_stops_with_its_name(tmp_path):
    env = clean_env(DATABASE_URL="postgresql://postgres@127.0.0.1/x", SECRET_KEY="s" * 40,
                    HOTLINE_INSTANCE=str(tmp_path))
    result = hotline("db", "upgrade", env=env)
    assert result.returncode == 1
    assert "HOTLINE_PII_KEY" in result.stderr


@pytest.fixture
def running(tmp_path):
    """`hotline run` with no settings at all, on a free port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = clean_env(HOTLINE_INSTANCE=str(tmp_path / "instance"))
    process = subprocess.Popen([sys.executable, "-m", "hotline.cli", "run", "--port", str(port)],
                               env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "log in as" in line:
            break
    yield port, "".join(lines), env, tmp_path
    process.send_signal(signal.SIGINT)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


def test_run_needs_no_settings_and_simulate_sms_goes_through(running):
    port, output, env, cwd = running
    assert f"Hotline is running at http://127.0.0.1:{port}/" in output
    password = re.search(r"log in as dispatcher@hotline.local with password (\S+)",
                         output).group(1)
    session = requests.Session()
    page = session.get(f"http://127.0.0.1:{port}/login", timeout=5)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    board = session.post(f"http://127.0.0.1:{port}/login", timeout=5, data={
        "email": "dispatcher@hotline.local", "password": password, "csrf_token": csrf})
    assert "Open incidents" in board.text

    result = hotline("simulate-sms", "--url", f"http://127.0.0.1:{port}", "--from",
                     "+13125550123", "la migra esta en Pilsen, en la 18 y Ashland", env=env,
                     cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "webhook: HTTP 200" in result.stdout
    assert "recibimos su reporte" in result.stdout
    incident = json.loads(result.stdout.split("incident: ", 1)[1])
    assert incident["jurisdiction"] == "chicago"
    assert re.fullmatch(r"[2-9A-Z]{4}", incident["code"])
    board = session.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert incident["code"] in board.text
    # the same on WhatsApp: the same webhook, answered, a report of its own
    result = hotline("simulate-sms", "--url", f"http://127.0.0.1:{port}", "--whatsapp",
                     "--from", "+13125550124", "ICE at the Home Depot on Cermak 60623", env=env,
                     cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "webhook: HTTP 200" in result.stdout and "reply: (none)" not in result.stdout
    assert json.loads(result.stdout.split("incident: ", 1)[1])["jurisdiction"] == "chicago"


def test_geo_import_reads_an_extract_reports_counts_and_replaces_the_earlier_import(tmp_path):
    from tests.test_geo_import import EXTRACT, alameda_config

    if not EXTRACT.exists():
        pytest.skip("../shared/osm is absent")
    config = alameda_config(tmp_path)
    env = clean_env(HOTLINE_INSTANCE=str(tmp_path), HOTLINE_CONFIG_DIR=str(config))
    assert hotline("db", "upgrade", env=env).returncode == 0
    assert hotline("config", "load", env=env).returncode == 0
    first = hotline("geo", "import", str(EXTRACT), "--jurisdiction", "alameda-county", env=env)
    assert first.returncode == 0, first.stderr
    assert re.search(r"alameda-county: 8 streets, \d+ corners, \d+ addresses", first.stdout)
    stored = re.search(r"stored (\d+) features", first.stdout).group(1)
    again = hotline("geo", "import", str(EXTRACT), "--jurisdiction", "alameda-county", env=env)
    assert f"stored {stored} features" in again.stdout
    # `hotline triage` reads the import from the existing database
    corner = json.loads(hotline("triage", "--from", "+15105550111",
                                "ICE at 7th and Wood in West Oakland", env=env).stdout)
    assert corner["location"]["source"] == "osm" and corner["jurisdiction"] == "alameda-county"
    unknown = hotline("geo", "import", str(EXTRACT), "--jurisdiction", "atlantis", env=env)
    assert unknown.returncode != 0 and "no jurisdiction 'atlantis'" in unknown.stderr
    junk = tmp_path / "junk.osm"
    junk.write_text("this is not OpenStreetMap data")
    broken = hotline("geo", "import", str(junk), "--jurisdiction", "alameda-county", env=env)
    assert broken.returncode != 0 and "Traceback" not in broken.stderr
    assert "cannot be read as an OpenStreetMap extract" in broken.stderr
