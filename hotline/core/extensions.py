"""Unbound extension instances; each is bound to an app in `create_app`."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from flask import Flask, current_app
from sqlalchemy import Engine, Executable, cast, create_engine, event, exc, literal_column
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class DatabaseState:
    """One app's engine and sessions."""

    engine: Engine
    factory: sessionmaker[Session]
    scoped: scoped_session[Session]
    autocommit: Engine  # the same pool, each statement its own transaction


class Database:
    """Engine and thread-scoped session of the current app; removed after each request."""

    def init_app(self, app: Flask) -> None:
        """Create the engine from the app's settings and tie the session to the app context."""
        engine = make_engine(app.config["SETTINGS"].database_url)
        factory = sessionmaker(engine, expire_on_commit=False)
        state = DatabaseState(engine, factory, scoped_session(factory),
                              engine.execution_options(isolation_level="AUTOCOMMIT"))
        app.extensions["hotline_db"] = state

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            state.scoped.remove()

    @staticmethod
    def state(app: Flask | None = None) -> DatabaseState:
        """The database state of `app` (default: the current app)."""
        return (app or current_app).extensions["hotline_db"]

    @property
    def engine(self) -> Engine:
        """The current app's engine."""
        return self.state().engine

    @property
    def session(self) -> Session:
        """The current thread's session of the current app."""
        return self.state().scoped()

    @contextmanager
    def new_session(self) -> Iterator[Session]:
        """A separate session, for work that must commit on its own (sweepers, threads)."""
        session = self.state().factory()
        try:
            yield session
        finally:
            session.close()


def driver_connection(session: Session) -> Any | None:  # noqa: ANN401 - psycopg's connection
    """The psycopg connection under the session's transaction (begun), or None off PostgreSQL.

    For the few fixed statements every job runs: sent to the driver itself they cost about a
    third of the CPU SQLAlchemy's execution takes (~30 against ~100 µs here), and they run in
    the session's transaction all the same. SQLAlchemy's type processing does not apply."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    return connection.connection.driver_connection


_MARK = "__hotline_driver_parameter__"  # a named parameter, until it is written as %(name)s


def for_driver(statement: Executable) -> str:
    """A Core statement as the SQL psycopg takes, for `driver_connection`: compiled once,
    where the statement is defined, so that the two never differ. Its named parameters
    (`bindparam("x")`, no value) become `%(x)s`, cast to their column's type; the constants it
    holds (a status, an IN list, a LIMIT) are written into the SQL. Only for statements whose
    parameters and columns need no type processing."""
    from sqlalchemy.dialects.postgresql import psycopg
    from sqlalchemy.sql.elements import BindParameter
    from sqlalchemy.sql.visitors import replacement_traverse

    def placeholder(element: Any) -> Any:  # noqa: ANN401 - a clause element
        if isinstance(element, BindParameter) and element.value is None \
                and element.callable is None:
            named = literal_column(f"{_MARK}{element.key}{_MARK}")
            return named if element.type._isnull else cast(named, element.type)
        return None

    named = replacement_traverse(statement, {}, placeholder)
    sql = str(named.compile(dialect=psycopg.dialect(), compile_kwargs={"literal_binds": True}))
    return re.sub(f"{_MARK}(\\w+){_MARK}", r"%(\1)s", sql)


def fetch_rows(session: Session, statement: Executable, driver_sql: str,
               params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of a Core statement run in the session's transaction: on PostgreSQL its
    `for_driver` SQL at the driver, elsewhere the statement itself. Neither autoflushes: what
    the session has pending and must count is flushed by the caller first."""
    driver = driver_connection(session)
    if driver is None:
        with session.no_autoflush:
            return [tuple(row) for row in session.execute(statement, params or {})]
    return driver.execute(driver_sql, params).fetchall()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with settings that suit the backend. Statement parameters never appear in
    errors or tracebacks (they can hold ciphertext, HMACs, or a reporter's search)."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        # No pre-ping (a round trip per request on the webhook's path): after a database
        # restart the first failure invalidates the whole pool, and Twilio retries that one.
        kwargs.setdefault("pool_recycle", 1800)
    engine = create_engine(url, **kwargs)
    _forget_connections_after_fork(engine)
    return engine


def _forget_connections_after_fork(engine: Engine) -> None:
    """A forked child (RQ's work horse, gunicorn) must never reuse its parent's connections."""

    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _check_pid(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection belongs to another process")


# -- psycopg in autocommit on a connection of the pool (the webhook's store, the jobs' leases) --

def discard(engine: Engine, pooled: PoolProxiedConnection, error: BaseException | None) -> bool:
    """A connection whose statement failed, for code that talks to the driver itself: closed
    and never pooled again (in an unknown state, it may be mid-transaction), and when `error`
    says it was lost (PostgreSQL restarted) every connection of its generation is recycled as
    SQLAlchemy's own handler does (`Pool._invalidate`, the private call it makes: first, while
    the connection still has its record, so that only connections older than it are
    recycled). Returns whether it was lost."""
    lost = isinstance(error, psycopg.Error) and engine.dialect.is_disconnect(
        error, pooled.driver_connection, None)
    if lost:
        engine.pool._invalidate(pooled, error, _checkin=False)  # noqa: SLF001
    pooled.invalidate(error if isinstance(error, Exception) else None)
    return lost


def autocommit_checkout(engine: Engine, first: Callable[[Any], T],
                        what: str) -> tuple[PoolProxiedConnection, T]:
    """A connection of the pool in autocommit, and what `first(psycopg connection)` returned on
    it; the caller gives it back with `give_back`. A connection found lost (the pool still held
    it after a PostgreSQL restart) is discarded with its generation and `first` runs once more
    on a new one, so `first` must be safe to repeat; any other error discards the connection
    and propagates."""
    for attempt in (1, 2):
        pooled = engine.raw_connection()  # the pool's checkout events apply (the fork check)
        try:
            connection = pooled.driver_connection
            connection.autocommit = True  # on an idle connection: no round trip
            return pooled, first(connection)
        except psycopg.Error as error:
            lost = discard(engine, pooled, error)
            pooled.close()
            if not lost or attempt == 2:
                raise
            logger.warning("%s: database connection lost (%s); once more on a new one", what,
                           type(error).__name__)
        except BaseException:
            pooled.invalidate()  # in an unknown state: closed, never pooled again
            pooled.close()
            raise
    raise AssertionError("unreachable")


def give_back(engine: Engine, pooled: PoolProxiedConnection) -> None:
    """A connection of `autocommit_checkout` back to the pool, out of autocommit as the pool
    hands its connections out (discarded if even that fails; closed if already discarded)."""
    try:
        if pooled.is_valid:
            pooled.driver_connection.autocommit = False
    except psycopg.Error as error:
        discard(engine, pooled, error)
    finally:
        pooled.close()


db = Database()
