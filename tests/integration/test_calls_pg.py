"""Two volunteers press 1 on the same call at the same moment, on the real PostgreSQL: exactly
one takes it. The interleaving is forced: each thread has read the call before either writes
(without the row lock both would win, and both would be bridged in Hotline's records)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.intake import calls
from hotline.models import Call, CallLeg, CallRoster, Reporter, Responder, utcnow

pytestmark = pytest.mark.postgres


def _ringing(app) -> tuple[str, list[int]]:
    with app.app_context():
        vault = app.extensions["hotline_vault"]
        reporter = Reporter(phone_hmac=vault.phone_hmac("+13125550161"),
                            phone_enc=vault.encrypt("+13125550161", "reporter.phone"))
        db.session.add(reporter)
        db.session.flush()
        roster = db.session.scalar(select(CallRoster).where(CallRoster.serves.is_not(None))
                                   .order_by(CallRoster.id))
        people = db.session.scalars(select(Responder).where(Responder.key.in_(
            ["chicago-volunteer-7", "chicago-volunteer-8"]))).all()
        call = Call(call_sid="CA" + "7" * 32, reporter_id=reporter.id, roster_id=roster.id,
                    hotline_number="+13125550197", state="ringing", language="es", flags={},
                    started_at=utcnow())
        call.legs = [CallLeg(responder_id=r.id, status="ringing") for r in people]
        db.session.add(call)
        db.session.commit()
        return call.call_sid, [r.id for r in people]


class HeldAfterReading:
    """Holds each thread after it has read the call, until both have or a moment passes (a
    thread blocked on the row lock never arrives: the other goes on alone)."""

    def __init__(self, real: Any) -> None:
        self.real, self.barrier = real, threading.Barrier(2)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        found = self.real(*args, **kwargs)
        try:
            self.barrier.wait(1.5)
        except threading.BrokenBarrierError:
            pass
        return found


def test_two_presses_of_1_at_once_give_the_call_to_exactly_one_volunteer(make_pg_app,
                                                                         monkeypatch):
    app = make_pg_app()
    call_sid, (first, second) = _ringing(app)
    monkeypatch.setattr(calls, "get", HeldAfterReading(calls.get))
    start = threading.Barrier(2)
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def press(responder_id: int, leg: str) -> None:
        with app.app_context():
            try:
                start.wait(10)
                results[responder_id] = calls.accept(db.session, call_sid, responder_id, leg)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

    threads = [threading.Thread(target=press, args=(first, "CA" + "8" * 32)),
               threading.Thread(target=press, args=(second, "CA" + "9" * 32))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(results.values()) == [False, True]
    winner = next(r for r, won in results.items() if won)
    with app.app_context():
        call = db.session.scalar(select(Call).where(Call.call_sid == call_sid))
        assert call.answered_by_id == winner and call.state == "answered"
        assert [leg.responder_id for leg in call.legs if leg.accepted] == [winner]
