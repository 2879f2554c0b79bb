"""Times are stored as naive UTC and shown in Japan time (+09:00)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Optional

JST = timezone(timedelta(hours=9), "JST")
# The dates any field or filter takes (api.md): far enough for every real order, near enough that a
# day's start in Japan time and the day after are still dates Python and both databases can hold.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2100, 12, 31)


def day_in_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def to_jst(value: Optional[datetime]) -> Optional[datetime]:
    if value is None:
        return None
    if value.tzinfo is None:  # as stored: naive UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(JST)


def iso_jst(value: Optional[datetime]) -> Optional[str]:
    shown = to_jst(value)
    return shown.isoformat(timespec="seconds") if shown else None


def display_jst(value: Optional[datetime]) -> str:
    """2026/11/27 14:05, the form ui.md asks for."""
    shown = to_jst(value)
    return shown.strftime("%Y/%m/%d %H:%M") if shown else ""


def parse_datetime(text: str) -> datetime:
    """ISO 8601; a value without offset is Japan time. Returns naive UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def jst_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), JST).astimezone(timezone.utc).replace(tzinfo=None)
