"""Small helpers shared by the API contract tests (tests/api/test_api_*.py)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from boss.extensions import db
from boss.models import IdempotencyRecord, ItemMapping, Product, Shop, utcnow
from boss.orders import frame
from boss.orders.actor import Actor
from boss.orders.models import Order, OrderEvent, Tag
from boss.outbox import commit_and_dispatch
from tests.factories import order_body

API = "/api/v1"


def error_of(response, status: int, code: str) -> dict:
    """Assert the api.md error envelope with this status and code; return the error object."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert body is not None and "error" in body, response.get_data(as_text=True)
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    return error


def post_order(client, tenant, role: str = "staff", headers: dict | None = None, **kwargs):
    """POST /orders with the factory body; returns the raw response (the caller asserts)."""
    return client.post(f"{API}/orders", json=order_body(tenant.shop_id, **kwargs),
                       headers={**tenant.headers(role), **(headers or {})})


def get_order(client, tenant, order_id: int) -> dict:
    response = client.get(f"{API}/orders/{order_id}", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def events(client, tenant, order_id: int) -> list[dict]:
    response = client.get(f"{API}/orders/{order_id}/events", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json["items"]


def list_numbers(client, tenant, **query) -> list[str]:
    response = client.get(f"{API}/orders", query_string={"limit": 200, **query}, headers=tenant.headers())
    assert response.status_code == 200, response.json
    return [o["mall_order_number"] for o in response.json["items"]]


def counts(client, tenant, **query) -> dict:
    response = client.get(f"{API}/orders/counts", query_string=query, headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def create_tag(client, tenant, name: str = "要確認", holds: bool = False, **extra) -> dict:
    response = client.post(f"{API}/tags", json={"name": name, "holds": holds, **extra}, headers=tenant.headers())
    assert response.status_code == 201, response.json
    return response.json


def tag_codes(order: dict) -> list[str | None]:
    return [t["code"] for t in order["tags"]]


def tag_names(order: dict) -> list[str]:
    return [t["name"] for t in order["tags"]]


def system_tag_id(client, tenant, code: str) -> int:
    response = client.get(f"{API}/tags", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return next(t["id"] for t in response.json["items"] if t["code"] == code)


def raise_system_tag(app, order_id: int, code: str) -> None:
    """What the import or a job does when it raises a system tag (e.g. 複数送付先)."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        frame.raise_system_tag(order, code, Actor.system(order.account_id))
        commit_and_dispatch()
        db.session.remove()


def db_counts(app, account_id: int | None = None) -> dict:
    """Rows in the database (deleted orders included): what a refused request must not change."""
    with app.app_context():
        def n(model, *where):
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

        orders = [Order.account_id == account_id] if account_id else []
        result = {
            "orders": n(Order, *orders),
            "events": n(OrderEvent),
            "mappings": n(ItemMapping),
            "products": n(Product),
            "tags": n(Tag),
            "shops": n(Shop),
        }
        db.session.remove()
    return result


def age_idempotency_keys(app, hours: int) -> None:
    with app.app_context():
        db.session.execute(update(IdempotencyRecord).values(created_at=utcnow() - timedelta(hours=hours)))
        db.session.commit()
        db.session.remove()
