"""JSON API v1."""

from hotline.api import broadcasts as _broadcasts  # noqa: F401 - registers its routes on bp
from hotline.api.views import bp

__all__ = ["bp"]
