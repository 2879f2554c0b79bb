"""A bulk 出荷依頼 requests a chunk of orders in one transaction (shipping.request_many, P10): each order must come
out exactly as if it had been requested alone — the same order, shipment, history, ledger rows and send message —
and be refused exactly when it would have been alone (a short SKU named), one refusal never undoing another."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.models import OrderCount, OutboxMessage, Product, StockMovement
from boss.orders import frame
from boss.orders.actor import Actor
from boss.orders.counters import recount
from boss.orders.models import Order, OrderEvent, Shipment
from boss.unit_of_work import unit_of_work
from boss.warehouse import shipping
from tests.api.api_helpers import API
from tests.factories import create_order, create_product, map_item

RECIPIENT = {"name": "佐藤 一郎", "postal_code": "150-0001", "address": "東京都渋谷区神宮前1-1-1", "phone": "0312345678"}


@pytest.fixture
def house(client, tenant):
    response = client.patch(f"{API}/warehouse", json={"api_key": "key-batch-1234"}, headers=tenant.headers("admin"))
    assert response.status_code == 200, response.json
    for sku, stock in (("SKU-A", 100), ("SKU-B", 100), ("SKU-C", 5)):
        create_product(client, tenant, sku, stock=stock)
        map_item(client, tenant, f"item-{sku}", sku)


def confirmed(client, tenant, number, **quantities) -> int:
    order = create_order(client, tenant, number=number, recipient=RECIPIENT, lines=[
        {"mall_item_id": f"item-SKU-{sku}", "name": f"商品{sku}", "quantity": quantity, "unit_price": 1200}
        for sku, quantity in quantities.items()])
    response = client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return order["id"]


def tag_short(app, tenant, order_id):
    """The order carries 「在庫不足」 (as an auto-request that found stock short leaves it): a request clears it."""
    with app.app_context():
        with unit_of_work() as uow:
            order = frame.get_order(tenant.account_id, order_id)
            frame.raise_system_tag(order, "insufficient_stock", Actor.system(tenant.account_id, "テスト"))
            uow.commit()
        db.session.remove()


def snapshot(app, order_id) -> dict:
    """What a request left of the order, its ids and times aside (the shipment's id shown as SHIPMENT)."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        [shipment] = db.session.scalars(select(Shipment).where(Shipment.order_id == order_id)).all()
        ref = str(shipment.id)
        skus = dict(db.session.execute(select(Product.id, Product.sku)).all())
        found = {
            "order": (order.status, order.shipment_status, order.stock_reserved, [t.code for t in order.tags]),
            "shipment": {c.name: getattr(shipment, c.key) for c in Shipment.__table__.columns
                         if c.name not in ("id", "order_id", "requested_at", "updated_at")},
            "times": shipment.requested_at == shipment.updated_at,
            "events": [(e.kind, e.actor_type, e.from_status, e.to_status, e.message.replace(ref, "SHIPMENT"))
                       for e in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                                                   .order_by(OrderEvent.id))][-2:],
            "ledger": [(skus[m.product_id], m.kind, m.delta_stock, m.delta_reserved, m.actor_type, m.reason)
                       for m in db.session.scalars(select(StockMovement).where(StockMovement.order_id == order_id)
                                                   .order_by(StockMovement.id))],
            "outbox": [(m.kind, m.state, {k: {"shipment_id": v == shipment.id, "order_id": v == order_id}.get(k, v)
                                          for k, v in m.payload.items()})
                       for m in db.session.scalars(select(OutboxMessage).where(
                           OutboxMessage.kind == shipping.SEND_KIND)) if m.payload["order_id"] == order_id],
        }
        db.session.remove()
    return found


def counters_right(app, tenant) -> bool:
    with app.app_context():
        kept = sorted(db.session.execute(select(OrderCount.shop_id, OrderCount.status, OrderCount.n)).all())
        recount(tenant.account_id)
        rebuilt = sorted(db.session.execute(select(OrderCount.shop_id, OrderCount.status, OrderCount.n)).all())
        db.session.remove()
    return kept == rebuilt


def test_an_order_requested_in_a_batch_is_the_same_as_one_requested_alone(app, client, tenant, house):
    alone = confirmed(client, tenant, "RB-ALONE", A=2, B=1)
    batched = confirmed(client, tenant, "RB-BATCH", A=2, B=1)
    others = [confirmed(client, tenant, f"RB-O{i}", A=1) for i in range(3)]
    for order_id in (alone, batched):
        tag_short(app, tenant, order_id)
    assert counters_right(app, tenant)

    response = client.post(f"{API}/orders/{alone}/request-shipment", headers=tenant.headers())
    assert response.status_code == 200, response.json
    assert counters_right(app, tenant)
    response = client.post(f"{API}/orders/bulk", json={"action": "request_shipment",
                                                       "order_ids": [others[0], batched, *others[1:]]},
                           headers=tenant.headers())
    assert response.status_code == 200, response.json
    assert response.json["result"]["done"] == 4

    one, many = snapshot(app, alone), snapshot(app, batched)
    assert one["order"] == ("awaiting_shipment", "requested", True, ["not_mall_linked"])
    assert one == many
    assert [kind for kind, *_ in one["events"]] == ["shipment_requested", "tag_removed"]
    assert one["outbox"] == [(shipping.SEND_KIND, "pending", {"shipment_id": True, "order_id": True,
                                                              "account_id": tenant.account_id})]
    assert counters_right(app, tenant)


def test_a_short_product_refuses_exactly_the_orders_that_come_up_short_in_their_turn(app, client, tenant, house):
    # SKU-C has 5: the first two fit (2 + 3), the third (1 more) is short, the fourth needs none of it.
    ids = [confirmed(client, tenant, "RB-C1", A=1, C=2), confirmed(client, tenant, "RB-C2", C=3),
           confirmed(client, tenant, "RB-C3", B=4, C=1), confirmed(client, tenant, "RB-A4", A=3, B=2)]

    response = client.post(f"{API}/orders/bulk", json={"action": "request_shipment", "order_ids": ids},
                           headers=tenant.headers())

    items = response.json["result"]["items"]
    assert [item["done"] for item in items] == [True, True, False, True]
    assert items[2]["code"] == "insufficient_stock" and "SKU-C: 1点不足" in items[2]["message"]
    with app.app_context():
        counts = {sku: (stock, reserved) for sku, stock, reserved in db.session.execute(
            select(Product.sku, Product.stock, Product.reserved)).all()}
        refused = db.session.get(Order, ids[2])
        assert (refused.status, refused.stock_reserved) == ("confirmed", False)
        assert not db.session.scalars(select(StockMovement).where(StockMovement.order_id == ids[2])).all()
        db.session.remove()
    # The refused order's SKU-B (4) is not held: only RB-A4's 2.
    assert counts == {"SKU-A": (100, 4), "SKU-B": (100, 2), "SKU-C": (5, 5)}
    assert counters_right(app, tenant)


def test_a_chunk_run_again_requests_nothing_twice(app, client, tenant, house):
    """A resumed job runs its last chunk again: the orders it requested are found done, none requested twice."""
    from boss.orders import bulk

    ids = [confirmed(client, tenant, f"RB-R{i}", A=1) for i in range(3)]
    with app.app_context():
        actor = Actor("job", "一括出荷依頼 test（テスト）", tenant.account_id, None)
        first = bulk.run_chunk(actor, "request_shipment", ids, {})
        again = bulk.run_chunk(actor, "request_shipment", ids, {})
        shipments = db.session.scalars(select(Shipment.order_id).where(Shipment.order_id.in_(ids))).all()
        reserved = db.session.scalar(select(Product.reserved).where(Product.sku == "SKU-A"))
        db.session.remove()
    assert [item.done for item in first] == [True] * 3 and [item.done for item in again] == [True] * 3
    assert [item.mall_order_number for item in again] == ["RB-R0", "RB-R1", "RB-R2"]
    assert sorted(shipments) == sorted(ids) and reserved == 3


def test_another_accounts_order_in_a_batch_is_not_found_and_not_named(app, client, tenant, house):
    from tests.conftest import make_tenant

    other = make_tenant(app, "他社")
    theirs = create_order(client, other, number="THEIRS")
    ours = confirmed(client, tenant, "RB-OURS", A=1)
    response = client.post(f"{API}/orders/bulk", json={"action": "request_shipment", "order_ids": [theirs["id"], ours]},
                           headers=tenant.headers())
    first, second = response.json["result"]["items"]
    assert (first["done"], first["code"], first["mall_order_number"]) == (False, "not_found", None)
    assert second["done"] is True
