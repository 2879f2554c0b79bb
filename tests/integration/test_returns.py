"""Returns end to end (R10, R11, warehouse.md §4): a cancel of 完了 with and without 荷物の引き戻し, the warehouse's
answers, its `return_inspected` restocking only the sellable units, a `shipped` on an order cancelled here, and the
demo's auto mode doing the whole path by itself — our client over real HTTP against the simulator, real Redis
and real rq workers, on whichever database the suite runs."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.models import StockMovement
from tests.conftest import wait_for
from tests.integration.test_warehouse_flow import Warehouse, warehouse  # noqa: F401  (the fixture)


def tags(order: dict) -> set[str]:
    return {tag["code"] for tag in order["tags"]}


def cancellations(warehouse: Warehouse) -> list[dict]:
    return [call for call in warehouse.calls() if call["function"] == "cancellation"]


def completed(warehouse: Warehouse, quantity: int = 3) -> tuple[dict, str]:
    """An order the warehouse shipped (完了 + 出荷完了, stock deducted) and its client_reference."""
    order = warehouse.confirmed_order(quantity=quantity)
    warehouse.act(order["id"], "request-shipment")
    reference = str(warehouse.wait_sent(order["id"])["shipment"]["id"])
    warehouse.advance(reference, "shipped")
    warehouse.sync()
    done = warehouse.order(order["id"])
    assert (done["status"], done["shipment_status"]) == ("completed", "shipped")
    return done, reference


def ledger(warehouse: Warehouse, order_id: int) -> list[tuple[str, int]]:
    with warehouse.app.app_context():
        rows = db.session.execute(select(StockMovement.kind, StockMovement.delta_stock)
                                  .where(StockMovement.order_id == order_id).order_by(StockMovement.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_r10_a_cancel_of_completed_without_retrieval_opens_a_return_moves_no_stock_and_tells_no_warehouse(
        warehouse, worker):
    order, _ = completed(warehouse)
    cancelled = warehouse.act(order["id"], "cancel", {"reason_code": 1})
    assert cancelled["status"] == "cancelled" and cancelled["warehouse_notice"] == "none"
    assert cancelled["return"]["status"] == "awaiting_return"
    assert cancelled["return"]["lines"] == [{"sku": "SKU-1", "quantity": 3, "returned": None, "sellable": None}]
    assert "warehouse_notice_pending" not in tags(cancelled)
    assert warehouse.product().stock == 7
    assert ledger(warehouse, order["id"]) == [("reserve", 0), ("ship", -3)]
    warehouse.sync()
    assert cancellations(warehouse) == []


@pytest.mark.parametrize("answer,notice,tag", [
    ("cancellation_acknowledged", "acknowledged", None),
    ("cancellation_refused", "refused", "warehouse_cancel_refused"),
])
def test_r11_a_cancel_of_completed_with_retrieval_is_told_to_the_warehouse_and_its_answer_ends_the_wait(
        warehouse, worker, answer, notice, tag):
    order, reference = completed(warehouse)
    cancelled = warehouse.act(order["id"], "cancel", {"reason_code": 1, "retrieve_parcel": True})
    assert cancelled["warehouse_notice"] == "pending" and "warehouse_notice_pending" in tags(cancelled)
    assert cancelled["return"]["status"] == "awaiting_return"
    [sent] = wait_for(lambda: cancellations(warehouse), timeout=30, message="the cancellation to be sent")
    assert sent["body"]["retrieve_parcel"] is True
    warehouse.advance(reference, answer, **({"reason": "配達済みです"} if tag else {}))
    warehouse.sync()
    answered = warehouse.order(order["id"])
    assert answered["warehouse_notice"] == notice
    assert "warehouse_notice_pending" not in tags(answered)
    assert (tag in tags(answered)) if tag else "warehouse_cancel_refused" not in tags(answered)
    assert answered["return"]["status"] == "awaiting_return"  # the return waits for the parcel either way
    assert warehouse.product().stock == 7


def test_return_inspected_restocks_only_the_sellable_units_once_even_when_delivered_again(warehouse, worker):
    order, reference = completed(warehouse)
    warehouse.act(order["id"], "cancel", {"retrieve_parcel": True})
    wait_for(lambda: cancellations(warehouse), timeout=30, message="the cancellation to be sent")
    warehouse.advance(reference, "cancellation_acknowledged")
    warehouse.advance(reference, "return_inspected", lines=[{"sku": "SKU-1", "returned": 3, "sellable": 2}])
    assert warehouse.sync()["applied"] == 2
    inspected = warehouse.order(order["id"])
    assert inspected["return"]["status"] == "inspected" and inspected["return"]["inspected_at"]
    assert inspected["return"]["lines"] == [{"sku": "SKU-1", "quantity": 3, "returned": 3, "sellable": 2}]
    assert warehouse.product().stock == 9
    assert ledger(warehouse, order["id"])[-1] == ("return", 2)
    assert len(warehouse.events_of(order["id"], "return_inspected")) == 1

    warehouse.control("redeliver", {})
    result = warehouse.sync()
    assert result["applied"] == 0 and result["duplicate"] == 3
    assert warehouse.product().stock == 9
    assert [kind for kind, _ in ledger(warehouse, order["id"])].count("return") == 1


def test_a_return_inspected_that_does_not_add_up_is_recorded_and_changes_nothing(warehouse, worker):
    order, reference = completed(warehouse)
    warehouse.act(order["id"], "cancel", {"retrieve_parcel": True})
    wait_for(lambda: cancellations(warehouse), timeout=30, message="the cancellation to be sent")
    warehouse.advance(reference, "cancellation_acknowledged")
    warehouse.advance(reference, "return_inspected", lines=[{"sku": "SKU-1", "returned": 5, "sellable": 5}])
    result = warehouse.sync()
    assert result["ignored"] == 1
    after = warehouse.order(order["id"])
    assert after["return"]["status"] == "awaiting_return" and after["return"]["lines"][0]["returned"] is None
    assert warehouse.product().stock == 7
    [why] = warehouse.events_of(order["id"], "stale_event_ignored")
    assert "return_inspected" in why and "出荷数（3）" in why


def test_a_shipped_on_an_order_cancelled_here_deducts_stock_raises_cancel_refused_and_opens_a_return(
        warehouse, worker):
    order = warehouse.confirmed_order(quantity=3)
    warehouse.act(order["id"], "request-shipment")
    reference = str(warehouse.wait_sent(order["id"])["shipment"]["id"])
    cancelled = warehouse.act(order["id"], "cancel", {})
    assert cancelled["return"] is None
    wait_for(lambda: cancellations(warehouse), timeout=30, message="the cancellation to be sent")
    warehouse.advance(reference, "shipped")
    warehouse.sync()
    shipped = warehouse.order(order["id"])
    assert (shipped["status"], shipped["shipment_status"]) == ("cancelled", "shipped")
    assert "warehouse_cancel_refused" in tags(shipped)
    assert shipped["return"]["status"] == "awaiting_return"
    assert shipped["return"]["lines"] == [{"sku": "SKU-1", "quantity": 3, "returned": None, "sellable": None}]
    assert warehouse.product().stock == 7
    [opened] = warehouse.events_of(order["id"], "return_opened")
    assert "キャンセル後に倉庫が出荷した" in opened


def test_return_inspected_for_an_order_with_no_return_opens_and_inspects_one_in_one_step(warehouse, worker):
    order, reference = completed(warehouse, quantity=2)
    shipment_id = warehouse.order(order["id"])["shipment"]["warehouse_id"]
    # The parcel came back without a cancel here (refused at the door): the warehouse reports the inspection.
    warehouse.post(f"shipments/{shipment_id}/cancellation", {"retrieve_parcel": True, "reason": "受取拒否"})
    warehouse.advance(reference, "cancellation_acknowledged")
    warehouse.advance(reference, "return_inspected", lines=[{"sku": "SKU-1", "returned": 2, "sellable": 1}])
    warehouse.sync()
    after = warehouse.order(order["id"])
    assert after["status"] == "completed"
    assert after["return"]["status"] == "inspected"
    assert after["return"]["lines"] == [{"sku": "SKU-1", "quantity": 2, "returned": 2, "sellable": 1}]
    assert warehouse.product().stock == 9
    assert len(warehouse.events_of(order["id"], "return_opened")) == 1
    assert len(warehouse.events_of(order["id"], "return_inspected")) == 1


def test_in_auto_mode_a_retrieval_is_acknowledged_and_the_parcel_inspected_by_itself(warehouse, worker):
    warehouse.control("mode", {"auto": True, "start_after_s": 0.2, "ship_after_s": 0.4})
    order = warehouse.confirmed_order(quantity=3)
    warehouse.act(order["id"], "request-shipment")
    wait_for(lambda: warehouse.sync() and warehouse.order(order["id"])["status"] == "completed", timeout=30,
             message="the order shipped by auto mode")
    assert warehouse.product().stock == 7
    warehouse.act(order["id"], "cancel", {"retrieve_parcel": True})

    def inspected():
        warehouse.sync()
        found = warehouse.order(order["id"])
        return found if found["return"]["status"] == "inspected" else None

    done = wait_for(inspected, timeout=30, message="the return inspected by auto mode")
    assert done["warehouse_notice"] == "acknowledged" and "warehouse_notice_pending" not in tags(done)
    assert done["return"]["lines"] == [{"sku": "SKU-1", "quantity": 3, "returned": 3, "sellable": 2}]
    assert warehouse.product().stock == 9
