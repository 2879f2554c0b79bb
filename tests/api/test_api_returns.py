"""The Returns API (warehouse.md §4 Return): a cancelled 完了 order's return, listed, read, embedded in its order,
and inspected by a user — sellable units back into stock, figures that do not add up refused changing nothing."""
from __future__ import annotations

import re

from tests.api.api_helpers import API, error_of
from tests.factories import create_order, create_product, map_item, set_state

JST_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+09:00$")


def returned_order(client, tenant, app, quantities=(3,)) -> dict:
    """A 完了 order of SKU-1 (and SKU-2) cancelled here: its return 返品待ち."""
    lines = [{"mall_item_id": f"item-{n}", "name": f"商品{n}", "quantity": q, "unit_price": 1000}
             for n, q in enumerate(quantities, start=1)]
    order = create_order(client, tenant, lines=lines)
    set_state(app, order["id"], "completed", "shipped")
    response = client.post(f"{API}/orders/{order['id']}/cancel", json={"reason_code": 1}, headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def stock_of(client, tenant, sku="SKU-1") -> int:
    products = client.get(f"{API}/products", headers=tenant.headers()).json["items"]
    return next(p["stock"] for p in products if p["sku"] == sku)


def inspect(client, tenant, return_id, lines):
    return client.post(f"{API}/returns/{return_id}/inspection", json={"lines": lines}, headers=tenant.headers())


def setup_products(client, tenant, skus=("SKU-1",)):
    for n, sku in enumerate(skus, start=1):
        create_product(client, tenant, sku, stock=10)
        map_item(client, tenant, f"item-{n}", sku)


def test_r10_a_cancel_of_a_completed_order_opens_a_return_embedded_whole_in_the_order_and_no_stock_moves(
        client, tenant, app):
    setup_products(client, tenant, ("SKU-1", "SKU-2"))
    order = returned_order(client, tenant, app, quantities=(3, 1))

    ret = order["return"]
    assert {k: ret[k] for k in ("order_id", "mall_order_number", "status", "lines", "inspected_at")} == {
        "order_id": order["id"], "mall_order_number": order["mall_order_number"], "status": "awaiting_return",
        "lines": [{"sku": "SKU-1", "quantity": 3, "returned": None, "sellable": None},
                  {"sku": "SKU-2", "quantity": 1, "returned": None, "sellable": None}], "inspected_at": None}
    assert JST_TIME.match(ret["opened_at"])
    assert client.get(f"{API}/returns/{ret['id']}", headers=tenant.headers()).json == ret
    assert (stock_of(client, tenant), stock_of(client, tenant, "SKU-2")) == (10, 10)
    listed = client.get(f"{API}/orders", headers=tenant.headers()).json["items"]
    assert next(o for o in listed if o["id"] == order["id"])["return"] == ret
    events = client.get(f"{API}/orders/{order['id']}/events", headers=tenant.headers()).json["items"]
    assert [e["message"] for e in events if e["kind"] == "return_opened"] == [
        "返品を受け付けました（返品待ち: SKU-1 ×3, SKU-2 ×1）。"]


def test_an_inspection_restocks_only_the_sellable_units_with_ledger_rows_of_kind_return(client, tenant, app):
    setup_products(client, tenant, ("SKU-1", "SKU-2"))
    order = returned_order(client, tenant, app, quantities=(3, 1))
    version = order["version"]

    response = inspect(client, tenant, order["return"]["id"], [{"sku": "SKU-1", "returned": 3, "sellable": 2}])

    assert response.status_code == 200, response.json
    assert response.json["status"] == "inspected" and JST_TIME.match(response.json["inspected_at"])
    assert response.json["lines"] == [{"sku": "SKU-1", "quantity": 3, "returned": 3, "sellable": 2},
                                      {"sku": "SKU-2", "quantity": 1, "returned": 0, "sellable": 0}]
    assert (stock_of(client, tenant), stock_of(client, tenant, "SKU-2")) == (12, 10)
    product = next(p for p in client.get(f"{API}/products", headers=tenant.headers()).json["items"]
                   if p["sku"] == "SKU-1")
    newest = client.get(f"{API}/products/{product['id']}/stock-movements", headers=tenant.headers()).json["items"][0]
    assert (newest["kind"], newest["delta_stock"], newest["order_id"]) == ("return", 2, order["id"])
    after = client.get(f"{API}/orders/{order['id']}", headers=tenant.headers()).json
    assert after["return"] == response.json and after["version"] > version
    events = client.get(f"{API}/orders/{order['id']}/events", headers=tenant.headers()).json["items"]
    [inspected] = [e for e in events if e["kind"] == "return_inspected"]
    assert inspected["actor"]["type"] == "token" and "SKU-1 3/2" in inspected["message"]

    again = inspect(client, tenant, order["return"]["id"], [{"sku": "SKU-1", "returned": 3, "sellable": 3}])
    error_of(again, 409, "invalid_transition")
    assert stock_of(client, tenant) == 12


def test_an_inspection_that_does_not_add_up_is_refused_naming_the_line_field_and_changes_nothing(
        client, tenant, app):
    setup_products(client, tenant)
    order = returned_order(client, tenant, app, quantities=(2,))
    return_id = order["return"]["id"]
    for lines, field in (([{"sku": "SKU-1", "returned": 2, "sellable": 3}], "lines[0].sellable"),
                         ([{"sku": "SKU-1", "returned": 3, "sellable": 0}], "lines[0].returned"),
                         ([{"sku": "SKU-9", "returned": 1, "sellable": 1}], "lines[0].sku"),
                         ([{"sku": "SKU-1", "returned": -1, "sellable": 0}], "lines[0].returned"),
                         ([{"sku": "SKU-1", "returned": 1}], "lines[0].sellable"),
                         ([{"sku": "SKU-1", "returned": 1, "sellable": 0, "note": "x"}], "lines[0].note")):
        error = error_of(inspect(client, tenant, return_id, lines), 422, "validation_error")
        assert field in error["fields"], (lines, error)
    error_of(client.post(f"{API}/returns/{return_id}/inspection", json={}, headers=tenant.headers()),
             422, "validation_error")
    assert client.get(f"{API}/returns/{return_id}", headers=tenant.headers()).json["status"] == "awaiting_return"
    assert stock_of(client, tenant) == 10


def test_returns_are_listed_newest_first_by_status_with_a_cursor_and_another_accounts_are_not_found(
        client, tenant, other_tenant, app):
    setup_products(client, tenant)
    first, second, third = (returned_order(client, tenant, app)["return"] for _ in range(3))
    inspect(client, tenant, second["id"], [{"sku": "SKU-1", "returned": 1, "sellable": 1}])

    page = client.get(f"{API}/returns", query_string={"limit": 2}, headers=tenant.headers()).json
    rest = client.get(f"{API}/returns", query_string={"limit": 2, "cursor": page["next_cursor"]},
                      headers=tenant.headers()).json
    assert [r["id"] for r in page["items"] + rest["items"]] == [third["id"], second["id"], first["id"]]
    assert rest["next_cursor"] is None
    awaiting = client.get(f"{API}/returns", query_string={"status": "awaiting_return"}, headers=tenant.headers()).json
    assert [r["id"] for r in awaiting["items"]] == [third["id"], first["id"]]
    error_of(client.get(f"{API}/returns", query_string={"status": "lost"}, headers=tenant.headers()),
             422, "validation_error")
    error_of(client.get(f"{API}/returns", query_string={"limit": 201}, headers=tenant.headers()),
             422, "validation_error")

    assert client.get(f"{API}/returns", headers=other_tenant.headers()).json["items"] == []
    error_of(client.get(f"{API}/returns/{first['id']}", headers=other_tenant.headers()), 404, "not_found")
    error_of(inspect(client, other_tenant, first["id"], [{"sku": "SKU-1", "returned": 1, "sellable": 1}]),
             404, "not_found")
    assert client.get(f"{API}/returns/{first['id']}", headers=tenant.headers()).json["status"] == "awaiting_return"
