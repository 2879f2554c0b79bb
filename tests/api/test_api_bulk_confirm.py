"""POST /api/v1/orders/bulk with `action: confirm` (issue 18 item 2): each order confirmed by the order's own confirm
service (POST /orders/{id}/confirm: the same rules, history, version and auto-request) or refused with why, each
with its shop; over BULK_JOB_THRESHOLD a job."""
from __future__ import annotations

from tests.api.api_helpers import API, create_tag, error_of, events, get_order
from tests.api.test_api_bulk_shipping import RECIPIENT
from tests.conftest import make_tenant, wait_for
from tests.factories import create_order, create_product, map_item, set_state

UNMAPPED = [{"mall_item_id": "item-unmapped", "name": "番茶", "quantity": 1, "unit_price": 500}]


def _bulk(client, tenant, **body):
    return client.post(f"{API}/orders/bulk", json={"action": "confirm", **body}, headers=tenant.headers())


def _by_number(response) -> dict:
    assert response.status_code == 200, response.json
    return {item["mall_order_number"]: item for item in response.json["result"]["items"]}


def test_bulk_confirm_confirms_what_the_rules_allow_and_says_why_for_the_others(app, client, tenant):
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    ready = create_order(client, tenant, number="BC-READY")
    unmapped = create_order(client, tenant, number="BC-UNMAPPED", lines=UNMAPPED)
    cancelled = create_order(client, tenant, number="BC-CANCELLED")
    client.post(f"{API}/orders/{cancelled['id']}/cancel", json={}, headers=tenant.headers())
    shipping = create_order(client, tenant, number="BC-SHIPPING")
    set_state(app, shipping["id"], "awaiting_shipment", "requested")
    held = create_order(client, tenant, number="BC-HELD")
    hold = create_tag(client, tenant, name="電話確認", holds=True)
    client.post(f"{API}/orders/{held['id']}/tags/{hold['id']}", headers=tenant.headers())

    response = _bulk(client, tenant, order_ids=[o["id"] for o in (ready, unmapped, cancelled, shipping, held)])

    items = _by_number(response)
    assert (response.json["result"]["done"], response.json["result"]["refused"]) == (1, 4)
    assert items["BC-READY"] == {"order_id": ready["id"], "mall_order_number": "BC-READY", "shop_id": tenant.shop_id,
                                 "shop_name": "テスト商店の楽天店", "done": True, "code": None, "message": "確認済にしました"}
    assert items["BC-UNMAPPED"]["code"] == "invalid_transition"
    assert items["BC-UNMAPPED"]["message"] == (
        "商品がマッピングされていない明細があるため確認できません（item-unmapped）。商品マッピングを行ってください。")
    assert items["BC-CANCELLED"]["message"] == "キャンセル済みの注文は操作できません。キャンセルは取り消せません。"
    assert items["BC-SHIPPING"]["message"] == "この注文は出荷待ちのため確認できません。確認できるのは確認待の注文です。"
    assert "「電話確認」" in items["BC-HELD"]["message"]
    assert all(item["shop_name"] == "テスト商店の楽天店" for item in items.values())

    after = get_order(client, tenant, ready["id"])
    assert (after["status"], after["version"]) == ("confirmed", ready["version"] + 1)
    [confirmed] = [e for e in events(client, tenant, ready["id"]) if e["kind"] == "confirmed"]
    assert (confirmed["from_status"], confirmed["to_status"]) == ("awaiting_confirmation", "confirmed")
    assert confirmed["actor"]["type"] == "token"
    assert [get_order(client, tenant, o["id"])["status"] for o in (unmapped, held)] == ["awaiting_confirmation"] * 2


def test_bulk_confirm_of_a_shop_that_auto_requests_requests_the_shipment_as_a_single_confirm_does(
        client, tenant, house):
    changed = client.patch(f"{API}/shops/{tenant.shop_id}", json={"auto_request_shipment": True},
                           headers=tenant.headers("admin"))
    assert changed.status_code == 200, changed.json
    order = create_order(client, tenant, number="BC-AUTO", recipient=RECIPIENT)

    assert _by_number(_bulk(client, tenant, order_ids=[order["id"]]))["BC-AUTO"]["done"] is True

    after = get_order(client, tenant, order["id"])
    assert (after["status"], after["shipment_status"]) == ("awaiting_shipment", "requested")


def test_bulk_confirm_by_filter_names_each_orders_shop(app, client, tenant):
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    create_order(client, tenant, number="BC-F1")
    with app.app_context():
        from boss.accounts import find_user
        from boss.orders.actor import Actor
        from boss.orders.shops import create_shop

        admin = find_user(tenant.admin_email)
        second = create_shop(Actor("user", "admin", admin.account_id, admin.id), "二号店", "yahoo")
        second_id = second.id
    client.post(f"{API}/mappings", json={"shop_id": second_id, "mall_item_id": "item-1", "sku": "SKU-1"},
                headers=tenant.headers())
    created = client.post(f"{API}/orders", json={
        "shop_id": second_id, "mall_order_number": "BC-F2", "buyer": {"name": "佐藤"},
        "lines": [{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 100}]}, headers=tenant.headers())
    assert created.status_code == 201, created.json

    items = _by_number(_bulk(client, tenant, filter={"status": "awaiting_confirmation"}))

    assert {number: (item["shop_id"], item["shop_name"], item["done"]) for number, item in items.items()} == {
        "BC-F1": (tenant.shop_id, "テスト商店の楽天店", True), "BC-F2": (second_id, "二号店", True)}


def test_bulk_confirm_of_another_accounts_order_names_neither_its_number_nor_its_shop(app, client, tenant):
    stranger = make_tenant(app, "よその確認店")
    theirs = create_order(client, stranger, number="BC-THEIRS")

    [item] = _bulk(client, tenant, order_ids=[theirs["id"]]).json["result"]["items"]

    assert (item["done"], item["code"], item["mall_order_number"], item["shop_id"], item["shop_name"]) == (
        False, "not_found", None, None, None)
    assert get_order(client, stranger, theirs["id"])["status"] == "awaiting_confirmation"


def test_bulk_confirm_over_the_threshold_runs_as_a_job_whose_result_names_each_shop(
        app, client, tenant, worker, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 2)
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    orders = [create_order(client, tenant, number=f"BC-J{i}") for i in range(3)]
    orders.append(create_order(client, tenant, number="BC-J-UNMAPPED", lines=UNMAPPED))

    response = _bulk(client, tenant, order_ids=[o["id"] for o in orders])

    assert response.status_code == 202, response.json
    assert response.json["count"] == 4

    def finished():
        job = client.get(f"{API}/jobs/{response.json['job_id']}", headers=tenant.headers()).json
        return job if job["state"] in ("finished", "failed") else None

    job = wait_for(finished, timeout=60, message="the bulk confirm job to finish")
    assert (job["kind"], job["state"], job["result"]["done"], job["result"]["refused"]) == (
        "bulk_confirm", "finished", 3, 1)
    assert {item["shop_name"] for item in job["result"]["items"]} == {"テスト商店の楽天店"}
    [refused] = [item for item in job["result"]["items"] if not item["done"]]
    assert refused["mall_order_number"] == "BC-J-UNMAPPED" and "商品マッピング" in refused["message"]
    assert get_order(client, tenant, orders[0]["id"])["status"] == "confirmed"
    [event] = [e for e in events(client, tenant, orders[0]["id"]) if e["kind"] == "confirmed"]
    assert event["actor"]["type"] == "job" and event["actor"]["name"].startswith("一括確認 ")


def test_the_openapi_document_lists_confirm_as_a_bulk_action(client):
    document = client.get("/api/openapi.json").json
    post = document["paths"]["/api/v1/orders/bulk"]["post"]
    action = post["requestBody"]["content"]["application/json"]["schema"]["properties"]["action"]
    assert "(confirm|" in action["pattern"] and "confirm" in action["description"]
    item = post["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["result"]["properties"][
        "items"]["items"]
    assert {"shop_id", "shop_name"} <= set(item["required"])


def test_bulk_confirm_with_an_unknown_filter_status_changes_nothing(client, tenant):
    order = create_order(client, tenant)
    error_of(_bulk(client, tenant, filter={"status": "shipped"}), 422, "validation_error")
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"
