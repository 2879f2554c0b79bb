"""Client for Rakuten RMS RakutenPayOrderAPI es/2.0 (see rakuten-rms.md), paced across worker processes.

Error kinds, so that jobs can decide without reading HTTP (each is RMS's case of one in
boss/integrations/errors.py):
- `RmsTransientError` — timeout, connection error, 5xx, 429, or our own pacer asking to wait: try later
  (`RmsPacingDelay`: the shop's next request slot is not free yet and nothing was sent).
- `RmsAuthError` — the gateway refused the shop's credentials (ES04-xx or ES01-01 at any HTTP status, or
  401/403): a connection problem of the shop, not of an order.
- `RmsRequestError` — RMS refused the request itself (HTTP 400 with _009/_010/_011 and the like): final.
- `RmsProtocolError` — the answer is not the contract (not JSON, no MessageModelList, odd types): final.
An ERROR message about one order is not an exception: results carry it (`CancelResult.error`,
`GetOrderResult.error_for(number)`), because for RMS it is an answer about that order.
"""
from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator, Optional, Sequence

import orjson
import requests

from ...integrations.errors import (AuthError, IntegrationError, PacingDelay, ProtocolBroken, RequestRefused,
                                    TransientError)
from ...integrations.pacing import Pacer, take_slot
from .reader import JST, OPEN_PROGRESS, RmsOrder, format_rms_datetime, read_int, read_order

log = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=63)
SEARCH_CAP = 15_000
MAX_PAGE_AMOUNT = 1000
GET_ORDER_BATCH = 100
CONFIRM_BATCH = 100  # confirmOrder takes at most 100 numbers
GET_ORDER_VERSION = 10  # rakuten-rms.md: versions 3–10 exist, and Rakuten retires old ones
VALIDATION_SUFFIXES = ("_009", "_010", "_011")
ONE_SECOND = timedelta(seconds=1)


# --------------------------------------------------------------------------------------------- errors

class RmsError(IntegrationError):
    pass


class RmsTransientError(RmsError, TransientError):
    pass


class RmsPacingDelay(RmsTransientError, PacingDelay):
    pass


class RmsAuthError(RmsError, AuthError):
    pass


class RmsRequestError(RmsError, RequestRefused):
    def __init__(self, text: str, *, messages: Sequence["RmsMessage"] = (), **context):
        super().__init__(text, **context)
        self.messages = list(messages)

    @property
    def codes(self) -> list[str]:
        return [message.code for message in self.messages]


class RmsProtocolError(RmsError, ProtocolBroken):
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
class ConfirmResult(RmsResult):
    """confirmOrder's answer: a message per number."""

    def error_for(self, number: str) -> Optional[RmsMessage]:
        """RMS's ERROR about this order (an ERROR that names no order is about each), or None (INFO: confirmed)."""
        return next((message for message in self.errors if message.order_number == number), None) or \
            next((message for message in self.errors if message.order_number is None), None)


@dataclass
class CancelResult(RmsResult):
    """The answer of a single-order function (cancelOrder, cancelOrderAfterShipping, updateOrderShipping)."""

    order_number: str

    @property
    def error(self) -> Optional[RmsMessage]:
        return self.errors[0] if self.errors else None


# --------------------------------------------------------------------------------------------- client

def esa_header(service_secret: str, license_key: str) -> str:
    token = base64.b64encode(f"{service_secret}:{license_key}".encode("utf-8")).decode("ascii")
    return f"ESA {token}"


AUTH_CODES = ("ES01-01",)  # "Un-Authorised": an expired or wrong licenseKey, or the API not enabled


def _refuses_credentials(code: str) -> bool:
    """The gateway's codes that refuse the shop's credentials (ES04-xx, ES01-01) — whatever the HTTP status
    they come with (rakuten-rms.md §Errors): a failure of the connection, never of one order."""
    return code.startswith("ES04") or code in AUTH_CODES


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
        """getOrder (version 10) in batches of at most 100 numbers, one result per batch. An answer with an
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

    def update_order_shipping(self, number: str, basket_id: int, shippings: Sequence[dict]) -> CancelResult:
        """updateOrderShipping: `shippings` (ShippingModel dicts: deliveryCompany, shippingNumber, shippingDate)
        added to the order's basket `basket_id`. An ERROR from RMS (e.g. _102 the order is cancelled) comes back
        as `result.error`, like a cancel's."""
        body = {"orderNumber": number,
                "BasketidModelList": [{"basketId": basket_id, "ShippingModelList": list(shippings)}]}
        _, messages = self.call("updateOrderShipping", body, order_number=number)
        return CancelResult(messages=messages, order_number=number)

    def confirm_orders(self, numbers: Sequence[str]) -> ConfirmResult:
        """confirmOrder for 1–100 numbers (注文確認, 100 → 200). RMS answers each number; an ERROR about one
        (`result.error_for(number)`: _102 already cancelled, _103 status moved on, _105 postage not set) is an
        answer, not raised."""
        numbers = list(dict.fromkeys(numbers))
        if not 1 <= len(numbers) <= CONFIRM_BATCH:
            raise ValueError("confirmOrder takes 1 to 100 order numbers")
        _, messages = self.call("confirmOrder", {"orderNumberList": numbers})
        return ConfirmResult(messages=messages)

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
        take_slot(self.pacer, self.max_pace_wait, function, RmsPacingDelay)

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
        code = str(results.get("errorCode", "")) if isinstance(results, dict) else ""
        if isinstance(results, dict) and (_refuses_credentials(code) or status in (401, 403)):
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
