"""API fixtures: the dashboard's seeded incidents (three jurisdictions' worth of real SMS)."""

from tests.dashboard.conftest import seeded  # noqa: F401 (re-exported as a fixture)
