"""Routing: a verified incident reaches the legal network's on-call lawyer.

`escalation` snapshots the network's policy and rotations and pages step by step until someone
accepts; `oncall` says who is on call when; `alerts` follows each alert's SMS through Twilio's
delivery statuses. Routing listens to the stages below it through signals (`receivers`), so
verification and sending never call up into it.
"""
