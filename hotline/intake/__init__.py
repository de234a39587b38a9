"""Intake: an inbound text or call, from the webhook to the right handler.

`store` keeps a signed webhook's message durably and idempotently (one statement on
PostgreSQL) and hands it to the triage job; `dispatch` is that job's router: a responder's
command (`commands` parses, `responders` carries out), a reply in a relayed conversation
(`conversation`), the answer to "where?" or a new report (both in `hotline.incidents.reports`).
`keywords` are the carrier words (STOP, START, HELP); `voice` turns recordings and transcripts
into messages.
"""
