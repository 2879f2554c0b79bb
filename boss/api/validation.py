"""Reading request bodies and query strings: every problem is collected and named by its field."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Optional

from ..errors import validation_error
from ..timefmt import jst_day_start, parse_datetime

MISSING = object()


class Reader:
    """Reads typed fields from a dict (a JSON object or query args), collecting errors per field."""

    def __init__(self, data: Any, prefix: str = "", errors: Optional[dict] = None, from_query: bool = False):
        self.errors = {} if errors is None else errors
        self.prefix = prefix
        self.from_query = from_query
        if not isinstance(data, dict):
            self.errors[prefix.rstrip(".") or "body"] = "JSONオブジェクトで指定してください"
            data = {}
        self.data = data

    def _name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _fail(self, name: str, why: str) -> None:
        self.errors.setdefault(self._name(name), why)

    def has(self, name: str) -> bool:
        return name in self.data

    def string(self, name: str, required: bool = False, max_len: int = 255, default: Optional[str] = "",
               strip: bool = True, choices: Optional[tuple] = None) -> Optional[str]:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None or (strip and isinstance(value, str) and not value.strip()):
            if required:
                self._fail(name, "必須です")
            return default
        if not isinstance(value, str):
            self._fail(name, "文字列で指定してください")
            return default
        value = value.strip() if strip else value
        if len(value) > max_len:
            self._fail(name, f"{max_len}文字以内で指定してください")
            return default
        if choices is not None and value not in choices:
            self._fail(name, f"次のいずれかで指定してください: {', '.join(choices)}")
            return default
        return value

    def integer(self, name: str, required: bool = False, minimum: Optional[int] = None,
                maximum: Optional[int] = None, default: Optional[int] = None) -> Optional[int]:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None or value == "":
            if required:
                self._fail(name, "必須です")
            return default
        if self.from_query and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                self._fail(name, "整数で指定してください")
                return default
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(name, "整数で指定してください")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self._fail(name, f"{minimum}以上{maximum}以下で指定してください")
            return default
        return value

    def boolean(self, name: str, default: Optional[bool] = None) -> Optional[bool]:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None:
            return default
        if self.from_query and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if not isinstance(value, bool):
            self._fail(name, "true か false で指定してください")
            return default
        return value

    def datetime(self, name: str, end_of_day: bool = False) -> Optional[datetime]:
        """ISO 8601 date-time, or a date (Japan time); `end_of_day` makes a date mean up to its end."""
        value = self.string(name, default=None)
        if value is None:
            return None
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return jst_day_start(day + timedelta(days=1) if end_of_day else day)
            return parse_datetime(value)
        except ValueError:
            self._fail(name, "ISO 8601 形式（例 2026-11-01T10:15:30+09:00）で指定してください")
            return None

    def date(self, name: str) -> Optional[date]:
        value = self.string(name, default=None)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self._fail(name, "YYYY-MM-DD 形式で指定してください")
            return None

    def obj(self, name: str, required: bool = False) -> Optional["Reader"]:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None:
            if required:
                self._fail(name, "必須です")
            return None
        return Reader(value, prefix=f"{self._name(name)}.", errors=self.errors)

    def array(self, name: str, required: bool = False, min_items: int = 0, max_items: int = 10_000) -> list:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None:
            if required:
                self._fail(name, "必須です")
            return []
        if not isinstance(value, list):
            self._fail(name, "配列で指定してください")
            return []
        if not (min_items <= len(value) <= max_items):
            self._fail(name, f"{min_items}件以上{max_items}件以下で指定してください")
            return []
        return value

    def item(self, name: str, index: int, value: Any) -> "Reader":
        return Reader(value, prefix=f"{self._name(name)}[{index}].", errors=self.errors)

    def unknown(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                self._fail(key, "不明な項目です")

    def done(self) -> None:
        if self.errors:
            raise validation_error(self.errors)
