"""Reading request bodies and query strings: every problem is collected and named by its field."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Optional

import orjson
from flask.json.provider import DefaultJSONProvider

from ..errors import validation_error
from ..timefmt import EARLIEST_DAY, LATEST_DAY, jst_day_start, parse_datetime

MISSING = object()
MAX_DEPTH = 32  # api.md: JSON nested deeper answers 400 bad_request

# What a blank string is made of: the characters of JSON Schema's (ECMA-262's) \s and Python's str.isspace,
# written out so the OpenAPI document's patterns (openapi.py) and the server agree on every one.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
# The forms of dates and date-times the API takes, as the OpenAPI document states them: real days (02-29 of
# leap years only) of EARLIEST_DAY…LATEST_DAY's years, so a value of this form is one the server takes.
_YEARS = "(19[0-9]{2}|20[0-9]{2}|2100)"
_LEAP_YEARS = "(19(0[48]|[2468][048]|[13579][26])|20(0[048]|[2468][048]|[13579][26]))"  # 2000 is, 1900 and 2100 not
_DAY = (f"({_YEARS}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|{_YEARS}-(0[469]|11)-(0[1-9]|[12][0-9]|30)"
        f"|{_YEARS}-02-(0[1-9]|1[0-9]|2[0-8])|{_LEAP_YEARS}-02-29)")
DATE_PATTERN = f"^{_DAY}$"
DATETIME_PATTERN = (f"^{_DAY}"
                    "(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$")
YEAR = re.compile("^[0-9]{4}")
INTEGER_PATTERN = "^-?[0-9]{1,100}$"  # an integer in a query string (or a bulk filter), ASCII digits only
IF_MATCH_PATTERN = '^(W/)?"?([0-9]{1,9})"?$'  # an order's version, as sent or as an ETag
JOB_ID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"  # jobs.py's uuid4
DAY_RANGE = f"{EARLIEST_DAY.isoformat()}から{LATEST_DAY.isoformat()}までの日付で指定してください"


def text_problem(value: str) -> Optional[str]:
    """Why a string cannot be taken whatever the field: a NUL (no database stores it) or a lone surrogate
    (no UTF-8 encodes it). None when it can."""
    if "\x00" in value:
        return "NUL文字（\\u0000）は使えません"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "UTF-8 で表せない文字（対になっていないサロゲート）は使えません"
    return None


def printable_name(name: str) -> str:
    """A field name as an answer can carry it (a JSON key may hold anything)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


class TooDeep(ValueError):
    pass


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether objects and arrays nest deeper than `limit` levels (without recursion of our own)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


# orjson writes what json.dumps(sort_keys=True, ensure_ascii=False) writes for what the API answers (str keys,
# ints, finite floats); dates, times and dataclasses go to Flask's own `default` as before (Flask writes a date as
# an HTTP date, orjson as ISO). Where they differ no answer goes: a NaN (null, not NaN), int keys (sorted as text).
_ORJSON_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                   | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing nesting over MAX_DEPTH levels as a ValueError (TooDeep) wherever a body is
    parsed: the parser's own recursion limit (~1,000 levels) would otherwise end the request in a 500.
    Compact answers are written by orjson (a page of 50 orders: a tenth of the json module's time); what it
    cannot write (an integer past 64 bits) and indented answers by the json module."""

    def dumps(self, obj, **kwargs) -> str:
        if kwargs.get("separators") == (",", ":") and kwargs.keys() <= {"separators"}:
            try:
                return orjson.dumps(obj, default=self.default, option=_ORJSON_OPTIONS).decode()
            except (orjson.JSONEncodeError, TypeError):
                pass
        return super().dumps(obj, **kwargs)

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels") from None
        if too_deep(value):
            raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
        return value


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
        self.errors.setdefault(printable_name(self._name(name)), why)

    def has(self, name: str) -> bool:
        return name in self.data

    def string(self, name: str, required: bool = False, max_len: int = 255, default: Optional[str] = "",
               strip: bool = True, choices: Optional[tuple] = None) -> Optional[str]:
        value = self.data.get(name, MISSING)
        if isinstance(value, str) and text_problem(value):
            self._fail(name, text_problem(value))
            return default
        if value is MISSING or value is None or (strip and isinstance(value, str) and not value.strip(WHITESPACE)):
            if required:
                self._fail(name, "必須です")
            return default
        if not isinstance(value, str):
            self._fail(name, "文字列で指定してください")
            return default
        value = value.strip(WHITESPACE) if strip else value
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
        if value is MISSING or value is None:
            if required:
                self._fail(name, "必須です")
            return default
        if self.from_query and isinstance(value, str):
            if not re.fullmatch(INTEGER_PATTERN, value):
                self._fail(name, "整数で指定してください")
                return default
            try:
                value = int(value)
            except ValueError:
                self._fail(name, "整数で指定してください")
                return default
        if isinstance(value, float) and value.is_integer():  # 5.0 is an integer to JSON Schema too
            value = int(value)
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
        value = self.string(name, default=None, max_len=40)
        if value is None:
            return None
        day = self._day(name, value, DATETIME_PATTERN, "ISO 8601 形式（例 2026-11-01T10:15:30+09:00）で指定してください")
        if day is None:
            return None
        if len(value) > 10:
            return parse_datetime(value)
        return jst_day_start(day + timedelta(days=1) if end_of_day else day)

    def date(self, name: str) -> Optional[date]:
        value = self.string(name, default=None, max_len=40)
        if value is None:
            return None
        return self._day(name, value, DATE_PATTERN, "YYYY-MM-DD 形式で指定してください")

    def _day(self, name: str, value: str, pattern: str, form: str) -> Optional[date]:
        """The calendar day `value` names, when it has the document's form, which holds only real days of
        EARLIEST_DAY…LATEST_DAY (checked before any arithmetic: 0001-01-01 in Japan time is no UTC datetime)."""
        if re.fullmatch(pattern, value):
            return date.fromisoformat(value[:10])
        out_of_range = re.fullmatch(pattern, YEAR.sub("2000", value, count=1))
        self._fail(name, DAY_RANGE if out_of_range else form)
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
