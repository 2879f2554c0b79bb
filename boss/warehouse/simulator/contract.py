"""The simulator's side of the warehouse contract (`warehouse.md` §2): answers and their error body, the
checks of a shipping request (E100–E103), the shipment as the contract shows it, the events cursor, and the
events: their types, fields, the states each may come from (§3's table) and what each does to a shipment."""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

from flask import current_app, jsonify

from ...integrations.sandbox import is_int
from ...timefmt import JST

MAX_BATCH = 100
MAX_EVENTS_PAGE = 500
DEFAULT_EVENTS_PAGE = 100
DEFAULT_START_AFTER_S = 20.0
DEFAULT_SHIP_AFTER_S = 60.0

FUNCTIONS = ("create", "batch", "get", "withdrawal", "cancellation", "events")
FAULTABLE = ("create", "batch", "withdrawal", "cancellation", "events")

STATUSES = ("received", "in_progress", "shipped", "refused", "withdrawn", "cancelled")
CARRIERS = ("yamato", "sagawa", "japanpost", "other")
EVENT_TYPES = ("started", "shipped", "refused", "withdrawn", "withdrawal_refused", "cancellation_acknowledged",
               "cancellation_refused", "return_inspected")
REFUSAL_REASONS = {"R01": "倉庫在庫が不足しています", "R02": "お届け先住所が不明です"}
PUBLIC_FIELDS = ("id", "client_reference", "order_number", "status", "lines", "carrier", "tracking_number",
                 "shipped_on", "reason", "created_at")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CURSOR_PATTERN = re.compile(r"^e(0|[1-9]\d{0,11})$")


@dataclass
class Answer:
    status: int
    body: dict

    @property
    def error_code(self) -> Optional[str]:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return errors[0].get("code") if errors else None

    def response(self):
        response = jsonify(self.body)
        response.status_code = self.status
        if self.status == 429:
            response.headers["Retry-After"] = "1"
        return response


def error(code: str, message: str, field: Optional[str] = None) -> dict:
    return {"code": code, "field": field, "message": message}


def refusal(status: int, code: str, message: str, field: Optional[str] = None) -> Answer:
    """An answer with the contract's error body."""
    return Answer(status, {"errors": [error(code, message, field)]})


def api_key_from(header: Optional[str]) -> Optional[str]:
    """The key of `Authorization: Bearer <key>`; None when there is none (any non-empty key is accepted)."""
    if not header or not header.startswith("Bearer "):
        return None
    return header[len("Bearer "):].strip() or None


def rate_limit() -> float:
    return float(current_app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"])


# --------------------------------------------------------------------------------------------- the request

def _text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _optional_text(value) -> bool:
    return value is None or isinstance(value, str)


def postal_digits(value) -> Optional[str]:
    if not isinstance(value, str):
        return None
    digits = value.replace("-", "").strip()
    return digits if len(digits) == 7 and digits.isascii() and digits.isdigit() else None


def check_request(body, known_sku=None) -> list[dict]:
    """The contract's errors of one shipping request (empty when it is accepted). `known_sku(sku)` says
    whether the key's item master has a SKU (None: no item master, every SKU is accepted)."""
    if not isinstance(body, dict):
        return [error("E100", "a shipment must be a JSON object")]
    errors = []
    for name in ("client_reference", "order_number", "shop_code"):
        if not _text(body.get(name)):
            errors.append(error("E100", f"{name} is required (a non-empty string)", name))
    for name in ("remarks", "delivery_time_slot", "drop_off"):
        if not _optional_text(body.get(name)):
            errors.append(error("E100", f"{name} must be a string or null", name))
    delivery_date = body.get("delivery_date")
    if delivery_date is not None and not _is_date(delivery_date):
        errors.append(error("E100", "delivery_date must be YYYY-MM-DD or null", "delivery_date"))
    cod = body.get("cod_amount")
    if cod is not None and (not is_int(cod) or cod < 0):
        errors.append(error("E100", "cod_amount must be a non-negative integer or null", "cod_amount"))
    sender = body.get("sender")
    if not isinstance(sender, dict):
        errors.append(error("E100", "sender is required (an object)", "sender"))
    else:
        for name in ("name", "postal_code", "address", "phone"):
            if not _optional_text(sender.get(name)):
                errors.append(error("E100", f"sender.{name} must be a string", f"sender.{name}"))
    pickup = body.get("pickup")
    if pickup is not None and not isinstance(pickup, dict):
        errors.append(error("E100", "pickup must be an object or null", "pickup"))
    recipient = body.get("recipient")
    if not isinstance(recipient, dict):
        errors.append(error("E100", "recipient is required (an object)", "recipient"))
    else:
        if not _text(recipient.get("name")):
            errors.append(error("E100", "recipient.name is required", "recipient.name"))
        if not isinstance(pickup, dict):  # a parcel collected at a store needs no address of the recipient's
            if postal_digits(recipient.get("postal_code")) is None:
                errors.append(error("E102", "recipient.postal_code must have 7 digits", "recipient.postal_code"))
            if not _text(recipient.get("address")):
                errors.append(error("E102", "recipient.address is required to deliver", "recipient.address"))
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        errors.append(error("E100", "lines is required (a non-empty list)", "lines"))
        return errors
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        if not isinstance(line, dict):
            errors.append(error("E100", f"{where} must be an object", where))
            continue
        sku = line.get("sku")
        if not _text(sku):
            errors.append(error("E100", f"{where}.sku is required", f"{where}.sku"))
        elif known_sku is not None and not known_sku(sku):
            errors.append(error("E101", f"unknown SKU {sku!r}", f"{where}.sku"))
        if "quantity" not in line or line["quantity"] is None:
            errors.append(error("E100", f"{where}.quantity is required", f"{where}.quantity"))
        elif not is_int(line["quantity"]) or line["quantity"] < 1:
            errors.append(error("E103", f"{where}.quantity must be a positive integer", f"{where}.quantity"))
        if not _optional_text(line.get("options")):
            errors.append(error("E100", f"{where}.options must be a string or null", f"{where}.options"))
    return errors


def skus_of(body) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("lines"), list):
        return []
    return [line["sku"] for line in body["lines"] if isinstance(line, dict) and _text(line.get("sku"))]


def _is_date(value) -> bool:
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------- the shipment

def new_shipment(body: dict, created_ts: float) -> dict:
    """A shipment as stored, without its id (the store gives it): the contract's fields, and the simulator's
    own under `_` (never shown): `_ts` its creation (epoch seconds), `_seq` its last event's seq, `_wd` the
    time of a withdrawal received and not answered, `_cx` such a cancellation, `_retrieved` a retrieve-parcel
    cancellation acknowledged after shipping, `_ri` when auto mode inspects that parcel."""
    return {
        "client_reference": body["client_reference"], "order_number": body["order_number"], "status": "received",
        "lines": [{"sku": line["sku"], "quantity": line["quantity"], "options": line.get("options")}
                  for line in body["lines"]],
        "carrier": None, "tracking_number": None, "shipped_on": None, "reason": None,
        "created_at": iso(created_ts),
        "_ts": created_ts, "_seq": 0, "_wd": None, "_cx": None, "_retrieved": False, "_ri": None,
    }


def public(shipment: dict) -> dict:
    """The shipment as the contract shows it (with `parcels` when a `shipped` event had several)."""
    shown = {name: shipment.get(name) for name in PUBLIC_FIELDS}
    if shipment.get("parcels"):
        shown["parcels"] = shipment["parcels"]
    return shown


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, JST).isoformat(timespec="seconds")


def today_jst(ts: float) -> str:
    return datetime.fromtimestamp(ts, JST).date().isoformat()


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------------------------- the cursor

def cursor(index: int) -> str:
    """An events cursor: the number of events before the next one served (opaque to the client)."""
    return f"e{index}"


def cursor_index(text: Optional[str]) -> Optional[int]:
    """The position a cursor stands for; 0 for none; None for a cursor that is not one of ours."""
    if text is None:
        return 0
    found = CURSOR_PATTERN.match(text)
    return int(found.group(1)) if found else None


# --------------------------------------------------------------------------------------------- events

class NotAllowed(Exception):
    """An event the shipment's state does not allow (§3's table): 409, with why."""


def made_up_tracking_number() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(12))


def event_fields(kind: str, given: dict, shipment: dict, now: float) -> dict:
    """The fields an event of `kind` carries, from those given to `_control/advance` (defaults where absent);
    ValueError says which given field is wrong."""
    if kind == "shipped":
        parcels = given.get("parcels")
        if parcels is not None:
            if not isinstance(parcels, list) or not parcels or not all(
                    isinstance(p, dict) and p.get("carrier") in CARRIERS and _text(p.get("tracking_number"))
                    for p in parcels):
                raise ValueError("parcels must be a non-empty list of {carrier, tracking_number}")
        first = parcels[0] if parcels else {}
        carrier = given.get("carrier") or first.get("carrier") or "yamato"
        if carrier not in CARRIERS:
            raise ValueError("carrier must be one of " + ", ".join(CARRIERS))
        tracking = given.get("tracking_number") or first.get("tracking_number") or made_up_tracking_number()
        if not isinstance(tracking, str):
            raise ValueError("tracking_number must be a string")
        shipped_on = given.get("shipped_on") or today_jst(now)
        if not _is_date(shipped_on):
            raise ValueError("shipped_on must be YYYY-MM-DD")
        fields = {"carrier": carrier, "tracking_number": tracking, "shipped_on": shipped_on}
        if parcels and len(parcels) > 1:
            fields["parcels"] = [{"carrier": p["carrier"], "tracking_number": p["tracking_number"]} for p in parcels]
        return fields
    if kind == "refused":
        code = given.get("reason_code") or "R01"
        reason = given.get("reason") or REFUSAL_REASONS.get(code, "出荷できません")
        if not isinstance(code, str) or not isinstance(reason, str):
            raise ValueError("reason_code and reason must be strings")
        fields = {"reason_code": code, "reason": reason}
        lines = given.get("lines")
        if lines is not None:
            if not isinstance(lines, list) or not all(
                    isinstance(line, dict) and _text(line.get("sku")) and is_int(line.get("short"))
                    and line["short"] > 0 for line in lines):
                raise ValueError("lines must be a list of {sku, short (a positive integer)}")
            fields["lines"] = [{"sku": line["sku"], "short": line["short"]} for line in lines]
        return fields
    if kind in ("withdrawal_refused", "cancellation_refused"):
        default = "作業開始済のため取り下げできません" if kind == "withdrawal_refused" else "出荷済のためキャンセルできません"
        reason = given.get("reason") or default
        if not isinstance(reason, str):
            raise ValueError("reason must be a string")
        return {"reason": reason}
    if kind == "return_inspected":
        lines = given.get("lines")
        if lines is None:
            return {"lines": [{"sku": line["sku"], "returned": line["quantity"], "sellable": line["quantity"]}
                              for line in shipment["lines"]]}
        if not isinstance(lines, list) or not all(
                isinstance(line, dict) and _text(line.get("sku")) and is_int(line.get("returned"))
                and is_int(line.get("sellable")) for line in lines):
            raise ValueError("lines must be a list of {sku, returned, sellable}")
        return {"lines": [{"sku": line["sku"], "returned": line["returned"], "sellable": line["sellable"]}
                          for line in lines]}
    return {}


def check_allowed(kind: str, shipment: dict) -> None:
    """§3's table: the states an event may come from. NotAllowed says why not."""
    status = shipment["status"]
    if kind == "started" and status != "received":
        raise NotAllowed(f"started needs a received shipment; it is {status}")
    if kind in ("shipped", "refused") and status not in ("received", "in_progress"):
        raise NotAllowed(f"{kind} needs a received or in_progress shipment; it is {status}")
    if kind in ("withdrawn", "withdrawal_refused") and shipment.get("_wd") is None:
        raise NotAllowed(f"{kind} needs a withdrawal received and not yet answered")
    if kind == "withdrawn" and status == "shipped":
        raise NotAllowed("withdrawn cannot answer a withdrawal of a shipped shipment: withdrawal_refused can")
    if kind in ("cancellation_acknowledged", "cancellation_refused") and shipment.get("_cx") is None:
        raise NotAllowed(f"{kind} needs a cancellation received and not yet answered")
    if kind == "return_inspected" and not (status == "shipped" and shipment.get("_retrieved")):
        raise NotAllowed("return_inspected needs a shipped shipment whose retrieve-parcel cancellation was "
                         "acknowledged")


def apply_event(kind: str, fields: dict, shipment: dict) -> None:
    """What an event does to the shipment it is about."""
    if kind == "started":
        shipment["status"] = "in_progress"
    elif kind == "shipped":
        shipment.update(status="shipped", carrier=fields["carrier"], tracking_number=fields["tracking_number"],
                        shipped_on=fields["shipped_on"])
        if fields.get("parcels"):
            shipment["parcels"] = fields["parcels"]
    elif kind == "refused":
        shipment.update(status="refused", reason=fields["reason"])
    elif kind == "withdrawn":
        if shipment["status"] in ("received", "in_progress"):
            shipment["status"] = "withdrawn"
        shipment["_wd"] = None
    elif kind == "withdrawal_refused":
        shipment["_wd"] = None
    elif kind == "cancellation_acknowledged":
        retrieve = shipment["_cx"]["retrieve_parcel"]
        if shipment["status"] == "shipped":
            shipment["_retrieved"] = shipment.get("_retrieved") or retrieve
        else:
            shipment["status"] = "cancelled"
        shipment["_cx"] = None
    elif kind == "cancellation_refused":
        shipment["_cx"] = None
    elif kind == "return_inspected":
        shipment["_ri"] = None


def make_event(kind: str, fields: dict, shipment_id: str, shipment: dict, at: float) -> dict:
    """The event (its seq the shipment's next), applied to the shipment."""
    shipment["_seq"] = shipment.get("_seq", 0) + 1
    event = {"id": "ev_" + secrets.token_hex(12), "shipment_id": shipment_id,
             "client_reference": shipment["client_reference"], "seq": shipment["_seq"], "at": iso(at), "type": kind,
             **fields}
    apply_event(kind, fields, shipment)
    return event
