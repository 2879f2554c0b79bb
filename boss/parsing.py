"""Reading numbers that people and forms send as text."""
from __future__ import annotations

from typing import Optional

MAX_DIGITS = 18  # fits a bigint; larger "ids" name nothing


def ascii_int(value) -> Optional[int]:
    """A non-negative integer written in ASCII digits, else None. `str.isdigit()` is no test: it takes '²',
    which int() refuses (a 500), and '٣' or '１', which int() reads as 3 and 1."""
    text = str(value or "").strip()
    if not (0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()):
        return None
    return int(text)
