"""The embedded backend: outbox jobs run by a worker thread of this process; the rows
themselves are the queue."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.jobs.outbox import Counter, Pending, reschedule, run_outbox_job, schedule_daily
from hotline.models import OutboxJob, utcnow

logger = logging.getLogger(__name__)


class InlineBackend:
    """Runs outbox jobs in a worker thread of this process (the embedded default)."""

    def __init__(self, app: Flask, autostart: bool = True) -> None:
        self.app = app
        self.autostart = autostart
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def dispatch(self, jobs: list[Pending], counter: Counter | None = None) -> int | None:
        """Wake the runner (starting it on first use); the rows themselves are the queue.

        Keeps no counters: the caller counts in the database.
        """
        if self.autostart and not self.ping():
            self.start()
        self._wake.set()
        return None

    def ping(self) -> bool:
        """The in-process runner is up when its thread is."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the runner thread (idempotent)."""
        if self.ping():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="hotline-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop the runner thread after its current job."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_pending(self, limit: int = 50) -> int:
        """Run due jobs now, in this thread; returns how many ran."""
        with self.app.app_context():
            with db.new_session() as session:
                due = session.scalars(
                    select(OutboxJob.id)
                    .where(OutboxJob.done_at.is_(None), OutboxJob.failed_at.is_(None),
                           OutboxJob.run_at <= utcnow())
                    .order_by(OutboxJob.run_at, OutboxJob.id)
                    .limit(limit)
                ).all()
        ran = 0
        for outbox_id in due:
            if self._stop.is_set():
                break
            with self.app.app_context():
                try:
                    run_outbox_job(outbox_id)
                except Exception:  # noqa: BLE001 - recorded on the row and retried with backoff
                    logger.exception("job for outbox %s failed", outbox_id)
                    reschedule(outbox_id)
            ran += 1
        return ran

    def _loop(self) -> None:
        last_daily = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_daily > 3600:
                last_daily = time.monotonic()
                try:
                    with self.app.app_context(), db.new_session() as session:
                        schedule_daily(session)
                        session.commit()
                except Exception:  # noqa: BLE001 - retried within the hour
                    logger.exception("could not schedule the daily jobs")
            try:
                ran = self.run_pending()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the runner
                logger.exception("job runner iteration failed")
                ran = 0
            if not ran:
                self._wake.wait(0.5)
                self._wake.clear()
