"""`for_driver`: a Core statement compiled for psycopg, its named parameters as `%(x)s` (cast
to their type) and its constants (a status, an IN list, a LIMIT, a '%') written into the SQL;
run at the driver, it gives what SQLAlchemy gives."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, func, literal, select

from hotline.core.extensions import db, fetch_rows, for_driver
from hotline.models import Incident

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

_INCIDENTS = Incident.__table__.c
_STATEMENT = select(func.count(_INCIDENTS.id), literal("50% sure"),
                    bindparam("n", type_=_INCIDENTS.id.type) + 1).where(
    _INCIDENTS.status.in_(("new", "verifying")), _INCIDENTS.code != bindparam("code"))


def test_constants_are_written_in_and_named_parameters_stay_parameters():
    sql = for_driver(_STATEMENT)
    assert "IN ('new', 'verifying')" in sql and "%(code)s" in sql and "%(n)s" in sql
    assert "50%% sure" in sql  # psycopg's escape for a literal '%'


def test_the_driver_gives_what_sqlalchemy_gives(pg_app):
    with pg_app.app_context():
        session = db.session
        params = {"code": "ZZZZ", "n": 41}
        through_sqlalchemy = [tuple(r) for r in session.execute(_STATEMENT, params)]
        at_the_driver = fetch_rows(session, _STATEMENT, for_driver(_STATEMENT), params)
        assert at_the_driver == through_sqlalchemy == [(0, "50% sure", 42)]
        session.rollback()
