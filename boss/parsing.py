"""Reading whole numbers that people and forms send as text."""
from __future__ import annotations

from typing import Optional

MAX_ID = 2**31 - 1  # ids are 32-bit integers; a larger one names no object (and must not reach the database)


def whole_number(value) -> Optional[int]:
    """A whole number as a page or a filter sends it (an id, a page, a row, a version, a code): ASCII digits up
    to MAX_ID, else None. `str.isdigit()` is no test: it takes '²', which int() refuses (a 500), and '٣' or
    '１', which int() reads as 3 and 1; a long run of digits is no id and too big for the database."""
    text = str(value if value is not None else "").strip()
    if text and text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID:
        return int(text)
    return None
