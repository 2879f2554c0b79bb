"""The sandbox's side of RMS's contract: its limits, answer envelopes, message codes, the ESA check and the
009/010/011 field errors (see the package's docstring for the codes that are the sandbox's own)."""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from flask import current_app, jsonify

from ....integrations.sandbox import is_int
from ..reader import RMS_DATETIME, parse_rms_datetime

DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_WINDOW = timedelta(days=63)
MAX_NUMBERS = 100
MAX_PAGE_AMOUNT = 1000
SEARCH_CAP = 15_000
PROGRESSES = (100, 200, 300, 400, 500, 600, 700, 800, 900)
CANCELLED = (800, 900)
REASONS = (1, 2, 3, 4, 5, 6, 8, 10, 13, 14, 15)
VALIDATION_SUFFIXES = ("_009", "_010", "_011")

FUNCTIONS = {
    "searchOrder": "SEARCH_ORDER",
    "getOrder": "GET_ORDER",
    "cancelOrder": "CANCEL_ORDER",
    "cancelOrderAfterShipping": "CANCEL_ORDER_AFTER_SHIPPING",
    "confirmOrder": "CONFIRM_ORDER",
    "updateOrderShipping": "UPDATE_ORDERSHIPPING",  # RMS spells this one without the second underscore
}
SINGLE_ORDER_FUNCTIONS = ("cancelOrder", "cancelOrderAfterShipping", "updateOrderShipping")
LIST_FUNCTIONS = ("getOrder", "confirmOrder")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


def given_datetime(value) -> Optional[datetime]:
    """A datetime of a request or a control call, None when it is not `YYYY-MM-DDThh:mm:ss+0900`."""
    if not isinstance(value, str) or not RMS_DATETIME.fullmatch(value):
        return None
    try:
        return parse_rms_datetime(value)
    except ValueError:  # a day that does not exist
        return None
