"""PATCH /api/v1/orders/{id} (api.md "Editing an order"): only what the body names changes, in the statuses that
allow it, with one `edited` event listing each change (R12) and a new version (R13)."""
from __future__ import annotations

import pytest

from tests.factories import create_order, create_product, map_item, set_state


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
    assert edited["version"] > confirmed["version"] and edited["status"] == "confirmed"
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
    from boss.extensions import db
    from boss.orders.models import Order

    order = create_order(client, tenant)
    set_state(app, order["id"], "awaiting_shipment", "requested")
    with app.app_context():
        db.session.get(Order, order["id"]).shipments[-1].request_state = "sent"
        db.session.commit()
        db.session.remove()
    assert patch(client, tenant, order["id"], {"remarks": "x"}).status_code == 409
    with app.app_context():
        db.session.get(Order, order["id"]).shipments[-1].request_state = "failed"
        db.session.commit()
        db.session.remove()
    assert patch(client, tenant, order["id"], {"recipient": {"address": "大阪府大阪市1-1"}}).status_code == 200
    refused = patch(client, tenant, order["id"], {"buyer": {"name": "別人"}})
    assert refused.status_code == 409 and "buyer" in refused.json["error"]["message"]


@pytest.mark.parametrize("body, field", [
    ({"recipient": {"name": ""}}, "recipient.name"),
    ({"recipient": {"nickname": "x"}}, "recipient.nickname"),
    ({"postage": -1}, "postage"),
    ({"delivery_time_slot": "25-26"}, "delivery_time_slot"),
    ({"delivery_date": "2026-13-01"}, "delivery_date"),
    ({"colour": "red"}, "colour"),
    ({"lines": [{"id": 1, "quantity": 2}]}, "lines"),
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
