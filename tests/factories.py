"""Making orders and products through the API, the way an integrator would."""
from __future__ import annotations

import itertools
import re

from boss.extensions import db
from boss.malls.rakuten.connection import rms_connection_for
from boss.malls.rakuten.reflection import KIND, _fail
from boss.models import Connection, OutboxMessage, Shop
from boss.orders import counters
from boss.orders.models import Order, Shipment

_numbers = itertools.count(1)


def set_rms_connection(shop_id: int, **fields) -> Connection:
    """The shop's RMS connection (made if it has none) with `fields` set, as the connection stores them;
    in the caller's app context, not committed."""
    connection = rms_connection_for(db.session.get(Shop, shop_id))
    for name, value in fields.items():
        setattr(connection, name, value)
    return connection


def order_body(shop_id: int, number: str | None = None, lines=None, **extra) -> dict:
    return {
        "shop_id": shop_id,
        "mall_order_number": number or f"T-{next(_numbers):06d}",
        "buyer": {"name": "山田 花子", "name_kana": "ヤマダ ハナコ", "phone": "03-1234-5678", "email": "hanako@example.jp"},
        "lines": lines or [{"mall_item_id": "item-1", "name": "煎茶", "quantity": 2, "unit_price": 1200}],
        **extra,
    }


def create_order(client, tenant, **kwargs) -> dict:
    response = client.post("/api/v1/orders", json=order_body(tenant.shop_id, **kwargs), headers=tenant.headers())
    assert response.status_code == 201, response.json
    return response.json


def create_product(client, tenant, sku: str = "SKU-1", stock: int = 10) -> dict:
    response = client.post("/api/v1/products", json={"sku": sku, "name": f"商品 {sku}", "stock": stock},
                           headers=tenant.headers())
    assert response.status_code == 201, response.json
    return response.json


def map_item(client, tenant, mall_item_id: str = "item-1", sku: str = "SKU-1", sub_code: str | None = None) -> dict:
    body = {"shop_id": tenant.shop_id, "mall_item_id": mall_item_id, "sku": sku}
    if sub_code:
        body["sub_code"] = sub_code
    response = client.post("/api/v1/mappings", json=body, headers=tenant.headers())
    assert response.status_code == 201, response.json
    return response.json


def set_state(app, order_id: int, status: str, shipment_status: str | None = None, reserve: bool = False) -> None:
    """Put an order into a status the warehouse flow would bring (that flow comes later)."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        with counters.counted(order):
            order.status = status
            order.shipment_status = shipment_status
            if shipment_status:
                order.shipments.append(Shipment(status=shipment_status))
            if reserve:
                order.stock_reserved = True
                for line in order.lines:
                    if line.product is not None:
                        line.product.reserved += line.quantity
        db.session.commit()
        db.session.remove()


def set_request_state(app, order_id: int, request_state: str) -> None:
    """Set how the order's current shipping request stands with the warehouse (pending, sent, failed)."""
    with app.app_context():
        db.session.get(Order, order_id).shipments[-1].request_state = request_state
        db.session.commit()
        db.session.remove()


def set_order_fields(app, order_id: int, options: list[str] | None = None, **columns) -> None:
    """Give an order what only a mall import fills in (ラッピング料, a pickup, 置き配, a 請求額 not fixed yet: billed
    None, the lines' 項目選択肢 by position), as the order's columns hold it; the total follows the wrapping."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        for name, value in columns.items():
            setattr(order, name, value)
        for line, text in zip(order.lines, options or []):
            line.options = text
        order.recompute_total()
        db.session.commit()
        db.session.remove()


def bulk_dialog(web_client, path: str, data: dict):
    """Open a bulk dialog as the list's bulk bar does (htmx POST of the bulk form); returns the answer and the
    frozen selection its confirm posts back (None when the dialog was refused)."""
    response = web_client.post(path, data={"csrf_token": web_client.csrf, **data}, headers={"HX-Request": "true"})
    found = re.search(r'name="selection" value="([^"]+)"', response.text)
    return response, found.group(1) if found else None


def fail_reflection(app, order_id: int) -> None:
    """A cancel whose reflection to RMS failed finally (the reflection job itself is tested with the sandbox)."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        message = OutboxMessage(kind=KIND, payload={"order_id": order_id}, state="pending")  # as a reflected cancel records it
        db.session.add(message)
        with counters.counted(order):
            _fail(message, order, "ORDER_EXT_API_CANCEL_ORDER_ERROR_102: テスト")
        db.session.commit()
        db.session.remove()
