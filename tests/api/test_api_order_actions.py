"""Order actions through the API: confirm (§3), cancel and delete refusals (R1, R2, R3, R8) and If-Match (R13)."""
from __future__ import annotations

import pytest

from tests.api.api_helpers import API, create_tag, error_of, events, get_order
from tests.factories import create_order, create_product, fail_reflection, map_item, set_state

CONFLICT_MESSAGE = "この注文は他の操作で更新されました。最新の状態を表示しています。"


@pytest.fixture
def mapped(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")


# ---------------------------------------------------------------- confirm


def test_confirm_of_a_fully_mapped_order_makes_it_confirmed(client, tenant, mapped):
    order = create_order(client, tenant)
    response = client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers())
    assert response.status_code == 200, response.json
    assert response.json["status"] == "confirmed"
    assert response.json["status_label"] == "確認済"
    assert response.json["can_delete"] is False and response.json["can_cancel"] is True
    last = events(client, tenant, order["id"])[-1]
    assert (last["kind"], last["from_status"], last["to_status"]) == ("confirmed", "awaiting_confirmation", "confirmed")


def test_confirm_is_refused_while_lines_are_unmapped_naming_them(client, tenant, mapped):
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 100},
        {"mall_item_id": "item-2", "name": "番茶", "quantity": 1, "unit_price": 100},
        {"mall_item_id": "item-3", "sub_code": "red", "name": "湯呑", "quantity": 1, "unit_price": 100},
    ])
    error = error_of(client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()),
                     409, "invalid_transition")
    assert "item-2" in error["message"] and "item-3/red" in error["message"]
    assert "item-1" not in error["message"].replace("item-1/", "")
    after = get_order(client, tenant, order["id"])
    assert after["status"] == "awaiting_confirmation" and after["version"] == order["version"]


@pytest.mark.parametrize("status,shipment", [("confirmed", None), ("awaiting_shipment", "requested"),
                                             ("shipping_in_progress", "shipping"), ("completed", "shipped")])
def test_confirm_is_refused_unless_the_order_awaits_confirmation(app, client, tenant, mapped, status, shipment):
    order = create_order(client, tenant)
    set_state(app, order["id"], status, shipment)
    error = error_of(client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()),
                     409, "invalid_transition")
    assert "確認待" in error["message"]
    assert get_order(client, tenant, order["id"])["status"] == status


def test_r3_a_cancelled_order_cannot_be_confirmed(client, tenant, mapped):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    error_of(client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()), 409, "invalid_transition")
    assert get_order(client, tenant, order["id"])["status"] == "cancelled"


# ---------------------------------------------------------------- cancel and delete


def test_r1_cancel_answers_the_cancelled_order(client, tenant):
    order = create_order(client, tenant)
    response = client.post(f"{API}/orders/{order['id']}/cancel", json={"reason_code": 8}, headers=tenant.headers())
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "cancelled" and body["status_label"] == "キャンセル"
    assert body["cancelled_at"].endswith("+09:00")
    assert body["can_cancel"] is False and body["can_delete"] is False
    assert body["mall_reflection"]["state"] == "none"  # a manual order is never reflected (R7, R9)
    last = events(client, tenant, order["id"])[-1]
    assert (last["kind"], last["from_status"], last["to_status"]) == ("cancelled", "awaiting_confirmation", "cancelled")


@pytest.mark.parametrize("shipment,message", [
    ("shipping", "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。"),
    ("withdrawal_requested", "出荷取下げの回答待ちです。出荷不可になるとキャンセルできます。"),
])
def test_r1_cancel_is_refused_while_the_warehouse_works(app, client, tenant, shipment, message):
    order = create_order(client, tenant)
    set_state(app, order["id"], "shipping_in_progress", shipment)
    error = error_of(client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers()),
                     409, "cannot_cancel")
    assert error["message"] == message
    assert get_order(client, tenant, order["id"])["status"] == "shipping_in_progress"


def test_r1_cancel_is_allowed_once_not_shippable(app, client, tenant):
    order = create_order(client, tenant)
    set_state(app, order["id"], "shipping_in_progress", "not_shippable")
    response = client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert response.json["shipment_status"] == "not_shippable"  # cancel keeps the shipment status


def test_r3_a_second_cancel_is_refused_as_already_cancelled(client, tenant):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    error = error_of(client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers()),
                     409, "cannot_cancel")
    assert error["message"] == "キャンセル済みの注文です。キャンセルは取り消せません。"
    assert [e["kind"] for e in events(client, tenant, order["id"])].count("cancelled") == 1


def test_r2_delete_is_refused_unless_awaiting_confirmation(client, tenant):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    error = error_of(client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers()), 409, "cannot_delete")
    assert error["message"] == "確認待の注文のみ削除できます。キャンセルをご利用ください。"
    assert get_order(client, tenant, order["id"])["deleted"] is False


def test_r2_delete_is_refused_when_a_line_is_mapped_naming_the_lines(client, tenant, mapped):
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 100},
        {"mall_item_id": "item-2", "name": "番茶", "quantity": 1, "unit_price": 100}])
    error = error_of(client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers()), 409, "cannot_delete")
    assert error["message"] == "商品がマッピングされているため削除できません（item-1）。キャンセルをご利用ください。"


def test_r2_delete_answers_the_deleted_order(client, tenant):
    order = create_order(client, tenant)
    response = client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers())
    assert response.status_code == 200, response.json
    assert response.json["deleted"] is True
    assert response.json["deleted_at"].endswith("+09:00")
    assert response.json["status"] == "awaiting_confirmation"  # deletion is not a status
    assert get_order(client, tenant, order["id"])["deleted"] is True  # GET finds deleted orders too


@pytest.mark.parametrize("method,path,code", [
    ("post", "/orders/{id}/cancel", "cannot_cancel"),
    ("delete", "/orders/{id}", "cannot_delete"),
    ("post", "/orders/{id}/confirm", "invalid_transition"),
])
def test_r8_a_deleted_order_refuses_every_action_as_deleted(client, tenant, method, path, code):
    order = create_order(client, tenant)
    client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers())
    error = error_of(getattr(client, method)(API + path.format(id=order["id"]), json={}, headers=tenant.headers()),
                     409, code)
    assert error["message"] == "削除済みの注文は操作できません。"


# ---------------------------------------------------------------- If-Match (R13)


def _prepare(client, tenant, action):
    """An order on which `action` is allowed, and the request that does it."""
    create_product(client, tenant, sku="SKU-1")
    tag = create_tag(client, tenant, name="ギフト")
    order = create_order(client, tenant, lines=[{"mall_item_id": "item-9", "name": "番茶", "quantity": 1,
                                                 "unit_price": 100}])
    if action == "confirm":
        client.post(f"{API}/mappings", json={"shop_id": tenant.shop_id, "mall_item_id": "item-9", "sku": "SKU-1"},
                    headers=tenant.headers())
    if action == "remove tag":
        client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    order = get_order(client, tenant, order["id"])
    requests = {
        "confirm": ("post", f"/orders/{order['id']}/confirm"),
        "cancel": ("post", f"/orders/{order['id']}/cancel"),
        "delete": ("delete", f"/orders/{order['id']}"),
        "add tag": ("post", f"/orders/{order['id']}/tags/{tag['id']}"),
        "remove tag": ("delete", f"/orders/{order['id']}/tags/{tag['id']}"),
    }
    return order, requests[action]


ACTIONS = ["confirm", "cancel", "delete", "add tag", "remove tag"]


@pytest.mark.parametrize("action", ACTIONS)
def test_r13_a_stale_if_match_is_refused_with_conflict_and_changes_nothing(client, tenant, action):
    order, (method, path) = _prepare(client, tenant, action)
    stale = order["version"] - 1
    response = getattr(client, method)(API + path, json={}, headers=tenant.headers(**{"If-Match": str(stale)}))
    error = error_of(response, 409, "conflict")
    assert error["message"] == CONFLICT_MESSAGE
    after = get_order(client, tenant, order["id"])
    assert {k: after[k] for k in ("status", "deleted", "tags", "lines", "version")} == {
        k: order[k] for k in ("status", "deleted", "tags", "lines", "version")}


@pytest.mark.parametrize("action", ACTIONS)
def test_r13_the_current_version_in_if_match_lets_the_action_through_and_bumps_the_version(client, tenant, action):
    order, (method, path) = _prepare(client, tenant, action)
    response = getattr(client, method)(API + path, json={},
                                       headers=tenant.headers(**{"If-Match": str(order["version"])}))
    assert response.status_code == 200, response.json
    assert response.json["version"] > order["version"]
    assert get_order(client, tenant, order["id"])["version"] == response.json["version"]


def test_r13_a_version_seen_before_another_change_is_refused(client, tenant):
    tag = create_tag(client, tenant, name="ギフト")
    order = create_order(client, tenant)
    seen = order["version"]
    client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())  # someone else
    error_of(client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers(**{"If-Match": str(seen)})),
             409, "conflict")
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"


def test_r13_a_quoted_version_is_understood(client, tenant):
    order = create_order(client, tenant)
    response = client.post(f"{API}/orders/{order['id']}/cancel", json={},
                           headers=tenant.headers(**{"If-Match": f'"{order["version"]}"'}))
    assert response.status_code == 200, response.json


def test_r13_the_refused_writer_is_recorded_in_the_history(client, tenant):
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={},
                headers=tenant.headers(**{"If-Match": str(order["version"] + 5)}))
    assert events(client, tenant, order["id"])[-1]["kind"] == "conflict_refused"


def test_r13_without_if_match_the_loser_gets_the_rules_own_refusal(client, tenant):
    order = create_order(client, tenant)
    assert client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers()).status_code == 200
    error_of(client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers()),
             409, "cannot_cancel")


def test_r12_the_history_lists_every_action_oldest_first(client, tenant):
    tag = create_tag(client, tenant, name="ギフト")
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    client.delete(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    client.post(f"{API}/orders/{order['id']}/cancel", json={"reason_code": 8}, headers=tenant.headers())
    history = events(client, tenant, order["id"])
    assert [e["kind"] for e in history] == ["registered", "tag_added", "tag_removed", "cancelled"]
    assert [e["id"] for e in history] == sorted(e["id"] for e in history)
    assert all(e["at"].endswith("+09:00") and e["actor"]["type"] == "token" for e in history)
    assert "ショップ都合（欠品）" in history[-1]["message"]


def test_r8_the_history_of_a_deleted_order_can_still_be_read(client, tenant):
    order = create_order(client, tenant)
    client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers())
    history = events(client, tenant, order["id"])
    assert history[-1]["kind"] == "deleted"


def test_r13_retry_reflection_honours_if_match(app, client, tenant):
    """Issue 11 item 11: 再反映 was done whatever If-Match said."""
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    fail_reflection(app, order["id"])
    failed = get_order(client, tenant, order["id"])
    path = f"{API}/orders/{order['id']}/retry-reflection"
    error_of(client.post(path, headers=tenant.headers(**{"If-Match": str(failed["version"] - 1)})), 409, "conflict")
    assert get_order(client, tenant, order["id"])["mall_reflection"]["state"] == "failed"
    error_of(client.post(path, headers=tenant.headers(**{"If-Match": "abc"})), 422, "validation_error")
    retried = client.post(path, headers=tenant.headers(**{"If-Match": str(failed["version"])}))
    assert retried.status_code == 200 and retried.json["mall_reflection"]["state"] == "pending"
    assert retried.json["version"] > failed["version"]
