"""Client for Rakuten RMS RakutenPayOrderAPI es/2.0 (see rakuten-rms.md), paced across worker processes.

Error kinds, so that jobs can decide without reading HTTP:
- `RmsTransientError` — timeout, connection error, 5xx, 429, or our own pacer asking to wait: try later.
- `RmsAuthError` — the gateway refused the shop's credentials (ES04-xx, 401/403): a connection problem of
  the shop, not of an order.
- `RmsRequestError` — RMS refused the request itself (HTTP 400 with _009/_010/_011 and the like): final.
- `RmsProtocolError` — the answer is not the contract (not JSON, no MessageModelList, odd types): final.
An ERROR message about one order is not an exception: results carry it (`CancelResult.error`,
`GetOrderResult.error_for(number)`), because for RMS it is an answer about that order.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator, Optional, Protocol, Sequence

import orjson
import requests
from cryptography.fernet import Fernet, InvalidToken

from .reader import JST, OPEN_PROGRESS, RmsOrder, format_rms_datetime, read_int, read_order

log = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=63)
SEARCH_CAP = 15_000
MAX_PAGE_AMOUNT = 1000
GET_ORDER_BATCH = 100
GET_ORDER_VERSION = 7
VALIDATION_SUFFIXES = ("_009", "_010", "_011")
SINGLE_ORDER_FUNCTIONS = ("cancelOrder", "cancelOrderAfterShipping", "updateOrderShipping")
ONE_SECOND = timedelta(seconds=1)


# --------------------------------------------------------------------------------------------- errors

class RmsError(Exception):
    final = True

    def __init__(self, text: str, *, function: Optional[str] = None, http_status: Optional[int] = None):
        super().__init__(text)
        self.function = function
        self.http_status = http_status


class RmsTransientError(RmsError):
    """Try again later; `retry_after` (seconds) when the answer or the pacer said how long."""

    final = False

    def __init__(self, text: str, *, retry_after: Optional[float] = None, **context):
        super().__init__(text, **context)
        self.retry_after = retry_after


class RmsPacingDelay(RmsTransientError):
    """The shared pacer has no free slot within the wait this client may spend; nothing was sent."""


class RmsAuthError(RmsError):
    def __init__(self, text: str, *, code: Optional[str] = None, **context):
        super().__init__(text, **context)
        self.code = code


class RmsRequestError(RmsError):
    def __init__(self, text: str, *, messages: Sequence["RmsMessage"] = (), **context):
        super().__init__(text, **context)
        self.messages = list(messages)

    @property
    def codes(self) -> list[str]:
        return [message.code for message in self.messages]


class RmsProtocolError(RmsError):
    pass


# --------------------------------------------------------------------------------------------- search windows

def _jst(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(JST).replace(microsecond=0)


def split_search_window(start: datetime, end: datetime, span: timedelta = MAX_WINDOW) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive inclusive windows of at most `span` covering [start, end], second-granular, no overlap."""
    start, end = _jst(start), _jst(end)
    while start <= end:
        window_end = min(start + span, end)
        yield start, window_end
        start = window_end + ONE_SECOND


# --------------------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class RmsMessage:
    type: str  # INFO | WARNING | ERROR
    code: str
    message: str
    order_number: Optional[str] = None

    @property
    def is_error(self) -> bool:
        return self.type == "ERROR"


@dataclass
class RmsResult:
    messages: list[RmsMessage]

    @property
    def errors(self) -> list[RmsMessage]:
        return [message for message in self.messages if message.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class SearchResult(RmsResult):
    order_numbers: list[str]
    total_records: int
    total_pages: int
    page: int

    @property
    def capped(self) -> bool:
        """RMS serves at most 15,000 results per search: a window this full must be split."""
        return self.total_records >= SEARCH_CAP


@dataclass
class SearchWindow:
    """All numbers of one window of a walk. `complete` is False only for a one-second window over the cap."""

    start: datetime
    end: datetime
    order_numbers: list[str]
    complete: bool = True


@dataclass
class GetOrderResult(RmsResult):
    orders: list[RmsOrder]

    def order(self, number: str) -> Optional[RmsOrder]:
        return next((order for order in self.orders if order.number == number), None)

    def error_for(self, number: str) -> Optional[RmsMessage]:
        """RMS's ERROR about this order (e.g. unknown number), or None."""
        return next((message for message in self.errors if message.order_number == number), None)


@dataclass
class CancelResult(RmsResult):
    order_number: str

    @property
    def error(self) -> Optional[RmsMessage]:
        return self.errors[0] if self.errors else None


# --------------------------------------------------------------------------------------------- pacing

class Pacer(Protocol):
    def try_acquire(self) -> float: ...

    def acquire_blocking(self, timeout: Optional[float] = None) -> float: ...


class RedisPacer:
    """One request slot per `interval_seconds` for everyone sharing `key` (all workers of one shop).

    The slot is taken atomically in Redis with Redis's own clock, so processes on different machines
    agree. `try_acquire` never waits: jobs reschedule; `acquire_blocking` waits, for the import.
    """

    SCRIPT = """
    local now = redis.call('TIME')
    local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
    local free_at = tonumber(redis.call('GET', KEYS[1]) or '0')
    if micros >= free_at then
      local interval = tonumber(ARGV[1])
      redis.call('SET', KEYS[1], string.format('%.0f', micros + interval), 'PX', math.ceil(interval / 1000) + 1000)
      return 0
    end
    return free_at - micros
    """

    def __init__(self, redis, key: str, interval_seconds: float, step_seconds: float = 0.1):
        self.key = key
        self.interval_seconds = interval_seconds
        self.step_seconds = step_seconds
        self._script = redis.register_script(self.SCRIPT)

    def try_acquire(self) -> float:
        """0.0 when the slot was free and is now taken; otherwise the seconds until it frees (nothing taken)."""
        micros = int(self._script(keys=[self.key], args=[int(self.interval_seconds * 1_000_000)]))
        return micros / 1_000_000

    def acquire_blocking(self, timeout: Optional[float] = None) -> float:
        """Wait (in steps of at most `step_seconds`) until a slot is taken; returns the seconds waited.
        TimeoutError when the slot cannot be had within `timeout`."""
        started = time.monotonic()
        while True:
            wait = self.try_acquire()
            if wait == 0:
                return time.monotonic() - started
            if timeout is not None and time.monotonic() - started + wait > timeout:
                raise TimeoutError(f"no RMS request slot within {timeout}s")
            time.sleep(min(wait, self.step_seconds))


# --------------------------------------------------------------------------------------------- client

def esa_header(service_secret: str, license_key: str) -> str:
    token = base64.b64encode(f"{service_secret}:{license_key}".encode("utf-8")).decode("ascii")
    return f"ESA {token}"


class RmsClient:
    """RakutenPayOrderAPI over one requests.Session. `pacer` (shared per shop) spaces the requests;
    `max_pace_wait` is how long one request may wait for its slot (None: as long as it takes, for the
    import; 0: never, for jobs that reschedule) — beyond it RmsPacingDelay is raised and nothing is sent."""

    def __init__(self, base_url: str, service_secret: str, license_key: str, timeout: float = 30.0,
                 pacer: Optional[Pacer] = None, max_pace_wait: Optional[float] = None,
                 session: Optional[requests.Session] = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.pacer = pacer
        self.max_pace_wait = max_pace_wait
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": esa_header(service_secret, license_key),
                                     "Content-Type": "application/json; charset=utf-8",
                                     "Accept": "application/json"})

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "RmsClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- functions

    def search_order(self, start: datetime, end: datetime, progress: Optional[Iterable[int]] = OPEN_PROGRESS,
                     page: int = 1, amount: int = MAX_PAGE_AMOUNT) -> SearchResult:
        """One page of searchOrder by order date (dateType 1), oldest first. Naive datetimes are UTC."""
        start, end = _jst(start), _jst(end)
        if end < start or end - start > MAX_WINDOW:
            raise ValueError("a search window runs forwards and spans at most 63 days")
        if not 1 <= amount <= MAX_PAGE_AMOUNT or page < 1:
            raise ValueError("amount is 1..1000 and page starts at 1")
        body = {"dateType": 1, "startDatetime": format_rms_datetime(start), "endDatetime": format_rms_datetime(end),
                "PaginationRequestModel": {"requestRecordsAmount": amount, "requestPage": page,
                                           "SortModelList": [{"sortColumn": 1, "sortDirection": 1}]}}
        if progress:
            body["orderProgressList"] = list(progress)
        payload, messages = self.call("searchOrder", body)
        errors = [message for message in messages if message.is_error]
        if errors:
            raise RmsRequestError(f"searchOrder: {errors[0].code} {errors[0].message}", messages=messages,
                                  function="searchOrder", http_status=200)
        numbers = payload.get("orderNumberList") or []
        if not isinstance(numbers, list) or not all(isinstance(number, str) for number in numbers):
            raise RmsProtocolError("searchOrder: orderNumberList is not a list of numbers", function="searchOrder")
        pagination = payload.get("PaginationResponseModel") or {}
        if not isinstance(pagination, dict):
            raise RmsProtocolError("PaginationResponseModel is not an object")
        problems: list[str] = []
        total_records, total_pages, request_page = (read_int(pagination, key, problems) for key in (
            "totalRecordsAmount", "totalPages", "requestPage"))
        if problems:
            raise RmsProtocolError(problems[0])
        return SearchResult(messages=messages, order_numbers=numbers, total_records=total_records or 0,
                            total_pages=total_pages or 0, page=page if request_page is None else request_page)

    def search_all(self, start: datetime, end: datetime, progress: Optional[Iterable[int]] = OPEN_PROGRESS,
                   amount: int = MAX_PAGE_AMOUNT) -> Iterator[SearchWindow]:
        """Every order number from start to end, one SearchWindow at a time in date order, so the
        import can checkpoint after each. Windows are ≤ 63 days and split in halves while RMS reports
        15,000 or more results for them."""
        progress = tuple(progress) if progress else None
        for window_start, window_end in split_search_window(start, end):
            yield from self._walk(window_start, window_end, progress, amount)

    def _walk(self, start: datetime, end: datetime, progress, amount: int) -> Iterator[SearchWindow]:
        first = self.search_order(start, end, progress, 1, amount)
        if first.capped and end > start:
            middle = start + timedelta(seconds=int((end - start).total_seconds()) // 2)
            log.info("RMS search %s..%s holds %s results: splitting", start, end, first.total_records)
            yield from self._walk(start, middle, progress, amount)
            yield from self._walk(middle + ONE_SECOND, end, progress, amount)
            return
        numbers = list(first.order_numbers)
        for page in range(2, first.total_pages + 1):
            numbers.extend(self.search_order(start, end, progress, page, amount).order_numbers)
        yield SearchWindow(start, end, list(dict.fromkeys(numbers)), complete=not first.capped)

    def get_order_batches(self, numbers: Iterable[str]) -> Iterator[GetOrderResult]:
        """getOrder (version 7) in batches of at most 100 numbers, one result per batch. An answer with an
        order that departs from the documented model is refused whole (RmsProtocolError)."""
        numbers = list(dict.fromkeys(numbers))
        for index in range(0, len(numbers), GET_ORDER_BATCH):
            models, messages = self._order_models(numbers[index:index + GET_ORDER_BATCH])
            if not isinstance(models, list):
                raise RmsProtocolError("getOrder: OrderModelList is not a list", function="getOrder")
            yield GetOrderResult(messages=messages, orders=[_well_formed(read_order(model)) for model in models])

    def read_orders(self, numbers: list[str]) -> list[Optional[RmsOrder]]:
        """One getOrder of at most 100 numbers, each order read on its own (None: not an object) and none
        refused, so that its reader decides order by order (the import: an odd order fails alone)."""
        models, _ = self._order_models(numbers)
        return [read_order(model) for model in models] if isinstance(models, list) else []

    def _order_models(self, numbers: list[str]) -> tuple[object, list[RmsMessage]]:
        payload, messages = self.call("getOrder", {"orderNumberList": numbers, "version": GET_ORDER_VERSION})
        return payload.get("OrderModelList") or [], messages

    def get_order(self, numbers: Iterable[str]) -> GetOrderResult:
        """All orders of `numbers` (any count; sent in batches of 100). ERRORs about single orders are
        in the result, not raised."""
        result = GetOrderResult(messages=[], orders=[])
        for batch in self.get_order_batches(numbers):
            result.messages.extend(batch.messages)
            result.orders.extend(batch.orders)
        return result

    def cancel_order(self, number: str, inventory_restore_type: int = 0, reason_code: int = 10,
                     after_shipping: bool = False) -> CancelResult:
        """cancelOrder (orderProgress 100–300) or cancelOrderAfterShipping (500–700). An ERROR from RMS
        (e.g. the order has moved on) comes back as `result.error`."""
        if inventory_restore_type not in (0, 1, 2):
            raise ValueError("inventory_restore_type is 0 (item setting), 1 (restore) or 2 (do not restore)")
        function = "cancelOrderAfterShipping" if after_shipping else "cancelOrder"
        _, messages = self.call(function, {"orderNumber": number, "inventoryRestoreType": inventory_restore_type,
                                           "changeReasonDetailApply": reason_code}, order_number=number)
        return CancelResult(messages=messages, order_number=number)

    # -- transport

    def call(self, function: str, body: dict, order_number: Optional[str] = None) -> tuple[dict, list[RmsMessage]]:
        """POST one function and check the answer against the contract; returns (document, messages).
        `order_number` names the order of a single-order function, so its ERRORs count as the order's."""
        self._pace(function)
        url = f"{self.base_url}/es/2.0/order/{function}/"
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            response = self.session.post(url, data=data, timeout=self.timeout)
        except requests.Timeout as exc:
            raise RmsTransientError(f"{function}: no answer within {self.timeout}s", function=function) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise RmsTransientError(f"{function}: connection failed ({exc.__class__.__name__})",
                                    function=function) from exc
        return self._read(function, response, order_number)

    def _pace(self, function: str) -> None:
        if self.pacer is None:
            return
        wait = self.pacer.try_acquire()
        if wait == 0:
            return
        if self.max_pace_wait is not None and wait > self.max_pace_wait:
            raise RmsPacingDelay(f"{function}: next RMS slot in {wait:.2f}s", retry_after=wait, function=function)
        try:
            self.pacer.acquire_blocking(timeout=self.max_pace_wait)
        except TimeoutError as exc:
            raise RmsPacingDelay(f"{function}: {exc}", retry_after=self.max_pace_wait, function=function) from exc

    def _read(self, function: str, response: requests.Response, order_number: Optional[str]):
        status = response.status_code
        context = {"function": function, "http_status": status}
        if status == 429:
            raise RmsTransientError(f"{function}: rate limited (HTTP 429)",
                                    retry_after=_retry_after(response.headers.get("Retry-After")), **context)
        if status >= 500:
            raise RmsTransientError(f"{function}: RMS answered HTTP {status}", **context)
        payload = _document(response)
        results = payload.get("Results") if isinstance(payload, dict) else None
        if isinstance(results, dict) and (str(results.get("errorCode", "")).startswith("ES04") or status in (401, 403)):
            code = str(results.get("errorCode"))
            raise RmsAuthError(f"{function}: RMS refused the shop's credentials ({code} {results.get('message')})",
                               code=code, **context)
        if status in (401, 403):
            raise RmsAuthError(f"{function}: RMS refused the shop's credentials (HTTP {status})", **context)
        if payload is None:
            raise RmsProtocolError(f"{function}: the answer is not JSON (HTTP {status}, "
                                   f"{response.headers.get('Content-Type', 'no content type')})", **context)
        if not isinstance(payload, dict) or not isinstance(payload.get("MessageModelList"), list):
            raise RmsProtocolError(f"{function}: the answer has no MessageModelList (HTTP {status})", **context)
        messages = [_message(entry, order_number) for entry in payload["MessageModelList"]]
        errors = [message for message in messages if message.is_error]
        if status == 400:
            request_level = (not errors or any(message.code.endswith(VALIDATION_SUFFIXES) for message in errors)
                             or any(message.order_number is None for message in errors))
            if request_level:
                first = errors[0] if errors else None
                raise RmsRequestError(f"{function}: RMS refused the request"
                                      + (f" ({first.code} {first.message})" if first else ""),
                                      messages=messages, **context)
        elif status != 200:
            raise RmsProtocolError(f"{function}: unexpected HTTP {status}", **context)
        for message in errors:
            log.info("RMS %s: %s %s %s", function, message.code, message.order_number or "", message.message)
        return payload, messages


def _well_formed(order: Optional[RmsOrder]) -> RmsOrder:
    if order is None:
        raise RmsProtocolError("OrderModel is not an object")
    if order.problems:
        raise RmsProtocolError(order.problems[0])
    return order


def _document(response: requests.Response):
    """The answer's JSON document, None when it is not JSON.

    orjson reads a getOrder answer of 100 orders 2–3 times faster than the json module behind
    `response.json()`. It reads only UTF-8, refuses some of what the json module lets through (NaN,
    lone surrogates, 1e400) and makes floats of integers beyond 64 bits: an answer declared in another
    charset, one it refuses and one holding a run of 19 digits or more is read by `response.json()` as
    before, so the documents we accept and their values stay the same."""
    content = response.content
    if (response.encoding or "utf-8").lower() in ("utf-8", "utf8") and _LONG_NUMBER not in content.translate(_DIGITS):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    try:
        return response.json()
    except ValueError:
        return None


_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19  # 2**63 has 19 digits: shorter integers are orjson's ints, as the json module's


def _message(entry, order_number: Optional[str]) -> RmsMessage:
    if not isinstance(entry, dict) or not isinstance(entry.get("messageType"), str) \
            or not isinstance(entry.get("messageCode"), str):
        raise RmsProtocolError(f"a message that is not a MessageModel: {entry!r}")
    number = entry.get("orderNumber")
    if number is not None and not isinstance(number, str):
        raise RmsProtocolError(f"a message with an odd orderNumber: {number!r}")
    text = entry.get("message")
    return RmsMessage(type=entry["messageType"], code=entry["messageCode"],
                      message=text if isinstance(text, str) else "", order_number=number or order_number)


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------- credentials

def _fernet(app_secret_key) -> Fernet:
    raw = app_secret_key.encode("utf-8") if isinstance(app_secret_key, str) else bytes(app_secret_key)
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))


def encrypt_secret(app_secret_key, text: str) -> str:
    """serviceSecret / licenseKey for the database, encrypted with a key derived from SECRET_KEY."""
    return _fernet(app_secret_key).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_secret(app_secret_key, token: str) -> str:
    try:
        return _fernet(app_secret_key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise ValueError("the stored RMS credential cannot be decrypted with this SECRET_KEY") from exc
