"""Which backend runs the outbox: RQ on Redis in production, a thread in the embedded default."""

from __future__ import annotations

from flask import Flask

from hotline.jobs.inline import InlineBackend
from hotline.jobs.outbox import Backend
from hotline.jobs.rq_backend import RQBackend


def init_app(app: Flask) -> None:
    """Bind the job backend the settings ask for."""
    settings = app.config["SETTINGS"]
    backend: Backend
    if settings.queue_mode == "rq":
        backend = RQBackend(settings.redis_url)
    else:
        backend = InlineBackend(app, autostart=app.config.get("JOBS_AUTOSTART", True))
    app.extensions["hotline_jobs"] = backend
