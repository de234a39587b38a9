"""Incidents: from a triaged report to a verified (or dismissed) incident.

`reports` builds reports from triage (and re-triages them on a follow-up answer or a late
transcript), `clustering` puts them into incidents, `credibility` scores them with reasons,
`abuse` spots rate-limited reporters, floods and denunciations, `verification` asks verifiers and
records their answers, `actions` are the dispatcher's (dashboard and API). `lifecycle` owns the
incident itself: the locked accessor every change starts from, status transitions, markers, the
timeline, and the `incident_verified` signal routing listens to. `geography` is the gazetteer of
the jurisdictions in the database.
"""
