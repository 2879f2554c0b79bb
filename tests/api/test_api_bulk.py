"""POST /api/v1/orders/bulk: cancel or delete many orders; per order what was done and what was refused and why
(orders.md §6). Up to 500 orders answer in the request; more run as a job."""
from __future__ import annotations

import pytest

from tests.api.api_helpers import API, counts, error_of, events, get_order
from tests.factories import create_order, create_product, map_item, set_state


def _bulk(client, tenant, headers=None, **body):
    return client.post(f"{API}/orders/bulk", json=body, headers={**tenant.headers(), **(headers or {})})


def _items(response) -> dict:
    assert response.status_code == 200, response.json
    return {item["order_id"]: item for item in response.json["result"]["items"]}


def test_bulk_cancel_reports_per_order_what_was_done_and_what_was_refused_and_why(app, client, tenant):
    open_order = create_order(client, tenant, number="B-OPEN")
    cancelled = create_order(client, tenant, number="B-CANCELLED")
    client.post(f"{API}/orders/{cancelled['id']}/cancel", json={}, headers=tenant.headers())
    shipping = create_order(client, tenant, number="B-SHIPPING")
    set_state(app, shipping["id"], "shipping_in_progress", "shipping")
    deleted = create_order(client, tenant, number="B-DELETED")
    client.delete(f"{API}/orders/{deleted['id']}", headers=tenant.headers())

    ids = [open_order["id"], cancelled["id"], shipping["id"], deleted["id"]]
    response = _bulk(client, tenant, action="cancel", order_ids=ids)
    items = _items(response)
    assert [i["order_id"] for i in response.json["result"]["items"]] == ids
    assert (response.json["result"]["total"], response.json["result"]["done"],
            response.json["result"]["refused"]) == (4, 1, 3)

    assert items[open_order["id"]]["done"] is True
    assert items[open_order["id"]]["mall_order_number"] == "B-OPEN"
    assert (items[cancelled["id"]]["done"], items[cancelled["id"]]["code"]) == (False, "cannot_cancel")
    assert items[cancelled["id"]]["message"] == "キャンセル済みの注文です。キャンセルは取り消せません。"
    assert items[shipping["id"]]["message"] == (
        "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。")
    assert items[deleted["id"]]["message"] == "削除済みの注文は操作できません。"

    assert get_order(client, tenant, open_order["id"])["status"] == "cancelled"
    assert get_order(client, tenant, shipping["id"])["status"] == "shipping_in_progress"
    assert get_order(client, tenant, deleted["id"])["status"] == "awaiting_confirmation"


def test_bulk_delete_refuses_mapped_and_confirmed_orders_with_the_reason(app, client, tenant):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    unmapped_line = [{"mall_item_id": "item-2", "name": "番茶", "quantity": 1, "unit_price": 100}]
    free = create_order(client, tenant, number="D-FREE", lines=unmapped_line)
    mapped = create_order(client, tenant, number="D-MAPPED")
    confirmed = create_order(client, tenant, number="D-CONFIRMED", lines=unmapped_line)
    set_state(app, confirmed["id"], "confirmed")

    items = _items(_bulk(client, tenant, action="delete", order_ids=[free["id"], mapped["id"], confirmed["id"]]))
    assert items[free["id"]]["done"] is True
    assert (items[mapped["id"]]["done"], items[mapped["id"]]["code"]) == (False, "cannot_delete")
    assert items[mapped["id"]]["message"] == "商品がマッピングされているため削除できません（item-1）。キャンセルをご利用ください。"
    assert items[confirmed["id"]]["message"] == "確認待の注文のみ削除できます。キャンセルをご利用ください。"
    assert get_order(client, tenant, free["id"])["deleted"] is True
    assert get_order(client, tenant, mapped["id"])["deleted"] is False
    assert get_order(client, tenant, confirmed["id"])["deleted"] is False


def test_bulk_by_filter_acts_on_the_matching_orders_only(client, tenant):
    waiting = [create_order(client, tenant, number=f"BF-{i}") for i in range(3)]
    other = create_order(client, tenant, number="BF-CANCELLED")
    client.post(f"{API}/orders/{other['id']}/cancel", json={}, headers=tenant.headers())
    response = _bulk(client, tenant, action="delete", filter={"status": "awaiting_confirmation"})
    items = _items(response)
    assert set(items) == {o["id"] for o in waiting}
    assert all(item["done"] for item in items.values())
    now = counts(client, tenant)
    assert (now["awaiting_confirmation"], now["cancelled"], now["all"]) == (0, 1, 1)


def test_bulk_by_a_q_filter_cancels_only_the_found_orders(client, tenant):
    yamada = create_order(client, tenant, number="BQ-1", buyer={"name": "山田 花子"})
    sato = create_order(client, tenant, number="BQ-2", buyer={"name": "佐藤 一郎"})
    items = _items(_bulk(client, tenant, action="cancel", filter={"q": "山田"}))
    assert list(items) == [yamada["id"]]
    assert get_order(client, tenant, sato["id"])["status"] == "awaiting_confirmation"


def test_bulk_cancel_uses_the_given_reason_code(client, tenant):
    order = create_order(client, tenant)
    _items(_bulk(client, tenant, action="cancel", order_ids=[order["id"]], reason_code=8))
    assert get_order(client, tenant, order["id"])["cancel_reason_code"] == 8


def test_an_order_listed_twice_is_acted_on_once(client, tenant):
    order = create_order(client, tenant)
    response = _bulk(client, tenant, action="cancel", order_ids=[order["id"], order["id"]])
    assert response.json["result"]["total"] == 1
    assert [e["kind"] for e in events(client, tenant, order["id"])].count("cancelled") == 1


def test_an_order_cancelled_earlier_is_reported_as_refused_not_as_done(client, tenant):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    item = _items(_bulk(client, tenant, action="cancel", order_ids=[order["id"]]))[order["id"]]
    assert (item["done"], item["code"]) == (False, "cannot_cancel")


def test_bulk_refusals_are_in_english_when_asked(client, tenant):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    fresh = create_order(client, tenant)
    items = _items(_bulk(client, tenant, headers={"Accept-Language": "en"}, action="cancel",
                         order_ids=[order["id"], fresh["id"]]))
    assert items[order["id"]]["message"] == "This order is already cancelled. A cancel cannot be undone."
    assert items[fresh["id"]]["done"] is True


def test_up_to_500_orders_are_answered_in_the_request(client, tenant):
    real = [create_order(client, tenant)["id"] for _ in range(3)]
    missing = list(range(100_000, 100_497))
    response = _bulk(client, tenant, action="cancel", order_ids=real + missing)
    items = _items(response)
    assert len(items) == 500
    assert all(items[i]["done"] for i in real)
    assert all(items[i]["code"] == "not_found" and items[i]["mall_order_number"] is None for i in missing)


def test_more_than_500_orders_start_a_job(client, tenant):
    order = create_order(client, tenant)
    response = _bulk(client, tenant, action="cancel", order_ids=[order["id"], *range(100_000, 100_500)])
    assert response.status_code == 202, response.json
    assert response.json["count"] == 501
    job = client.get(f"{API}/jobs/{response.json['job_id']}", headers=tenant.headers())
    assert job.status_code == 200
    assert job.json["kind"] == "bulk_cancel"
    assert job.json["state"] in ("queued", "started", "finished")


@pytest.mark.parametrize("body,field", [
    ({"action": "archive", "order_ids": [1]}, "action"),
    ({"order_ids": [1]}, "action"),
    ({"action": "cancel"}, "order_ids"),
    ({"action": "cancel", "order_ids": ["1"]}, "order_ids"),
    ({"action": "cancel", "order_ids": [1], "reason_code": 7}, "reason_code"),
    ({"action": "cancel", "order_ids": list(range(1, 10_002))}, "order_ids"),
])
def test_an_invalid_bulk_request_answers_422_and_changes_nothing(client, tenant, body, field):
    order = create_order(client, tenant)
    error = error_of(_bulk(client, tenant, **body), 422, "validation_error")
    assert field in error["fields"], error
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"


def test_a_misspelt_filter_condition_is_refused_instead_of_selecting_every_order(client, tenant):
    orders = [create_order(client, tenant) for _ in range(2)]
    error = error_of(_bulk(client, tenant, action="cancel", filter={"stauts": "awaiting_confirmation"}),
                     422, "validation_error")
    assert any("stauts" in field for field in error["fields"])
    assert all(get_order(client, tenant, o["id"])["status"] == "awaiting_confirmation" for o in orders)


def test_a_filter_with_an_invalid_value_is_refused(client, tenant):
    order = create_order(client, tenant)
    error_of(_bulk(client, tenant, action="cancel", filter={"status": "gone"}), 422, "validation_error")
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"


def test_a_filter_with_another_accounts_tag_answers_404(client, tenant, other_tenant):
    order = create_order(client, tenant)
    theirs = client.post(f"{API}/tags", json={"name": "よそ"}, headers=other_tenant.headers()).json
    error_of(_bulk(client, tenant, action="cancel", filter={"tag": theirs["id"]}), 404, "not_found")
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"
