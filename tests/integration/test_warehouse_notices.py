"""Withdrawals, cancel notices (R11), 取下げ後にキャンセル and auto-request (warehouse.md §4), end to end: our client
over real HTTP against the simulator, real Redis and real rq workers."""
from __future__ import annotations

import pytest

from boss.extensions import db
from boss.models import Shop
from tests.conftest import wait_for
from tests.integration.test_warehouse_flow import Warehouse, warehouse  # noqa: F401  (the fixture)


def tags(order: dict) -> set[str]:
    return {tag["code"] for tag in order["tags"]}


def shipping(warehouse: Warehouse) -> tuple[dict, str]:
    """An order the warehouse is working on (出荷作業中, 出荷中) and its client_reference."""
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    reference = str(warehouse.wait_sent(order["id"])["shipment"]["id"])
    warehouse.advance(reference, "started")
    warehouse.sync()
    return warehouse.order(order["id"]), reference


def cancellations(warehouse: Warehouse) -> list[dict]:
    return [call for call in warehouse.calls() if call["function"] == "cancellation"]


def test_r1_started_refuses_cancel_then_withdrawal_withdrawn_not_shippable_and_cancel(warehouse, worker):
    order, reference = shipping(warehouse)
    refused = warehouse.act(order["id"], "cancel", {}, expect=409)
    assert "出荷取下げ" in refused["error"]["message"]
    asked = warehouse.act(order["id"], "request-withdrawal", {})
    assert asked["shipment_status"] == "withdrawal_requested" and asked["can_request_withdrawal"] is False
    assert warehouse.act(order["id"], "cancel", {}, expect=409)["error"]["code"] == "cannot_cancel"  # waiting
    wait_for(lambda: any(c["function"] == "withdrawal" for c in warehouse.calls()), timeout=30,
             message="the withdrawal to reach the warehouse")
    warehouse.advance(reference, "withdrawn")
    warehouse.sync()
    withdrawn = warehouse.order(order["id"])
    assert (withdrawn["status"], withdrawn["shipment_status"]) == ("shipping_in_progress", "not_shippable")
    assert warehouse.product().reserved == 0
    cancelled = warehouse.act(order["id"], "cancel", {})
    assert cancelled["status"] == "cancelled"
    assert "warehouse_notice_pending" not in tags(cancelled)  # nothing left at the warehouse to cancel
    assert cancellations(warehouse) == []


@pytest.mark.parametrize("answer,notice,tag", [
    ("cancellation_acknowledged", "acknowledged", None),
    ("cancellation_refused", "refused", "warehouse_cancel_refused"),
])
def test_r11_a_cancel_in_awaiting_shipment_is_told_to_the_warehouse_and_its_answer_ends_the_wait(
        warehouse, worker, answer, notice, tag):
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    reference = str(warehouse.wait_sent(order["id"])["shipment"]["id"])
    cancelled = warehouse.act(order["id"], "cancel", {"reason_code": 1})
    assert cancelled["status"] == "cancelled" and cancelled["warehouse_notice"] == "pending"
    assert "warehouse_notice_pending" in tags(cancelled)
    assert warehouse.product().reserved == 0
    [sent] = wait_for(lambda: cancellations(warehouse), timeout=30, message="the cancellation to be sent")
    assert sent["body"] == {"retrieve_parcel": False, "reason": "購入者都合（キャンセル）"}
    warehouse.advance(reference, answer, **({"reason": "既に出荷済みです"} if tag else {}))
    warehouse.sync()
    answered = warehouse.order(order["id"])
    assert answered["warehouse_notice"] == notice
    assert "warehouse_notice_pending" not in tags(answered)
    assert (tag in tags(answered)) if tag else not ({"warehouse_cancel_refused"} & tags(answered))
    assert answered["status"] == "cancelled"


def test_a_withdrawal_of_a_request_never_sent_is_at_once_and_nothing_reaches_the_warehouse(warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.fault_sends(times=1, http_status=None, error_code="E102")
    warehouse.act(order["id"], "request-shipment")
    assert warehouse.wait_sent(order["id"])["shipment"]["request_state"] == "failed"
    withdrawn = warehouse.act(order["id"], "request-withdrawal", {})
    assert (withdrawn["status"], withdrawn["shipment_status"]) == ("shipping_in_progress", "not_shippable")
    assert "shipping_request_error" not in tags(withdrawn)
    assert warehouse.product().reserved == 0
    assert [c["function"] for c in warehouse.calls() if c["function"] != "create"] == []


def test_cancel_after_withdrawal_cancels_once_withdrawn_on_the_users_behalf(warehouse, worker):
    order, reference = shipping(warehouse)
    asked = warehouse.act(order["id"], "request-withdrawal", {"then_cancel": True, "reason_code": 8})
    assert asked["status"] == "shipping_in_progress" and asked["shipment_status"] == "withdrawal_requested"
    wait_for(lambda: any(c["function"] == "withdrawal" for c in warehouse.calls()), timeout=30,
             message="the withdrawal to be sent")
    warehouse.advance(reference, "withdrawn")
    warehouse.sync()
    cancelled = warehouse.order(order["id"])
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason_code"] == 8
    events = warehouse.client.get(f"/api/v1/orders/{order['id']}/events", headers=warehouse.tenant.headers()).json
    [cancel_event] = [e for e in events["items"] if e["kind"] == "cancelled"]
    assert cancel_event["actor"]["type"] == "system" and "取下げ後にキャンセル" in cancel_event["actor"]["name"]
    assert cancel_event["from_status"] == "shipping_in_progress"
    assert warehouse.product().reserved == 0 and warehouse.product().stock == 10


def test_cancel_after_withdrawal_is_dropped_when_the_warehouse_refuses_the_withdrawal(warehouse, worker):
    order, reference = shipping(warehouse)
    warehouse.act(order["id"], "request-withdrawal", {"then_cancel": True})
    wait_for(lambda: any(c["function"] == "withdrawal" for c in warehouse.calls()), timeout=30,
             message="the withdrawal to be sent")
    warehouse.advance(reference, "withdrawal_refused", reason="梱包済みです")
    warehouse.sync()
    kept = warehouse.order(order["id"])
    assert (kept["status"], kept["shipment_status"]) == ("shipping_in_progress", "shipping")
    assert "warehouse_cancel_refused" in tags(kept)
    assert any("梱包済みです" in text for text in warehouse.events_of(order["id"], "withdrawal_refused"))


def test_cancel_after_withdrawal_is_refused_in_awaiting_shipment_where_a_cancel_is_direct(warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    warehouse.wait_sent(order["id"])
    refused = warehouse.act(order["id"], "request-withdrawal", {"then_cancel": True}, expect=409)
    assert "そのままキャンセル" in refused["error"]["message"]


def test_a_notice_that_fails_finally_raises_warehouse_notice_error_and_a_resend_clears_it(warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    warehouse.wait_sent(order["id"])
    warehouse.control("faults", {"function": "cancellation", "times": 5, "http_status": 503})
    warehouse.act(order["id"], "cancel", {})
    failed = wait_for(lambda: "warehouse_notice_error" in tags(o := warehouse.order(order["id"])) and o,
                      timeout=60, message="five tries of the cancellation")
    assert "warehouse_notice_pending" in tags(failed)  # still waiting for an answer that never came
    assert len(warehouse.events_of(order["id"], "notice_failed")) == 5
    warehouse.act(order["id"], "retry-warehouse-notice")
    cleared = wait_for(lambda: "warehouse_notice_error" not in tags(o := warehouse.order(order["id"])) and o,
                       timeout=30, message="the resend")
    assert "warehouse_notice_pending" in tags(cleared)
    assert [c["http_status"] for c in cancellations(warehouse)][-1] == 202


def test_auto_request_requests_a_confirmed_order_or_tags_it_insufficient_stock(warehouse, worker, app):
    with app.app_context():
        db.session.get(Shop, warehouse.tenant.shop_id).auto_request_shipment = True
        db.session.commit()
        db.session.remove()
    try:
        requested = warehouse.confirmed_order(quantity=4)
        assert requested["status"] == "awaiting_shipment"
        warehouse.wait_sent(requested["id"])
        short = warehouse.confirmed_order(quantity=7)  # 6 left
        assert short["status"] == "confirmed" and "insufficient_stock" in tags(short)
        assert warehouse.product().reserved == 4
        warehouse.client.post(f"/api/v1/products/{warehouse.product().id}/stock-adjustments",
                              json={"delta": 5, "reason": "入荷"}, headers=warehouse.tenant.headers())
        later = warehouse.act(short["id"], "request-shipment")
        assert later["status"] == "awaiting_shipment" and "insufficient_stock" not in tags(later)
    finally:
        with app.app_context():
            db.session.get(Shop, warehouse.tenant.shop_id).auto_request_shipment = False
            db.session.commit()
            db.session.remove()


def test_a_shipped_that_overtakes_the_cancel_deducts_stock_and_raises_warehouse_cancel_refused(warehouse, worker):
    order = warehouse.confirmed_order(quantity=3)
    warehouse.act(order["id"], "request-shipment")
    reference = str(warehouse.wait_sent(order["id"])["shipment"]["id"])
    warehouse.act(order["id"], "cancel", {})
    assert warehouse.product().reserved == 0  # released by the cancel
    wait_for(lambda: cancellations(warehouse), timeout=30, message="the cancellation to be sent")
    warehouse.advance(reference, "shipped", tracking_number="5555-6666-7777")
    warehouse.sync()
    shipped = warehouse.order(order["id"])
    assert shipped["status"] == "cancelled" and shipped["shipment_status"] == "shipped"
    assert "warehouse_cancel_refused" in tags(shipped)
    product = warehouse.product()
    assert (product.stock, product.reserved) == (7, 0)  # the parcel left: its units are gone


def test_the_request_carries_the_sender_cod_amount_options_delivery_pickup_and_drop_off(warehouse, worker, app):
    from boss.orders.models import Order

    with app.app_context():
        shop = db.session.get(Shop, warehouse.tenant.shop_id)
        shop.sender = {"postal_code": "100-0001", "address": "東京都千代田区千代田1-1", "phone": "03-0000-0000"}
        db.session.commit()
        db.session.remove()
    order = warehouse.confirmed_order(payment_method="代金引換", delivery_date="2026-12-20",
                                      delivery_time_slot="14-16", remarks="のし紙をお願いします", postage=600)
    with app.app_context():
        row = db.session.get(Order, order["id"])
        row.pickup = {"kind": "convenience_store", "store_code": "012345", "store_name": "見本店", "address": "東京都見本区1-1"}
        row.drop_off = "玄関前"
        row.lines[0].options = "のし:あり\nラッピング:赤"
        db.session.commit()
        billed = row.billed
        db.session.remove()
    warehouse.act(order["id"], "request-shipment")
    warehouse.wait_sent(order["id"])
    [call] = warehouse.sends()
    sent = call["body"]
    assert sent["sender"] == {"name": "テスト商店の楽天店", "postal_code": "100-0001", "address": "東京都千代田区千代田1-1",
                              "phone": "03-0000-0000"}
    assert sent["cod_amount"] == billed and billed > 0
    assert sent["delivery_date"] == "2026-12-20" and sent["delivery_time_slot"] == "14-16"
    assert sent["remarks"] == "のし紙をお願いします" and sent["drop_off"] == "玄関前"
    assert sent["pickup"] == {"kind": "convenience_store", "store_code": "012345", "store_name": "見本店",
                              "address": "東京都見本区1-1"}
    assert sent["lines"] == [{"sku": "SKU-1", "quantity": 2, "options": "のし:あり\nラッピング:赤"}]
    assert sent["order_number"] == order["mall_order_number"] and sent["shop_code"] == str(warehouse.tenant.shop_id)


def test_notices_waiting_for_their_retry_never_hide_a_due_one_from_the_notice_lane(warehouse, app, monkeypatch):
    """As the send lane: a step reads the due notices only, so one due is told even behind more waiting for their
    retry than a step reads (here 1); with none due, the step answers when the earliest retry is due."""
    from datetime import timedelta

    from sqlalchemy import select

    from boss.extensions import db
    from boss.lanes import epoch
    from boss.models import OutboxMessage, utcnow
    from boss.warehouse import notices, shipping

    monkeypatch.setattr(notices, "READ_AT_ONCE", 1)
    orders = [warehouse.confirmed_order(quantity=1) for _ in range(3)]
    for order in orders:
        warehouse.act(order["id"], "request-shipment")
    with app.app_context():
        shipping.step(warehouse.tenant.account_id)  # sent, in one batch: the warehouse knows them
        db.session.remove()
    for order in orders:
        assert warehouse.act(order["id"], "cancel", {"reason_code": 1})["warehouse_notice"] == "pending"
    later = utcnow().replace(microsecond=0) + timedelta(hours=1)
    with app.app_context():
        waiting = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == notices.KIND)
                                          .order_by(OutboxMessage.id)))
        assert len(waiting) == 3
        for n, message in enumerate(waiting[:2]):
            message.run_after = later + timedelta(minutes=5 - n)
        db.session.commit()
        db.session.remove()

    def told() -> list[dict]:  # a step, as the lane runs it (the pacer may first put it off: the batch went just now)
        with app.app_context():
            notices.step(warehouse.tenant.account_id)
            db.session.remove()
        return cancellations(warehouse)

    [call] = wait_for(told, timeout=10, message="the due notice to be told")
    assert call["path"].endswith(warehouse.order(orders[2]["id"])["shipment"]["warehouse_id"] + "/cancellation")
    with app.app_context():
        assert notices.step(warehouse.tenant.account_id) == epoch(later + timedelta(minutes=4))  # the earliest retry
        db.session.remove()
    assert len(cancellations(warehouse)) == 1
