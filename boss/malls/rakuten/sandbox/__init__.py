"""The Rakuten RMS stand-in: RakutenPayOrderAPI es/2.0 under /sandbox/rms, only when BOSS_SANDBOX is on.

It speaks the contract of `rakuten-rms.md` (paths, ESA check, envelopes, status rules) so that the
product runs and is tested without Rakuten, and it keeps its state in Redis so that web workers,
rq workers and tests see the same shop. Every key is namespaced by licenseKey
(`rms-sandbox:<licenseKey>:...`, the key percent-encoded), which keeps each licenseKey's orders apart.

Message codes the contract names (INFO_101/102, ERROR_009/010/011, ERROR_102/103) are used as
documented; the others are the sandbox's own choice, listed here so tests can name them:
- `SEARCH_ORDER_ERROR_012` requestRecordsAmount over 1000, `_013` end before start,
  `_014` window over 63 days; `GET_ORDER_ERROR_012` / `CONFIRM_ORDER_ERROR_012` over 100 numbers
  (all HTTP 400, no orderNumber: the request is wrong, not an order);
- `<FUNC>_ERROR_101` unknown order number, `UPDATE_ORDER_SHIPPING_ERROR_104` unknown basketId
  (per order, HTTP 200 like the other per-order ERRORs).
A search over more than 15,000 orders reports the true count in totalRecordsAmount but serves only
the first 15,000 (its pages stop there): the client must split such a window.
confirmOrder moves 100 to 300; updateOrderShipping records the shipping on its basket and moves
100–300 to 500.

Beside the contract, a control API (JSON, no ESA) lets tests and the demo add orders, move their
progress, inject faults and read the calls received.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Optional
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, request

from ....extensions import csrf, get_redis
from ..reader import JST, format_rms_datetime, parse_rms_datetime

bp = Blueprint("sandbox_rms", __name__, url_prefix="/sandbox/rms")
csrf.exempt(bp)

DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_WINDOW = timedelta(days=63)
MAX_NUMBERS = 100
MAX_PAGE_AMOUNT = 1000
SEARCH_CAP = 15_000
CALLS_KEPT = 2000
MAX_GENERATE = 50_000
PROGRESSES = (100, 200, 300, 400, 500, 600, 700, 800, 900)
CANCELLED = (800, 900)
REASONS = (1, 2, 3, 4, 5, 6, 8, 10, 13, 14, 15)
ANY_LICENSE_FAULTS = "rms-sandbox-any:faults"
VALIDATION_SUFFIXES = ("_009", "_010", "_011")

FUNCTIONS = {
    "searchOrder": "SEARCH_ORDER",
    "getOrder": "GET_ORDER",
    "cancelOrder": "CANCEL_ORDER",
    "cancelOrderAfterShipping": "CANCEL_ORDER_AFTER_SHIPPING",
    "confirmOrder": "CONFIRM_ORDER",
    "updateOrderShipping": "UPDATE_ORDER_SHIPPING",
}
SINGLE_ORDER_FUNCTIONS = ("cancelOrder", "cancelOrderAfterShipping", "updateOrderShipping")
LIST_FUNCTIONS = ("getOrder", "confirmOrder")


# --------------------------------------------------------------------------------------------- answers

@dataclass
class Answer:
    status: int
    body: object  # a JSON document, or text for answers that are not the contract (faults)

    @property
    def message_code(self) -> Optional[str]:
        """The code the calls log shows: the first ERROR's, else the first message's, else the gateway's."""
        if not isinstance(self.body, dict):
            return None
        messages = self.body.get("MessageModelList") or []
        for message in messages:
            if message.get("messageType") == "ERROR":
                return message.get("messageCode")
        if messages:
            return messages[0].get("messageCode")
        results = self.body.get("Results")
        return results.get("errorCode") if isinstance(results, dict) else None

    def response(self):
        if isinstance(self.body, str):
            return current_app.response_class(self.body, self.status, mimetype="text/html")
        response = jsonify(self.body)
        response.status_code = self.status
        if self.status == 429:
            response.headers["Retry-After"] = "1"
        return response


class Refused(Exception):
    """A request the sandbox answers with ERROR messages and HTTP 400 before touching any order."""

    def __init__(self, answer: Answer):
        super().__init__(answer.message_code)
        self.answer = answer


def message(function: str, kind: str, number: int, text: str, order_number: Optional[str] = None) -> dict:
    entry = {"messageType": kind, "messageCode": f"ORDER_EXT_API_{FUNCTIONS[function]}_{kind}_{number:03d}",
             "message": text}
    if order_number is not None:
        entry["orderNumber"] = order_number
    return entry


def empty_fields(function: str) -> dict:
    """The shape of a function's answer when it carries no data."""
    if function == "searchOrder":
        return {"orderNumberList": None, "PaginationResponseModel": None}
    if function == "getOrder":
        return {"OrderModelList": []}
    return {}


def envelope(function: str, messages: list[dict], status: int = 200, **fields) -> Answer:
    return Answer(status, {**empty_fields(function), **fields, "MessageModelList": messages})


def gateway_refusal(status: int = 401) -> Answer:
    return Answer(status, {"Results": {"errorCode": "ES04-01",
                                       "message": "Un-Authorised: the ESA Authorization header is missing or invalid."}})


def license_key_from(header: Optional[str]) -> Optional[str]:
    """`ESA base64(serviceSecret:licenseKey)`; any non-empty pair is accepted, anything else is None."""
    scheme, _, token = (header or "").partition(" ")
    if scheme != "ESA" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    secret, separator, license_key = decoded.partition(":")
    if not separator or not secret or not license_key:
        return None
    return license_key


class Fields:
    """Collects the 009 (missing) / 010 (empty) / 011 (bad format) errors of one request."""

    def __init__(self, function: str, body: dict):
        self.function = function
        self.body = body
        self.errors: list[dict] = []

    def required(self, name: str, source: Optional[dict] = None):
        source = self.body if source is None else source
        if name not in source:
            self.errors.append(message(self.function, "ERROR", 9, f"{name}の項目を指定して下さい。"))
            return None
        value = source[name]
        if value is None or value == "" or value == []:
            self.errors.append(message(self.function, "ERROR", 10, f"{name}の値を指定して下さい。"))
            return None
        return value

    def bad(self, name: str) -> None:
        self.errors.append(message(self.function, "ERROR", 11, f"{name}の書式が不正です。"))

    def integer(self, name: str, allowed=None, source: Optional[dict] = None, minimum: Optional[int] = None):
        value = self.required(name, source)
        if value is None:
            return None
        if not is_int(value) or (allowed is not None and value not in allowed) or (minimum is not None and value < minimum):
            self.bad(name)
            return None
        return value

    def text(self, name: str, source: Optional[dict] = None) -> Optional[str]:
        value = self.required(name, source)
        if value is None:
            return None
        if not isinstance(value, str):
            self.bad(name)
            return None
        return value

    def datetime(self, name: str) -> Optional[datetime]:
        value = self.required(name)
        if value is None:
            return None
        parsed = given_datetime(value)
        if parsed is None:
            self.bad(name)
        return parsed

    def numbers(self, name: str = "orderNumberList") -> Optional[list[str]]:
        value = self.required(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(number, str) and number for number in value):
            self.bad(name)
            return None
        return value

    def refuse_if_any(self) -> None:
        if self.errors:
            raise Refused(envelope(self.function, self.errors, 400))


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def given_datetime(value) -> Optional[datetime]:
    """A datetime of a request or a control call, None when it is not `YYYY-MM-DDThh:mm:ss+0900`."""
    try:
        return parse_rms_datetime(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------- state

RATE_SCRIPT = """
local now = redis.call('TIME')
local key = KEYS[1] .. ':' .. now[1]
local count = redis.call('INCR', key)
if count == 1 then redis.call('EXPIRE', key, 2) end
return count
"""

MOVE_SCRIPT = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return {0, -1} end
for i = 3, #ARGV do
  if ARGV[i] == current then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return {1, tonumber(current)}
  end
end
return {0, tonumber(current)}
"""

TAKE_FAULT_SCRIPT = """
local numbers = {}
for i = 2, #ARGV do numbers[ARGV[i]] = true end
for _, key in ipairs(KEYS) do
  local items = redis.call('LRANGE', key, 0, -1)
  for index, raw in ipairs(items) do
    local fault = cjson.decode(raw)
    local wanted = fault['order_number']
    if fault['function'] == ARGV[1] and (wanted == nil or wanted == cjson.null or numbers[wanted]) then
      fault['times'] = fault['times'] - 1
      if fault['times'] <= 0 then
        redis.call('LREM', key, 1, raw)
      else
        redis.call('LSET', key, index - 1, cjson.encode(fault))
      end
      return raw
    end
  end
end
return false
"""


class Store:
    """One licenseKey's orders, faults, calls and rate counter in Redis."""

    def __init__(self, redis, license_key: str):
        self.redis = redis
        self.prefix = f"rms-sandbox:{quote(license_key, safe='')}"

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    # -- rate

    def count_this_second(self) -> int:
        return int(self.redis.register_script(RATE_SCRIPT)(keys=[self.key("rate")]))

    # -- orders

    def shop_number(self) -> str:
        return str(100000 + int(hashlib.sha256(self.prefix.encode()).hexdigest()[:8], 16) % 900000)

    def next_sequences(self, count: int) -> range:
        last = self.redis.incrby(self.key("seq"), count)
        return range(last - count + 1, last + 1)

    def save(self, orders: list[dict]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for index, order in enumerate(orders, 1):
            number = order["orderNumber"]
            pipe.hset(self.key("orders"), number, json.dumps(order, ensure_ascii=False))
            pipe.hset(self.key("progress"), number, int(order.get("orderProgress") or 100))
            pipe.zadd(self.key("by-date"), {number: given_datetime(order["orderDatetime"]).timestamp()})
            if index % 2000 == 0:
                pipe.execute()
        pipe.execute()

    def load(self, numbers: list[str]) -> list[Optional[dict]]:
        if not numbers:
            return []
        raws = self.redis.hmget(self.key("orders"), numbers)
        progresses = self.redis.hmget(self.key("progress"), numbers)
        orders = []
        for raw, progress in zip(raws, progresses):
            if raw is None:
                orders.append(None)
                continue
            order = json.loads(raw)
            order["orderProgress"] = int(progress)
            orders.append(order)
        return orders

    def exists(self, number: str) -> bool:
        return bool(self.redis.hexists(self.key("orders"), number))

    def search(self, start: datetime, end: datetime, progresses: Optional[list[int]]) -> list[str]:
        numbers = [raw.decode() for raw in
                   self.redis.zrangebyscore(self.key("by-date"), start.timestamp(), end.timestamp())]
        if progresses and numbers:
            wanted = set(progresses)
            current = self.redis.hmget(self.key("progress"), numbers)
            numbers = [number for number, progress in zip(numbers, current)
                       if progress is not None and int(progress) in wanted]
        return numbers

    def move(self, number: str, allowed: tuple, to: int) -> tuple[bool, int]:
        """Atomically move an order's progress if it is one of `allowed`; (moved, progress before) or (False, -1)."""
        moved, current = self.redis.register_script(MOVE_SCRIPT)(
            keys=[self.key("progress")], args=[number, to, *allowed])
        return bool(moved), int(current)

    def set_progress(self, number: str, progress: int) -> None:
        self.redis.hset(self.key("progress"), number, progress)

    def update_order(self, number: str, change: Callable[[dict], None]) -> None:
        def apply(pipe):
            raw = pipe.hget(self.key("orders"), number)
            order = json.loads(raw)
            change(order)
            pipe.multi()
            pipe.hset(self.key("orders"), number, json.dumps(order, ensure_ascii=False))

        self.redis.transaction(apply, self.key("orders"))

    # -- faults and calls

    def add_fault(self, fault: dict) -> None:
        self.redis.rpush(self.key("faults"), json.dumps(fault))

    def take_fault(self, function: str, numbers: list[str]) -> Optional[dict]:
        raw = self.redis.register_script(TAKE_FAULT_SCRIPT)(
            keys=[self.key("faults"), ANY_LICENSE_FAULTS], args=[function, *numbers])
        return json.loads(raw) if raw else None

    def log_call(self, function: str, body, answer: Answer) -> None:
        entry = {"at": datetime.now(JST).isoformat(timespec="microseconds"), "function": function, "body": body,
                 "http_status": answer.status, "message_code": answer.message_code}
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self.key("calls"), json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(self.key("calls"), -CALLS_KEPT, -1)
        pipe.execute()

    def calls(self) -> list[dict]:
        return [json.loads(raw) for raw in self.redis.lrange(self.key("calls"), 0, -1)]

    def reset(self) -> int:
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=1000))
        return self.redis.delete(*keys) if keys else 0


# --------------------------------------------------------------------------------------------- functions

def search_order(store: Store, body: dict) -> Answer:
    fields = Fields("searchOrder", body)
    fields.integer("dateType", allowed=range(1, 7))
    start = fields.datetime("startDatetime")
    end = fields.datetime("endDatetime")
    progresses = body.get("orderProgressList")
    if progresses is not None and (not isinstance(progresses, list)
                                   or not all(is_int(p) and p in PROGRESSES for p in progresses)):
        fields.bad("orderProgressList")
    paging = fields.required("PaginationRequestModel")
    amount = page = None
    descending = False
    if paging is not None and not isinstance(paging, dict):
        fields.bad("PaginationRequestModel")
    elif paging is not None:
        amount = fields.integer("requestRecordsAmount", source=paging, minimum=1)
        page = fields.integer("requestPage", source=paging, minimum=1)
        sorts = paging.get("SortModelList")
        if sorts is not None:
            if (not isinstance(sorts, list) or not all(isinstance(sort, dict) and sort.get("sortColumn") == 1
                                                       and sort.get("sortDirection") in (1, 2) for sort in sorts)):
                fields.bad("SortModelList")
            elif sorts:
                descending = sorts[0]["sortDirection"] == 2
    fields.refuse_if_any()
    if end < start:
        raise Refused(envelope("searchOrder", [message(
            "searchOrder", "ERROR", 13, "endDatetimeはstartDatetime以降の日時を指定して下さい。")], 400))
    if end - start > MAX_WINDOW:
        raise Refused(envelope("searchOrder", [message(
            "searchOrder", "ERROR", 14, "期間は63日以内で指定して下さい。")], 400))
    if amount > MAX_PAGE_AMOUNT:
        raise Refused(envelope("searchOrder", [message(
            "searchOrder", "ERROR", 12, "requestRecordsAmountは1000以下で指定して下さい。")], 400))

    numbers = store.search(start, end, progresses)
    if not numbers:
        return envelope("searchOrder", [message("searchOrder", "INFO", 102, "該当する注文情報はありません。")],
                        orderNumberList=[], PaginationResponseModel={
                            "totalRecordsAmount": None, "totalPages": None, "requestPage": None})
    if descending:
        numbers.reverse()
    served = numbers[:SEARCH_CAP]
    pages = math.ceil(len(served) / amount)
    return envelope("searchOrder", [message("searchOrder", "INFO", 101, "注文検索に成功しました。")],
                    orderNumberList=served[(page - 1) * amount: page * amount],
                    PaginationResponseModel={"totalRecordsAmount": len(numbers), "totalPages": pages,
                                             "requestPage": page})


def get_order(store: Store, body: dict) -> Answer:
    fields = Fields("getOrder", body)
    numbers = fields.numbers()
    version = fields.integer("version", minimum=1)
    fields.refuse_if_any()
    too_many("getOrder", numbers)
    orders = store.load(numbers)
    found = [order for order in orders if order is not None]
    messages = [message("getOrder", "ERROR", 101, "指定された注文番号の注文は存在しません。", number)
                for number, order in zip(numbers, orders) if order is None]
    if found:
        messages.insert(0, message("getOrder", "INFO", 101, f"受注情報取得に成功しました。(取得件数{len(found)}件)"))
    return envelope("getOrder", messages, version=version, OrderModelList=found)


def too_many(function: str, numbers: list[str]) -> None:
    if len(numbers) > MAX_NUMBERS:
        raise Refused(envelope(function, [message(
            function, "ERROR", 12, "orderNumberListは100件以内で指定して下さい。")], 400))


def cancel(function: str, allowed: tuple, to: int) -> Callable[[Store, dict], Answer]:
    def handle(store: Store, body: dict) -> Answer:
        fields = Fields(function, body)
        number = fields.text("orderNumber")
        fields.integer("inventoryRestoreType", allowed=(0, 1, 2))
        fields.integer("changeReasonDetailApply", allowed=REASONS)
        fields.refuse_if_any()
        moved, before = store.move(number, allowed, to)
        if moved:
            return envelope(function, [message(function, "INFO", 101, "キャンセル申請に成功しました。", number)])
        return envelope(function, [refusal(function, number, before)])

    return handle


def refusal(function: str, number: str, progress: int) -> dict:
    if progress == -1:
        return message(function, "ERROR", 101, "指定された注文番号の注文は存在しません。", number)
    if progress in CANCELLED:
        return message(function, "ERROR", 102, "この注文はすでにキャンセルされています。", number)
    return message(function, "ERROR", 103, f"現在の注文ステータス({progress})ではこの操作はできません。", number)


def confirm_order(store: Store, body: dict) -> Answer:
    fields = Fields("confirmOrder", body)
    numbers = fields.numbers()
    fields.refuse_if_any()
    too_many("confirmOrder", numbers)
    messages = []
    for number in numbers:
        moved, before = store.move(number, (100,), 300)
        messages.append(message("confirmOrder", "INFO", 101, "注文確認に成功しました。", number) if moved
                        else refusal("confirmOrder", number, before))
    return envelope("confirmOrder", messages)


def update_order_shipping(store: Store, body: dict) -> Answer:
    function = "updateOrderShipping"
    fields = Fields(function, body)
    number = fields.text("orderNumber")
    baskets = fields.required("BasketidModelList")
    if baskets is not None and not (isinstance(baskets, list) and all(isinstance(b, dict) for b in baskets)):
        fields.bad("BasketidModelList")
        baskets = None
    for basket in baskets or []:
        fields.integer("basketId", source=basket)
        shippings = fields.required("ShippingModelList", basket)
        if shippings is None:
            continue
        if not (isinstance(shippings, list) and all(isinstance(s, dict) for s in shippings)):
            fields.bad("ShippingModelList")
            continue
        for shipping in shippings:
            company = fields.text("deliveryCompany", shipping)
            if company is not None and not company.isdigit():
                fields.bad("deliveryCompany")
            fields.text("shippingNumber", shipping)
            shipped_on = shipping.get("shippingDate")
            if shipped_on is not None and not valid_date(shipped_on):
                fields.bad("shippingDate")
    fields.refuse_if_any()

    order = store.load([number])[0]
    if order is None or order["orderProgress"] in CANCELLED or order["orderProgress"] == 400:
        return envelope(function, [refusal(function, number, -1 if order is None else order["orderProgress"])])
    known = {package.get("basketId") for package in order.get("PackageModelList") or []}
    unknown = [basket["basketId"] for basket in baskets if basket["basketId"] not in known]
    if unknown:
        return envelope(function, [message(function, "ERROR", 104, f"basketId {unknown[0]} はこの注文にありません。", number)])

    def add_shippings(stored: dict) -> None:
        for basket in baskets:
            package = next(p for p in stored["PackageModelList"] if p.get("basketId") == basket["basketId"])
            listed = package.setdefault("ShippingModelList", [])
            for shipping in basket["ShippingModelList"]:
                listed.append({"shippingDetailId": random.randint(10**8, 10**9 - 1),
                               "deliveryCompany": shipping["deliveryCompany"],
                               "shippingNumber": shipping["shippingNumber"],
                               "shippingDate": shipping.get("shippingDate")})

    store.update_order(number, add_shippings)
    store.move(number, (100, 200, 300), 500)
    return envelope(function, [message(function, "INFO", 101, "発送情報の更新に成功しました。", number)])


def valid_date(value) -> bool:
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


HANDLERS: dict[str, Callable[[Store, dict], Answer]] = {
    "searchOrder": search_order,
    "getOrder": get_order,
    "cancelOrder": cancel("cancelOrder", (100, 200, 300), 900),
    "cancelOrderAfterShipping": cancel("cancelOrderAfterShipping", (500, 600, 700), 800),
    "confirmOrder": confirm_order,
    "updateOrderShipping": update_order_shipping,
}


def numbers_in(function: str, body) -> list[str]:
    """The order numbers a call is about, for matching faults."""
    if not isinstance(body, dict):
        return []
    if function in LIST_FUNCTIONS and isinstance(body.get("orderNumberList"), list):
        return [number for number in body["orderNumberList"] if isinstance(number, str)]
    if function in SINGLE_ORDER_FUNCTIONS and isinstance(body.get("orderNumber"), str):
        return [body["orderNumber"]]
    return []


def run(store: Store, function: str, body: dict) -> Answer:
    try:
        return HANDLERS[function](store, body)
    except Refused as refused:
        return refused.answer


def fault_answer(store: Store, function: str, body, fault: dict) -> Optional[Answer]:
    """What an injected fault answers instead of the function; None when it only delays."""
    status = fault.get("http_status")
    if fault.get("body") is not None:
        return Answer(status or 200, fault["body"])
    code = fault.get("message_code")
    if code:
        called = numbers_in(function, body)
        failing = [fault["order_number"]] if fault.get("order_number") else called
        text = "サンドボックスが注入したエラーです。"
        errors = [{"messageType": "ERROR", "messageCode": code, "message": text, "orderNumber": number}
                  for number in failing] or [{"messageType": "ERROR", "messageCode": code, "message": text}]
        rest = [number for number in called if number not in failing]
        if function in LIST_FUNCTIONS and rest and not status:
            answer = run(store, function, {**body, "orderNumberList": rest})
            if answer.status == 200:
                answer.body["MessageModelList"] = errors + answer.body["MessageModelList"]
                return answer
        return envelope(function, errors, status or (400 if code.endswith(VALIDATION_SUFFIXES) else 200))
    if status in (401, 403):
        return gateway_refusal(status)
    if status:
        return Answer(status, f"<html><body><h1>{status}</h1><p>sandbox fault</p></body></html>")
    return None


@bp.post("/es/2.0/order/<function>/")
def rms_function(function: str):
    license_key = license_key_from(request.headers.get("Authorization"))
    if license_key is None:
        return gateway_refusal().response()
    if function not in FUNCTIONS:
        return Answer(404, {"Results": {"errorCode": "404", "message": f"Not Found: {function}"}}).response()
    store = Store(get_redis(), license_key)
    raw = request.get_data(as_text=True)
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw
    answer = None
    if store.count_this_second() > current_app.config["RMS_SANDBOX_RATE_PER_SECOND"]:
        answer = Answer(429, {"Results": {"errorCode": "429", "message": "Too Many Requests"}})
    else:
        fault = store.take_fault(function, numbers_in(function, body))
        if fault:
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000)
            answer = fault_answer(store, function, body, fault)
    if answer is None:
        if isinstance(body, dict):
            answer = run(store, function, body)
        else:
            answer = envelope(function, [message(function, "ERROR", 11, "リクエストの書式が不正です。")], 400)
    store.log_call(function, body, answer)
    return answer.response()


# --------------------------------------------------------------------------------------------- control API

class ControlError(Exception):
    pass


@bp.errorhandler(ControlError)
def _control_error(exc: ControlError):
    return jsonify({"error": str(exc)}), 400


def control_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ControlError("a JSON object is expected")
    return body


def license_from(body: dict, required: bool = True) -> Optional[str]:
    value = body.get("license_key")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError("license_key is required")
    return value


@bp.post("/_control/orders")
def control_orders():
    body = control_body()
    store = Store(get_redis(), license_from(body))
    if "generate" in body:
        count, progress, days = body["generate"], body.get("order_progress", 100), body.get("days", 3)
        if not is_int(count) or not 1 <= count <= MAX_GENERATE:
            raise ControlError(f"generate must be 1..{MAX_GENERATE}")
        if progress not in PROGRESSES or not is_int(progress):
            raise ControlError("order_progress must be one of " + ", ".join(map(str, PROGRESSES)))
        if not isinstance(days, (int, float)) or isinstance(days, bool) or days <= 0:
            raise ControlError("days must be a positive number")
        orders = generate_orders(store, count, progress, days)
    else:
        partials = body.get("orders")
        if not isinstance(partials, list) or not all(isinstance(p, dict) for p in partials):
            raise ControlError("orders (a list of partial OrderModel objects) or generate is required")
        orders = [complete_order(store, partial) for partial in partials]
    store.save(orders)
    return jsonify({"order_numbers": [order["orderNumber"] for order in orders]})


@bp.post("/_control/progress")
def control_progress():
    body = control_body()
    store = Store(get_redis(), license_from(body))
    number, progress = body.get("order_number"), body.get("order_progress")
    if not is_int(progress) or progress not in PROGRESSES:
        raise ControlError("order_progress must be one of " + ", ".join(map(str, PROGRESSES)))
    if not isinstance(number, str) or not store.exists(number):
        return jsonify({"error": f"no order {number!r} for this license_key"}), 404
    store.set_progress(number, progress)
    return jsonify({"order_number": number, "order_progress": progress})


@bp.post("/_control/faults")
def control_faults():
    body = control_body()
    license_key = license_from(body, required=False)
    fault = {
        "function": body.get("function"), "order_number": body.get("order_number"), "times": body.get("times", 1),
        "http_status": body.get("http_status"), "message_code": body.get("message_code"),
        "delay_ms": body.get("delay_ms", 0), "body": body.get("body"),
    }
    if fault["function"] not in FUNCTIONS:
        raise ControlError("function must be one of " + ", ".join(FUNCTIONS))
    if not is_int(fault["times"]) or fault["times"] < 1:
        raise ControlError("times must be a positive integer")
    if fault["http_status"] is not None and (not is_int(fault["http_status"]) or not 200 <= fault["http_status"] <= 599):
        raise ControlError("http_status must be an HTTP status or null")
    if not is_int(fault["delay_ms"]) or not 0 <= fault["delay_ms"] <= 60_000:
        raise ControlError("delay_ms must be 0..60000")
    for name in ("order_number", "message_code", "body"):
        if fault[name] is not None and not isinstance(fault[name], str):
            raise ControlError(f"{name} must be a string or null")
    if not (fault["http_status"] or fault["message_code"] or fault["delay_ms"] or fault["body"] is not None):
        raise ControlError("a fault needs http_status, message_code, body or delay_ms")
    if license_key is None:
        get_redis().rpush(ANY_LICENSE_FAULTS, json.dumps(fault))
    else:
        Store(get_redis(), license_key).add_fault(fault)
    return jsonify({"fault": fault}), 201


@bp.get("/_control/calls")
def control_calls():
    license_key = request.args.get("license_key")
    if not license_key:
        raise ControlError("license_key is required")
    return jsonify({"items": Store(get_redis(), license_key).calls()})


@bp.post("/_control/reset")
def control_reset():
    """Forget one licenseKey's orders, faults and calls (the key is required: a reset never reaches the sandbox
    data of other shops)."""
    license_key = license_from(control_body())
    return jsonify({"deleted_keys": Store(get_redis(), license_key).reset()})


# --------------------------------------------------------------------------------------------- made-up orders

FAMILY_NAMES = [("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
                ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
                ("吉田", "ヨシダ"), ("松本", "マツモト")]
FIRST_NAMES = [("花子", "ハナコ"), ("太郎", "タロウ"), ("美咲", "ミサキ"), ("健太", "ケンタ"), ("陽菜", "ヒナ"),
               ("翔太", "ショウタ"), ("さくら", "サクラ"), ("大輔", "ダイスケ"), ("由美", "ユミ"), ("誠", "マコト"),
               ("結衣", "ユイ"), ("蓮", "レン")]
PLACES = [("150", "0002", "東京都", "渋谷区", "渋谷", "03"), ("530", "0001", "大阪府", "大阪市北区", "梅田", "06"),
          ("460", "0008", "愛知県", "名古屋市中区", "栄", "052"), ("812", "0011", "福岡県", "福岡市博多区", "博多駅前", "092"),
          ("060", "0001", "北海道", "札幌市中央区", "北一条西", "011"), ("980", "0021", "宮城県", "仙台市青葉区", "中央", "022"),
          ("730", "0011", "広島県", "広島市中区", "基町", "082"), ("604", "8001", "京都府", "京都市中京区", "見本町", "075")]
BUILDINGS = ["", " サンプルハイツ101", " 見本マンション305", " コーポ見本202", ""]
CATALOGUE = [
    ("tshirt-001", "オーガニックコットンTシャツ", 1800, [("M-navy", "サイズ:M\nカラー:ネイビー"), ("L-white", "サイズ:L\nカラー:ホワイト")]),
    ("mug-002", "波佐見焼 マグカップ", 2200, [("ai", "カラー:藍"), ("shiro", "カラー:白")]),
    ("towel-003", "今治タオル フェイスタオル", 1100, [("beige", "カラー:ベージュ"), ("gray", "カラー:グレー")]),
    ("tea-004", "静岡 深蒸し茶 100g", 1080, [("100g", "内容量:100g")]),
    ("socks-005", "綿混 くつ下 3足組", 990, [("23-25", "サイズ:23-25cm"), ("25-27", "サイズ:25-27cm")]),
]
SETTLEMENTS = [(1, "クレジットカード"), (1, "クレジットカード"), (2, "代金引換"), (9, "銀行振込")]
FREE_POSTAGE_FROM = 3980


def person(rng: random.Random) -> dict:
    family, family_kana = rng.choice(FAMILY_NAMES)
    first, first_kana = rng.choice(FIRST_NAMES)
    zip1, zip2, prefecture, city, town, area_code = rng.choice(PLACES)
    return {
        "zipCode1": zip1, "zipCode2": zip2, "prefecture": prefecture, "city": city,
        "subAddress": f"{town}{rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}{rng.choice(BUILDINGS)}",
        "familyName": family, "firstName": first, "familyNameKana": family_kana, "firstNameKana": first_kana,
        "phoneNumber1": area_code, "phoneNumber2": f"{rng.randint(0, 9999):04d}"[: 6 - len(area_code)],
        "phoneNumber3": f"{rng.randint(0, 9999):04d}",
    }


def generated_order(rng: random.Random, number: str, ordered_at: datetime, progress: int) -> dict:
    orderer = person(rng)
    recipient = dict(orderer) if rng.random() < 0.8 else person(rng)
    items = []
    for manage_number, name, price, variants in rng.sample(CATALOGUE, rng.randint(1, 3)):
        variant, sku_info = rng.choice(variants)
        items.append({
            "itemDetailId": rng.randint(10**8, 10**9 - 1), "itemName": name, "itemId": rng.randint(10**7, 10**8 - 1),
            "itemNumber": manage_number, "manageNumber": manage_number, "price": price, "units": rng.randint(1, 3),
            "includePostageFlag": 0, "includeTaxFlag": 1, "taxRate": 0.08 if manage_number == "tea-004" else 0.1,
            "priceTaxIncl": price, "selectedChoice": "", "restoreInventoryFlag": 0,
            "SkuModelList": [{"variantId": f"{manage_number}-{variant}",
                              "merchantDefinedSkuId": f"{manage_number}-{variant}".upper().replace("-", ""),
                              "skuInfo": sku_info}],
        })
    goods = sum(item["price"] * item["units"] for item in items)
    postage = 0 if goods >= FREE_POSTAGE_FROM else 550
    settlement_code, settlement = rng.choice(SETTLEMENTS)
    charge = 330 if settlement_code == 2 else 0
    total = goods + postage + charge
    return {
        "orderNumber": number, "orderProgress": progress, "subStatusId": None, "subStatusName": None,
        "orderDatetime": format_rms_datetime(ordered_at), "shopOrderCfmDatetime": None, "orderFixDatetime": None,
        "shippingInstDatetime": None, "shippingCmplRptDatetime": None,
        "cancelDueDate": (ordered_at.astimezone(JST).date() + timedelta(days=14)).isoformat(),
        "remarks": "[配送日時指定:]\n" + rng.choice(["指定なし", "午前中", "14:00～16:00", "19:00～21:00"]),
        "goodsPrice": goods, "postagePrice": postage, "deliveryPrice": charge, "paymentCharge": 0,
        "totalPrice": total, "requestPrice": total, "couponAllTotalPrice": 0,
        "OrdererModel": {**orderer, "emailAddress": f"{rng.getrandbits(40):010x}@fw.rakuten.ne.jp",
                         "sex": rng.choice(["男", "女"]), "birthYear": None, "birthMonth": None, "birthDay": None},
        "SettlementModel": {"settlementMethodCode": settlement_code, "settlementMethod": settlement},
        "DeliveryModel": {"deliveryName": "代金引換" if settlement_code == 2 else "宅配便", "deliveryClass": 0},
        "PointModel": {"usedPoint": 0},
        "PackageModelList": [{
            "basketId": rng.randint(10**8, 10**9 - 1), "postagePrice": postage, "goodsPrice": goods,
            "totalPrice": goods + postage, "defaultDeliveryCompanyCode": "1001",
            "SenderModel": {**recipient, "isolatedIslandFlag": 0}, "ShippingModelList": [], "ItemModelList": items,
        }],
        "ChangeReasonModelList": [],
    }


def generate_orders(store: Store, count: int, progress: int, days: float) -> list[dict]:
    rng = random.Random()
    now = datetime.now(JST).replace(microsecond=0)
    shop = store.shop_number()
    orders = []
    for sequence in store.next_sequences(count):
        ordered_at = now - timedelta(seconds=rng.randint(0, int(days * 86400)))
        orders.append(generated_order(rng, f"{shop}-{ordered_at:%Y%m%d}-{sequence:010d}", ordered_at, progress))
    return orders


def complete_order(store: Store, partial: dict) -> dict:
    """A partial OrderModel filled in with made-up data; the given keys win (nested models merge)."""
    given = partial.get("orderDatetime")
    if given is not None and given_datetime(given) is None:
        raise ControlError("orderDatetime must look like 2026-11-01T10:15:30+0900")
    ordered_at = given_datetime(given) if given else datetime.now(JST).replace(microsecond=0)
    number = partial.get("orderNumber")
    if number is not None and (not isinstance(number, str) or not number):
        raise ControlError("orderNumber must be a non-empty string")
    if number is None:
        number = f"{store.shop_number()}-{ordered_at:%Y%m%d}-{store.next_sequences(1)[0]:010d}"
    progress = partial.get("orderProgress", 100)
    if not is_int(progress) or progress not in PROGRESSES:
        raise ControlError("orderProgress must be one of " + ", ".join(map(str, PROGRESSES)))
    base = generated_order(random.Random(), number, ordered_at, progress)
    return merged(base, {**partial, "orderNumber": number, "orderDatetime": format_rms_datetime(ordered_at),
                         "orderProgress": progress})


def merged(base: dict, partial: dict) -> dict:
    result = dict(base)
    for key, value in partial.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            result[key] = merged(base[key], value)
        else:
            result[key] = value
    return result
