"""The warehouse end to end (warehouse.md §4): our client over real HTTP against the simulator, real Redis and real
rq workers. Request → sent; started; shipped with stock deducted; refused → 出荷不可 → re-request; a 422 →
「出荷依頼エラー」 → 再送; events delivered twice, stale and out of order; a sync killed half-way (in the test, and a real
worker killed during one); a worker killed during a batch send; an order cancelled before its send."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from boss.extensions import db
from boss.models import Connection, Product, StockMovement, WarehouseEvent
from boss.orders.models import OrderEvent
from tests.conftest import wait_for
from tests.factories import create_order, create_product, map_item, set_request_state
from tests.integration.warehouse_simulator import WarehouseSimulator


class Warehouse(WarehouseSimulator):
    """The tenant's account connected to the simulator, and what tests ask of BOSS's side."""

    def __init__(self, app, client, tenant, base_url):
        super().__init__(base_url)
        self.app, self.client, self.tenant = app, client, tenant

    def connect(self) -> dict:
        response = self.client.patch("/api/v1/warehouse", json={"api_key": self.api_key, "base_url": self.url},
                                     headers=self.tenant.headers("admin"))
        assert response.status_code == 200, response.json
        return response.json

    def order(self, order_id: int) -> dict:
        response = self.client.get(f"/api/v1/orders/{order_id}", headers=self.tenant.headers())
        assert response.status_code == 200
        return response.json

    def act(self, order_id: int, action: str, body=None, expect: int = 200) -> dict:
        response = self.client.post(f"/api/v1/orders/{order_id}/{action}", json=body,
                                    headers=self.tenant.headers())
        assert response.status_code == expect, response.json
        return response.json

    def confirmed_order(self, quantity: int = 2, recipient: dict | None = None, **kwargs) -> dict:
        order = create_order(self.client, self.tenant, lines=[
            {"mall_item_id": "item-1", "name": "煎茶", "quantity": quantity, "unit_price": 1200}],
            recipient=recipient or {"name": "佐藤 一郎", "postal_code": "150-0001", "address": "東京都渋谷区神宮前1-1-1",
                                    "phone": "0312345678"}, **kwargs)
        return self.act(order["id"], "confirm")

    def fault_sends(self, **fault) -> None:
        """The next sends of shipping requests fail as `fault` says, one request alone or a batch."""
        for function in ("create", "batch"):
            self.control("faults", {"function": function, **fault})

    def sends(self) -> list[dict]:
        return [call for call in self.calls() if call["function"] in ("create", "batch")]

    def sync(self) -> dict:
        response = self.client.post("/api/v1/warehouse/sync", headers=self.tenant.headers())
        assert response.status_code == 202, response.json
        job_id = response.json["job_id"]

        def finished():
            job = self.client.get(f"/api/v1/jobs/{job_id}", headers=self.tenant.headers()).json
            return job if job["state"] in ("finished", "failed") else None

        job = wait_for(finished, timeout=30, message="the sync to finish")
        assert job["state"] == "finished", job
        return job["result"]

    def wait_sent(self, order_id: int) -> dict:
        return wait_for(lambda: (o := self.order(order_id))["shipment"]["request_state"] != "pending" and o,
                        timeout=30, message="the request to be sent")

    def product(self, sku: str = "SKU-1") -> Product:
        with self.app.app_context():
            product = db.session.scalars(select(Product).where(Product.sku == sku,
                                                               Product.account_id == self.tenant.account_id)).one()
            db.session.expunge(product)
            db.session.remove()
        return product

    def events_of(self, order_id: int, kind: str) -> list[str]:
        response = self.client.get(f"/api/v1/orders/{order_id}/events", headers=self.tenant.headers())
        return [e["message"] for e in response.json["items"] if e["kind"] == kind]


@pytest.fixture
def warehouse(app, client, tenant, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "WAREHOUSE_SANDBOX_RATE_PER_SECOND", 1000)
    create_product(client, tenant, "SKU-1", stock=10)
    map_item(client, tenant, "item-1", "SKU-1")
    house = Warehouse(app, client, tenant, live_server)
    house.connect()
    return house


def test_a_request_is_sent_started_and_shipped_with_stock_reserved_then_deducted(warehouse, worker):
    order = warehouse.confirmed_order(quantity=3)
    requested = warehouse.act(order["id"], "request-shipment")
    assert requested["status"] == "awaiting_shipment" and requested["shipment_status"] == "requested"
    assert requested["shipment"]["request_state"] == "pending"
    product = warehouse.product()
    assert (product.stock, product.reserved) == (10, 3)

    sent = warehouse.wait_sent(order["id"])
    assert sent["shipment"]["request_state"] == "sent"
    assert sent["shipment"]["warehouse_id"].startswith("WS-")
    [at_warehouse] = warehouse.shipments()
    assert at_warehouse["client_reference"] == str(sent["shipment"]["id"])
    assert at_warehouse["lines"] == [{"sku": "SKU-1", "quantity": 3, "options": ""}]
    assert at_warehouse["order_number"] == order["mall_order_number"]

    warehouse.advance(str(sent["shipment"]["id"]), "started")
    assert warehouse.sync()["applied"] == 1
    started = warehouse.order(order["id"])
    assert (started["status"], started["shipment_status"]) == ("shipping_in_progress", "shipping")
    assert started["version"] > sent["version"]
    refused = warehouse.act(order["id"], "cancel", {}, expect=409)
    assert refused["error"]["code"] == "cannot_cancel" and "出荷取下げ" in refused["error"]["message"]

    warehouse.advance(str(sent["shipment"]["id"]), "shipped", carrier="sagawa", tracking_number="4000-1111-2222",
                      shipped_on="2026-12-05")
    warehouse.sync()
    done = warehouse.order(order["id"])
    assert (done["status"], done["shipment_status"]) == ("completed", "shipped")
    assert done["shipment"]["carrier"] == "sagawa" and done["shipment"]["tracking_number"] == "4000-1111-2222"
    assert done["shipment"]["shipped_on"] == "2026-12-05"
    product = warehouse.product()
    assert (product.stock, product.reserved) == (7, 0)
    with warehouse.app.app_context():
        kinds = db.session.scalars(select(StockMovement.kind).where(StockMovement.order_id == order["id"])
                                   .order_by(StockMovement.id)).all()
        db.session.remove()
    assert kinds == ["reserve", "ship"]


def test_a_refused_request_becomes_not_shippable_with_its_short_lines_and_can_be_requested_again(warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    first = warehouse.wait_sent(order["id"])["shipment"]
    warehouse.advance(str(first["id"]), "refused", reason_code="R01", reason="在庫不足",
                      lines=[{"sku": "SKU-1", "short": 2}])
    warehouse.sync()
    refused = warehouse.order(order["id"])
    assert (refused["status"], refused["shipment_status"]) == ("shipping_in_progress", "not_shippable")
    assert refused["shipment"]["reason"] == "在庫不足"
    assert refused["can_cancel"] is True
    assert any("SKU-1: 2点不足" in text for text in warehouse.events_of(order["id"], "shipment_refused"))
    assert warehouse.product().reserved == 0  # released

    again = warehouse.act(order["id"], "request-shipment")
    assert (again["status"], again["shipment_status"]) == ("awaiting_shipment", "requested")
    assert again["shipment"]["id"] != first["id"]
    assert warehouse.product().reserved == 2
    warehouse.wait_sent(order["id"])
    assert len(warehouse.shipments()) == 2


def test_a_422_raises_shipping_request_error_with_the_warehouses_message_and_a_resend_clears_it(warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.fault_sends(times=1, http_status=None, error_code="E102")
    warehouse.act(order["id"], "request-shipment")
    failed = warehouse.wait_sent(order["id"])
    assert failed["shipment"]["request_state"] == "failed"
    assert "shipping_request_error" in {t["code"] for t in failed["tags"]}
    assert any("E102" in text for text in warehouse.events_of(order["id"], "shipment_failed"))
    assert failed["status"] == "awaiting_shipment"  # still reserved, waiting for the shop's fix

    warehouse.act(order["id"], "retry-shipping-request")
    sent = wait_for(lambda: (o := warehouse.order(order["id"]))["shipment"]["request_state"] == "sent" and o,
                    timeout=30, message="the resend")
    assert "shipping_request_error" not in {t["code"] for t in sent["tags"]}
    assert len(warehouse.shipments()) == 1


def test_transient_failures_are_retried_on_schedule_and_the_fifth_fails_the_request(warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.fault_sends(times=5, http_status=503)
    warehouse.act(order["id"], "request-shipment")
    failed = wait_for(lambda: (o := warehouse.order(order["id"]))["shipment"]["request_state"] == "failed" and o,
                      timeout=60, message="five tries")
    retries = warehouse.events_of(order["id"], "shipment_failed")
    assert len(retries) == 5 and "再試行" in retries[0] and "5回続けて" in retries[-1]
    assert "shipping_request_error" in {t["code"] for t in failed["tags"]}
    assert [c["http_status"] for c in warehouse.sends()] == [503] * 5


def test_an_order_cancelled_before_its_send_releases_its_reservation(warehouse):
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")  # no worker: the send waits
    assert warehouse.product().reserved == 2
    cancelled = warehouse.act(order["id"], "cancel", {})
    assert cancelled["status"] == "cancelled"
    assert warehouse.product().reserved == 0
    assert "warehouse_notice_pending" not in {t["code"] for t in cancelled["tags"]}  # nothing was sent: no notice


def test_an_order_cancelled_before_its_send_is_never_sent_even_when_the_worker_comes(warehouse, worker):
    order = warehouse.confirmed_order()
    other = warehouse.confirmed_order()
    warehouse.fault_sends(times=1, http_status=None, delay_ms=1500)
    warehouse.act(other["id"], "request-shipment")  # the first batch takes 1.5 s: the next request waits for it
    warehouse.act(order["id"], "request-shipment")
    warehouse.act(order["id"], "cancel", {})
    warehouse.wait_sent(other["id"])
    wait_for(lambda: warehouse.events_of(order["id"], "shipment_failed"), timeout=30, message="the send to skip it")
    assert [s["order_number"] for s in warehouse.shipments()] == [other["mall_order_number"]]


def test_events_delivered_again_out_of_order_or_stale_are_applied_once_in_seq_order(warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    shipment = warehouse.wait_sent(order["id"])["shipment"]
    reference = str(shipment["id"])
    warehouse.control("deliver-out-of-order", {"on": True})
    warehouse.advance(reference, "started")
    warehouse.advance(reference, "shipped", tracking_number="1234-5678-9012")
    result = warehouse.sync()  # shipped (seq 2) comes first in the page: applied after started (seq 1)
    assert result["applied"] == 2
    done = warehouse.order(order["id"])
    assert done["status"] == "completed"
    version = done["version"]

    warehouse.control("redeliver", {})
    again = warehouse.sync()
    assert again["applied"] == 0 and again["duplicate"] == 2
    assert warehouse.order(order["id"])["version"] == version
    assert warehouse.product().stock == 8  # deducted once


def test_a_stale_event_is_recorded_in_the_history_and_not_applied(warehouse, app):
    from boss.warehouse import events
    from boss.warehouse.port import WarehouseEvent as Event

    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    shipment_id = warehouse.order(order["id"])["shipment"]["id"]

    def event(n, kind, seq):
        return Event(id=f"ev_{n}", shipment_id="WS-1", client_reference=str(shipment_id), seq=seq, at=None, type=kind)

    with app.app_context():
        conn_id = db.session.scalar(select(Connection.id).where(Connection.account_id == warehouse.tenant.account_id,
                                                                Connection.provider == "rsl"))
        first = events.apply_page(conn_id, [event(1, "started", 2)], "c-1")
        db.session.commit()
        late = events.apply_page(conn_id, [event(2, "withdrawn", 1)], "c-2")  # seq 1 after seq 2: stale
        db.session.commit()
        db.session.remove()
    assert (first.applied, late.applied, late.stale) == (1, 0, 1)
    assert warehouse.order(order["id"])["shipment_status"] == "shipping"
    assert warehouse.events_of(order["id"], "stale_event_ignored")


def test_a_page_writes_its_history_ledger_and_shipments_in_one_statement_each_in_the_order_recorded(warehouse, app):
    """One page of events for three orders (started then shipped, delivered out of order, plus an event of a type
    BOSS does not know): the history rows go in one INSERT, in the order they were recorded (each order's
    shipment_started before its shipped, the unknown event's note first), the ledger rows in one, the shipments'
    changes in one statement per set of changed columns — and every order ends 完了 with its stock deducted."""
    from datetime import date

    from sqlalchemy import event as sa_event

    from boss.warehouse import events
    from boss.warehouse.port import WarehouseEvent as Event

    orders = [warehouse.confirmed_order(quantity=1) for _ in range(3)]
    references = []
    for order in orders:
        warehouse.act(order["id"], "request-shipment")
        references.append(str(warehouse.order(order["id"])["shipment"]["id"]))
    page = [Event(id="ev_odd", shipment_id="WS-9", client_reference=references[0], seq=9, at=None, type="weighed",
                  problem="未知の種類です")]
    for n, reference in enumerate(references):
        page.append(Event(id=f"ev_ship_{n}", shipment_id=f"WS-{n}", client_reference=reference, seq=2, at=None,
                          type="shipped", carrier="yamato", tracking_number=f"1000-2000-300{n}",
                          shipped_on=date(2026, 12, 6)))
        page.append(Event(id=f"ev_start_{n}", shipment_id=f"WS-{n}", client_reference=reference, seq=1, at=None,
                          type="started"))
    statements = []

    def note(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()).upper())

    with app.app_context():
        conn_id = db.session.scalar(select(Connection.id).where(Connection.account_id == warehouse.tenant.account_id,
                                                                Connection.provider == "rsl"))
        before = db.session.scalar(select(func.max(OrderEvent.id)))
        sa_event.listen(db.engine, "before_cursor_execute", note)
        try:
            result = events.apply_page(conn_id, page, "c-1")
            db.session.commit()
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", note)
        written = db.session.execute(select(OrderEvent.order_id, OrderEvent.kind).where(OrderEvent.id > before)
                                     .order_by(OrderEvent.id)).all()
        db.session.remove()
    assert (result.applied, result.ignored) == (6, 1)
    assert len([s for s in statements if s.startswith("INSERT INTO ORDER_EVENTS")]) == 1
    assert len([s for s in statements if s.startswith("INSERT INTO STOCK_MOVEMENTS")]) == 1
    assert len([s for s in statements if s.startswith("UPDATE SHIPMENTS")]) <= 2  # a set of columns per event type
    first = orders[0]["id"]
    assert written[0] == (first, "stale_event_ignored")  # the unknown event, recorded before the page is applied
    for order in orders:
        assert [kind for order_id, kind in written if order_id == order["id"] and kind != "stale_event_ignored"] == [
            "shipment_started", "shipped"]
        done = warehouse.order(order["id"])
        assert (done["status"], done["shipment"]["carrier"]) == ("completed", "yamato")
    assert warehouse.product().stock == 10 - 3


def test_a_page_applies_plain_shipments_as_rows_and_one_with_a_cancel_waiting_as_models_each_right(
        warehouse, app, monkeypatch):
    """One page for three orders: A started and shipped, C started — their events change statuses only, so they are
    applied as rows, no ORM object of their orders made — and B withdrawn while 取下げ後にキャンセル waits, which
    cancels it (tags, history, stock: the models). Each ends as the rules say, A's stock is deducted and B's
    reservation released; a copy of A loaded before the page in the same session is read again, not kept stale."""
    from datetime import date

    from sqlalchemy import inspect

    from boss.orders.models import Order
    from boss.warehouse import events
    from boss.warehouse.port import WarehouseEvent as Event

    def event(name, reference, kind, seq, **fields):
        return Event(id=f"ev_{name}", shipment_id=f"WS-{reference}", client_reference=reference, seq=seq, at=None,
                     type=kind, **fields)

    a, b, c = (warehouse.confirmed_order(quantity=1) for _ in range(3))
    refs = {}
    for order in (a, b, c):
        warehouse.act(order["id"], "request-shipment")
        refs[order["id"]] = str(warehouse.order(order["id"])["shipment"]["id"])
    with app.app_context():
        conn_id = db.session.scalar(select(Connection.id).where(Connection.account_id == warehouse.tenant.account_id,
                                                                Connection.provider == "rsl"))
        events.apply_page(conn_id, [event("b1", refs[b["id"]], "started", 1)], "c-1")
        db.session.commit()
        db.session.remove()
    set_request_state(app, b["id"], "sent")  # the warehouse has it: a withdrawal is asked of it
    asked = warehouse.act(b["id"], "request-withdrawal", {"then_cancel": True, "reason_code": 8})
    assert asked["shipment_status"] == "withdrawal_requested"
    page = [event("a1", refs[a["id"]], "started", 1),
            event("a2", refs[a["id"]], "shipped", 2, carrier="sagawa", tracking_number="5555-6666-7777",
                  shipped_on=date(2026, 12, 6)),
            event("b2", refs[b["id"]], "withdrawn", 2),
            event("c1", refs[c["id"]], "started", 1)]
    before_page = warehouse.order(c["id"])["version"]
    as_models = []
    models = events._models
    monkeypatch.setattr(events, "_models", lambda account_id, ids: as_models.extend(ids) or models(account_id, ids))
    with app.app_context():
        copy_of_a = db.session.get(Order, a["id"])
        assert copy_of_a.status == "awaiting_shipment"
        result = events.apply_page(conn_id, page, "c-2")
        assert inspect(copy_of_a).expired, "A's copy from before the page would hold the old status and version"
        db.session.commit()
        assert (copy_of_a.status, copy_of_a.version) == ("completed", warehouse.order(a["id"])["version"])
        db.session.remove()
    assert (result.applied, result.cancelled_ids) == (4, [b["id"]])
    assert as_models == [int(refs[b["id"]])], "A and C are applied as rows"
    done, cancelled, started = (warehouse.order(order["id"]) for order in (a, b, c))
    assert (done["status"], done["shipment"]["tracking_number"]) == ("completed", "5555-6666-7777")
    assert (cancelled["status"], cancelled["cancel_reason_code"]) == ("cancelled", 8)
    assert (started["status"], started["shipment_status"]) == ("shipping_in_progress", "shipping")
    assert [kind for kind in ("shipment_started", "shipped") if warehouse.events_of(a["id"], kind)] == [
        "shipment_started", "shipped"]
    assert warehouse.events_of(c["id"], "shipment_started") and warehouse.events_of(b["id"], "withdrawn")
    assert (warehouse.product().stock, warehouse.product().reserved) == (10 - 1, 1)  # A shipped, B released, C held
    assert started["version"] == before_page + 1  # R13: the page is one change of C


def test_a_sync_killed_half_way_resumes_after_its_last_page_and_applies_nothing_twice(warehouse, app, monkeypatch):
    from boss.warehouse import connection, sync

    orders = [warehouse.confirmed_order(quantity=1) for _ in range(3)]
    references = []
    for order in orders:
        warehouse.act(order["id"], "request-shipment")
    with app.app_context():  # the sends, in-process (no worker in this test)
        from boss.warehouse.shipping import step
        while step(warehouse.tenant.account_id) is not None:
            pass
        db.session.remove()
    for order in orders:
        references.append(str(warehouse.order(order["id"])["shipment"]["id"]))
        warehouse.advance(references[-1], "started")
    monkeypatch.setattr(sync, "PAGE", 1)
    real_client_for = connection.client_for

    class Crash(Exception):
        pass

    def crashing_client(account_id, max_pace_wait=None):
        client = real_client_for(account_id, max_pace_wait)
        real_events, calls = client.events, []

        def events(after, limit):
            calls.append(after)
            if len(calls) == 3:
                raise Crash("the worker died")
            return real_events(after, limit)

        client.events = events
        return client

    monkeypatch.setattr(connection, "client_for", crashing_client)
    with app.app_context():
        with pytest.raises(Crash):
            sync.sync_account(warehouse.tenant.account_id)
        db.session.remove()
    statuses = [warehouse.order(o["id"])["shipment_status"] for o in orders]
    assert statuses.count("shipping") == 2
    monkeypatch.setattr(connection, "client_for", real_client_for)
    with app.app_context():
        result = sync.sync_account(warehouse.tenant.account_id)
        applied = db.session.scalar(select(func.count()).select_from(WarehouseEvent)
                                    .where(WarehouseEvent.outcome == "applied"))
        started = db.session.scalar(select(func.count()).select_from(OrderEvent)
                                    .where(OrderEvent.kind == "shipment_started"))
        db.session.remove()
    assert result["applied"] == 1
    assert applied == 3 and started == 3
    assert all(warehouse.order(o["id"])["shipment_status"] == "shipping" for o in orders)


def _seen_events(app) -> int:
    with app.app_context():
        seen = db.session.scalar(select(func.count()).select_from(WarehouseEvent))
        db.session.remove()
    return seen


def test_a_worker_killed_during_a_sync_resumes_after_the_last_committed_page_applying_nothing_twice(
        warehouse, worker, app):
    """A real worker running the sync is killed (SIGKILL, its work horse too) after its first page of 500 events was
    committed, while it waits for the second; the run, dispatched again, goes on from the stored cursor: each
    order's 作業開始 and 出荷完了 are applied once, and its stock deducted once."""
    from tests.integration.test_rms_jobs import kill_workers
    from tests.integration.test_warehouse_sync import _periodic_run_ended
    from tests.integration.warehouse_simulator import shipment_request

    orders = [warehouse.confirmed_order(quantity=1) for _ in range(2)]
    for order in orders:
        warehouse.act(order["id"], "request-shipment")
    references = [str(warehouse.wait_sent(order["id"])["shipment"]["id"]) for order in orders]
    wait_for(lambda: _periodic_run_ended(app, warehouse.tenant.account_id), timeout=20,
             message="the periodic run of the new connection to end")
    # The first page: both orders started and 498 of 600 shipments the warehouse made for another system (unknown
    # to BOSS, skipped); the second page: the rest of them and both orders shipped.
    for reference in references:
        warehouse.advance(reference, "started")
    others = [f"other-{n}" for n in range(600)]
    for start in range(0, len(others), 100):
        batch = [shipment_request(reference) for reference in others[start:start + 100]]
        made = warehouse.post("shipments:batch", {"shipments": batch})
        assert made.status_code == 200, made.text
    warehouse.control("advance-many", {"items": [{"client_reference": r, "type": "started"} for r in others]})
    for reference in references:
        warehouse.advance(reference, "shipped", carrier="yamato", tracking_number=f"1000-2000-{reference}")
    warehouse.control("faults", {"function": "events", "times": 2, "http_status": None, "delay_ms": 2000})
    with app.app_context():
        start_cursor = db.session.scalars(select(Connection.cursor)).one()
        db.session.remove()

    response = warehouse.client.post("/api/v1/warehouse/sync", headers=warehouse.tenant.headers())
    job_id = response.json["job_id"]
    wait_for(lambda: _seen_events(app) >= 500, timeout=30, message="the first page to be committed")
    kill_workers(app)

    assert _seen_events(app) == 500
    assert [warehouse.order(o["id"])["status"] for o in orders] == ["shipping_in_progress"] * 2
    assert (warehouse.product().stock, warehouse.product().reserved) == (10, 2)
    with app.app_context():
        committed_cursor = db.session.scalars(select(Connection.cursor)).one()
        db.session.remove()
    assert committed_cursor != start_cursor
    warehouse.control("faults", {"function": "events", "times": 0})

    worker()  # the sweeper dispatches the killed run again; it waits for the dead one's lock to lapse
    job = wait_for(lambda: (j := warehouse.client.get(f"/api/v1/jobs/{job_id}", headers=warehouse.tenant.headers())
                            .json)["state"] in ("finished", "failed") and j,
                   timeout=60, message="the killed run to be done again")
    assert job["state"] == "finished", job
    assert (job["result"]["applied"], job["result"]["duplicate"], job["result"]["unknown"]) == (2, 0, 102)
    assert [warehouse.order(o["id"])["status"] for o in orders] == ["completed"] * 2
    assert (warehouse.product().stock, warehouse.product().reserved) == (8, 0)
    with app.app_context():
        ships = db.session.scalar(select(func.count()).select_from(StockMovement).where(StockMovement.kind == "ship"))
        events = db.session.scalars(select(WarehouseEvent.event_id)).all()
        db.session.remove()
    assert ships == 2 and len(events) == len(set(events)) == 604
    for order in orders:
        assert len(warehouse.events_of(order["id"], "shipment_started")) == 1
        assert len(warehouse.events_of(order["id"], "shipped")) == 1
    # The first page was read once: the run went on from the cursor stored with it.
    reads = [parse_qs(urlsplit(call["path"]).query).get("after") for call in warehouse.calls()
             if call["function"] == "events"]
    assert reads.count([start_cursor]) == 1 and reads.count([committed_cursor]) == 2, reads  # the killed one's too


def test_a_worker_killed_during_a_batch_send_never_makes_a_shipment_twice(warehouse, worker, app):
    from tests.integration.test_rms_jobs import kill_workers

    orders = [warehouse.confirmed_order(quantity=1) for _ in range(3)]
    warehouse.fault_sends(times=1, http_status=None, delay_ms=3000)
    for order in orders:
        warehouse.act(order["id"], "request-shipment")
    wait_for(lambda: _sending(app), timeout=20, message="the batch to be on its way")
    kill_workers(app)
    worker(WAREHOUSE_REDISPATCH_SECONDS="2")
    for order in orders:
        wait_for(lambda: warehouse.order(order["id"])["shipment"]["request_state"] == "sent", timeout=60,
                 message="the resend after the crash")
    shipments = warehouse.shipments()
    assert len(shipments) == 3
    assert len({s["client_reference"] for s in shipments}) == 3


def _sending(app) -> bool:
    """A send step has marked its batch `sending` (committed just before its call to the warehouse)."""
    from boss.models import OutboxMessage

    with app.app_context():
        phases = [m.payload.get("phase") for m in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "warehouse.send_shipment", OutboxMessage.state == "pending"))]
        db.session.remove()
    return "sending" in phases


def test_requests_waiting_for_their_retry_never_hide_a_due_one_from_the_send_lane(warehouse, app, monkeypatch):
    """A step sends the due requests, oldest first, a batch at most, however many earlier ones wait for their retry
    (here more than five batches of 2); with none due it answers when the earliest retry is due."""
    from datetime import timedelta

    from boss.lanes import epoch
    from boss.models import OutboxMessage, utcnow
    from boss.warehouse import shipping

    monkeypatch.setattr(shipping, "BATCH_LIMIT", 2)
    product = warehouse.product()
    added = warehouse.client.post(f"/api/v1/products/{product.id}/stock-adjustments",
                                  json={"delta": 10, "reason": "入荷"}, headers=warehouse.tenant.headers())
    assert added.status_code == 201, added.json
    orders = [warehouse.confirmed_order(quantity=1) for _ in range(13)]
    for order in orders:
        warehouse.act(order["id"], "request-shipment")
    later = utcnow().replace(microsecond=0) + timedelta(hours=1)
    with app.app_context():
        messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == shipping.SEND_KIND)
                                           .order_by(OutboxMessage.id)))
        assert len(messages) == 13
        for n, message in enumerate(messages[:11]):  # waiting for their retry, the first one the longest
            message.run_after = later + timedelta(minutes=10 - n)
        db.session.commit()
        assert shipping.step(warehouse.tenant.account_id) is not None
        db.session.remove()
    sent = [warehouse.order(order["id"])["shipment"]["request_state"] for order in orders]
    assert sent == ["pending"] * 11 + ["sent", "sent"]
    assert len(warehouse.sends()) == 1
    with app.app_context():
        assert shipping.step(warehouse.tenant.account_id) == epoch(later)  # nothing due: the earliest retry
        db.session.remove()
    assert len(warehouse.sends()) == 1


def test_unknown_client_references_are_skipped_without_failing_the_sync(warehouse, worker):
    warehouse.create("no-such-shipment")
    warehouse.advance("no-such-shipment", "started")
    result = warehouse.sync()
    assert result["unknown"] == 1 and result["applied"] == 0



def test_a_422_for_the_address_is_fixed_by_editing_the_recipient_and_resending(warehouse, worker):
    order = warehouse.confirmed_order(recipient={"name": "佐藤 一郎", "postal_code": "15", "address": "東京都渋谷区"})
    warehouse.act(order["id"], "request-shipment")
    failed = warehouse.wait_sent(order["id"])
    assert failed["shipment"]["request_state"] == "failed" and "E102" in failed["shipment"]["reason"]
    refused = warehouse.client.patch(f"/api/v1/orders/{order['id']}", json={"postage": 500},
                                     headers=warehouse.tenant.headers())
    assert refused.status_code == 409 and "postage" in refused.json["error"]["message"]
    edited = warehouse.client.patch(f"/api/v1/orders/{order['id']}",
                                    json={"recipient": {"postal_code": "150-0001", "address": "東京都渋谷区神宮前1-1-1"}},
                                    headers={**warehouse.tenant.headers(), "If-Match": str(failed["version"])})
    assert edited.status_code == 200, edited.json
    assert edited.json["recipient"]["postal_code"] == "150-0001"
    [change] = warehouse.events_of(order["id"], "edited")
    assert "送付先 郵便番号: 15 → 150-0001" in change
    warehouse.act(order["id"], "retry-shipping-request")
    sent = wait_for(lambda: (o := warehouse.order(order["id"]))["shipment"]["request_state"] == "sent" and o,
                    timeout=30, message="the resend")
    [at_warehouse] = warehouse.shipments()
    assert at_warehouse["client_reference"] == str(sent["shipment"]["id"])


def test_a_401_marks_the_connection_failed_and_the_request_waits_for_it_without_using_its_tries(warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.fault_sends(times=1, http_status=401)
    warehouse.act(order["id"], "request-shipment")

    def failing():
        state = warehouse.client.get("/api/v1/warehouse", headers=warehouse.tenant.headers()).json
        return state if state["error"] else None

    state = wait_for(failing, timeout=30, message="倉庫接続エラー")
    assert state["connected"] is True  # an auth failure does not disconnect (warehouse.md §1)
    counts = warehouse.client.get("/api/v1/orders/counts", headers=warehouse.tenant.headers()).json
    assert counts["attention"] >= 1
    assert warehouse.order(order["id"])["shipment"]["request_state"] == "pending"
    warehouse.connect()  # the admin sets the key again: the waiting request goes at once
    sent = wait_for(lambda: (o := warehouse.order(order["id"]))["shipment"]["request_state"] == "sent" and o,
                    timeout=30, message="the request once the connection works")
    assert warehouse.events_of(order["id"], "shipment_failed") == []
    assert sent["shipment"]["warehouse_id"]
