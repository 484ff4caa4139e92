"""How many SMS segments a text takes, and in which encoding (3GPP TS 23.038).

A text that fits the GSM 7-bit alphabet travels as GSM-7: 160 characters in one
segment, 153 per segment when split (the rest carries the joining header); the
extension characters (``{}[]~\\^|€``) take two. Anything else travels as UCS-2: 70
UTF-16 code units in one segment, 67 per segment when split.
"""

import math

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENDED = set("^{}\\[~]|€\f")


def count(text: str) -> tuple[int, str]:
    """``(segments, encoding)`` for ``text``; an empty text is one segment."""
    if all(c in _BASIC or c in _EXTENDED for c in text):
        septets = sum(2 if c in _EXTENDED else 1 for c in text)
        return (1 if septets <= 160 else math.ceil(septets / 153)), GSM7
    units = len(text.encode("utf-16-le")) // 2
    return (1 if units <= 70 else math.ceil(units / 67)), UCS2
