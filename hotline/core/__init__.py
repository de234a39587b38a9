"""Core: what every stage stands on and that knows nothing of Hotline's domain.

Settings (environment and `.env`, validated once), the unbound database extension, migrations,
logging with its phone-number mask, Prometheus metrics, HTTP security headers, distances on the
Earth, phone-number normalisation, the `config/*.yaml` reader and validator, per-jurisdiction
policy, and the factory of the real `twilio` REST client (pointed at a stand-in by
TWILIO_API_BASE_URL). Imports no other Hotline package.
"""
