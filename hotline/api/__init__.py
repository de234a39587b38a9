"""JSON API v1."""

from hotline.api.views import bp

__all__ = ["bp"]
