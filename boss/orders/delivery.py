"""お届け希望日・時間帯 and 請求額: the words of api.md that the API, the manual form and the order page share.

A time slot is null (指定なし), 午前中, 午後, その他, or `HH-HH`: two-digit hours, the first below the second
(00-24 as a clock has them; the Rakuten import yields 07…24). The screens offer a short list of the slots
carriers take; the API takes any slot of that form.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Optional

MORNING, AFTERNOON, OTHER_SLOT = "午前中", "午後", "その他"
SLOT_WORDS = (MORNING, AFTERNOON, OTHER_SLOT)
SCREEN_SLOTS = ("午前中", "12-14", "14-16", "16-18", "18-20", "19-21")  # after 指定なし (None)
_HOURS = re.compile(r"^([0-9]{2})-([0-9]{2})$")
SLOT_PROBLEM = "指定なし（null）、午前中、午後、その他、または「14-16」のように2桁の時を「-」でつないだ時間帯（前の時が後の時より前、00〜24）で指定してください"

# What the charges, the coupons and the points of one order may be (api.md: 0..10,000,000 each).
MAX_ADJUSTMENT = 10_000_000

# 代金引換 as RMS names it (settlementMethod), and as a person may type it on the manual form.
CASH_ON_DELIVERY = ("代金引換", "代引", "代引き")


def is_time_slot(value: str) -> bool:
    """Whether `value` is a slot of api.md's form (None, 指定なし, is not a value here)."""
    if value in SLOT_WORDS:
        return True
    hours = _HOURS.match(value)
    return bool(hours) and int(hours.group(1)) < int(hours.group(2)) <= 24


def time_slot_pattern() -> str:
    """The slots as one regular expression (the OpenAPI document states exactly what is_time_slot takes)."""
    pairs = "|".join(f"{first:02d}-({'|'.join(f'{second:02d}' for second in range(first + 1, 25))})"
                     for first in range(24))
    return f"^({'|'.join(SLOT_WORDS)}|{pairs})$"


def is_cash_on_delivery(payment_method: Optional[str]) -> bool:
    """The carrier collects the 請求額 at the door (the order page calls it 「代引で集金する額」)."""
    return unicodedata.normalize("NFKC", payment_method or "").strip() in CASH_ON_DELIVERY
