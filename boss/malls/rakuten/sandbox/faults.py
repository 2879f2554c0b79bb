"""Injected faults: which calls one matches, and what it answers instead of the function."""
from __future__ import annotations

from typing import Optional

from .contract import LIST_FUNCTIONS, SINGLE_ORDER_FUNCTIONS, VALIDATION_SUFFIXES, Answer, envelope, gateway_refusal
from .functions import run
from .store import Store


def numbers_in(function: str, body) -> list[str]:
    """The order numbers a call is about, for matching faults."""
    if not isinstance(body, dict):
        return []
    if function in LIST_FUNCTIONS and isinstance(body.get("orderNumberList"), list):
        return [number for number in body["orderNumberList"] if isinstance(number, str)]
    if function in SINGLE_ORDER_FUNCTIONS and isinstance(body.get("orderNumber"), str):
        return [body["orderNumber"]]
    return []


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
