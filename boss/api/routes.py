"""The endpoints of api.md: parse, call a service, answer."""
from __future__ import annotations

import re

from flask import Response, current_app, g, jsonify, request, stream_with_context
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..csv import exports
from ..errors import ServiceError, not_found
from ..extensions import db
from ..job_records import get_job
from ..models import MALLS, ItemMapping, Product, Shop, utcnow
from ..orders import actions, bulk, delivery, editing, filters, frame, listing, products, registration, rules, shops, tags
from ..orders.mapping import delete_mapping, map_item
from ..orders.models import OrderEvent, Tag
from ..orders.numbers import InvalidNumber, manual_number
from ..orders.search import (DEFAULT_SORT, MAX_CURSOR_LENGTH, ORDER_SORTS, BadCursor, CursorOfAnotherSort, OrderFilter,
                             like_pattern, list_orders, status_counts)
from ..parsing import MAX_ID
from ..reason import Reason
from ..warehouse import stock
from . import bp
from .errors import admin_required, lang, refuse
from .idempotency import idempotent
from .serialize import event_json, job_json, mapping_json, movement_json, order_json, product_json, shop_json, tag_json
from .validation import IF_MATCH_PATTERN, JOB_ID_PATTERN, MAX_DEPTH, Reader, TooDeep

MAX_LINES = registration.MAX_LINES
MAX_QUANTITY, MAX_UNIT_PRICE, MAX_POSTAGE = 9999, 10_000_000, 1_000_000
ADJUSTMENTS = ("charges", "discount", "points_used")  # api.md: 0..10,000,000 each
# 請求額 given (api.md: billed): at most what the largest order could ask (its lines, postage and charges).
MAX_BILLED = MAX_LINES * MAX_QUANTITY * MAX_UNIT_PRICE + MAX_POSTAGE + delivery.MAX_ADJUSTMENT


def json_body(optional: bool = False):
    """The request's JSON (api.md: not JSON, or nested deeper than 32 levels, is 400 bad_request);
    `optional`: an empty body reads as {}."""
    raw = request.get_data(cache=True)
    if optional and not raw:
        return {}
    try:
        if not request.is_json:
            raise ValueError("not application/json")
        return current_app.json.loads(raw)
    except TooDeep:
        raise refuse("bad_request", f"JSONの入れ子が深すぎます（{MAX_DEPTH}段まで）。",
                     f"The JSON is nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError:
        raise refuse("bad_request", "リクエスト本文がJSONではありません。", "The request body is not JSON.") from None


def body() -> Reader:
    return Reader(json_body())


def if_match() -> int | None:
    value = request.headers.get("If-Match")
    if value is None:
        return None
    found = re.fullmatch(IF_MATCH_PATTERN, value.strip())
    if found is None:
        raise refuse("validation_error", "If-Match には注文の version（整数）を指定してください。",
                     "If-Match must be the order's version (an integer).")
    return int(found.group(2))


def account_id() -> int:
    return g.actor.account_id


# ---------------------------------------------------------------- shops

@bp.get("/v1/shops")
def shops_list():
    shops = db.session.scalars(select(Shop).where(Shop.account_id == account_id()).order_by(Shop.id)
                               .options(selectinload(Shop.rms_connection)))
    return jsonify({"items": [shop_json(s) for s in shops]})


SENDER_LIMITS = {"postal_code": 16, "address": 500, "phone": 40}  # a shop's 依頼主, as an order's party


def _shop_fields(reader: Reader, creating: bool) -> dict:
    fields = {}
    if creating or reader.has("name"):
        fields["name"] = reader.string("name", required=True, max_len=120)
    if creating or reader.has("mall"):
        fields["mall"] = reader.string("mall", required=True, choices=MALLS)
    for flag, default in (("auto_confirm", False), ("reflect_cancel_to_rms", False), ("confirm_at_rms", True),
                          ("auto_request_shipment", False)):
        if reader.has(flag) or creating:
            fields[flag] = reader.boolean(flag, default=default)
    for number, (low, high) in (("import_interval_minutes", (1, 1440)), ("initial_lookback_days", (1, 730)),
                                 ("inventory_restore_type", (0, 2))):
        value = reader.integer(number, minimum=low, maximum=high)
        if value is not None:  # null: unchanged (the column has a value always)
            fields[number] = value
    sender = reader.obj("sender")
    if sender is not None:  # 依頼主: the fields given change (null or blank: none), the others stay
        fields["sender"] = {name: sender.string(name, max_len=SENDER_LIMITS[name], default="")
                            for name in SENDER_LIMITS if sender.has(name)}
        sender.unknown(set(SENDER_LIMITS))
    rms = reader.obj("rms")
    if rms is not None:
        fields["rms"] = {
            "service_secret": rms.string("service_secret", required=True, max_len=255),
            "license_key": rms.string("license_key", required=True, max_len=255),
            "license_key_expires_on": rms.date("license_key_expires_on"),
            "base_url": rms.string("base_url", max_len=255, default=None),
        }
        rms.unknown({"service_secret", "license_key", "license_key_expires_on", "base_url"})
    reader.unknown({"name", "mall", "auto_confirm", "reflect_cancel_to_rms", "confirm_at_rms", "rms", "import_interval_minutes",
                    "initial_lookback_days", "inventory_restore_type", "auto_request_shipment", "sender"})
    reader.done()
    return fields


@bp.post("/v1/shops")
@admin_required
def shops_create():
    fields = _shop_fields(body(), creating=True)
    shop = shops.create_shop(g.actor, **fields)
    return jsonify(shop_json(shop)), 201


@bp.patch("/v1/shops/<int:id>")
@admin_required
def shops_update(id: int):
    frame.get_shop(account_id(), id)
    fields = _shop_fields(body(), creating=False)
    return jsonify(shop_json(shops.update_shop(g.actor, id, fields)))


@bp.post("/v1/shops/<int:id>/import")
def shops_import(id: int):
    """Start the shop's mall import now; while one runs, its job id."""
    from ..malls.rakuten.importer import start_import

    frame.get_shop(account_id(), id)
    return jsonify({"job_id": start_import(g.actor, id).id}), 202


# ---------------------------------------------------------------- products and mappings

@bp.post("/v1/products")
def products_create():
    reader = body()
    sku = reader.string("sku", required=True, max_len=64)
    name = reader.string("name", required=True, max_len=255)
    code = reader.string("code", max_len=64)
    stock = reader.integer("stock", minimum=0, maximum=10_000_000, default=0)
    reader.unknown({"sku", "name", "code", "stock"})
    reader.done()
    product = products.create_product(g.actor, sku=sku, name=name, code=code, stock=stock)
    return jsonify(product_json(product)), 201


@bp.get("/v1/products")
def products_list():
    reader = Reader(request.args.to_dict(), from_query=True)
    q = reader.string("q", max_len=100)
    limit = reader.integer("limit", minimum=1, maximum=200, default=50)
    after = reader.integer("cursor", minimum=0, maximum=MAX_ID, default=0)
    reader.done()
    stmt = select(Product).where(Product.account_id == account_id(), Product.id > after)
    if q:
        pattern = like_pattern(q)  # % and _ in q are literal
        stmt = stmt.where(Product.sku.ilike(pattern, escape="\\") | Product.name.ilike(pattern, escape="\\")
                          | Product.code.ilike(pattern, escape="\\"))
    products = list(db.session.scalars(stmt.order_by(Product.id).limit(limit + 1)))
    next_cursor = str(products[limit - 1].id) if len(products) > limit else None
    return jsonify({"items": [product_json(p) for p in products[:limit]], "next_cursor": next_cursor})


@bp.get("/v1/products/<int:id>/stock-movements")
def stock_movements(id: int):
    """The product's stock ledger, newest first (keyset on the movement id)."""
    reader = Reader(request.args.to_dict(), from_query=True)
    limit = reader.integer("limit", minimum=1, maximum=200, default=50)
    before = reader.integer("cursor", minimum=0, maximum=MAX_ID)
    reader.done()
    items, next_cursor = stock.movements(account_id(), id, limit, before)
    return jsonify({"items": [movement_json(m) for m in items],
                    "next_cursor": str(next_cursor) if next_cursor is not None else None})


@bp.post("/v1/products/<int:id>/stock-adjustments")
def stock_adjustments(id: int):
    frame.owned(Product, account_id(), id, "商品", "Product")
    reader = body()
    delta = reader.integer("delta", required=True, minimum=-stock.MAX_DELTA, maximum=stock.MAX_DELTA)
    if delta == 0:
        reader.errors.setdefault("delta", "0以外の整数で指定してください")
    reason = reader.string("reason", required=True, max_len=stock.MAX_REASON)
    reader.unknown({"delta", "reason"})
    reader.done()
    return jsonify(product_json(stock.adjust(g.actor, id, delta, reason))), 201


@bp.get("/v1/mappings")
def mappings_list():
    reader = Reader(request.args.to_dict(), from_query=True)
    shop_id = reader.integer("shop_id")
    reader.done()
    stmt = select(ItemMapping).join(Shop).where(Shop.account_id == account_id()).order_by(ItemMapping.id)
    if shop_id is not None:
        stmt = stmt.where(ItemMapping.shop_id == frame.get_shop(account_id(), shop_id).id)
    return jsonify({"items": [mapping_json(m) for m in db.session.scalars(stmt)]})


@bp.post("/v1/mappings")
def mappings_create():
    reader = body()
    shop_id = reader.integer("shop_id", required=True)
    mall_item_id = reader.string("mall_item_id", required=True)
    sub_code = reader.string("sub_code")
    sku = reader.string("sku", required=True, max_len=64)
    reader.unknown({"shop_id", "mall_item_id", "sub_code", "sku"})
    reader.done()
    mapping, affected = map_item(g.actor, shop_id, mall_item_id, sub_code or "", sku)
    answer = mapping_json(mapping)
    answer["orders_mapped"] = affected
    return jsonify(answer), 201


@bp.delete("/v1/mappings/<int:id>")
def mappings_delete(id: int):
    delete_mapping(g.actor, id)
    return "", 204


# ---------------------------------------------------------------- tags

@bp.get("/v1/tags")
def tags_list():
    tags = db.session.scalars(select(Tag).where(Tag.account_id == account_id()).order_by(Tag.system.desc(), Tag.id))
    return jsonify({"items": [tag_json(t) for t in tags]})


@bp.post("/v1/tags")
def tags_create():
    reader = body()
    name = reader.string("name", required=True, max_len=40)
    color = reader.string("color", default="#5b6b7f", max_len=7)
    holds = reader.boolean("holds", default=False)
    if color and not (len(color) == 7 and color.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in color[1:])):
        reader.errors["color"] = "#RRGGBB 形式で指定してください"
    reader.unknown({"name", "color", "holds"})
    reader.done()
    return jsonify(tag_json(tags.create_tag(g.actor, name=name, color=color, holds=holds))), 201


@bp.post("/v1/orders/<int:id>/tags/<int:tag_id>")
def order_tag_add(id: int, tag_id: int):
    return jsonify(order_json(actions.add_tag(g.actor, id, tag_id, if_match())))


@bp.delete("/v1/orders/<int:id>/tags/<int:tag_id>")
def order_tag_remove(id: int, tag_id: int):
    return jsonify(order_json(actions.remove_tag(g.actor, id, tag_id, if_match())))


# ---------------------------------------------------------------- orders

PARTY = ("name", "name_kana", "email", "phone", "postal_code", "address")
PARTY_LIMITS = {"name": 255, "name_kana": 255, "email": 254, "phone": 40, "postal_code": 16, "address": 500}


def _party(reader: Reader, name: str, required: bool) -> dict | None:
    party = reader.obj(name, required=required)
    if party is None:
        return None
    data = {f: party.string(f, required=(f == "name"), max_len=PARTY_LIMITS[f]) for f in PARTY}
    party.unknown(set(PARTY))
    return data


def _time_slot(reader: Reader) -> str | None:
    """api.md's delivery_time_slot: null or blank (指定なし), 午前中, 午後, その他 or HH-HH."""
    slot = reader.string("delivery_time_slot", max_len=40, default=None)
    if slot is not None and not delivery.is_time_slot(slot):
        reader.errors.setdefault("delivery_time_slot", delivery.SLOT_PROBLEM)
        return None
    return slot


LINE_FIELDS = editing.LINE_FIELDS  # a line of POST /orders, and what an edit may change of one


def _line(item: Reader, fields) -> dict:
    """The `fields` of a line (api.md: as in POST /orders), each required when named: an edit that names
    quantity must give one."""
    readers = {
        "mall_item_id": lambda: item.string("mall_item_id", required=True),
        "sub_code": lambda: item.string("sub_code"),
        "name": lambda: item.string("name", required=True),
        "quantity": lambda: item.integer("quantity", required=True, minimum=1, maximum=MAX_QUANTITY),
        "unit_price": lambda: item.integer("unit_price", required=True, minimum=0, maximum=MAX_UNIT_PRICE),
    }
    return {name: readers[name]() for name in fields}


def _line_edits(reader: Reader) -> list[dict]:
    """PATCH's `lines` (api.md "Editing an order"): [{"id", …changed fields} | {a new line} |
    {"id", "remove": true}]."""
    edits = []
    for index, raw in enumerate(reader.array("lines", max_items=MAX_LINES)):
        item = reader.item("lines", index, raw)
        if not item.has("id"):
            edits.append(_line(item, LINE_FIELDS))
            item.unknown(set(LINE_FIELDS))
            continue
        line_id = item.integer("id", required=True)
        if item.boolean("remove", default=False):
            edits.append({"id": line_id, "remove": True})
            item.unknown({"id", "remove"})
        else:
            edits.append({"id": line_id, **_line(item, [name for name in LINE_FIELDS if item.has(name)])})
            item.unknown({"id", "remove", *LINE_FIELDS})
    return edits


def read_new_order(reader: Reader) -> registration.NewOrder:
    shop_id = reader.integer("shop_id", required=True)
    number = reader.string("mall_order_number", required=True, max_len=64)
    if number:
        try:
            manual_number(number)
        except InvalidNumber as exc:  # orders.md §1: a character that shows nothing, named by its position
            reader.errors["mall_order_number"] = exc.reason.text(lang())
    ordered_at = reader.datetime("ordered_at")
    buyer = _party(reader, "buyer", required=True)
    recipient = _party(reader, "recipient", required=False)
    lines = []
    for index, raw in enumerate(reader.array("lines", required=True, min_items=1, max_items=MAX_LINES)):
        item = reader.item("lines", index, raw)
        lines.append(_line(item, LINE_FIELDS))
        item.unknown(set(LINE_FIELDS))
    new = registration.NewOrder(
        shop_id=shop_id, mall_order_number=number or "", buyer=buyer or {}, recipient=recipient, lines=lines,
        ordered_at=ordered_at, payment_method=reader.string("payment_method", max_len=120),
        remarks=reader.string("remarks", max_len=5000, strip=False) or "",
        delivery_date=reader.date("delivery_date"), delivery_time_slot=_time_slot(reader),
        postage=reader.integer("postage", minimum=0, maximum=MAX_POSTAGE),
        **{name: reader.integer(name, minimum=0, maximum=delivery.MAX_ADJUSTMENT, default=0) for name in ADJUSTMENTS},
        billed=reader.integer("billed", minimum=0, maximum=MAX_BILLED),
    )
    reader.unknown({"shop_id", "mall_order_number", "ordered_at", "buyer", "recipient", "payment_method", "remarks",
                    "delivery_date", "delivery_time_slot", "postage", *ADJUSTMENTS, "billed", "lines"})
    reader.done()
    return new


@bp.post("/v1/orders")
@idempotent
def orders_create():
    order = registration.register(g.actor, read_new_order(body()), source="manual")
    return jsonify(order_json(order)), 201


def read_filter(args: dict, errors: dict | None = None) -> tuple[OrderFilter, int, str | None]:
    """GET /orders' filters, limit and cursor; `errors`: those the caller found in the same query, refused with
    the filter's in one 422."""
    reader = Reader(args, from_query=True, errors=errors)
    status = reader.string("status", choices=rules.STATUSES, default=None)
    shipment_status = reader.string("shipment_status", choices=rules.SHIPMENT_STATUSES, default=None)
    shop_id = reader.integer("shop_id")
    tag = reader.string("tag", default=None)
    flt = OrderFilter(
        account_id=account_id(), status=status, shipment_status=shipment_status,
        q=reader.string("q", max_len=200, default=None),
        mall_order_number=reader.string("mall_order_number", max_len=64, default=None),
        ordered_from=reader.datetime("ordered_from"), ordered_to=reader.datetime("ordered_to", end_of_day=True),
        include_deleted=bool(reader.boolean("include_deleted", default=False)),
    )
    limit = reader.integer("limit", minimum=1, maximum=200, default=50)
    cursor = reader.string("cursor", max_len=MAX_CURSOR_LENGTH, default=None)
    reader.done()
    if shop_id is not None:
        flt.shop_id = filters.shop_id(account_id(), shop_id)
    if tag:
        flt.tag_id = filters.tag_id(account_id(), tag)
    return flt, limit, cursor


@bp.get("/v1/orders")
def orders_list():
    args = request.args.to_dict()
    reader = Reader({"sort": args.pop("sort", None)}, from_query=True)
    sort = reader.string("sort", choices=tuple(ORDER_SORTS), default=None)
    flt, limit, cursor = read_filter(args, reader.errors)
    try:
        page = list_orders(flt, limit=limit, cursor=cursor, sort=sort, columns=listing.COLUMNS, read=listing.read_page)
    except CursorOfAnotherSort as exc:
        raise ServiceError("validation_error", Reason("cursor は別の並び順（sort）のものです。",
                                                      "The cursor belongs to another sort."),
                           {"cursor": f"sort={exc.sort} の cursor です。同じ sort で指定してください"}) from None
    except BadCursor:
        raise ServiceError("validation_error", Reason("cursor が不正です。", "The cursor is not valid."),
                           {"cursor": "このAPIが返した next_cursor か prev_cursor を指定してください"}) from None
    orders = [listing.OrderRow(row) for row in page.rows]
    return jsonify({"items": [order_json(o, o.latest_return) for o in orders], "next_cursor": page.next_cursor,
                    "prev_cursor": page.prev_cursor})


@bp.get("/v1/orders/export.csv")
def orders_export():
    """The orders GET /orders would list (all of them, not a page) as CSV, streamed batch by batch."""
    args = {name: value for name, value in request.args.to_dict().items() if name not in ("limit", "cursor")}
    reader = Reader({name: args.pop(name, None) for name in ("shape", "encoding", "sort")}, from_query=True)
    shape = reader.string("shape", choices=exports.SHAPES, default="orders")
    encoding = reader.string("encoding", choices=exports.ENCODINGS, default="cp932")
    sort = reader.string("sort", choices=tuple(ORDER_SORTS), default=DEFAULT_SORT)  # as GET /orders lists them
    flt, _limit, _cursor = read_filter(args, reader.errors)
    charset = "Shift_JIS" if encoding == "cp932" else "UTF-8"
    name = exports.file_name(utcnow())
    return Response(stream_with_context(exports.stream(flt, shape, encoding, sort=sort)), mimetype="text/csv",
                    content_type=f"text/csv; charset={charset}",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/v1/orders/counts")
def orders_counts():
    reader = Reader(request.args.to_dict(), from_query=True)
    shop_id = reader.integer("shop_id")
    reader.done()
    if shop_id is not None:
        frame.get_shop(account_id(), shop_id)
    return jsonify(status_counts(account_id(), shop_id))


@bp.get("/v1/orders/<int:id>")
def orders_get(id: int):
    return jsonify(order_json(frame.get_order(account_id(), id)))


@bp.post("/v1/orders/<int:id>/confirm")
def orders_confirm(id: int):
    return jsonify(order_json(actions.confirm(g.actor, id, if_match())))


@bp.post("/v1/orders/<int:id>/cancel")
@idempotent
def orders_cancel(id: int):
    reader = Reader(json_body(optional=True))
    reason_code = reader.integer("reason_code", default=rules.DEFAULT_CANCEL_REASON)
    if reason_code is not None and reason_code not in rules.CANCEL_REASONS:
        reader.errors["reason_code"] = "RMSのキャンセル理由コード（1–6, 8, 10, 13–15）で指定してください"
    retrieve = reader.boolean("retrieve_parcel", default=False)
    reader.unknown({"reason_code", "retrieve_parcel"})
    reader.done()
    return jsonify(order_json(actions.cancel(g.actor, id, reason_code, bool(retrieve), if_match())))


@bp.delete("/v1/orders/<int:id>")
def orders_delete(id: int):
    return jsonify(order_json(actions.delete(g.actor, id, if_match())))


@bp.post("/v1/orders/<int:id>/retry-reflection")
def orders_retry_reflection(id: int):
    from ..malls.rakuten.reflection import retry

    return jsonify(order_json(retry(g.actor, id, if_match())))


@bp.post("/v1/orders/<int:id>/retry-shipping-reflection")
def orders_retry_shipping_reflection(id: int):
    from ..malls.rakuten.shipping_info import retry

    return jsonify(order_json(retry(g.actor, id, if_match())))


@bp.patch("/v1/orders/<int:id>")
def orders_edit(id: int):
    """api.md "Editing an order": only what the body names changes."""
    reader = body()
    changes = {}
    for who in ("buyer", "recipient"):
        party = reader.obj(who)
        if party is not None:
            fields = {f: party.string(f, max_len=PARTY_LIMITS[f]) for f in PARTY if party.has(f)}
            if party.has("name") and not fields.get("name"):
                reader.errors.setdefault(f"{who}.name", "氏名を入力してください")
            party.unknown(set(PARTY))
            changes[who] = {f: v or "" for f, v in fields.items()}
    if reader.has("delivery_date"):
        changes["delivery_date"] = reader.date("delivery_date")
    if reader.has("delivery_time_slot"):
        changes["delivery_time_slot"] = _time_slot(reader) or None
    if reader.has("postage"):
        changes["postage"] = reader.integer("postage", minimum=0, maximum=MAX_POSTAGE)
    if reader.has("remarks"):
        changes["remarks"] = reader.string("remarks", max_len=5000, strip=False) or ""
    if reader.has("lines"):
        changes["lines"] = _line_edits(reader)
    reader.unknown({"buyer", "recipient", "delivery_date", "delivery_time_slot", "postage", "remarks", "lines"})
    reader.done()
    return jsonify(order_json(editing.edit(g.actor, id, changes, if_match())))


@bp.post("/v1/orders/<int:id>/request-shipment")
def orders_request_shipment(id: int):
    from ..warehouse import shipping

    return jsonify(order_json(shipping.request_shipment(g.actor, id, if_match())))


@bp.post("/v1/orders/<int:id>/retry-shipping-request")
def orders_retry_shipping_request(id: int):
    from ..warehouse import shipping

    return jsonify(order_json(shipping.retry_request(g.actor, id, if_match())))


@bp.post("/v1/orders/<int:id>/request-withdrawal")
def orders_request_withdrawal(id: int):
    from ..warehouse import withdrawal

    reader = Reader(json_body(optional=True))
    then_cancel = reader.boolean("then_cancel", default=False)
    reason_code = reader.integer("reason_code", default=rules.DEFAULT_CANCEL_REASON)
    if reason_code is not None and reason_code not in rules.CANCEL_REASONS:
        reader.errors["reason_code"] = "RMSのキャンセル理由コード（1–6, 8, 10, 13–15）で指定してください"
    reader.unknown({"then_cancel", "reason_code"})
    reader.done()
    return jsonify(order_json(withdrawal.request_withdrawal(g.actor, id, bool(then_cancel), reason_code, if_match())))


@bp.post("/v1/orders/<int:id>/retry-warehouse-notice")
def orders_retry_warehouse_notice(id: int):
    from ..warehouse import notices

    return jsonify(order_json(notices.retry_notice(g.actor, id, if_match())))


@bp.get("/v1/orders/<int:id>/events")
def orders_events(id: int):
    order = frame.get_order(account_id(), id)
    events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))
    return jsonify({"items": [event_json(e) for e in events]})


@bp.post("/v1/orders/bulk")
def orders_bulk():
    """Confirm, cancel, delete, retry, request or tag many orders: ids or "all matching a filter" (refused, doing nothing, when a
    condition does not resolve); over the threshold, a job."""
    reader = body()
    action = reader.string("action", required=True, choices=bulk.ACTIONS + bulk.TAG_ACTIONS)
    tag_id = reader.integer("tag_id") if action in bulk.TAG_ACTIONS else None
    if action in bulk.TAG_ACTIONS and tag_id is None and "tag_id" not in reader.errors:
        reader.errors["tag_id"] = "add_tag と remove_tag にはタグIDを指定してください"
    ids = [int(i) if isinstance(i, float) and i.is_integer() else i  # 5.0 is an integer to JSON Schema too
           for i in reader.array("order_ids", max_items=bulk.MAX_ORDERS)]
    if not all(frame.valid_id(i) for i in ids):
        reader.errors["order_ids"] = "注文IDの配列で指定してください"
    filter_args = reader.obj("filter")
    reason_code = reader.integer("reason_code", default=rules.DEFAULT_CANCEL_REASON)
    if reason_code not in rules.CANCEL_REASONS:
        reader.errors["reason_code"] = "RMSのキャンセル理由コード（1–6, 8, 10, 13–15）で指定してください"
    if not ids and filter_args is None:
        reader.errors["order_ids"] = "order_ids か filter のどちらかを指定してください"
    if reader.has("order_ids") and filter_args is not None:
        reader.errors["filter"] = "order_ids と filter は同時に指定できません（どちらか一方）"
    if filter_args is not None and _conditions_named(filter_args):
        # a misspelt condition must not widen the selection to every order either
        filter_args.unknown({"status", "shipment_status", "shop_id", "tag", "q", "mall_order_number", "ordered_from",
                             "ordered_to", "include_deleted"})
    reader.unknown({"action", "order_ids", "filter", "reason_code"} | ({"tag_id"} if action in bulk.TAG_ACTIONS else set()))
    reader.done()
    params = {"reason_code": reason_code, "lang": lang()}
    if tag_id is not None:
        params["tag_id"] = frame.get_tag(account_id(), tag_id).id
    if filter_args is not None:
        flt, _, _ = read_filter(_filter_query(filter_args.data))
        ids = bulk.select_ids(flt)
    outcome = bulk.start(g.actor, action, ids, params)
    if outcome.job_id:
        return jsonify({"job_id": outcome.job_id, "count": len(ids)}), 202
    return jsonify({"result": outcome.result})


def _conditions_named(conditions: Reader) -> bool:
    """A bulk filter is an object naming at least one condition, each with a value: an empty one, or a blank or
    null value (a script's empty variable), would otherwise be dropped and reach every order of the account."""
    if not isinstance(conditions.data, dict) or not conditions.data:
        conditions.errors["filter"] = "条件を1つ以上持つオブジェクトで指定してください（空の filter はすべての注文になるため受け付けません）"
        return False
    for key, value in conditions.data.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            conditions.errors[f"filter.{key}"] = "空の条件は指定できません"
        elif isinstance(value, (dict, list)):
            conditions.errors[f"filter.{key}"] = "文字列・数値・真偽値で指定してください"
    return True


def _filter_query(data: dict) -> dict:
    """A bulk filter's values as GET /orders reads its query: a tag may be its id as a JSON integer; every
    other value has its own JSON type (a number for q, say, is refused rather than read as text)."""
    tag = data.get("tag")
    if isinstance(tag, int) and not isinstance(tag, bool):
        return {**data, "tag": str(tag)}
    return data


# ---------------------------------------------------------------- jobs

@bp.get("/v1/jobs/<id>")
def jobs_get(id: str):
    if not re.fullmatch(JOB_ID_PATTERN, id):
        raise not_found("ジョブ", "Job")  # no job has such an id (and a NUL must not reach the database)
    return jsonify(job_json(get_job(account_id(), id)))
