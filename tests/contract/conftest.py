"""A Prism mock server serving Twilio's own OpenAPI description, and a recorder of what the real
twilio client sends to it.

Prism (npm `@stoplight/prism-cli`, pinned in tests/contract/package.json; install it with
`npm ci --prefix tests/contract`) validates every request against the description: a request the
schema rejects gets a Prism problem response (422 with a `validation` list, 401, 404, 405...), and
lesser request findings are listed in the `sl-violations` header. Prism also checks its own mock
responses against the description and lists those findings in the same header with a location
starting with "response": they are about the examples in Twilio's description, not about our
requests, so they are kept apart and do not fail a test.

Prism runs without `--errors` on purpose: request validation answers 422 either way, while
`--errors` turns the response findings above into HTTP 500 (the Messages list example has
relative `*_uri` values where the schema says `format: uri`), which would make the real
client's `messages.list()` fail for reasons that have nothing to do with what we send.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from twilio.http.http_client import TwilioHttpClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PRISM = Path(os.environ.get("HOTLINE_PRISM", HERE / "node_modules" / ".bin" / "prism"))
SPEC = Path(os.environ.get("HOTLINE_TWILIO_OAI",
                           ROOT.parent / "shared" / "twilio-oai" / "twilio_api_v2010.yaml"))
STARTUP_TIMEOUT = 120.0  # seconds; measured ~7 s to load the 1.5 MB description
PRISM_ERRORS = "https://stoplight.io/prism/errors#"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "contract: checks the real twilio client's requests against Twilio's OpenAPI "
        "description with a Prism mock server (needs `npm ci --prefix tests/contract`)")


# -- Prism ------------------------------------------------------------------------------------

@dataclass
class Prism:
    url: str
    log: Path
    startup_seconds: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback http only
            return True
    except urllib.error.HTTPError:
        return True  # Prism answers 404 (no path matched) for "/": it is up
    except OSError:
        return False


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    """`prism mock` on a free loopback port, serving Twilio's 2010-04-01 description."""
    if not PRISM.exists():
        pytest.skip(f"Prism is not installed ({PRISM} is missing): run "
                    "`npm ci --prefix tests/contract`")
    if not shutil.which("node"):
        pytest.skip("Prism is installed but `node` is not on PATH")
    if not SPEC.is_file():
        pytest.fail(f"Twilio's OpenAPI description is missing: {SPEC} (set HOTLINE_TWILIO_OAI)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PRISM), "mock", "--host", "127.0.0.1", "--port", str(port), str(SPEC)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while not _answers(url):
            if process.poll() is not None:
                pytest.fail(f"Prism exited with {process.returncode}:\n{_log_tail(log)}")
            if time.monotonic() - started > STARTUP_TIMEOUT:
                pytest.fail(f"Prism did not answer within {STARTUP_TIMEOUT:.0f}s:\n"
                            f"{_log_tail(log)}")
            time.sleep(0.2)
        yield Prism(url=url, log=log, startup_seconds=time.monotonic() - started)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


# -- what the real client sent and what Prism answered ----------------------------------------

def _describe(violation: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in violation.get("location", [])) or "request"
    return f"{where}: {violation.get('message')} [{violation.get('code')}]"


@dataclass
class Exchange:
    """One HTTP request of the real twilio client, as sent, and Prism's answer."""

    method: str
    url: str
    params: Mapping[str, Any] | None
    data: Mapping[str, Any] | None
    status: int
    headers: Mapping[str, str]
    text: str
    response_findings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.response_findings = [_describe(v) for v in self._sl_violations()
                                  if v.get("location", [None])[0] == "response"]

    def _sl_violations(self) -> list[dict[str, Any]]:
        raw = self.headers.get("sl-violations")
        return json.loads(raw) if raw else []

    def violations(self) -> list[str]:
        """Everything Twilio's schema has against this request (empty when it conforms)."""
        found = [_describe(v) for v in self._sl_violations()
                 if v.get("location", [None])[0] != "response"]
        if self.status >= 400:
            try:
                problem = json.loads(self.text)
            except ValueError:
                problem = {}
            if not isinstance(problem, dict):
                problem = {}
            details = problem.get("validation") or []
            found += [_describe(v) for v in details]
            if not details:
                kind = str(problem.get("type", "")).removeprefix(PRISM_ERRORS)
                found.append(f"HTTP {self.status} {kind}: {problem.get('title')}: "
                             f"{problem.get('detail')}")
        return found

    def __str__(self) -> str:
        sent = {k: v for k, v in (self.data or self.params or {}).items()
                if k not in ("To", "Body")}  # no numbers or bodies in test output
        return f"{self.method} {self.url} {sent} -> {self.status}"


class Wire:
    """The exchanges recorded since the fixture started, with the contract checks."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def clear(self) -> None:
        self.exchanges.clear()

    def of(self, method: str, path_end: str) -> list[Exchange]:
        return [e for e in self.exchanges
                if e.method == method and e.url.split("?")[0].endswith(path_end)]

    def violations(self) -> list[str]:
        return [f"{exchange}\n    {problem}" for exchange in self.exchanges
                for problem in exchange.violations()]

    def assert_conforms(self) -> None:
        """Fail unless requests were made and Twilio's schema accepts every one of them."""
        assert self.exchanges, "the real twilio client made no request"
        problems = self.violations()
        assert not problems, ("requests that Twilio's OpenAPI description rejects:\n"
                              + "\n".join(problems))


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    """Records every request the real twilio client makes (whatever makes it) and the answer."""
    recorder = Wire()
    original = TwilioHttpClient.request

    def request(self: TwilioHttpClient, method: str, url: str, *args: Any,
                **kwargs: Any) -> Any:
        response = original(self, method, url, *args, **kwargs)
        recorder.exchanges.append(Exchange(
            method=method.upper(), url=url, params=kwargs.get("params"),
            data=kwargs.get("data"), status=response.status_code,
            headers=response.headers or {}, text=response.text or ""))
        return response

    monkeypatch.setattr(TwilioHttpClient, "request", request)
    return recorder
