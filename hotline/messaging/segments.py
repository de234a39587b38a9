"""How many SMS segments a text costs: GSM-7 (160 characters, 153 a segment when split) when
every character is in the GSM 03.38 alphabet or its extension table, else UCS-2 (70, or 67 a
segment; counted in UTF-16 code units, so an emoji is two)."""

from __future__ import annotations

# GSM 03.38 basic character set
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# the extension table: each costs two septets (an escape, then the character)
_EXTENDED = frozenset("^{}\\[~]|€\f")


def encoding(text: str) -> str:
    """`GSM-7` or `UCS-2`."""
    return "GSM-7" if all(c in _BASIC or c in _EXTENDED for c in text) else "UCS-2"


def length(text: str) -> int:
    """Length in the encoding's units (septets for GSM-7, UTF-16 code units for UCS-2)."""
    if encoding(text) == "GSM-7":
        return sum(2 if c in _EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """The number of SMS segments the text is sent in (1 for an empty text)."""
    units = length(text)
    single, multi = (160, 153) if encoding(text) == "GSM-7" else (70, 67)
    if units <= single:
        return 1
    return -(-units // multi)
