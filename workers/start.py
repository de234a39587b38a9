"""Worker start-up: RQ on the named queues, with the scheduler (a thread) and the outbox sweeper."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from flask import Flask
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler
from sqlalchemy.exc import SQLAlchemyError

from hotline.core.extensions import db
from hotline.jobs import outbox, rq_backend, sweeper
from workers.base import use_app

logger = logging.getLogger(__name__)
SWEEP_EVERY = 10.0


def sweep_once(app: Flask) -> int:
    """One sweep of the outbox, guarded so only one worker sweeps at a time."""
    backend = outbox.backend_of(app)
    assert isinstance(backend, rq_backend.RQBackend)
    if not backend.redis.set("hotline:sweeper", "1", nx=True, ex=int(SWEEP_EVERY) - 1):
        return 0
    with app.app_context():
        with db.new_session() as session:
            outbox.schedule_daily(session)
            session.commit()
            handed = sweeper.sweep_outbox(session, backend)
            session.commit()
            return handed


def _sweeper(app: Flask, stop: threading.Event) -> None:
    while not stop.wait(SWEEP_EVERY):
        try:
            sweep_once(app)
        except RedisError as exc:
            logger.warning("sweeper: redis unavailable (%s)", type(exc).__name__)
        except Exception:  # noqa: BLE001 - the sweeper must outlive a bad iteration
            logger.exception("sweeper iteration failed")


def warm_up(app: Flask) -> None:
    """Load the place data, the gazetteer, the templates and the language model before the
    first job needs them."""
    from hotline.incidents.geography import current_gazetteer
    from hotline.messaging.templates import load_templates
    from hotline.triage.language import warm

    with app.app_context():
        try:
            with db.new_session() as session:
                current_gazetteer(session)
        except (SQLAlchemyError, psycopg.Error) as exc:
            # PostgreSQL away as the worker starts (a restart): the first job loads the
            # gazetteer instead. A worker that died here left every job to its supervisor.
            logger.warning("warm-up: database unavailable (%s); the gazetteer loads with the "
                           "first job", type(exc).__name__)
        load_templates(app.config["SETTINGS"].config_dir)
    warm()


class _ThreadScheduler(RQScheduler):
    """RQ's scheduler (it moves due timers onto their queues) as a thread of the worker.

    RQ forks it as a process, but this process already runs threads (the outbox sweeper; the
    pub/sub listener): a fork copies a lock another thread held at that instant (logging's,
    a Redis pool's) and the child then waits on it for ever, so no timer fires and the
    worker's own stop waits on the child. A thread shares the process and has no such hazard.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._asked = threading.Event()  # set by a stop: ends the wait after a failed round

    def _install_signal_handlers(self) -> None:
        """The worker's signals stop the scheduler (a thread cannot install handlers)."""

    def start(self) -> threading.Thread:
        """Run the scheduling loop in a daemon thread; `_process` is what RQ checks."""
        self._status = self.Status.STARTED
        self._stop_requested = False
        self._asked.clear()
        thread = threading.Thread(target=self._run, name="rq-scheduler", daemon=True)
        self._process = thread
        thread.start()
        return thread

    def request_stop(self, signum: int | None = None, frame: Any = None) -> None:  # noqa: ANN401
        """Stop at the end of the round (or of the wait after a failed one)."""
        super().request_stop(signum, frame)
        self._asked.set()

    def _run(self) -> None:
        """The scheduling loop until asked to stop; a round that fails (Redis away a moment)
        is tried again after a pause, here: RQ's own maintenance would restart the scheduler
        only at its next round, minutes later, and no escalation timer fires meanwhile."""
        self.log.info("Scheduler for %s started", ", ".join(sorted(self._queue_names)))
        while not self._stop_requested:
            try:
                self.work()  # returns once asked to stop
            except RedisError as exc:
                self.log.warning("Scheduler: redis unavailable (%s); trying again",
                                 type(exc).__name__)
                self._asked.wait(SCHEDULER_RETRY)
            except Exception:  # noqa: BLE001 - a scheduler that stops stops every timer
                self.log.exception("Scheduler raised an exception; trying again")
                self._asked.wait(SCHEDULER_RETRY)
        self.log.info("Scheduler stopped")


SCHEDULER_STOP_WAIT = 5.0  # seconds; its loop sleeps 1 s between rounds
SCHEDULER_RETRY = 2.0  # seconds between a failed scheduling round and the next try


HEARTBEAT_EVERY = 5.0  # seconds between the worker's own heartbeats (its key lives 480 s)


class _Worker(SimpleWorker):
    """RQ's SimpleWorker that remembers a SIGTERM/SIGINT (RQ flags one only when it comes
    mid-job, and an idle worker that was asked to stop must not be restarted), and that sends
    its own heartbeat at most every few seconds, in one round trip."""

    stop_asked = False
    jobs_done = 0
    _beat_at = float("-inf")

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:  # noqa: ANN401
        """RQ calls this three times a job, three Redis round trips each time; the worker's key
        lives `worker_ttl` + 60 s, so one every HEARTBEAT_EVERY seconds keeps it as alive. A
        heartbeat with its own timeout or on RQ's pipeline (a job starting) is always sent."""
        if timeout is not None or pipeline is not None:
            super().heartbeat(timeout, pipeline)
            return
        now = time.monotonic()
        if now - self._beat_at < HEARTBEAT_EVERY:
            return
        self._beat_at = now
        with self.connection.pipeline(transaction=False) as batch:
            super().heartbeat(None, batch)
            batch.execute()

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """As RQ's, with the scheduler in a thread: it takes the queues' scheduler locks, and
        in burst mode only moves what is due now."""
        self.scheduler = _ThreadScheduler(self.queues, connection=self.connection,
                                          logging_level=logging_level or self.log.level,
                                          date_format=date_format, log_format=log_format,
                                          serializer=self.serializer)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return  # another worker schedules; RQ's maintenance retries the locks
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    def stop_scheduler(self) -> None:
        """Ask the scheduler thread to stop and wait for it (it releases its locks)."""
        thread = self.scheduler._process if self.scheduler else None
        if isinstance(thread, threading.Thread) and thread.is_alive():
            self.scheduler.request_stop()
            thread.join(SCHEDULER_STOP_WAIT)

    def teardown(self) -> None:
        """As RQ's (stop the scheduler, register the death), with a SIGTERM/SIGINT now only
        remembered: RQ's handler raises StopRequested when idle, and its work loop, which
        catches that, has ended here (a CI run saw one land while the scheduler thread was
        joined after Redis went away: the worker exited 1 instead of stopping)."""
        _remember_signals(self._remember_stop)
        super().teardown()

    def _remember_stop(self) -> None:
        self.stop_asked = True

    def request_stop(self, signum: int, frame: Any) -> None:  # noqa: ANN401
        """Remember the request, then stop as RQ does (warm: the current job finishes)."""
        self.stop_asked = True
        super().request_stop(signum, frame)

    def set_state(self, state: str, pipeline: Any = None) -> None:  # noqa: ANN401
        """RQ sets IDLE after each job and again before the next dequeue: a state the worker
        is already in is not written again (one round trip a job fewer)."""
        if pipeline is None and state == getattr(self, "_state", None):
            return
        super().set_state(state, pipeline)

    def execute_job(self, job: Any, queue: Queue) -> None:  # noqa: ANN401
        """Run the job in this process, as SimpleWorker does, and count it."""
        try:
            super().execute_job(job, queue)
        finally:
            self.jobs_done += 1


def run_worker(app: Flask, queues: tuple[str, ...] | list[str] | None = None,
               burst: bool = False, max_jobs: int | None = None) -> bool:
    """Work the queues until stopped (or empty, with `burst`; or, with `max_jobs`, until this
    process has run that many jobs, so that its supervisor starts a fresh one)."""
    use_app(app)
    backend = outbox.backend_of(app)
    assert isinstance(backend, rq_backend.RQBackend)
    warm_up(app)
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_sweeper, args=(app, stop), name="outbox-sweeper",
                         daemon=True).start()
    else:
        sweep_once(app)
    done = 0
    try:
        while True:
            # Jobs run in this warmed process (no fork per job: a fork costs a fresh database
            # connection and cold caches, ~0.3 s a job). A killed worker kills its job with it;
            # the sweeper notices the free lease and runs the job again.
            worker = _Worker([Queue(name, connection=backend.redis) for name in
                              (queues or outbox.QUEUES)], connection=backend.redis)
            asked = threading.Event()
            try:
                result = worker.work(burst=burst, with_scheduler=True, logging_level="INFO",
                                     max_jobs=max_jobs - done if max_jobs else None)
            except RedisError as exc:
                if burst:
                    raise
                result = None
                logger.warning("worker lost Redis (%s)", type(exc).__name__)
            finally:
                # RQ's handlers belong to the worker that just ended: a signal now must not
                # call into it (its stop talks to Redis, and Redis may be what went away)
                _remember_signals(asked.set)
            done += worker.jobs_done
            if burst or worker.stop_asked or asked.is_set():  # asked to stop: stop
                return bool(result)
            if max_jobs is not None and done >= max_jobs:
                logger.info("worker ran %d jobs (--max-jobs); exiting to be started afresh", done)
                return True
            # RQ gave up on an error (Redis went away): wait for Redis like a supervisor
            # would, then work again
            logger.warning("worker stopped without being asked to; restarting when Redis is up")
            if not _wait_for_redis(backend, asked):
                logger.info("asked to stop while waiting for Redis; stopping")
                return False
    finally:
        stop.set()


def _remember_signals(remember: Callable[[], None]) -> None:
    """A SIGTERM/SIGINT from now on only calls `remember` (between RQ workers, and while one
    tears down; the next RQ worker installs its own handlers)."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signum, _frame: remember())


def _wait_for_redis(backend: rq_backend.RQBackend, asked: threading.Event) -> bool:
    """Wait until Redis answers (True) or a SIGTERM/SIGINT asks us to stop (False)."""
    while not asked.wait(1):
        if backend.ping():
            return True
    return False
