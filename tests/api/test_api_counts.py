"""GET /api/v1/orders/counts: the tab counts and 要対応 over not-deleted orders (R8, orders.md §6)."""
from __future__ import annotations

import pytest

from tests.api.api_helpers import API, counts, create_tag, list_numbers, raise_system_tag, system_tag_id
from tests.factories import create_order, create_product, map_item, set_state

KEYS = {"awaiting_confirmation", "confirmed", "awaiting_shipment", "shipping_in_progress", "completed", "cancelled",
        "all", "attention"}


def test_counts_of_an_account_without_orders_are_all_zero(client, tenant):
    assert counts(client, tenant) == {key: 0 for key in KEYS}


def test_counts_follow_registration_cancel_delete_and_confirm(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    orders = [create_order(client, tenant) for _ in range(3)]
    unmapped = create_order(client, tenant, lines=[{"mall_item_id": "item-x", "name": "未登録", "quantity": 1,
                                                    "unit_price": 1}])
    assert counts(client, tenant) == {**dict.fromkeys(KEYS, 0), "awaiting_confirmation": 4, "all": 4}

    client.post(f"{API}/orders/{orders[0]['id']}/cancel", json={}, headers=tenant.headers())
    now = counts(client, tenant)
    assert (now["awaiting_confirmation"], now["cancelled"], now["all"]) == (3, 1, 4)

    client.delete(f"{API}/orders/{unmapped['id']}", headers=tenant.headers())
    now = counts(client, tenant)
    assert (now["awaiting_confirmation"], now["cancelled"], now["all"]) == (2, 1, 3)

    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    assert client.post(f"{API}/orders/{orders[1]['id']}/confirm", headers=tenant.headers()).status_code == 200
    now = counts(client, tenant)
    assert (now["awaiting_confirmation"], now["confirmed"], now["cancelled"], now["all"]) == (1, 1, 1, 3)

    client.post(f"{API}/orders/{orders[1]['id']}/cancel", json={}, headers=tenant.headers())
    now = counts(client, tenant)
    assert (now["awaiting_confirmation"], now["confirmed"], now["cancelled"], now["all"]) == (1, 0, 2, 3)


def test_a_refused_action_changes_no_count(client, tenant):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    before = counts(client, tenant)
    assert client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers()).status_code == 409
    assert client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers()).status_code == 409
    assert client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()).status_code == 409
    assert counts(client, tenant) == before


def test_counts_agree_with_the_list_for_every_status(app, client, tenant):
    plan = [("awaiting_confirmation", None)] * 3 + [("confirmed", None)] * 2 + [("awaiting_shipment", "requested"),
            ("shipping_in_progress", "shipping"), ("completed", "shipped"), ("completed", "shipped")]
    for status, shipment in plan:
        order = create_order(client, tenant)
        if status != "awaiting_confirmation":
            set_state(app, order["id"], status, shipment)
    cancelled = create_order(client, tenant)
    client.post(f"{API}/orders/{cancelled['id']}/cancel", json={}, headers=tenant.headers())
    deleted = create_order(client, tenant)
    client.delete(f"{API}/orders/{deleted['id']}", headers=tenant.headers())

    now = counts(client, tenant)
    for status in KEYS - {"all", "attention"}:
        assert now[status] == len(list_numbers(client, tenant, status=status)), status
    assert now["all"] == len(list_numbers(client, tenant)) == len(plan) + 1
    assert (now["awaiting_confirmation"], now["confirmed"], now["completed"], now["cancelled"]) == (3, 2, 2, 1)


def test_counts_can_be_asked_for_one_shop(client, tenant):
    shop = client.post(f"{API}/shops", json={"name": "二号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    create_order(client, tenant)
    client.post(f"{API}/orders", json={"shop_id": shop["id"], "mall_order_number": "Y-1", "buyer": {"name": "客"},
                                       "lines": [{"mall_item_id": "i", "name": "n", "quantity": 1, "unit_price": 1}]},
                headers=tenant.headers())
    assert counts(client, tenant)["all"] == 2
    assert counts(client, tenant, shop_id=shop["id"])["all"] == 1
    assert counts(client, tenant, shop_id=tenant.shop_id)["all"] == 1


# ---------------------------------------------------------------- 要対応


@pytest.mark.parametrize("code", ["multiple_destinations", "mall_cancelled", "mall_reflection_error",
                                  "warehouse_cancel_refused", "shipping_reflection_error"])
def test_attention_counts_orders_with_a_holding_or_error_system_tag(app, client, tenant, code):
    order = create_order(client, tenant)
    create_order(client, tenant)
    assert counts(client, tenant)["attention"] == 0
    raise_system_tag(app, order["id"], code)
    assert counts(client, tenant)["attention"] == 1
    raise_system_tag(app, order["id"], "multiple_destinations" if code != "multiple_destinations" else "mall_cancelled")
    assert counts(client, tenant)["attention"] == 1  # an order counts once, whatever number of tags


def test_tags_that_need_no_attention_are_not_counted(client, tenant):
    holding = create_tag(client, tenant, name="社内保留", holds=True)
    order = create_order(client, tenant)  # carries not_mall_linked and unmapped_items
    client.post(f"{API}/orders/{order['id']}/tags/{holding['id']}", headers=tenant.headers())
    assert counts(client, tenant)["attention"] == 0


def test_attention_drops_when_a_user_removes_the_tag(app, client, tenant):
    order = create_order(client, tenant)
    raise_system_tag(app, order["id"], "multiple_destinations")
    assert counts(client, tenant)["attention"] == 1
    tag_id = system_tag_id(client, tenant, "multiple_destinations")
    assert client.delete(f"{API}/orders/{order['id']}/tags/{tag_id}", headers=tenant.headers()).status_code == 200
    assert counts(client, tenant)["attention"] == 0


def test_attention_excludes_deleted_orders(app, client, tenant):
    order = create_order(client, tenant)
    raise_system_tag(app, order["id"], "multiple_destinations")
    assert client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers()).status_code == 200
    assert counts(client, tenant)["attention"] == 0


def test_attention_drops_when_cancelling_clears_the_mall_cancelled_tag(app, client, tenant):
    order = create_order(client, tenant)
    raise_system_tag(app, order["id"], "mall_cancelled")
    assert counts(client, tenant)["attention"] == 1
    cancelled = client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    assert cancelled.status_code == 200
    assert "mall_cancelled" not in [t["code"] for t in cancelled.json["tags"]]
    assert counts(client, tenant)["attention"] == 0
