"""The simulator's blueprint at /sandbox/warehouse: the contract's paths under /v1, and the control API (JSON,
no auth) with which tests and the demo set a key's item master and mode, move its shipments, inject faults
and read the calls received."""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, jsonify, request

from ...extensions import csrf, get_redis
from ...integrations.sandbox import (ControlError, add_fault_for_every_key, answer_control_errors, control_body, delay,
                                     read_fault)
from . import functions
from .contract import FAULTABLE, Answer, api_key_from, public, rate_limit, refusal
from .store import NAMESPACE, Store

bp = Blueprint("sandbox_warehouse", __name__, url_prefix="/sandbox/warehouse")
csrf.exempt(bp)

MAX_ADVANCE_MANY = 20_000


def _serve(function: str, run, faultable: bool = True):
    """Auth, rate, injected faults, the function, the calls log: what every contract call goes through."""
    api_key = api_key_from(request.headers.get("Authorization"))
    if api_key is None:
        return refusal(401, "E401", "Authorization: Bearer <api key> is required").response()
    store = Store(get_redis(), api_key)
    body = request.get_json(silent=True) if request.method == "POST" else None
    answer: Optional[Answer] = None
    forced_code = None
    if store.count_this_second() > rate_limit():
        answer = refusal(429, "E429", "too many requests: slow down")
    elif faultable and function in FAULTABLE:
        fault = store.take_fault(function, [])
        if fault:
            delay(fault)
            answer, forced_code = _fault_answer(function, fault)
    if answer is None:
        answer = run(store, body, forced_code)
    path = request.full_path.rstrip("?")
    store.log_call(function, body, answer.status, path=path)
    return answer.response()


def _fault_answer(function: str, fault: dict) -> tuple[Optional[Answer], Optional[str]]:
    """An injected fault's answer, or the code each shipment of a create or batch is refused with."""
    status, code = fault.get("http_status"), fault.get("error_code")
    if status:
        return refusal(status, code or f"E{status}", "the simulator's injected fault"), None
    if code and function in ("create", "batch"):
        return None, code
    if code:
        return refusal(422, code, "the simulator's injected error"), None
    return None, None


@bp.post("/v1/shipments")
def create_shipment():
    return _serve("create", lambda store, body, code: functions.create(store, body, code))


@bp.post("/v1/shipments:batch")
def create_batch():
    return _serve("batch", lambda store, body, code: functions.batch(store, body, code))


@bp.get("/v1/shipments/<shipment_id>")
def get_shipment(shipment_id: str):
    return _serve("get", lambda store, body, code: functions.get(store, shipment_id))


@bp.post("/v1/shipments/<shipment_id>/withdrawal")
def request_withdrawal(shipment_id: str):
    return _serve("withdrawal", lambda store, body, code: functions.withdrawal(store, shipment_id))


@bp.post("/v1/shipments/<shipment_id>/cancellation")
def request_cancellation(shipment_id: str):
    return _serve("cancellation", lambda store, body, code: functions.cancellation(store, shipment_id, body))


@bp.get("/v1/events")
def list_events():
    return _serve("events", lambda store, body, code: functions.events(
        store, request.args.get("after"), request.args.get("limit")))


# --------------------------------------------------------------------------------------------- control API

answer_control_errors(bp)


def _key(body: dict, required: bool = True) -> Optional[str]:
    value = body.get("api_key")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError("api_key is required")
    return value


def _store(body: dict) -> Store:
    return Store(get_redis(), _key(body))


def _query_store() -> Store:
    api_key = request.args.get("api_key")
    if not api_key:
        raise ControlError("api_key is required")
    return Store(get_redis(), api_key)


@bp.post("/_control/items")
def control_items():
    """The key's item master: `skus` a list (then other SKUs are refused with E101), or null (any SKU)."""
    body = control_body()
    skus = body.get("skus")
    if skus is not None and (not isinstance(skus, list) or not all(isinstance(sku, str) and sku for sku in skus)):
        raise ControlError("skus must be a list of SKUs (strings) or null")
    _store(body).set_items(skus)
    return jsonify({"skus": skus})


@bp.post("/_control/mode")
def control_mode():
    body = control_body()
    store = _store(body)
    auto = body.get("auto")
    if not isinstance(auto, bool):
        raise ControlError("auto must be true or false")
    for name in ("start_after_s", "ship_after_s"):
        if body.get(name) is not None and not functions.is_seconds(body[name]):
            raise ControlError(f"{name} must be a number of seconds (0 or more)")
    store.set_mode(auto, body.get("start_after_s"), body.get("ship_after_s"))
    conf = store.conf()
    return jsonify({key: conf[key] for key in ("auto", "start_after_s", "ship_after_s")})


@bp.post("/_control/advance")
def control_advance():
    body = control_body()
    store = _store(body)
    status, answer = functions.advance_many(store, [body])[0]
    if status == 400:
        raise ControlError(answer["error"])
    return jsonify({"event": answer} if status == 200 else answer), status


@bp.post("/_control/advance-many")
def control_advance_many():
    """An addition to §3 (for benchmarks): many advances in one call, each as `_control/advance`'s body without
    api_key, applied in order → {"events": [event or null], "errors": [{"index", "status", ...}]}."""
    body = control_body()
    store = _store(body)
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ADVANCE_MANY:
        raise ControlError(f"items must be a list of 1..{MAX_ADVANCE_MANY} advances")
    events, errors = [], []
    for index, (status, answer) in enumerate(functions.advance_many(store, items)):
        events.append(answer if status == 200 else None)
        if status != 200:
            errors.append({"index": index, "status": status, **answer})
    return jsonify({"events": events, "errors": errors})


@bp.post("/_control/redeliver")
def control_redeliver():
    _store(control_body()).redeliver()
    return jsonify({"redeliver": True})


@bp.post("/_control/deliver-out-of-order")
def control_out_of_order():
    body = control_body()
    on = body.get("on")
    if not isinstance(on, bool):
        raise ControlError("on must be true or false")
    _store(body).set_out_of_order(on)
    return jsonify({"on": on})


@bp.post("/_control/faults")
def control_faults():
    """A fault for one key's next `times` calls of `function` (every key's when api_key is null); `times: 0`
    disarms the key's faults of that function."""
    body = control_body()
    api_key = _key(body, required=False)
    fault = read_fault(body, FAULTABLE, code_field="error_code", disarm=True)
    if fault["times"] == 0:
        if api_key is None:
            raise ControlError("api_key is required to disarm")
        return jsonify({"removed": Store(get_redis(), api_key).remove_faults(fault["function"])})
    if api_key is None:
        add_fault_for_every_key(get_redis(), NAMESPACE, fault)
    else:
        Store(get_redis(), api_key).add_fault(fault)
    return jsonify({"fault": fault}), 201


@bp.get("/_control/calls")
def control_calls():
    store = _query_store()
    store.touch()
    return jsonify({"items": store.calls()})


@bp.get("/_control/shipments")
def control_shipments():
    store = _query_store()
    store.touch()
    return jsonify({"items": [public({"id": shipment_id, **shipment})
                              for shipment_id, shipment in store.all_shipments()]})


@bp.post("/_control/reset")
def control_reset():
    """Forget one key's shipments, events, mode, item master, faults and calls (never another key's)."""
    return jsonify({"deleted_keys": _store(control_body()).reset()})
