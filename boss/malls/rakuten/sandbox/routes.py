"""The sandbox's blueprint at /sandbox/rms: the RMS functions, and the control API (JSON, no ESA) with
which tests and the demo add orders, change them as Rakuten would, move their progress, inject faults and
read the calls received."""
from __future__ import annotations

import json
from typing import Optional

from flask import Blueprint, current_app, jsonify, request

from ....extensions import csrf, get_redis
from ....integrations.sandbox import (ControlError, add_fault_for_every_key, answer_control_errors, control_body, delay,
                                      read_fault)
from .contract import (FUNCTIONS, PROGRESSES, Answer, envelope, gateway_refusal, is_int, is_number, license_key_from,
                       message)
from .fakes import MIXES, change_order, complete_order, generate_orders
from .faults import fault_answer, numbers_in
from .functions import run
from .store import NAMESPACE, Store

bp = Blueprint("sandbox_rms", __name__, url_prefix="/sandbox/rms")
csrf.exempt(bp)

MAX_GENERATE = 50_000


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
            delay(fault)
            answer = fault_answer(store, function, body, fault)
    if answer is None:
        if isinstance(body, dict):
            answer = run(store, function, body)
        else:
            answer = envelope(function, [message(function, "ERROR", 11, "リクエストの書式が不正です。")], 400)
    store.log_call(function, body, answer.status, message_code=answer.message_code)
    return answer.response()


# --------------------------------------------------------------------------------------------- control API

answer_control_errors(bp)


def license_from(body: dict, required: bool = True) -> Optional[str]:
    value = body.get("license_key")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError("license_key is required")
    return value


@bp.post("/_control/orders")
def control_orders():
    """`generate` N orders (`order_progress`, `days`, `mix` "realistic" (default: the mix a shop sees, rakuten-rms.md) or "plain", `seed` for the same
    orders again, `unfixed_share` of orders with amounts not yet fixed), or store `orders` given whole or partial
    (see `fakes.complete_order`)."""
    body = control_body()
    store = Store(get_redis(), license_from(body))
    if "generate" in body:
        count, progress, days = body["generate"], body.get("order_progress", 100), body.get("days", 3)
        mix, seed, unfixed_share = body.get("mix", "realistic"), body.get("seed"), body.get("unfixed_share", 0)
        if not is_int(count) or not 1 <= count <= MAX_GENERATE:
            raise ControlError(f"generate must be 1..{MAX_GENERATE}")
        if progress not in PROGRESSES or not is_int(progress):
            raise ControlError("order_progress must be one of " + ", ".join(map(str, PROGRESSES)))
        if not is_number(days) or days <= 0:
            raise ControlError("days must be a positive number")
        if mix not in MIXES:
            raise ControlError("mix must be one of " + ", ".join(f'"{name}"' for name in MIXES))
        if seed is not None and not is_int(seed):
            raise ControlError("seed must be an integer or null")
        if not is_number(unfixed_share) or not 0 <= unfixed_share <= 1:
            raise ControlError("unfixed_share must be a number from 0 to 1")
        orders = generate_orders(store, count, progress, days, mix, seed, unfixed_share)
    else:
        given = body.get("orders")
        if not isinstance(given, list) or not all(isinstance(order, dict) for order in given):
            raise ControlError("orders (a list of OrderModel objects, whole or partial) or generate is required")
        orders = [complete_order(store, order) for order in given]
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


@bp.post("/_control/change")
def control_change():
    """Change an order as Rakuten does when the buyer or the shop changes it there: the changes merge into the
    stored order like a partial order of `_control/orders`, modifyFlag becomes 1 and a ChangeReasonModel is added."""
    body = control_body()
    store = Store(get_redis(), license_from(body))
    number, changes = body.get("order_number"), body.get("changes")
    if not isinstance(number, str) or not number:
        raise ControlError("order_number is required")
    if not isinstance(changes, dict) or not changes:
        raise ControlError("changes (a partial OrderModel object) is required")
    fixed = sorted(set(changes) & {"orderNumber", "orderDatetime"})
    if fixed:
        raise ControlError(f"{', '.join(fixed)} cannot be changed")
    progress = changes.get("orderProgress")
    if "orderProgress" in changes and (not is_int(progress) or progress not in PROGRESSES):
        raise ControlError("orderProgress must be one of " + ", ".join(map(str, PROGRESSES)))
    if not store.exists(number):
        return jsonify({"error": f"no order {number!r} for this license_key"}), 404
    store.update_order(number, lambda order: change_order(order, changes))
    if progress is not None:
        store.set_progress(number, progress)
    return jsonify({"order_number": number, "order": store.load([number])[0]})


@bp.post("/_control/faults")
def control_faults():
    body = control_body()
    license_key = license_from(body, required=False)
    fault = read_fault(body, FUNCTIONS)
    if license_key is None:
        add_fault_for_every_key(get_redis(), NAMESPACE, fault)
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
