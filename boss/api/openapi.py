"""GET /api/openapi.json: the OpenAPI 3.1 document of api.md (no token needed).

Exact: every operation the API serves, every answer it gives, and the limits the server enforces, taken
from the same constants the reading code uses (validation.py, routes.py), so that a request valid by the
document is one the server takes, and one it refuses is invalid by the document (schemathesis checks both:
tests/api/test_api_schemathesis.py). Text fields are trimmed of the blanks around them before
their length counts, which a pattern states (maxLength would count the blanks too).
"""
from __future__ import annotations

import unicodedata
from functools import cache

from flask import current_app, jsonify

from ..csv import exports, order_import
from ..integrations.base_urls import LOOPBACK
from ..models import MALLS, RSL
from ..orders import bulk, delivery, numbers, rules, shipping_rules
from ..orders.search import DEFAULT_SORT, MAX_CURSOR_LENGTH, ORDER_SORTS
from ..parsing import MAX_ID
from ..warehouse import connection as warehouse
from ..warehouse import returns, stock
from . import bp
from .returns import MAX_INSPECTION_LINES
from .routes import (ADJUSTMENTS, MAX_BILLED, MAX_LINES, MAX_POSTAGE, MAX_QUANTITY, MAX_UNIT_PRICE, PARTY, PARTY_LIMITS,
                     SENDER_LIMITS)
from .validation import DATE_PATTERN, DATETIME_PATTERN, IF_MATCH_PATTERN, INTEGER_PATTERN, JOB_ID_PATTERN, WHITESPACE

_WS = "".join(f"\\u{ord(ch):04x}" for ch in WHITESPACE)
_NOT_NUL = "[^\\u0000]"
_INK = f"[^{_WS}\\u0000]"  # a character that is neither blank nor NUL


def text(max_len: int, required: bool = False, nullable: bool = True) -> dict:
    """A trimmed text field: at most `max_len` characters once the blanks around it are gone, no NUL;
    `required`: not blank. An optional one may be blank or null (both mean "not given")."""
    core = f"{_INK}({_NOT_NUL}{{0,{max_len - 2}}}{_INK})?" if max_len > 1 else _INK
    body = core if required else f"({core})?"
    schema = {"type": "string", "pattern": f"^[{_WS}]*{body}[{_WS}]*$"}
    if not required and nullable:
        schema["type"] = ["string", "null"]
    return schema


@cache
def _class_of(predicate) -> str:
    """The body of a regex character class of every code point `predicate` holds for (as ranges)."""
    def literal(code: int) -> str:
        return ("\\" if chr(code) in "[]\\^-" else "") + chr(code)

    ranges, start = [], None
    for code in range(0x110001):
        holds = code < 0x110000 and predicate(chr(code))
        if holds and start is None:
            start = code
        elif not holds and start is not None:
            ranges.append(literal(start) if start == code - 1 else f"{literal(start)}-{literal(code - 1)}")
            start = None
    return "".join(ranges)


def _number_character(ch: str) -> bool:
    """A character a manual mall order number may hold (orders/numbers.py): its NFKC form shows, or it is a
    combining mark, which NFKC may compose with the character before it (e + U+0301 = é)."""
    if unicodedata.category(ch).startswith("M"):
        return True
    shown = unicodedata.normalize("NFKC", ch)
    return bool(shown) and not any(numbers.invisible(c) for c in shown)


def _number_ink(ch: str) -> bool:
    return _number_character(ch) and not unicodedata.normalize("NFKC", ch).isspace()


def mall_number_text(max_len: int) -> dict:
    """A manual mall order number (orders.md §1): trimmed, of characters that show once NFKC-normalised. The
    server measures and checks the normalised number, which no pattern can state exactly (NFKC composes
    across characters and may lengthen one: ㍿ is 4), so a valid-looking number may still get 422."""
    ink = f"[{_class_of(_number_ink)}]"
    inner = f"[{_class_of(_number_character)}]"
    return {"type": "string", "pattern": f"^[{_WS}]*{ink}({inner}{{0,{max_len - 2}}}{ink})?[{_WS}]*$",
            "description": "NFKC-normalised on the way in; a character that shows nothing is refused with its position"}


def raw_text(max_len: int) -> dict:
    """Text kept as sent (remarks): at most `max_len` characters, no NUL."""
    return {"type": ["string", "null"], "maxLength": max_len, "pattern": f"^{_NOT_NUL}*$"}


def choice(values, nullable: bool = True) -> dict:
    """One of `values`, read as text is (trimmed; blank or null for "not given" when optional)."""
    words = "|".join(values)
    body = f"({words})" if not nullable else f"({words})?"
    return {"type": ["string", "null"] if nullable else "string", "pattern": f"^[{_WS}]*{body}[{_WS}]*$",
            "description": f"one of: {', '.join(values)}"}


def int_choice(values) -> dict:
    return {"enum": [*values, None]}


def trimmed(pattern: str, required: bool = False) -> dict:
    """Text of the form `pattern` once trimmed; unless `required`, blank or null for "not given"."""
    body = f"({pattern.removeprefix('^').removesuffix('$')})" + ("" if required else "?")
    return {"type": "string" if required else ["string", "null"], "pattern": f"^[{_WS}]*{body}[{_WS}]*$"}


def integer(minimum: int | None = None, maximum: int | None = None, nullable: bool = True) -> dict:
    schema: dict = {"type": ["integer", "null"] if nullable else "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


BOOLEAN = {"type": ["boolean", "null"]}
DATE = {**trimmed(DATE_PATTERN), "description": "YYYY-MM-DD, 1900-01-01…2100-12-31"}
DATETIME = {**trimmed(DATETIME_PATTERN),
            "description": "ISO 8601 date-time (Japan time without an offset) or a date; 1900-01-01…2100-12-31"}
COLOR = {**trimmed("^#[0-9a-fA-F]{6}$"), "description": "#RRGGBB"}
TIME_SLOT = {**trimmed(delivery.time_slot_pattern()),
             "description": "null or blank (指定なし), 午前中, 午後, その他, or HH-HH: two-digit hours, the first below the second"}
QUERY_BOOLEAN = "^([tT][rR][uU][eE]|[fF][aA][lL][sS][eE]|1|0)$"  # validation.Reader.boolean of a query


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = {"$ref": "#/components/responses/Error"}
JOB_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": JOB_ID_PATTERN}}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
TAG_ID = {"name": "tag_id", "in": "path", "required": True, "schema": {"type": "integer"}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
            "description": "The order version the client saw (R13), bare or as an ETag; a mismatch answers `conflict`."}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": f"^{_NOT_NUL}*{_INK}{_NOT_NUL}*$"},
               "description": "A repeat within 24 hours returns the first answer and does nothing again."}


def _op(summary: str, answers: dict, params=None, body=None, tag: str = "orders", errors=(), body_required=True,
        operation_id: str = "") -> dict:
    """An operation: its answers, plus 401 (every one needs a token), 422 for a query or body, 400 and 413
    for a body, and the `errors` it names (403 admin, 404 ids, 409 rules)."""
    codes = {"401", *errors}
    if body or any(p.get("in") in ("query", "header") for p in params or ()):
        codes.add("422")
    if body:
        codes |= {"400", "413"}
    op = {"operationId": operation_id, "summary": summary, "tags": [tag],
          "responses": {**answers, **{code: ERROR for code in sorted(codes)}}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    return op


def _upload(summary: str, fields: dict, operation_id: str) -> dict:
    """A CSV upload (csv.md §5): multipart `file` and `encoding`, plus `fields`; 202 with the job's id. Its own size
    limit, CSV_MAX_BYTES (413 file_too_large); a file that cannot be read, 422 naming `file`."""
    op = _op(summary, {"202": _json(_answer({"job_id": {"type": "string"}}), "The job is queued")}, tag="imports",
             errors=["404", "413", "422"], operation_id=operation_id)
    properties = {"file": {"type": "string", "contentMediaType": "text/csv"},
                  "encoding": {"type": "string", "enum": list(order_import.ENCODINGS), "default": "auto"}, **fields}
    op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": properties, "required": ["file"]}}}}
    return op


def _query(name: str, schema: dict, description: str = "") -> dict:
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def _object(properties: dict, required=(), **more) -> dict:
    """A request object: the server refuses any other key (422), so the document does too."""
    schema = {"type": "object", "properties": properties, "additionalProperties": False, **more}
    if required:
        schema["required"] = list(required)
    return schema


def _answer(properties: dict) -> dict:
    """An answer object: every key listed is always there (more may be added, api.md)."""
    return {"type": "object", "properties": properties, "required": list(properties)}


def _base_url() -> dict:
    """connection.check_base_url: an http(s) URL; with BOSS_SANDBOX on, of this machine only."""
    host = "[^/?#:@\\[\\]\\u0000]+"
    if current_app.config["BOSS_SANDBOX"]:
        host = "(" + "|".join(h.replace(".", "\\.").replace("::1", "\\[::1\\]") for h in LOOPBACK) + ")"
    return trimmed(f"^https?://{host}(:[0-9]{{0,5}})?([/?#][^\\u0000]{{0,200}})?$")


def document() -> dict:
    nullable_str = {"type": ["string", "null"]}
    party_out = _answer({k: nullable_str for k in PARTY})
    party_in = _object({f: text(PARTY_LIMITS[f], required=(f == "name"), nullable=(f != "name")) for f in PARTY},
                       required=["name"])
    party_edit = _object({f: text(PARTY_LIMITS[f], required=(f == "name"), nullable=(f != "name")) for f in PARTY})
    line_in = _object({
        "mall_item_id": text(255, required=True), "sub_code": text(255), "name": text(255, required=True),
        "quantity": integer(1, MAX_QUANTITY, nullable=False), "unit_price": integer(0, MAX_UNIT_PRICE, nullable=False)},
        required=["mall_item_id", "name", "quantity", "unit_price"])
    line_change = _object({  # api.md "Editing an order": the fields named change, each as POST /orders takes it
        "id": {"type": "integer"}, **line_in["properties"], "remove": {"enum": [False, None]}}, required=["id"])
    line_removal = _object({"id": {"type": "integer"}, "remove": {"const": True}}, required=["id", "remove"])
    line_edit = {"oneOf": [line_change, line_removal, line_in],
                 "description": "{id, fields to change} | {id, remove: true} | a new line (no id); an id not of the "
                                "order: 404; an id named twice, or an edit leaving no line: 422"}
    tag = _answer({"id": {"type": "integer"}, "code": nullable_str, "name": {"type": "string"},
                   "color": {"type": "string"}, "system": {"type": "boolean"}, "holds": {"type": "boolean"}})
    reflection = _answer({"state": {"enum": ["none", "pending", "done", "failed"]}, "message": nullable_str})
    schemas = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": [
                    "bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "validation_error",
                    "mall_order_number_taken", "already_exists", "cannot_cancel", "cannot_delete",
                    "invalid_transition", "insufficient_stock", "conflict", "payload_too_large", "file_too_large",
                    "too_many_requests", "internal_error"]},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}, "properties": {
                    "shortages": {"type": "array", "description": "insufficient_stock: each SKU short, by how many",
                                  "items": _answer({"sku": {"type": "string"}, "wanted": {"type": "integer"},
                                                    "available": {"type": "integer"},
                                                    "short": {"type": "integer"}})}}}}}}},
        "Party": party_out,
        "Tag": tag,
        "Line": _answer({
            "id": {"type": "integer"}, "mall_item_id": {"type": "string"}, "sub_code": nullable_str,
            "name": {"type": "string"}, "quantity": {"type": "integer"}, "unit_price": {"type": "integer"},
            "options": {"type": "string"}, "sku": nullable_str, "mapped": {"type": "boolean"}}),
        "Order": _answer({
            "id": {"type": "integer"}, "shop_id": {"type": "integer"}, "mall_order_number": {"type": "string"},
            "source": {"enum": ["mall_import", "manual", "csv"]}, "mall_linked": {"type": "boolean"},
            "status": {"enum": list(rules.STATUSES)}, "status_label": {"type": "string"},
            "shipment_status": {"enum": [*rules.SHIPMENT_STATUSES, None]},
            "deleted": {"type": "boolean"}, "deleted_at": nullable_str, "cancelled_at": nullable_str,
            "ordered_at": {"type": "string", "format": "date-time"},
            "buyer": _ref("Party"), "recipient": _ref("Party"), "payment_method": nullable_str,
            "remarks": {"type": "string"}, "delivery_date": nullable_str, "delivery_time_slot": nullable_str,
            "postage": {"type": ["integer", "null"]}, "wrapping": {"type": "integer"}, "total": {"type": "integer"},
            "charges": {"type": "integer"}, "discount": {"type": "integer"}, "points_used": {"type": "integer"},
            "billed": {"type": ["integer", "null"]},
            "pickup": {"type": ["object", "null"], "properties": {
                "kind": {"enum": ["convenience_store", "post_office"]}, "store_code": {"type": "string"},
                "store_name": {"type": "string"}, "address": {"type": "string"}}},
            "drop_off": nullable_str,
            "lines": {"type": "array", "items": _ref("Line")}, "tags": {"type": "array", "items": _ref("Tag")},
            "shipment": {"oneOf": [_ref("Shipment"), {"type": "null"}]},
            "warehouse_notice": {"enum": ["none", "pending", "acknowledged", "refused"]},
            "return": {"oneOf": [_ref("Return"), {"type": "null"}]},
            "mall_reflection": reflection, "shipping_reflection": reflection,
            "cancel_reason_code": {"type": ["integer", "null"]},
            "can_cancel": {"type": "boolean"}, "can_delete": {"type": "boolean"},
            "can_request_shipment": {"type": "boolean"}, "can_request_withdrawal": {"type": "boolean"},
            "version": {"type": "integer"}}),
        "Shipment": _answer({
            "id": {"type": "integer"}, "status": {"enum": list(rules.SHIPMENT_STATUSES)},
            "request_state": {"enum": ["pending", "sent", "failed"]}, "warehouse_id": nullable_str,
            "carrier": {"enum": ["yamato", "sagawa", "japanpost", "other", None]}, "tracking_number": nullable_str,
            "shipped_on": nullable_str, "reason": nullable_str, "requested_at": {"type": "string", "format": "date-time"},
            "parcels": {"type": "array", "items": _answer({"carrier": {"type": "string"},
                                                            "tracking_number": {"type": "string"}})},
            "short_lines": {"type": "array", "items": _answer({"sku": {"type": "string"},
                                                                "short": {"type": ["integer", "null"]}})}}),
        "Return": _answer({
            "id": {"type": "integer"}, "order_id": {"type": "integer"}, "mall_order_number": {"type": "string"},
            "status": {"enum": list(shipping_rules.RETURN_LABELS)},
            "lines": {"type": "array", "items": _answer({
                "sku": {"type": "string"}, "quantity": {"type": "integer"},
                "returned": {"type": ["integer", "null"]}, "sellable": {"type": ["integer", "null"]}})},
            "opened_at": {"type": "string", "format": "date-time"}, "inspected_at": nullable_str}),
        "NewOrder": _object({
            "shop_id": integer(nullable=False), "mall_order_number": mall_number_text(numbers.MAX_LENGTH),
            "ordered_at": DATETIME, "buyer": party_in, "recipient": {**party_in, "type": ["object", "null"]},
            "payment_method": text(120), "remarks": raw_text(5000), "delivery_date": DATE,
            "delivery_time_slot": TIME_SLOT, "postage": integer(0, MAX_POSTAGE),
            **{name: integer(0, delivery.MAX_ADJUSTMENT) for name in ADJUSTMENTS},
            "billed": {**integer(0, MAX_BILLED), "description": "請求金額; default: total + charges - discount - points_used"},
            "lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": line_in}},
            required=["shop_id", "mall_order_number", "buyer", "lines"]),
        "Shop": _answer({
            "id": {"type": "integer"}, "name": {"type": "string"}, "mall": {"enum": list(MALLS)},
            "auto_confirm": {"type": "boolean"}, "reflect_cancel_to_rms": {"type": "boolean"},
            "confirm_at_rms": {"type": "boolean"}, "auto_request_shipment": {"type": "boolean"},
            "sender": _answer({name: {"type": "string"} for name in SENDER_LIMITS}),
            "rms_connected": {"type": "boolean"}, "license_key_last4": nullable_str,
            "license_key_expires_on": nullable_str, "rms_connection_error": nullable_str, "rms_base_url": nullable_str,
            "import_interval_minutes": {"type": "integer"}, "initial_lookback_days": {"type": "integer"},
            "inventory_restore_type": {"type": "integer"}, "last_import_at": nullable_str}),
        "ShopIn": _object({
            "name": text(120, required=True), "mall": choice(MALLS, nullable=False),
            "auto_confirm": BOOLEAN, "reflect_cancel_to_rms": BOOLEAN, "confirm_at_rms": BOOLEAN,
            "auto_request_shipment": BOOLEAN,
            "sender": {**_object({name: text(limit) for name, limit in SENDER_LIMITS.items()}),
                       "type": ["object", "null"],
                       "description": "依頼主: the fields given change (null or blank: none), the others stay"},
            "import_interval_minutes": integer(1, 1440), "initial_lookback_days": integer(1, 730),
            "inventory_restore_type": integer(0, 2),
            "rms": {"type": ["object", "null"], "description": "The shop's RMS credentials (Rakuten shops only)",
                    "properties": {"service_secret": text(255, required=True), "license_key": text(255, required=True),
                                   "license_key_expires_on": DATE, "base_url": _base_url()},
                    "required": ["service_secret", "license_key"], "additionalProperties": False}}),
        "Product": _answer({"id": {"type": "integer"}, "sku": {"type": "string"}, "code": nullable_str,
                            "name": {"type": "string"}, "stock": {"type": "integer"}, "reserved": {"type": "integer"},
                            "available": {"type": "integer"}}),
        "StockMovement": _answer({
            "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
            "kind": {"enum": list(stock.KINDS)},
            "delta_stock": {"type": "integer"}, "delta_reserved": {"type": "integer"},
            "order_id": {"type": ["integer", "null"]},
            "actor": _answer({"type": {"enum": ["user", "token", "job", "system"]}, "name": {"type": "string"}}),
            "reason": {"type": "string"}}),
        "Mapping": _answer({"id": {"type": "integer"}, "shop_id": {"type": "integer"}, "mall_item_id": {"type": "string"},
                            "sub_code": nullable_str, "sku": {"type": "string"}}),
        "Event": _answer({
            "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
            "actor": _answer({"type": {"enum": ["user", "token", "job", "system"]}, "name": {"type": "string"}}),
            "kind": {"type": "string"}, "from_status": nullable_str, "to_status": nullable_str,
            "message": nullable_str}),
        "Job": _answer({
            "id": {"type": "string"}, "kind": {"type": "string"},
            "state": {"enum": ["queued", "started", "finished", "failed"]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "result": {"type": ["object", "null"]}, "error": nullable_str}),
        "Counts": _answer({k: {"type": "integer"} for k in (*rules.STATUSES, "all", "attention")}),
        "Warehouse": _answer({
            "connected": {"type": "boolean"}, "provider": {"enum": [RSL]}, "base_url": {"type": "string"},
            "api_key_last4": nullable_str, "sync_interval_seconds": {"type": "integer"},
            "last_synced_at": nullable_str, "error": nullable_str}),
        "WarehouseIn": _object({
            "api_key": {"type": ["string", "null"], "pattern": warehouse.API_KEY_PATTERN,
                        "description": "printable ASCII; null disconnects"},
            "base_url": {**_base_url(), "description": "null or blank: the default"},
            "sync_interval_seconds": integer(warehouse.MIN_INTERVAL, warehouse.MAX_INTERVAL)}),
    }
    # A shop with RMS credentials is a Rakuten shop (connection.set_credentials): a body giving both says so;
    # a PATCH giving credentials alone is refused (422 fields.rms) when the stored shop is on another mall.
    schemas["ShopIn"].update({"if": {"properties": {"rms": {"type": "object"}}, "required": ["rms"]},
                              "then": {"properties": {"mall": {"type": "string",
                                                               "pattern": f"^[{_WS}]*rakuten[{_WS}]*$"}}}})
    shop_new = {**schemas["ShopIn"], "required": ["name", "mall"]}

    def items(item: str, cursor: bool = False, prev_cursor: bool = False) -> dict:
        properties = {"items": {"type": "array", "items": _ref(item)}}
        if cursor:
            properties["next_cursor"] = nullable_str
        if prev_cursor:
            properties["prev_cursor"] = {**nullable_str, "description": "the page before (null on the first page)"}
        return _answer(properties)

    order = {"200": _json(_ref("Order"))}
    id_query = {"type": "string", "pattern": INTEGER_PATTERN}
    order_filters = [
        _query("status", {**choice(rules.STATUSES), "type": "string"}),
        _query("shipment_status", {**choice(rules.SHIPMENT_STATUSES), "type": "string"}),
        _query("shop_id", {"type": "integer"}),
        _query("tag", text(255, nullable=False), "a tag code or id"),
        _query("q", text(200, nullable=False),
               "a mall order number exactly, a name or kana substring (NFKC), or phone digits"),
        _query("mall_order_number", text(64, nullable=False)),
        _query("ordered_from", {**DATETIME, "type": "string"}),
        _query("ordered_to", {**DATETIME, "type": "string"}, "a date means up to its end"),
        _query("include_deleted", {"type": "boolean"}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
        _query("cursor", text(MAX_CURSOR_LENGTH, nullable=False),
               "a next_cursor or prev_cursor this list returned (any other value: 422)"),
    ]
    order_sort = _query("sort", {**choice(tuple(ORDER_SORTS)), "type": "string", "default": DEFAULT_SORT},
                        "the key, - for descending, id the tie-breaker in the same direction; buyer: the buyer's name. "
                        "A cursor carries its sort: with another sort it is refused (422 fields.cursor)")
    # A bulk filter names each condition with a value: a blank or null one, or none at all, would reach every
    # order (routes._conditions_named).
    bulk_filters = {
        "status": choice(rules.STATUSES, nullable=False), "shipment_status": choice(rules.SHIPMENT_STATUSES, nullable=False),
        "shop_id": {"anyOf": [integer(nullable=False), id_query]},
        "tag": {"anyOf": [text(255, required=True), {"type": "integer"}]},
        "q": text(200, required=True), "mall_order_number": text(64, required=True),
        "ordered_from": trimmed(DATETIME_PATTERN, required=True), "ordered_to": trimmed(DATETIME_PATTERN, required=True),
        "include_deleted": {"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": QUERY_BOOLEAN}]},
    }
    tag_actions = "|".join(bulk.TAG_ACTIONS)
    bulk_body = _object({
        "action": choice(bulk.ACTIONS + bulk.TAG_ACTIONS, nullable=False),
        "tag_id": {"type": "integer", "description": "add_tag, remove_tag: the tag (required for them, refused otherwise)"},
        "order_ids": {"type": ["array", "null"], "maxItems": bulk.MAX_ORDERS,
                      "items": {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID}},
        "filter": {"type": ["object", "null"], "additionalProperties": False, "minProperties": 1,
                   "properties": bulk_filters},
        "reason_code": int_choice(sorted(rules.CANCEL_REASONS)),
    }, required=["action"], allOf=[
        {"oneOf": [  # the orders by their ids, or all matching a filter: never both
            {"required": ["filter"], "properties": {"filter": {"type": "object"}}, "not": {"required": ["order_ids"]}},
            {"required": ["order_ids"], "properties": {"order_ids": {"type": "array", "minItems": 1}},
             "not": {"required": ["filter"], "properties": {"filter": {"type": "object"}}}}]},
        {"if": {"required": ["action"], "properties": {"action": {"pattern": f"^[{_WS}]*({tag_actions})[{_WS}]*$"}}},
         "then": {"required": ["tag_id"]}, "else": {"not": {"required": ["tag_id"]}}}])
    bulk_result = _answer({
        "total": {"type": "integer"}, "done": {"type": "integer"}, "refused": {"type": "integer"},
        "items": {"type": "array", "items": _answer({
            "order_id": {"type": "integer"}, "mall_order_number": nullable_str, "shop_id": {"type": ["integer", "null"]},
            "shop_name": nullable_str, "done": {"type": "boolean"}, "code": nullable_str, "message": {"type": "string"}})}})
    paths = {
        "/api/v1/shops": {
            "get": _op("List the account's shops", {"200": _json(items("Shop"))}, tag="shops", operation_id="listShops"),
            "post": _op("Create a shop (admin)", {"201": _json(_ref("Shop"), "Created")}, body=shop_new, tag="shops",
                        errors=["403", "409"], operation_id="createShop")},
        "/api/v1/shops/{id}": {
            "patch": _op("Change a shop (admin); RMS credentials only for a Rakuten shop", {"200": _json(_ref("Shop"))},
                         params=[ID], body=_ref("ShopIn"), tag="shops", errors=["403", "404", "409"],
                         operation_id="changeShop")},
        "/api/v1/shops/{id}/import": {
            "post": _op("Import the shop's new orders from the mall now",
                        {"202": _json(_answer({"job_id": {"type": "string"}}),
                                      "Started (or the import of this shop already running)")},
                        params=[ID], tag="shops", errors=["404", "409"], operation_id="importShop")},
        "/api/v1/products": {
            "get": _op("List products", {"200": _json(items("Product", cursor=True))}, tag="products",
                       params=[_query("q", text(100, nullable=False)),
                               _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
                               _query("cursor", {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                                      "the next_cursor of the page before")], operation_id="listProducts"),
            "post": _op("Create a product", {"201": _json(_ref("Product"), "Created")}, tag="products", errors=["409"],
                        body=_object({"sku": text(64, required=True), "name": text(255, required=True),
                                      "code": text(64), "stock": integer(0, 10_000_000)}, required=["sku", "name"]),
                        operation_id="createProduct")},
        "/api/v1/products/{id}/stock-movements": {
            "get": _op("A product's stock ledger, newest first (keyset cursor)",
                       {"200": _json(items("StockMovement", cursor=True))}, tag="stock", errors=["404"],
                       params=[ID, _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
                               _query("cursor", {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                                      "the next_cursor of the page before")], operation_id="listStockMovements")},
        "/api/v1/products/{id}/stock-adjustments": {
            "post": _op("Adjust a product's stock, with why (a result below the reserved count: 422, fields.delta)",
                        {"201": _json(_ref("Product"), "Adjusted")}, tag="stock", errors=["404"], params=[ID],
                        body=_object({"delta": {"type": "integer", "minimum": -stock.MAX_DELTA,
                                                "maximum": stock.MAX_DELTA, "not": {"const": 0}},
                                      "reason": text(stock.MAX_REASON, required=True)}, required=["delta", "reason"]),
                        operation_id="adjustStock")},
        "/api/v1/mappings": {
            "get": _op("List mappings", {"200": _json(items("Mapping"))}, tag="mappings", errors=["404"],
                       params=[_query("shop_id", {"type": "integer"})], operation_id="listMappings"),
            "post": _op("Map a mall item to a product (an unknown SKU: 422, fields.sku)",
                        {"201": _json(_ref("Mapping"), "Created")}, tag="mappings", errors=["404", "409"],
                        body=_object({"shop_id": integer(nullable=False), "mall_item_id": text(255, required=True),
                                      "sub_code": text(255), "sku": text(64, required=True)},
                                     required=["shop_id", "mall_item_id", "sku"]), operation_id="createMapping")},
        "/api/v1/mappings/{id}": {
            "delete": _op("Remove a mapping", {"204": {"description": "Removed"}}, params=[ID], tag="mappings",
                          errors=["404"], operation_id="deleteMapping")},
        "/api/v1/tags": {
            "get": _op("List tags", {"200": _json(items("Tag"))}, tag="tags", operation_id="listTags"),
            "post": _op("Create a custom tag", {"201": _json(_ref("Tag"), "Created")}, tag="tags", errors=["409"],
                        body=_object({"name": text(40, required=True), "color": COLOR, "holds": BOOLEAN},
                                     required=["name"]), operation_id="createTag")},
        "/api/v1/orders/{id}/tags/{tag_id}": {
            "post": _op("Add a tag to an order", order, params=[ID, TAG_ID, IF_MATCH], tag="tags",
                        errors=["404", "409"], operation_id="addOrderTag"),
            "delete": _op("Remove a tag from an order", order, params=[ID, TAG_ID, IF_MATCH], tag="tags",
                          errors=["404", "409"], operation_id="removeOrderTag")},
        "/api/v1/orders": {
            "get": _op("List orders, newest first unless sorted (keyset cursors both ways)",
                       {"200": _json(items("Order", cursor=True, prev_cursor=True))},
                       params=[*order_filters, order_sort], errors=["404"], operation_id="listOrders"),
            "post": _op("Register an order by hand (R6, R7)", {"201": _json(_ref("Order"), "Created")},
                        params=[IDEMPOTENCY], body=_ref("NewOrder"), errors=["404", "409"], operation_id="createOrder")},
        "/api/v1/orders/export.csv": {
            "get": _op("Export the orders GET /api/v1/orders lists (all of them, not a page) as CSV, streamed",
                       {"200": {"description": "The CSV: csv.md §1's headers plus 注文ステータス, 出荷ステータス, タグ, 合計, "
                                               "配送会社, 追跡番号; CRLF; a cell starting with = + - @ tab or CR is "
                                               "prefixed with '; CP932 writes a character it cannot hold as 〓",
                                "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}}}},
                       params=[*order_filters[:-2],
                               _query("shape", {**choice(exports.SHAPES), "type": "string", "default": "orders"},
                                      "orders: one row per order; lines: one row per line, the order's fields repeated"),
                               _query("encoding", {**choice(exports.ENCODINGS), "type": "string", "default": "cp932"},
                                      "cp932 (Shift_JIS), or utf-8 written with a BOM"),
                               _query("sort", {**choice(tuple(ORDER_SORTS)), "type": "string", "default": DEFAULT_SORT},
                                      "the rows' order, as GET /api/v1/orders sorts them")],
                       errors=["404"], operation_id="exportOrders")},
        "/api/v1/orders/counts": {
            "get": _op("Counts per status tab and 要対応", {"200": _json(_ref("Counts"))},
                       params=[_query("shop_id", {"type": "integer"})], errors=["404"], operation_id="countOrders")},
        "/api/v1/orders/bulk": {
            "post": _op("Confirm, cancel, delete, retry, request or tag many orders: up to 500 at once (each order with "
                        "its shop, done or refused and why), more as a job",
                        {"200": _json(_answer({"result": bulk_result})),
                         "202": _json(_answer({"job_id": {"type": "string"}, "count": {"type": "integer"}}),
                                      "Started as a job")},
                        body=bulk_body, errors=["404"], operation_id="bulkOrders")},
        "/api/v1/orders/{id}": {
            "get": _op("Get an order (deleted ones too)", order, params=[ID], errors=["404"], operation_id="getOrder"),
            "delete": _op("Delete an order (R2, R8)", order, params=[ID, IF_MATCH], errors=["404", "409"],
                          operation_id="deleteOrder"),
            "patch": _op("Edit an order: only what the body names changes (api.md \"Editing an order\"); lines "
                         "not named stay", order, params=[ID, IF_MATCH],
                         body=_object({"buyer": party_edit, "recipient": party_edit, "delivery_date": DATE,
                                       "delivery_time_slot": TIME_SLOT, "postage": integer(0, MAX_POSTAGE),
                                       "remarks": raw_text(5000),
                                       "lines": {"type": ["array", "null"], "maxItems": MAX_LINES,
                                                 "items": line_edit}}),
                         errors=["404", "409"], operation_id="editOrder")},
        "/api/v1/orders/{id}/confirm": {
            "post": _op("Confirm an order", order, params=[ID, IF_MATCH], errors=["404", "409"],
                        operation_id="confirmOrder")},
        "/api/v1/orders/{id}/cancel": {
            "post": _op("Cancel an order (R1, R3, R9)", order, params=[ID, IF_MATCH, IDEMPOTENCY],
                        body=_object({"reason_code": {**int_choice(sorted(rules.CANCEL_REASONS)), "default": 10},
                                      "retrieve_parcel": BOOLEAN}),
                        body_required=False, errors=["404", "409"], operation_id="cancelOrder")},
        "/api/v1/orders/{id}/retry-reflection": {
            "post": _op("Send a failed mall reflection again", order, params=[ID, IF_MATCH], errors=["404", "409"],
                        operation_id="retryReflection")},
        "/api/v1/orders/{id}/retry-shipping-reflection": {
            "post": _op("Reflect shipping info whose reflection to the mall failed again (出荷情報の再反映)", order,
                        params=[ID, IF_MATCH], errors=["404", "409"], operation_id="retryShippingReflection")},
        "/api/v1/orders/{id}/request-shipment": {
            "post": _op("Request the shipment from the warehouse (出荷依頼; 再出荷依頼 once not shippable)", order,
                        params=[ID, IF_MATCH], errors=["404", "409"], operation_id="requestShipment")},
        "/api/v1/orders/{id}/retry-shipping-request": {
            "post": _op("Send a failed shipping request again (出荷依頼を再送)", order, params=[ID, IF_MATCH],
                        errors=["404", "409"], operation_id="retryShippingRequest")},
        "/api/v1/orders/{id}/request-withdrawal": {
            "post": _op("Ask the warehouse to withdraw the request (出荷取下げ); then_cancel: cancel once withdrawn",
                        order, params=[ID, IF_MATCH],
                        body=_object({"then_cancel": BOOLEAN,
                                      "reason_code": {**int_choice(sorted(rules.CANCEL_REASONS)), "default": 10}}),
                        body_required=False, errors=["404", "409"], operation_id="requestWithdrawal")},
        "/api/v1/orders/{id}/retry-warehouse-notice": {
            "post": _op("Send a failed withdrawal or cancellation notice again (「再送」)", order, params=[ID, IF_MATCH],
                        errors=["404", "409"], operation_id="retryWarehouseNotice")},
        "/api/v1/orders/{id}/events": {
            "get": _op("The order's history, oldest first", {"200": _json(items("Event"))}, params=[ID],
                       errors=["404"], operation_id="orderEvents")},
        "/api/v1/returns": {
            "get": _op("List returns, newest first (keyset cursor)", {"200": _json(items("Return", cursor=True))},
                       tag="returns",
                       params=[_query("status", {**choice(shipping_rules.RETURN_LABELS), "type": "string"}),
                               _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
                               _query("cursor", {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                                      "the next_cursor of the page before")], operation_id="listReturns")},
        "/api/v1/returns/{id}": {
            "get": _op("Get a return", {"200": _json(_ref("Return"))}, params=[ID], tag="returns", errors=["404"],
                       operation_id="getReturn")},
        "/api/v1/returns/{id}/inspection": {
            "post": _op("Enter a return's inspection (sellable units go back into stock; more sellable than returned "
                        "or more returned than shipped: 422 naming lines[i]; inspected already: 409)",
                        {"200": _json(_ref("Return"))}, params=[ID], tag="returns", errors=["404", "409"],
                        body=_object({"lines": {"type": "array", "maxItems": MAX_INSPECTION_LINES, "items": _object({
                            "sku": text(64, required=True),
                            "returned": integer(0, returns.MAX_QUANTITY, nullable=False),
                            "sellable": integer(0, returns.MAX_QUANTITY, nullable=False)},
                            required=["sku", "returned", "sellable"])}}, required=["lines"]),
                        operation_id="inspectReturn")},
        "/api/v1/imports/mappings": {"post": _upload(
            "Add, update or delete mappings from a CSV file (商品マッピングCSV, csv.md §2): a job; its result counts "
            "them and lists the refused rows", {}, operation_id="importMappings")},
        "/api/v1/jobs/{id}": {
            "get": _op("A job's state and progress", {"200": _json(_ref("Job"))}, tag="jobs", errors=["404"],
                       params=[JOB_ID], operation_id="getJob")},
        "/api/v1/imports/orders": {"post": _upload(
            "Register orders from a CSV file (受注CSV登録, csv.md §1), or a mall's export as it comes (§6: "
            "next_engine, rakuten_pay, amazon; yahoo's order and item files as `file` twice): a job; its result "
            "names the format read (`preset`) and lists the refused rows",
            {"shop_id": {"type": "integer", "description": "the shop of rows without a ショップ column or cell; "
                                                           "required for a mall's export (422 naming shop_id)"},
             "mode": {"type": "string", "enum": list(order_import.MODES), "default": "valid_only"}},
            operation_id="importOrdersCsv")},
        "/api/v1/jobs/{id}/register": {
            "post": _op("Register what a finished check-only 受注CSV登録 checked (csv.md §6), from the stored files, "
                        "in valid_only: a new job. Not a finished check-only run, registered already, or its files "
                        "gone (kept 7 days): 409 invalid_transition",
                        {"202": _json(_answer({"job_id": {"type": "string"}}), "The job is queued")}, tag="imports",
                        errors=["404", "409"], params=[JOB_ID], operation_id="registerCheckedJob")},
        "/api/v1/jobs/{id}/error-report.csv": {
            "get": _op("A CSV job's error report: the refused rows as uploaded, with an エラー内容 column",
                       {"200": {"description": "The report, in the upload's encoding",
                                "content": {"text/csv": {"schema": {"type": "string"}}}}},
                       tag="jobs", errors=["404"], params=[JOB_ID], operation_id="getJobErrorReport")},
        "/api/v1/warehouse": {
            "get": _op("The account's warehouse connection", {"200": _json(_ref("Warehouse"))}, tag="warehouse",
                       operation_id="getWarehouse"),
            "patch": _op("Change the warehouse connection (admin); a new API key or base URL reads events anew",
                         {"200": _json(_ref("Warehouse"))}, body=_ref("WarehouseIn"), tag="warehouse", errors=["403"],
                         operation_id="changeWarehouse")},
        "/api/v1/warehouse/sync": {
            "post": _op("Read the warehouse's events now",
                        {"202": _json(_answer({"job_id": {"type": "string"}}), "Queued (or the run already waiting)")},
                        tag="warehouse", operation_id="syncWarehouse")},
        "/api/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "tags": ["meta"],
                                      "security": [], "responses": {"200": _json({"type": "object"})}}},
        "/healthz": {"get": {"operationId": "health", "summary": "Health of the database, Redis and workers",
                             "tags": ["health"], "security": [],
                             "responses": {"200": _json({"type": "object"}), "503": _json({"type": "object"}, "Unhealthy")}}},
    }
    _link(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "BOSS API", "version": "1.0.0",
                 "description": "The JSON API of BOSS, an order-management system for Japanese e-commerce shops."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": {"Error": _json(_ref("Error"), "Error")},
        },
    }


def _link(paths: dict) -> None:
    """OpenAPI links: a created order's id leads to its reads and actions, a created mapping's to its removal."""
    created = paths["/api/v1/orders"]["post"]["responses"]["201"]
    created["links"] = {
        name: {"operationId": operation, "parameters": {"id": "$response.body#/id"}}
        for name, operation in (("GetOrder", "getOrder"), ("ConfirmOrder", "confirmOrder"), ("CancelOrder", "cancelOrder"),
                                ("DeleteOrder", "deleteOrder"), ("OrderEvents", "orderEvents"),
                                ("RetryReflection", "retryReflection"))}
    paths["/api/v1/mappings"]["post"]["responses"]["201"]["links"] = {
        "DeleteMapping": {"operationId": "deleteMapping", "parameters": {"id": "$response.body#/id"}}}
    paths["/api/v1/products"]["post"]["responses"]["201"]["links"] = {
        "StockMovements": {"operationId": "listStockMovements", "parameters": {"id": "$response.body#/id"}},
        "AdjustStock": {"operationId": "adjustStock", "parameters": {"id": "$response.body#/id"}}}
    paths["/api/v1/shops"]["post"]["responses"]["201"]["links"] = {
        "ChangeShop": {"operationId": "changeShop", "parameters": {"id": "$response.body#/id"}},
        "ImportShop": {"operationId": "importShop", "parameters": {"id": "$response.body#/id"}}}


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
