"""Unbound extension instances; each is bound to an app in `create_app`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker


class Database:
    """One engine and a thread-scoped session per app; the session is removed after each request."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self._scoped: scoped_session[Session] | None = None

    def init_app(self, app: Flask) -> None:
        """Create the engine from the app's settings and tie the session to the app context."""
        settings = app.config["SETTINGS"]
        self.engine = make_engine(settings.database_url)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._scoped = scoped_session(self._factory)
        app.extensions["hotline_db"] = self

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            if self._scoped is not None:
                self._scoped.remove()

    @property
    def session(self) -> Session:
        """The current thread's session."""
        if self._scoped is None:
            raise RuntimeError("Database used before init_app")
        return self._scoped()

    @contextmanager
    def new_session(self) -> Iterator[Session]:
        """A separate session, for work that must commit independently (sweepers, threads)."""
        assert self._factory is not None
        session = self._factory()
        try:
            yield session
        finally:
            session.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with settings that suit the backend."""
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
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


db = Database()
