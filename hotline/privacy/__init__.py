"""Privacy: PII at rest and its lifetime.

The vault (`vault`: phone numbers as a keyed HMAC plus AES-256-GCM ciphertext, bodies and notes
encrypted, bound to their column), key rotation (`keys`) and the retention purge
(`retention`, which also deletes recordings at Twilio). See docs/seizure.md.
"""
