"""PATCH /api/v1/orders/{id} (api.md "Editing an order"): only what the body names changes, in the statuses that
allow it, with one `edited` event listing each change (R12) and a new version (R13)."""
from __future__ import annotations

import pytest

from tests.factories import create_order, create_product, map_item, set_request_state, set_state


def patch(client, tenant, order_id, body, **headers):
    return client.patch(f"/api/v1/orders/{order_id}", json=body, headers={**tenant.headers(), **headers})


def edited_events(client, tenant, order_id) -> list[str]:
    items = client.get(f"/api/v1/orders/{order_id}/events", headers=tenant.headers()).json["items"]
    return [e["message"] for e in items if e["kind"] == "edited"]


def test_editing_a_confirmed_order_changes_only_what_is_named_and_lists_each_change(client, tenant):
    create_product(client, tenant)
    map_item(client, tenant)
    order = create_order(client, tenant, postage=600, remarks="不在時は宅配ボックス")
    confirmed = client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers()).json
    response = patch(client, tenant, order["id"], {
        "recipient": {"name": "佐藤 花子", "address": "東京都港区1-2-3"}, "postage": 800,
        "delivery_date": "2026-12-24", "delivery_time_slot": "14-16"}, **{"If-Match": str(confirmed["version"])})
    assert response.status_code == 200, response.json
    edited = response.json
    assert edited["recipient"]["name"] == "佐藤 花子" and edited["recipient"]["address"] == "東京都港区1-2-3"
    assert edited["recipient"]["phone"] == confirmed["recipient"]["phone"]  # not named: unchanged
    assert edited["buyer"] == confirmed["buyer"] and edited["remarks"] == "不在時は宅配ボックス"
    assert edited["postage"] == 800 and edited["total"] == confirmed["total"] + 200
    assert edited["billed"] == confirmed["billed"] + 200
    assert edited["delivery_date"] == "2026-12-24" and edited["delivery_time_slot"] == "14-16"
    assert edited["version"] == confirmed["version"] + 1 and edited["status"] == "confirmed"
    [message] = edited_events(client, tenant, order["id"])
    assert message.splitlines() == [
        "送付先 氏名: 山田 花子 → 佐藤 花子", "送付先 住所: （なし） → 東京都港区1-2-3", "お届け希望日: （なし） → 2026-12-24",
        "お届け時間帯: （なし） → 14-16", "送料: 600 → 800"]
    # the name search finds the new recipient
    found = client.get("/api/v1/orders", query_string={"q": "佐藤"}, headers=tenant.headers()).json["items"]
    assert [o["id"] for o in found] == [order["id"]]


def test_an_edit_that_changes_nothing_writes_no_event(client, tenant):
    order = create_order(client, tenant, remarks="そのまま")
    response = patch(client, tenant, order["id"], {"remarks": "そのまま"})
    assert response.status_code == 200 and response.json["version"] == order["version"]
    assert edited_events(client, tenant, order["id"]) == []


@pytest.mark.parametrize("status, shipment_status", [
    ("shipping_in_progress", "shipping"), ("completed", "shipped"), ("cancelled", None)])
def test_editing_is_refused_past_awaiting_shipment_saying_why(client, tenant, app, status, shipment_status):
    order = create_order(client, tenant)
    set_state(app, order["id"], status, shipment_status)
    response = patch(client, tenant, order["id"], {"remarks": "変更"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_transition" and "編集できません" in response.json["error"]["message"]


def test_awaiting_shipment_is_editable_only_after_a_failed_request_and_only_the_delivery_fields(client, tenant, app):
    order = create_order(client, tenant)
    set_state(app, order["id"], "awaiting_shipment", "requested")
    set_request_state(app, order["id"], "sent")
    assert patch(client, tenant, order["id"], {"remarks": "x"}).status_code == 409
    set_request_state(app, order["id"], "failed")
    assert patch(client, tenant, order["id"], {"recipient": {"address": "大阪府大阪市1-1"}}).status_code == 200
    refused = patch(client, tenant, order["id"], {"buyer": {"name": "別人"}})
    assert refused.status_code == 409 and "購入者（buyer）は修正できません" in refused.json["error"]["message"]


@pytest.mark.parametrize("body, field", [
    ({"recipient": {"name": ""}}, "recipient.name"),
    ({"recipient": {"nickname": "x"}}, "recipient.nickname"),
    ({"postage": -1}, "postage"),
    ({"delivery_time_slot": "25-26"}, "delivery_time_slot"),
    ({"delivery_date": "2026-13-01"}, "delivery_date"),
    ({"colour": "red"}, "colour"),
    ({"lines": [{"id": 1, "quantity": 0}]}, "lines[0].quantity"),
    ({"lines": [{"id": 1, "name": None}]}, "lines[0].name"),
    ({"lines": [{"id": 1, "remove": True, "quantity": 2}]}, "lines[0].quantity"),
    ({"lines": [{"id": 1}, {"mall_item_id": "item-2", "name": "玉露", "quantity": 1}]}, "lines[1].unit_price"),
    ({"lines": [{"mall_item_id": "item-2", "name": "玉露", "quantity": 1, "unit_price": -1}]}, "lines[0].unit_price"),
    ({"lines": [{"id": 1, "colour": "red"}]}, "lines[0].colour"),
    ({"lines": [{"id": "1"}]}, "lines[0].id"),
])
def test_a_bad_edit_is_refused_naming_the_field_and_changes_nothing(client, tenant, body, field):
    order = create_order(client, tenant)
    response = patch(client, tenant, order["id"], body)
    assert response.status_code == 422 and field in response.json["error"]["fields"]
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["version"] == order["version"]


def test_r13_an_edit_against_a_stale_version_is_refused(client, tenant):
    order = create_order(client, tenant)
    response = patch(client, tenant, order["id"], {"remarks": "古い版"}, **{"If-Match": str(order["version"] + 5)})
    assert response.status_code == 409 and response.json["error"]["code"] == "conflict"


# ---------------------------------------------------------------- lines (issue 18)

def line_ids(order: dict) -> list[int]:
    return [line["id"] for line in order["lines"]]


def test_lines_change_their_quantity_and_price_are_added_and_removed_with_the_total_recomputed(client, tenant):
    order = create_order(client, tenant, postage=500, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1200},
        {"mall_item_id": "item-2", "sub_code": "L", "name": "玉露", "quantity": 2, "unit_price": 3000}])
    first, second = line_ids(order)
    response = patch(client, tenant, order["id"], {"lines": [
        {"id": second, "quantity": 3, "unit_price": 2800},
        {"id": first, "remove": True},
        {"mall_item_id": "item-3", "name": "ほうじ茶", "quantity": 4, "unit_price": 800}]},
        **{"If-Match": str(order["version"])})
    assert response.status_code == 200, response.json
    edited = response.json
    assert [(line["mall_item_id"], line["quantity"], line["unit_price"]) for line in edited["lines"]] == [
        ("item-2", 3, 2800), ("item-3", 4, 800)]
    assert edited["lines"][0]["id"] == second  # a changed line keeps its id
    assert edited["total"] == 3 * 2800 + 4 * 800 + 500  # as registration computes it (postage included)
    assert edited["billed"] == edited["total"]  # a manual order's 請求額 follows its total
    assert edited["version"] == order["version"] + 1
    [message] = edited_events(client, tenant, order["id"])
    assert message.splitlines() == [
        "明細2 数量: 2 → 3", "明細2 単価: 3000 → 2800",
        "明細削除: 煎茶（item-1）×1 単価1200 → （なし）",
        "明細追加: （なし） → ほうじ茶（item-3）×4 単価800"]


def test_a_line_whose_mall_item_changes_is_mapped_again_and_a_new_line_is_mapped_as_at_registration(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    create_product(client, tenant, sku="SKU-2")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-2", sub_code="L", sku="SKU-2")
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "item-9", "name": "煎茶", "quantity": 1, "unit_price": 1200}])
    assert order["status"] == "awaiting_confirmation" and "unmapped_items" in [t["code"] for t in order["tags"]]
    [line_id] = line_ids(order)
    edited = patch(client, tenant, order["id"], {"lines": [
        {"id": line_id, "mall_item_id": "item-1"},
        {"mall_item_id": "item-2", "sub_code": "L", "name": "玉露", "quantity": 1, "unit_price": 3000}]}).json
    assert [(line["sku"], line["mapped"]) for line in edited["lines"]] == [("SKU-1", True), ("SKU-2", True)]
    assert "unmapped_items" not in [t["code"] for t in edited["tags"]]  # every line mapped: the tag goes
    [message] = edited_events(client, tenant, order["id"])
    assert message.splitlines() == ["明細1 モール商品ID: item-9 → item-1", "明細1 商品: 未マッピング → SKU-1",
                                    "明細追加: （なし） → 玉露（item-2/L）×1 単価3000"]
    # now every line is mapped: it can be confirmed
    assert client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers()).status_code == 200


def test_a_confirmed_order_left_with_an_unmapped_line_goes_back_to_awaiting_confirmation(client, tenant):
    create_product(client, tenant)
    map_item(client, tenant)
    order = create_order(client, tenant)
    confirmed = client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers()).json
    [line_id] = line_ids(confirmed)
    response = patch(client, tenant, order["id"], {"lines": [{"id": line_id, "quantity": 5}, {
        "mall_item_id": "item-new", "name": "新茶", "quantity": 1, "unit_price": 2000}]})
    edited = response.json
    assert response.status_code == 200 and edited["status"] == "awaiting_confirmation"
    assert edited["version"] == confirmed["version"] + 1
    assert "unmapped_items" in [t["code"] for t in edited["tags"]]  # raised as the import raises it
    assert [line["mapped"] for line in edited["lines"]] == [True, False]  # a quantity change keeps the mapping
    events = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers()).json["items"]
    [event] = [e for e in events if e["kind"] == "edited"]
    assert (event["from_status"], event["to_status"]) == ("confirmed", "awaiting_confirmation")
    counts = client.get("/api/v1/orders/counts", headers=tenant.headers()).json
    assert (counts["awaiting_confirmation"], counts["confirmed"]) == (1, 0)


def test_an_edit_that_would_leave_no_line_is_refused_naming_lines(client, tenant):
    order = create_order(client, tenant)
    [line_id] = line_ids(order)
    response = patch(client, tenant, order["id"], {"lines": [{"id": line_id, "remove": True}], "remarks": "消す"})
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"
    assert "lines" in response.json["error"]["fields"]
    after = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert after["version"] == order["version"] and after["remarks"] == "" and len(after["lines"]) == 1


def test_a_line_named_twice_is_refused_naming_the_second(client, tenant):
    order = create_order(client, tenant)
    [line_id] = line_ids(order)
    response = patch(client, tenant, order["id"], {"lines": [
        {"id": line_id, "quantity": 2}, {"id": line_id, "remove": True}]})
    assert response.status_code == 422 and "lines[1].id" in response.json["error"]["fields"]


def test_a_line_of_another_order_is_not_found(client, tenant, other_tenant):
    order = create_order(client, tenant)
    theirs = create_order(client, other_tenant)
    response = patch(client, tenant, order["id"], {"lines": [{"id": theirs["lines"][0]["id"], "quantity": 3}]})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    unchanged = client.get(f"/api/v1/orders/{theirs['id']}", headers=other_tenant.headers()).json
    assert unchanged["lines"][0]["quantity"] == 2


def test_lines_of_an_awaiting_shipment_order_stay_even_when_its_request_failed_saying_why(client, tenant, app):
    order = create_order(client, tenant)
    set_state(app, order["id"], "awaiting_shipment", "requested")
    set_request_state(app, order["id"], "failed")
    response = patch(client, tenant, order["id"], {"lines": [{"id": order["lines"][0]["id"], "quantity": 3}]})
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_transition"
    assert "明細（lines）は修正できません" in response.json["error"]["message"]


def test_editing_a_deleted_order_is_refused_as_deleted(client, tenant):
    order = create_order(client, tenant)
    client.delete(f"/api/v1/orders/{order['id']}", headers=tenant.headers())
    response = patch(client, tenant, order["id"], {"lines": [{"id": order["lines"][0]["id"], "quantity": 3}]})
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_transition"
    assert "削除済み" in response.json["error"]["message"]


def test_lines_named_without_a_change_write_no_event(client, tenant):
    order = create_order(client, tenant)
    [line] = order["lines"]
    response = patch(client, tenant, order["id"], {"lines": [
        {"id": line["id"], "quantity": line["quantity"], "sub_code": None, "remove": False}]})
    assert response.status_code == 200 and response.json["version"] == order["version"]
    assert edited_events(client, tenant, order["id"]) == []


def test_a_shop_that_confirms_on_its_own_confirms_an_order_an_edit_maps_fully(client, tenant):
    create_product(client, tenant)
    map_item(client, tenant)
    admin = tenant.headers("admin")
    client.patch(f"/api/v1/shops/{tenant.shop_id}", json={"auto_confirm": True}, headers=admin)
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "typo", "name": "煎茶", "quantity": 1, "unit_price": 1200}])
    assert order["status"] == "awaiting_confirmation"
    [line_id] = line_ids(order)
    edited = patch(client, tenant, order["id"], {"lines": [{"id": line_id, "mall_item_id": "item-1"}]}).json
    assert edited["status"] == "confirmed"
