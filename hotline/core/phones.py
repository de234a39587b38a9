"""Phone numbers: E.164 normalisation, and the masked form a dispatcher may see."""

from __future__ import annotations

import re

import phonenumbers

# +1, an area code (never 0 or 1), seven digits: phonenumbers formats these unchanged
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")


def normalize_phone(raw: str, region: str = "US") -> str:
    """E.164 form of a phone number; raises ValueError when it is not one."""
    if _NANP_E164.fullmatch(raw):
        return raw  # what Twilio sends for US/Canada numbers is its own E.164 form already
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str:
    """A number as a dispatcher may see it without a PII view: +1 ••• ••• 0123."""
    if not e164:
        return ""
    return f"{e164[:2]} ••• ••• {e164[-4:]}" if len(e164) > 6 else "•••"
