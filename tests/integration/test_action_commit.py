"""What a single-order action leaves loaded after its commit: the order, its lines, tags and shop as just
committed (the caller answers with them without reading them again), everything else re-read on use."""
from __future__ import annotations

from redis import connection as redis_connection_module
from sqlalchemy import event, select

from boss import outbox
from boss.extensions import db
from boss.malls.rakuten import reflection
from boss.models import OutboxMessage, Product
from boss.orders import actions
from boss.orders.actor import Actor
from boss.orders.models import Order
from tests.factories import create_order, create_product, map_item, set_rms_connection, set_state


def _actor(tenant) -> Actor:
    return Actor("user", "テスト担当", tenant.account_id, None)


class Statements:
    def __init__(self):
        self.seen: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, *args):
        self.seen.append(statement)


def test_a_cancel_answers_with_the_committed_order_its_lines_and_tags_without_reading_them_again(app, client, tenant):
    created = create_order(client, tenant, number="KEEP-1")
    with app.app_context():
        order = actions.cancel(_actor(tenant), created["id"], expected_version=created["version"])
        with Statements() as during:
            shown = (order.status, order.version, order.cancel_reason_code, order.shop.name,
                     [line.mall_item_id for line in order.lines], [tag.name for tag in order.tags])
        assert during.seen == []
        db.session.remove()
        fresh = db.session.get(Order, created["id"])
        assert shown == (fresh.status, fresh.version, fresh.cancel_reason_code, fresh.shop.name,
                         [line.mall_item_id for line in fresh.lines], [tag.name for tag in fresh.tags])
        assert shown[0] == "cancelled" and shown[1] == created["version"] + 1
        db.session.remove()


def test_r10_what_the_action_changed_by_statement_is_read_again_after_the_commit(app, client, tenant):
    create_product(client, tenant, "SKU-KEEP", stock=5)
    map_item(client, tenant, "item-1", "SKU-KEEP")
    created = create_order(client, tenant, number="KEEP-2")
    set_state(app, created["id"], "awaiting_shipment", None, reserve=True)
    with app.app_context():
        product = db.session.scalars(select(Product).where(Product.sku == "SKU-KEEP")).one()
        assert product.reserved == 2
        order = actions.cancel(_actor(tenant), created["id"])
        assert order.stock_reserved is False
        assert product.reserved == 0  # released by an UPDATE statement: not kept, so read again
        db.session.remove()


def test_r9_a_reflection_recorded_before_messages_named_their_shop_still_goes_to_its_shops_lane(app, client, tenant):
    created = create_order(client, tenant, number="KEEP-3")
    with app.app_context():
        message = OutboxMessage(kind=reflection.KIND, payload={"order_id": created["id"]}, state="pending")
        db.session.add(message)
        db.session.commit()
        outbox.dispatch([message.id])
        message = db.session.get(OutboxMessage, message.id)
        assert message.rq_job_id == reflection.lane(tenant.shop_id).marker
        assert message.dispatches == 1
        db.session.remove()


class RedisConnects:
    """Counts the connections redis-py opens (a socket connect of any connection of any pool)."""

    def __init__(self, monkeypatch):
        self.count = 0
        for cls in (redis_connection_module.Connection, redis_connection_module.UnixDomainSocketConnection):
            monkeypatch.setattr(cls, "_connect", self._counting(cls._connect))

    def _counting(self, connect):
        def counted(connection):
            self.count += 1
            return connect(connection)
        return counted


def _reflected_order(app, client, tenant, number: str) -> dict:
    """A mall-linked order of a shop connected to RMS with 「RMSへ反映」 on: its cancel wakes the shop's lane."""
    created = create_order(client, tenant, number=number)
    with app.app_context():
        order = db.session.get(Order, created["id"])
        order.mall_linked = True
        set_rms_connection(order.shop_id, secrets_enc={"service_secret": "enc-secret", "license_key": "enc-license"})
        order.shop.reflect_cancel_to_rms = True
        db.session.commit()
        created["version"] = order.version
        db.session.remove()
    return created


def test_r9_an_api_cancel_reuses_the_redis_connection_of_the_requests_before_it(app, client, tenant, monkeypatch):
    first, second = (_reflected_order(app, client, tenant, f"REDIS-{n}") for n in (1, 2))
    connects = RedisConnects(monkeypatch)
    assert client.post(f"/api/v1/orders/{first['id']}/cancel", json={}, headers=tenant.headers()).status_code == 200
    assert connects.count <= 1
    connects.count = 0
    answer = client.post(f"/api/v1/orders/{second['id']}/cancel", json={}, headers=tenant.headers())
    assert answer.status_code == 200 and answer.json["mall_reflection"]["state"] == "pending"
    assert connects.count == 0


def test_an_api_cancel_reads_its_order_once(app, client, tenant):
    created = create_order(client, tenant, number="ONCE-1")
    with app.app_context(), Statements() as during:
        answer = client.post(f"/api/v1/orders/{created['id']}/cancel", json={}, headers=tenant.headers())
        assert answer.status_code == 200 and answer.json["status"] == "cancelled"
    order_reads = [s for s in during.seen if s.lstrip().upper().startswith("SELECT") and "FROM orders" in s]
    assert len(order_reads) == 1, order_reads
    # its shop's RMS connection (what the cancel sets off, R9) comes with it, not by a read of its own
    assert not [s for s in during.seen if s.lstrip().upper().startswith("SELECT") and "FROM connections" in s]


def test_a_tokens_first_request_notes_its_use_and_reads_the_token_and_its_user_once(app, client, tenant):
    with app.app_context(), Statements() as during:
        answer = client.get("/api/v1/orders", headers=tenant.headers())
        assert answer.status_code == 200
    selects = [s for s in during.seen if s.lstrip().upper().startswith("SELECT")]
    assert any(s.lstrip().upper().startswith("UPDATE API_TOKENS") for s in during.seen), "its use is noted"
    # the token and its user in one read
    assert len([s for s in selects if "FROM api_tokens" in s or "users" in s]) == 1


def test_the_api_list_reads_its_orders_with_their_lines_tags_shipments_and_returns_in_one_statement(app, client, tenant):
    """However many orders the page holds and whatever they hold, one SELECT reads them (orders.listing), in no
    snapshot transaction of its own (one statement reads from one moment)."""
    for n in range(5):
        order = create_order(client, tenant, number=f"LIST-SHIP-{n}")
        set_state(app, order["id"], "shipping_in_progress", "shipping")
    shipped = create_order(client, tenant, number="LIST-RETURN")
    set_state(app, shipped["id"], "completed", "shipped")
    assert client.post(f"/api/v1/orders/{shipped['id']}/cancel", json={"reason_code": 1},
                       headers=tenant.headers()).status_code == 200
    client.get("/api/v1/orders", headers=tenant.headers())  # the token's first use is noted: not what is counted
    with app.app_context(), Statements() as during:
        answer = client.get("/api/v1/orders?limit=50", headers=tenant.headers())
        assert answer.status_code == 200
        items = answer.json["items"]
    assert [o["shipment"]["status"] for o in items[1:]] == ["shipping"] * 5
    assert items[0]["return"]["status"] == "awaiting_return" and items[0]["lines"] and items[0]["tags"]
    reads = [s for s in during.seen if s.lstrip().upper().startswith("SELECT")]
    assert len([s for s in reads if "FROM orders" in s]) == 1
    assert not [s for s in reads if "FROM orders" not in s and any(
        f"FROM {table}" in s for table in ("order_lines", "order_tags", "shipments", "returns", "return_lines"))]
    assert not [s for s in during.seen if s.strip().upper() == "BEGIN"]  # SQLite's snapshot is a BEGIN


def test_r10_r13_an_api_cancel_of_a_completed_order_is_one_new_version_and_its_answer_reads_nothing_it_wrote(
        app, client, tenant):
    """The cancel of 完了 opens a return (R10) and, for a reflected order, records the RMS cancel (R9): one new
    version of the order (R13), and an answer built from what the action wrote — the return and its lines, the
    shipment, the lines' products, the outbox message it dispatches — with no second read of them."""
    create_product(client, tenant, "SKU-DONE", stock=5)
    map_item(client, tenant, "item-1", "SKU-DONE")
    created = _reflected_order(app, client, tenant, "DONE-1")
    set_state(app, created["id"], "completed", "shipped")
    before = client.get(f"/api/v1/orders/{created['id']}", headers=tenant.headers()).json
    with app.app_context(), Statements() as during:
        answer = client.post(f"/api/v1/orders/{created['id']}/cancel", json={}, headers=tenant.headers())
    assert answer.status_code == 200, answer.json
    assert answer.json["version"] == before["version"] + 1
    assert answer.json["return"]["status"] == "awaiting_return"
    assert answer.json["return"]["lines"] == [{"sku": "SKU-DONE", "quantity": 2, "returned": None, "sellable": None}]
    assert answer.json["shipment"]["status"] == "shipped" and answer.json["lines"][0]["sku"] == "SKU-DONE"
    assert answer.json["mall_reflection"]["state"] == "pending"
    writes = [s for s in during.seen if s.lstrip().upper().startswith("UPDATE ORDERS ")]
    assert len(writes) == 1, writes
    selects = [s for s in during.seen if s.lstrip().upper().startswith("SELECT")]
    for table in ("outbox", "shipments", "products", "return_lines"):
        assert len([s for s in selects if f"FROM {table} " in s or f"JOIN {table} " in s]) <= 1, (table, selects)
    assert not [s for s in selects if "FROM outbox" in s], "the message it recorded is dispatched as written"
    again = client.get(f"/api/v1/orders/{created['id']}", headers=tenant.headers()).json
    assert {key: again[key] for key in ("version", "return", "shipment", "lines", "status")} == \
        {key: answer.json[key] for key in ("version", "return", "shipment", "lines", "status")}
    with app.app_context():
        message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == reflection.KIND)).one()
        assert message.dispatches == 1 and message.dispatched_at is not None
        db.session.remove()
