"""Messaging: what Hotline says and how it leaves.

`templates` (config/templates.yaml, in the reader's language), `notify` (templated SMS to
responders and reporters), `outbound` (queue, send at most once through the real twilio client,
status callbacks; emits `delivery_changed`), `pacing` (sender slots shared by every process).
Calls nothing above it.
"""
