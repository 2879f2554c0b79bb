"""Reading one CSV cell as a value (csv.md §1), pure: each reader takes the cell's text and returns the value or
raises CellError with a code of §1 and a message in Japanese and English.

Cells are read as people type them in Excel: full-width digits and letters (NFKC), blanks around them,
thousands commas, a leading yen sign (Excel's currency format writes `¥1,200` / `￥1,200` into a CSV).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Optional

from ..orders import delivery
from ..reason import Reason
from ..timefmt import EARLIEST_DAY, JST, LATEST_DAY

MISSING, INVALID_NUMBER, OUT_OF_RANGE = "missing", "invalid_number", "out_of_range"
INVALID_DATE, INVALID_CHOICE, TOO_LONG = "invalid_date", "invalid_choice", "too_long"
CODES = (MISSING, INVALID_NUMBER, OUT_OF_RANGE, INVALID_DATE, INVALID_CHOICE, TOO_LONG)

REASON_MISSING = Reason("入力してください。", "Required: enter a value.")


class CellError(ValueError):
    """A cell refused: `code` one of CODES, `reason` what is wrong and what to write instead."""

    def __init__(self, code: str, reason: Reason):
        super().__init__(reason.en)
        self.code = code
        self.reason = reason


# The rows of an order repeat its cells (the date, the amounts): a text already read is read once.
_once = lru_cache(maxsize=2048)

def _normal(text: Optional[str]) -> str:
    """NFKC (full-width digits, letters and signs to ASCII; U+3000 to a space), blanks around it trimmed."""
    return unicodedata.normalize("NFKC", text or "").strip()


# ---------------------------------------------------------------- integers

_INTEGER = re.compile(r"^([-\u2212])?¥?\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.0+)?$")
_MAX_DIGITS = 30  # more digits than any range here: out of range without converting them


@_once
def integer(text: Optional[str], low: int, high: int) -> int:
    """An integer of low..high: `1200`, `１２００`, `1,200`, `１，２００`, `¥1,200`, `￥1,200`, `1200.00`;
    a leading minus (`-`, full-width `－`, `−`) reads as negative and so out of range of 0.. ranges."""
    value = _normal(text)
    if not value:
        raise CellError(MISSING, REASON_MISSING)
    matched = _INTEGER.match(value)
    if not matched:
        raise CellError(INVALID_NUMBER, Reason(
            f"「{_shown(text)}」は整数ではありません。半角または全角の数字で入力してください（例 1200、1,200）。",
            f"“{_shown(text)}” is not a whole number. Write digits (e.g. 1200 or 1,200)."))
    digits = matched.group(2).replace(",", "").lstrip("0") or "0"
    number = int(digits) if len(digits) <= _MAX_DIGITS else high + 1
    if matched.group(1):
        number = -number if len(digits) <= _MAX_DIGITS else low - 1
    if not low <= number <= high:
        raise CellError(OUT_OF_RANGE, Reason(
            f"{low:,}以上{high:,}以下の整数で入力してください（{_shown(text)}）。",
            f"Write a whole number from {low:,} to {high:,} (not {_shown(text)})."))
    return number


def _shown(text: Optional[str], limit: int = 40) -> str:
    """The cell as a message quotes it: trimmed, line breaks as spaces, cut at `limit` characters."""
    value = " ".join((text or "").split())
    return value if len(value) <= limit else value[:limit] + "…"


# ---------------------------------------------------------------- dates and times

_DAY = r"([0-9]{4})([/-])([0-9]{1,2})\2([0-9]{1,2})"
_DATETIME = re.compile(
    rf"^{_DAY}(?:(?:[Tt]|\s+)([0-9]{{1,2}}):([0-9]{{2}})(?::([0-9]{{2}})(?:\.([0-9]{{1,6}}))?)?"
    r"\s*([Zz]|[-+\u2212][0-9]{2}:?[0-9]{2})?)?$")
_DATE = re.compile(rf"^{_DAY}(?:(?:[Tt]|\s).*)?$", re.DOTALL)
DATETIME_FORMS = "2026/11/27 14:05、2026/11/27 14:05:00、2026-11-27 14:05:00、2026/11/27、2026-11-27T14:05:00+09:00"
DATE_FORMS = "2026-12-10、2026/12/10、2026/1/5"


def _day(matched: re.Match, text: Optional[str]) -> date:
    year, month, day = int(matched.group(1)), int(matched.group(3)), int(matched.group(4))
    try:
        value = date(year, month, day)
    except ValueError:
        raise CellError(INVALID_DATE, Reason(
            f"「{_shown(text)}」はカレンダーにない日付です。",
            f"“{_shown(text)}” is not a day of the calendar.")) from None
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise CellError(INVALID_DATE, Reason(
            f"{EARLIEST_DAY:%Y/%m/%d}から{LATEST_DAY:%Y/%m/%d}までの日付で入力してください（{_shown(text)}）。",
            f"Write a date from {EARLIEST_DAY:%Y/%m/%d} to {LATEST_DAY:%Y/%m/%d} (not {_shown(text)})."))
    return value


@_once
def order_datetime(text: Optional[str]) -> datetime:
    """注文日時 as naive UTC (how BOSS stores times): `2026/11/27 14:05`, with seconds, `2026-11-27 14:05:00`,
    `2026/11/27` (midnight), `2026/1/5 9:05`, ISO 8601 with an offset (`2026-11-27T14:05:00+09:00`,
    `2026-11-27 05:05:00 -0000`, `Z`), full-width digits; without an offset Japan time."""
    value = _normal(text)
    if not value:
        raise CellError(MISSING, REASON_MISSING)
    matched = _DATETIME.match(value)
    if not matched:
        raise CellError(INVALID_DATE, Reason(
            f"「{_shown(text)}」は日時として読めません。{DATETIME_FORMS} のように入力してください。",
            f"“{_shown(text)}” is not a date and time. Write it like 2026/11/27 14:05 or 2026-11-27T14:05:00+09:00."))
    day = _day(matched, text)
    hour, minute, second = (int(matched.group(n) or 0) for n in (5, 6, 7))
    micro = int((matched.group(8) or "0").ljust(6, "0"))
    zone = _zone(matched.group(9), text)
    if hour > 23 or minute > 59 or second > 59:
        raise CellError(INVALID_DATE, Reason(
            f"「{_shown(text)}」の時刻がありえない値です（0:00〜23:59:59）。",
            f"The time of “{_shown(text)}” is not a time of day (0:00 to 23:59:59)."))
    moment = datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=zone)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _zone(offset: Optional[str], text: Optional[str]) -> timezone:
    if not offset:
        return JST
    if offset in "Zz":
        return timezone.utc
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise CellError(INVALID_DATE, Reason(
            f"「{_shown(text)}」の時差（{offset}）がありえない値です。", f"The offset {offset} of “{_shown(text)}” is no offset."))
    sign = 1 if offset[0] == "+" else -1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


@_once
def delivery_date(text: Optional[str]) -> date:
    """お届け日: `2026-12-10`, `2026/12/10`, `2026/1/5`, full-width digits; a time after the date is ignored."""
    value = _normal(text)
    if not value:
        raise CellError(MISSING, REASON_MISSING)
    matched = _DATE.match(value)
    if not matched:
        raise CellError(INVALID_DATE, Reason(
            f"「{_shown(text)}」は日付として読めません。{DATE_FORMS} のように入力してください。",
            f"“{_shown(text)}” is not a date. Write it like 2026-12-10, 2026/12/10 or 2026/1/5."))
    return _day(matched, text)


# ---------------------------------------------------------------- time slots

NO_SLOT = ("指定なし",)
_WORDS = {"午前中": delivery.MORNING, "午前": delivery.MORNING, "am": delivery.MORNING, "0812": delivery.MORNING,
          "午後": delivery.AFTERNOON, "pm": delivery.AFTERNOON, "その他": delivery.OTHER_SLOT}
_WRAPPERS = re.compile(r"時間帯指定|[\[\]【】()「」<>:]|\s")
_HOURS = re.compile(r"^([0-9]{1,2})(?:時|00|時00分?)?[-~〜\u2212\u2010-\u2015ー]([0-9]{1,2})(?:時|00|時00分?)?$")
_YAMATO = re.compile(r"^([0-9]{2})([0-9]{2})$")


@_once
def time_slot(text: Optional[str]) -> Optional[str]:
    """お届け時間帯 as api.md stores it: None (empty, 指定なし), 午前中 (午前中, 午前, AM, 0812), 午後 (午後, PM),
    その他, or `HH-HH` from `14-16`, `14時-16時`, `14:00～16:00`, `時間帯指定[14時-16時]`, Yamato's `1416`,
    full-width digits — the hours of delivery.is_time_slot (the first before the second, 00..24)."""
    value = _normal(text)
    if not value or value in NO_SLOT:
        return None
    bare = _WRAPPERS.sub("", value)
    if bare.casefold() in _WORDS:
        return _WORDS[bare.casefold()]
    if not bare or bare in NO_SLOT:
        return None
    hours = _HOURS.match(bare) or _YAMATO.match(bare)
    if hours:
        slot = f"{int(hours.group(1)):02d}-{int(hours.group(2)):02d}"
        if delivery.is_time_slot(slot):
            return slot
    raise CellError(INVALID_CHOICE, Reason(
        f"「{_shown(text)}」は時間帯として読めません。空欄（指定なし）、午前中、午後、その他、または 14-16 のように"
        "「時-時」（前の時が後の時より前、0〜24時）で入力してください。",
        f"“{_shown(text)}” is not a time slot. Leave it empty (none), or write 午前中, 午後, その他, "
        "or hours like 14-16 (the first before the second, 0 to 24)."))


# ---------------------------------------------------------------- text


def text(value: Optional[str], max_length: int, strip: bool = True) -> str:
    """A text cell, trimmed (unless `strip` is False: 備考 is kept as written), line breaks as \\n;
    too_long past `max_length` characters."""
    result = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    if strip:
        result = result.strip()
    if len(result) > max_length:
        raise CellError(TOO_LONG, Reason(
            f"{max_length:,}文字以内で入力してください（{len(result):,}文字あります）。",
            f"Write at most {max_length:,} characters ({len(result):,} given)."))
    return result
