"""The dispatcher dashboard."""

from hotline.dashboard.views import bp

__all__ = ["bp"]
