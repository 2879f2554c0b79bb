"""GET /api/openapi.json: the OpenAPI 3 document of api.md (no token needed)."""
from __future__ import annotations

from flask import jsonify

from ..models import MALLS
from ..orders import rules
from . import bp


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
    "409": {"$ref": "#/components/responses/Error"},
    "422": {"$ref": "#/components/responses/Error"},
}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "The order version the client saw (R13); a mismatch answers `conflict`."}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
               "description": "A repeat within 24 hours returns the first answer and does nothing again."}


def _op(summary: str, response: dict, status: str = "200", params=None, body=None, tag: str = "orders") -> dict:
    op = {"summary": summary, "tags": [tag], "responses": {status: response, **ERRORS}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def document() -> dict:
    party = {"type": "object", "properties": {k: {"type": "string"} for k in
                                              ("name", "name_kana", "email", "phone", "postal_code", "address")}}
    party_in = dict(party, required=["name"])
    line_in = {"type": "object", "required": ["mall_item_id", "name", "quantity", "unit_price"], "properties": {
        "mall_item_id": {"type": "string"}, "sub_code": {"type": "string"}, "name": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 9999},
        "unit_price": {"type": "integer", "minimum": 0, "maximum": 10_000_000}}}
    nullable_str = {"type": ["string", "null"]}
    schemas = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": ["bad_request", "unauthorized", "forbidden", "not_found",
                                                    "validation_error", "mall_order_number_taken", "already_exists",
                                                    "cannot_cancel", "cannot_delete", "invalid_transition", "conflict"]},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
        "Party": party,
        "Tag": {"type": "object", "properties": {"id": {"type": "integer"}, "code": nullable_str, "name": {"type": "string"},
                                                 "color": {"type": "string"}, "system": {"type": "boolean"},
                                                 "holds": {"type": "boolean"}}},
        "Line": {"type": "object", "properties": {
            "id": {"type": "integer"}, "mall_item_id": {"type": "string"}, "sub_code": nullable_str,
            "name": {"type": "string"}, "quantity": {"type": "integer"}, "unit_price": {"type": "integer"},
            "sku": nullable_str, "mapped": {"type": "boolean"}}},
        "Order": {"type": "object", "properties": {
            "id": {"type": "integer"}, "shop_id": {"type": "integer"}, "mall_order_number": {"type": "string"},
            "source": {"type": "string", "enum": ["mall_import", "manual", "csv"]}, "mall_linked": {"type": "boolean"},
            "status": {"type": "string", "enum": list(rules.STATUSES)}, "status_label": {"type": "string"},
            "shipment_status": {"type": ["string", "null"], "enum": [*rules.SHIPMENT_STATUSES, None]},
            "deleted": {"type": "boolean"}, "deleted_at": nullable_str, "cancelled_at": nullable_str,
            "ordered_at": {"type": "string", "format": "date-time"},
            "buyer": _ref("Party"), "recipient": _ref("Party"), "payment_method": {"type": "string"},
            "remarks": {"type": "string"}, "delivery_date": nullable_str, "delivery_time_slot": nullable_str,
            "total": {"type": "integer"}, "lines": {"type": "array", "items": _ref("Line")},
            "tags": {"type": "array", "items": _ref("Tag")},
            "mall_reflection": {"type": "object", "properties": {
                "state": {"type": "string", "enum": ["none", "pending", "done", "failed"]}, "message": nullable_str}},
            "can_cancel": {"type": "boolean"}, "can_delete": {"type": "boolean"}, "version": {"type": "integer"}}},
        "NewOrder": {"type": "object", "required": ["shop_id", "mall_order_number", "buyer", "lines"], "properties": {
            "shop_id": {"type": "integer"}, "mall_order_number": {"type": "string", "minLength": 1, "maxLength": 64},
            "ordered_at": {"type": "string", "format": "date-time"}, "buyer": party_in, "recipient": party_in,
            "payment_method": {"type": "string"}, "remarks": {"type": "string"},
            "delivery_date": {"type": "string", "format": "date"}, "delivery_time_slot": {"type": "string"},
            "postage": {"type": "integer", "minimum": 0},
            "lines": {"type": "array", "minItems": 1, "maxItems": 200, "items": line_in}}},
        "Shop": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "mall": {"type": "string", "enum": list(MALLS)},
            "auto_confirm": {"type": "boolean"}, "reflect_cancel_to_rms": {"type": "boolean"},
            "rms_connected": {"type": "boolean"}, "license_key_last4": nullable_str,
            "license_key_expires_on": nullable_str}},
        "ShopIn": {"type": "object", "properties": {
            "name": {"type": "string"}, "mall": {"type": "string", "enum": list(MALLS)},
            "auto_confirm": {"type": "boolean"}, "reflect_cancel_to_rms": {"type": "boolean"}}},
        "Product": {"type": "object", "properties": {k: {"type": "integer"} if k in ("id", "stock", "reserved", "available")
                                                     else {"type": "string"} for k in
                                                     ("id", "sku", "code", "name", "stock", "reserved", "available")}},
        "Mapping": {"type": "object", "properties": {"id": {"type": "integer"}, "shop_id": {"type": "integer"},
                                                     "mall_item_id": {"type": "string"}, "sub_code": nullable_str,
                                                     "sku": {"type": "string"}}},
        "Event": {"type": "object", "properties": {
            "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
            "actor": {"type": "object", "properties": {"type": {"type": "string", "enum": ["user", "token", "job", "system"]},
                                                       "name": {"type": "string"}}},
            "kind": {"type": "string"}, "from_status": nullable_str, "to_status": nullable_str, "message": {"type": "string"}}},
        "Job": {"type": "object", "properties": {
            "id": {"type": "string"}, "kind": {"type": "string"},
            "state": {"type": "string", "enum": ["queued", "started", "finished", "failed"]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "result": {"type": ["object", "null"]}, "error": nullable_str}},
        "Counts": {"type": "object", "properties": {k: {"type": "integer"} for k in (*rules.STATUSES, "all", "attention")}},
    }

    def page(item: str) -> dict:
        return {"type": "object", "properties": {"items": {"type": "array", "items": _ref(item)},
                                                 "next_cursor": nullable_str}}

    order = _json(_ref("Order"))
    order_filters = [
        _query("status", {"type": "string", "enum": list(rules.STATUSES)}),
        _query("shipment_status", {"type": "string", "enum": list(rules.SHIPMENT_STATUSES)}),
        _query("shop_id", {"type": "integer"}),
        _query("tag", {"type": "string"}, "a tag code or id"),
        _query("q", {"type": "string"}, "a mall order number exactly, a name or kana substring (NFKC), or phone digits"),
        _query("mall_order_number", {"type": "string"}),
        _query("ordered_from", {"type": "string"}), _query("ordered_to", {"type": "string"}),
        _query("include_deleted", {"type": "boolean"}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
        _query("cursor", {"type": "string"}),
    ]
    paths = {
        "/api/v1/shops": {
            "get": _op("List the account's shops", _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Shop")}}}), tag="shops"),
            "post": _op("Create a shop (admin)", _json(_ref("Shop"), "Created"), "201", body=_ref("ShopIn"), tag="shops")},
        "/api/v1/shops/{id}": {"patch": _op("Change a shop (admin)", _json(_ref("Shop")), params=[ID], body=_ref("ShopIn"), tag="shops")},
        "/api/v1/products": {
            "get": _op("List products", _json(page("Product")), params=[_query("q", {"type": "string"}), _query("limit", {"type": "integer"}), _query("cursor", {"type": "string"})], tag="products"),
            "post": _op("Create a product", _json(_ref("Product"), "Created"), "201", tag="products",
                        body={"type": "object", "required": ["sku", "name"], "properties": {"sku": {"type": "string"}, "name": {"type": "string"}, "code": {"type": "string"}, "stock": {"type": "integer"}}})},
        "/api/v1/mappings": {
            "get": _op("List mappings", _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Mapping")}}}), tag="mappings"),
            "post": _op("Map a mall item to a product", _json(_ref("Mapping"), "Created"), "201", tag="mappings",
                        body={"type": "object", "required": ["shop_id", "mall_item_id", "sku"], "properties": {"shop_id": {"type": "integer"}, "mall_item_id": {"type": "string"}, "sub_code": {"type": "string"}, "sku": {"type": "string"}}})},
        "/api/v1/mappings/{id}": {"delete": _op("Remove a mapping", {"description": "Removed"}, "204", params=[ID], tag="mappings")},
        "/api/v1/tags": {
            "get": _op("List tags", _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Tag")}}}), tag="tags"),
            "post": _op("Create a custom tag", _json(_ref("Tag"), "Created"), "201", tag="tags",
                        body={"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "color": {"type": "string"}, "holds": {"type": "boolean"}}})},
        "/api/v1/orders/{id}/tags/{tag_id}": {
            "post": _op("Add a tag to an order", order, params=[ID, {"name": "tag_id", "in": "path", "required": True, "schema": {"type": "integer"}}, IF_MATCH], tag="tags"),
            "delete": _op("Remove a tag from an order", order, params=[ID, {"name": "tag_id", "in": "path", "required": True, "schema": {"type": "integer"}}, IF_MATCH], tag="tags")},
        "/api/v1/orders": {
            "get": _op("List orders, newest first (keyset cursor)", _json(page("Order")), params=order_filters),
            "post": _op("Register an order by hand (R6, R7)", _json(_ref("Order"), "Created"), "201", params=[IDEMPOTENCY], body=_ref("NewOrder"))},
        "/api/v1/orders/counts": {"get": _op("Counts per status tab and 要対応", _json(_ref("Counts")), params=[_query("shop_id", {"type": "integer"})])},
        "/api/v1/orders/bulk": {"post": _op("Cancel or delete many orders", _json({"type": "object"}), tag="orders",
                                            body={"type": "object", "required": ["action"], "properties": {
                                                "action": {"type": "string", "enum": ["cancel", "delete"]},
                                                "order_ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 10000},
                                                "filter": {"type": "object"}, "reason_code": {"type": "integer"}}})},
        "/api/v1/orders/{id}": {
            "get": _op("Get an order (deleted ones too)", order, params=[ID]),
            "delete": _op("Delete an order (R2, R8)", order, params=[ID, IF_MATCH])},
        "/api/v1/orders/{id}/confirm": {"post": _op("Confirm an order", order, params=[ID, IF_MATCH])},
        "/api/v1/orders/{id}/cancel": {"post": _op("Cancel an order (R1, R3, R9)", order, params=[ID, IF_MATCH, IDEMPOTENCY],
                                                   body={"type": "object", "properties": {
                                                       "reason_code": {"type": "integer", "enum": sorted(rules.CANCEL_REASONS), "default": 10},
                                                       "retrieve_parcel": {"type": "boolean"}}})},
        "/api/v1/orders/{id}/events": {"get": _op("The order's history, oldest first", _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Event")}}}), params=[ID])},
        "/api/v1/jobs/{id}": {"get": _op("A job's state and progress", _json(_ref("Job")), params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}], tag="jobs")},
        "/healthz": {"get": {"summary": "Health of the database, Redis and workers", "tags": ["health"], "security": [],
                             "responses": {"200": _json({"type": "object"}), "503": _json({"type": "object"}, "Unhealthy")}}},
    }
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


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(document())
