"""Accounts: the people who use the dashboard and the API.

Dashboard users (argon2id hashes, roles and scopes, lockout, TOTP) in `users`, API bearer tokens
in `tokens`, and the audit log of who did or saw what in `audit`.
"""
