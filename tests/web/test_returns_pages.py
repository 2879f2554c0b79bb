"""返品 (/returns), a return's page and its inspection form, and the order page's return panel: the tabs and their
counts, per-line figures, links to the orders, an inspection restocking the sellable units and a refusal shown
with the figures entered; another account's return is not found. No redirect is followed."""
from __future__ import annotations

from tests.factories import create_order, create_product, map_item, set_state


def cancelled_completed(app, client, tenant, quantity: int = 3) -> dict:
    order = create_order(client, tenant, lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": quantity,
                                                 "unit_price": 1200}])
    set_state(app, order["id"], "completed", "shipped")
    return client.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=tenant.headers()).json


def setup(client, tenant):
    create_product(client, tenant, "SKU-1", stock=10)
    map_item(client, tenant, "item-1", "SKU-1")


def line_id(app, return_id: int) -> int:
    from boss.extensions import db
    from boss.orders.models import Return

    with app.app_context():
        found = db.session.get(Return, return_id).lines[0].id
        db.session.remove()
    return found


def test_the_returns_page_lists_awaiting_and_inspected_with_counts_figures_and_order_links(
        app, staff_client, client, tenant):
    setup(client, tenant)
    first = cancelled_completed(app, client, tenant)
    second = cancelled_completed(app, client, tenant, quantity=2)
    client.post(f"/api/v1/returns/{second['return']['id']}/inspection",
                json={"lines": [{"sku": "SKU-1", "returned": 2, "sellable": 1}]}, headers=tenant.headers())

    page = staff_client.get("/returns")
    assert page.status_code == 200
    assert 'href="/returns"' in staff_client.get("/orders").text  # the nav's 返品
    assert "返品待ち <span class=\"count\">1</span>" in page.text and "検品済 <span class=\"count\">1</span>" in page.text
    assert f'href="/orders/{first["id"]}">{first["mall_order_number"]}</a>' in page.text
    assert second["mall_order_number"] not in page.text
    assert "3 / — / —" in page.text and "検品結果を入力" in page.text

    inspected = staff_client.get("/returns?status=inspected", headers={"HX-Request": "true"})
    assert "<html" not in inspected.text and second["mall_order_number"] in inspected.text
    assert "2 / 2 / 1" in inspected.text


def test_an_inspection_entered_on_the_order_page_restocks_the_sellable_units_and_goes_back_to_the_order(
        app, staff_client, client, tenant):
    setup(client, tenant)
    order = cancelled_completed(app, client, tenant)
    ret_id = order["return"]["id"]
    detail = staff_client.get(f"/orders/{order['id']}").text
    assert 'id="return-panel"' in detail and "返品待ち" in detail and f'action="/returns/{ret_id}/inspection"' in detail
    line = line_id(app, ret_id)

    done = staff_client.post(f"/returns/{ret_id}/inspection", data={
        "csrf_token": staff_client.csrf, "from": "order", f"returned-{line}": "3", f"sellable-{line}": "1"})

    assert done.status_code == 303 and done.headers["Location"].endswith(f"/orders/{order['id']}")
    after = staff_client.get(f"/orders/{order['id']}").text
    assert "検品済" in after and "検品結果を登録しました" in after and 'class="inspection-form"' not in after
    product = client.get("/api/v1/products", headers=tenant.headers()).json["items"][0]
    assert product["stock"] == 11
    events = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers()).json["items"]
    assert [e["actor"]["type"] for e in events if e["kind"] == "return_inspected"] == ["user"]


def test_an_inspection_that_does_not_add_up_is_refused_with_the_figures_entered_and_nothing_changes(
        app, staff_client, client, tenant):
    setup(client, tenant)
    order = cancelled_completed(app, client, tenant)
    ret_id = order["return"]["id"]
    line = line_id(app, ret_id)

    refused = staff_client.post(f"/returns/{ret_id}/inspection", data={
        "csrf_token": staff_client.csrf, f"returned-{line}": "2", f"sellable-{line}": "3"})

    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and "販売可能数は0〜返品数（2）で指定してください" in refused.text
    assert f'name="sellable-{line}"' in refused.text and 'value="3"' in refused.text
    assert client.get(f"/api/v1/returns/{ret_id}", headers=tenant.headers()).json["status"] == "awaiting_return"
    assert client.get("/api/v1/products", headers=tenant.headers()).json["items"][0]["stock"] == 10

    unreadable = staff_client.post(f"/returns/{ret_id}/inspection", data={
        "csrf_token": staff_client.csrf, f"returned-{line}": "x", f"sellable-{line}": "0"})
    assert unreadable.status_code == 422 and "0以上の整数で入力してください" in unreadable.text


def test_an_inspected_return_takes_no_second_inspection_and_another_accounts_return_is_not_found(
        app, staff_client, client, tenant, other_tenant):
    setup(client, tenant)
    order = cancelled_completed(app, client, tenant)
    ret_id = order["return"]["id"]
    line = line_id(app, ret_id)
    data = {"csrf_token": staff_client.csrf, f"returned-{line}": "1", f"sellable-{line}": "1"}
    assert staff_client.post(f"/returns/{ret_id}/inspection", data=data).status_code == 303
    again = staff_client.post(f"/returns/{ret_id}/inspection", data=data)
    assert again.status_code == 409 and "検品済" in again.text
    assert client.get("/api/v1/products", headers=tenant.headers()).json["items"][0]["stock"] == 11

    create_product(client, other_tenant, "SKU-1", stock=10)
    map_item(client, other_tenant, "item-1", "SKU-1")
    theirs = cancelled_completed(app, client, other_tenant)
    assert staff_client.get(f"/returns/{theirs['return']['id']}").status_code == 404
    assert staff_client.post(f"/returns/{theirs['return']['id']}/inspection", data=data).status_code == 404
