"""Cancel, delete, confirm and tags through the JSON API (orders.md R1–R3, R6, R8–R10, R12)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.models import OutboxMessage, Shop
from boss.orders.models import Order
from tests.factories import create_order, create_product, map_item, order_body, set_rms_connection, set_state

MSG_CANCEL_WHILE_SHIPPING = "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。"
MSG_CANCEL_WHILE_WITHDRAWING = "出荷取下げの回答待ちです。出荷不可になるとキャンセルできます。"
MSG_DELETE_NOT_AWAITING = "確認待の注文のみ削除できます。キャンセルをご利用ください。"
MSG_DELETED = "削除済みの注文は操作できません。"
MSG_ALREADY_CANCELLED = "キャンセル済みの注文です。キャンセルは取り消せません。"


# ---------------------------------------------------------------- helpers

def cancel(client, tenant, order_id, body=None, **headers):
    return client.post(f"/api/v1/orders/{order_id}/cancel", json=body or {}, headers=tenant.headers(**headers))


def delete(client, tenant, order_id, **headers):
    return client.delete(f"/api/v1/orders/{order_id}", headers=tenant.headers(**headers))


def confirm(client, tenant, order_id, **headers):
    return client.post(f"/api/v1/orders/{order_id}/confirm", headers=tenant.headers(**headers))


def get(client, tenant, order_id):
    response = client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def events(client, tenant, order_id):
    response = client.get(f"/api/v1/orders/{order_id}/events", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json["items"]


def counts(client, tenant):
    response = client.get("/api/v1/orders/counts", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def listed_ids(client, tenant, **query):
    response = client.get("/api/v1/orders", query_string=query, headers=tenant.headers())
    assert response.status_code == 200, response.json
    return [o["id"] for o in response.json["items"]]


def product(client, tenant, sku="SKU-1"):
    response = client.get("/api/v1/products", query_string={"q": sku}, headers=tenant.headers())
    return next(p for p in response.json["items"] if p["sku"] == sku)


def make_tag(client, tenant, name="要確認", holds=False):
    response = client.post("/api/v1/tags", json={"name": name, "holds": holds}, headers=tenant.headers())
    assert response.status_code == 201, response.json
    return response.json


def refused(response, code, message=None):
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == code, response.json
    if message is not None:
        assert response.json["error"]["message"] == message


@pytest.fixture
def mapped(client, tenant):
    """A product SKU-1 (stock 10) and a mapping of item-1 to it: orders registered now have mapped lines."""
    create_product(client, tenant, "SKU-1", stock=10)
    map_item(client, tenant, "item-1", "SKU-1")


def order_in(app, client, tenant, status, shipment=None, reserve=False):
    """An order in `status`: registered (確認待), confirmed through the API (確認済), or put further by set_state."""
    order = create_order(client, tenant)
    if status == "awaiting_confirmation":
        return order
    response = confirm(client, tenant, order["id"])
    assert response.status_code == 200, response.json
    if status != "confirmed":
        set_state(app, order["id"], status, shipment, reserve=reserve)
    return get(client, tenant, order["id"])


# ---------------------------------------------------------------- R1 cancel

CANCELLABLE = [
    ("awaiting_confirmation", None),
    ("confirmed", None),
    ("awaiting_shipment", "requested"),
    ("awaiting_shipment", "withdrawal_requested"),
    ("awaiting_shipment", "not_shippable"),
    ("completed", "shipped"),
    ("shipping_in_progress", "not_shippable"),
]


@pytest.mark.parametrize("status,shipment", CANCELLABLE)
def test_r1_cancel_is_allowed_in_these_states_and_keeps_the_shipment_status(app, client, tenant, mapped,
                                                                            status, shipment):
    order = order_in(app, client, tenant, status, shipment)
    assert order["status"] == status and order["can_cancel"] is True

    response = cancel(client, tenant, order["id"])

    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert response.json["status_label"] == "キャンセル"
    assert response.json["cancelled_at"] is not None
    assert response.json["shipment_status"] == shipment  # cancel does not change the shipment status
    assert response.json["can_cancel"] is False
    assert get(client, tenant, order["id"])["status"] == "cancelled"


@pytest.mark.parametrize("shipment,message", [("shipping", MSG_CANCEL_WHILE_SHIPPING),
                                              ("withdrawal_requested", MSG_CANCEL_WHILE_WITHDRAWING)],
                         ids=["shipping", "withdrawal_requested"])
def test_r1_cancel_refused_while_the_warehouse_works_on_the_order(app, client, tenant, mapped, shipment, message):
    order = order_in(app, client, tenant, "shipping_in_progress", shipment)
    assert order["can_cancel"] is False
    before = counts(client, tenant)

    response = cancel(client, tenant, order["id"])

    refused(response, "cannot_cancel", message)
    after = get(client, tenant, order["id"])
    assert (after["status"], after["shipment_status"], after["version"]) == ("shipping_in_progress", shipment,
                                                                             order["version"])
    assert "cancelled" not in [e["kind"] for e in events(client, tenant, order["id"])]
    assert counts(client, tenant) == before


def test_r1_cancel_refusal_is_in_english_when_asked(app, client, tenant, mapped):
    order = order_in(app, client, tenant, "shipping_in_progress", "shipping")
    response = cancel(client, tenant, order["id"], **{"Accept-Language": "en"})
    refused(response, "cannot_cancel")
    assert "withdrawal" in response.json["error"]["message"]


def test_r1_cancel_becomes_possible_once_the_withdrawal_made_the_shipment_not_shippable(app, client, tenant, mapped):
    order = order_in(app, client, tenant, "shipping_in_progress", "withdrawal_requested")
    refused(cancel(client, tenant, order["id"]), "cannot_cancel", MSG_CANCEL_WHILE_WITHDRAWING)
    set_state(app, order["id"], "shipping_in_progress", "not_shippable")
    assert get(client, tenant, order["id"])["can_cancel"] is True

    assert cancel(client, tenant, order["id"]).json["status"] == "cancelled"


def test_r1_a_holding_tag_does_not_block_cancel(client, tenant):
    order = create_order(client, tenant)
    hold = make_tag(client, tenant, "保留中", holds=True)
    held = client.post(f"/api/v1/orders/{order['id']}/tags/{hold['id']}", headers=tenant.headers())
    assert held.status_code == 200 and held.json["can_cancel"] is True
    refused(confirm(client, tenant, order["id"]), "invalid_transition")  # the tag does hold the order

    response = cancel(client, tenant, order["id"])

    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"


# ---------------------------------------------------------------- R2 delete, R6 number freed

def test_r2_delete_is_allowed_for_an_unmapped_order_awaiting_confirmation(client, tenant):
    order = create_order(client, tenant)
    assert order["can_delete"] is True

    response = delete(client, tenant, order["id"])

    assert response.status_code == 200, response.json
    assert response.json["deleted"] is True
    assert response.json["deleted_at"] is not None
    assert response.json["status"] == "awaiting_confirmation"  # deletion is not a status


def test_r2_delete_refused_when_a_line_is_mapped_names_the_mapped_lines(client, tenant, mapped):
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1200},
        {"mall_item_id": "item-2", "name": "ほうじ茶", "quantity": 1, "unit_price": 900},
    ])
    assert order["status"] == "awaiting_confirmation" and order["can_delete"] is False

    response = delete(client, tenant, order["id"])

    refused(response, "cannot_delete",
            "商品がマッピングされているため削除できません（item-1）。キャンセルをご利用ください。")
    assert get(client, tenant, order["id"])["deleted"] is False


def test_r2_delete_refused_when_a_line_became_mapped_after_registration(client, tenant):
    order = create_order(client, tenant)
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")

    refused(delete(client, tenant, order["id"]), "cannot_delete",
            "商品がマッピングされているため削除できません（item-1）。キャンセルをご利用ください。")


@pytest.mark.parametrize("status,shipment", [("confirmed", None), ("awaiting_shipment", "requested"),
                                             ("shipping_in_progress", "not_shippable"), ("completed", "shipped")])
def test_r2_delete_refused_when_not_awaiting_confirmation_suggests_cancel(app, client, tenant, mapped,
                                                                         status, shipment):
    order = order_in(app, client, tenant, status, shipment)

    refused(delete(client, tenant, order["id"]), "cannot_delete", MSG_DELETE_NOT_AWAITING)
    assert get(client, tenant, order["id"])["deleted"] is False


def test_r2_r6_a_deleted_orders_number_can_be_registered_again(client, tenant):
    first = create_order(client, tenant, number="REUSE-1")
    again = client.post("/api/v1/orders", json=order_body(tenant.shop_id, "REUSE-1"), headers=tenant.headers())
    refused(again, "mall_order_number_taken")

    assert delete(client, tenant, first["id"]).status_code == 200
    second = create_order(client, tenant, number="REUSE-1")

    assert second["id"] != first["id"]
    assert listed_ids(client, tenant, mall_order_number="REUSE-1") == [second["id"]]
    assert sorted(listed_ids(client, tenant, mall_order_number="REUSE-1", include_deleted="true")) == \
        sorted([first["id"], second["id"]])


# ---------------------------------------------------------------- R3 cancel is final

def test_r3_a_cancelled_order_cannot_be_cancelled_confirmed_or_deleted(client, tenant):
    order = create_order(client, tenant)
    cancelled = cancel(client, tenant, order["id"]).json
    assert cancelled["status"] == "cancelled"

    refused(cancel(client, tenant, order["id"]), "cannot_cancel", MSG_ALREADY_CANCELLED)
    refused(confirm(client, tenant, order["id"]), "invalid_transition")
    refused(delete(client, tenant, order["id"]), "cannot_delete")

    after = get(client, tenant, order["id"])
    assert (after["status"], after["deleted"], after["version"]) == ("cancelled", False, cancelled["version"])
    assert [e["kind"] for e in events(client, tenant, order["id"])].count("cancelled") == 1


def test_r3_a_cancelled_mapped_order_cannot_be_confirmed(client, tenant, mapped):
    order = create_order(client, tenant)
    assert order["lines"][0]["mapped"] is True
    assert cancel(client, tenant, order["id"]).status_code == 200

    response = confirm(client, tenant, order["id"])

    refused(response, "invalid_transition")
    assert "取り消せません" in response.json["error"]["message"]
    assert get(client, tenant, order["id"])["status"] == "cancelled"


# ---------------------------------------------------------------- R8 deleted orders

@pytest.fixture
def deleted_order(client, tenant):
    order = create_order(client, tenant)
    tag = make_tag(client, tenant, "要確認")
    response = client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    assert response.status_code == 200
    other_tag = make_tag(client, tenant, "後で見る")
    deleted = delete(client, tenant, order["id"])
    assert deleted.status_code == 200, deleted.json
    return {"order": deleted.json, "tag": tag, "other_tag": other_tag}


def test_r8_a_deleted_order_refuses_every_action_with_the_reason_deleted(client, tenant, deleted_order):
    order_id = deleted_order["order"]["id"]
    tag_on, tag_off = deleted_order["tag"]["id"], deleted_order["other_tag"]["id"]
    attempts = {
        "cancel": (cancel(client, tenant, order_id), "cannot_cancel"),
        "delete": (delete(client, tenant, order_id), "cannot_delete"),
        "confirm": (confirm(client, tenant, order_id), "invalid_transition"),
        "add_tag": (client.post(f"/api/v1/orders/{order_id}/tags/{tag_off}", headers=tenant.headers()),
                    "invalid_transition"),
        "remove_tag": (client.delete(f"/api/v1/orders/{order_id}/tags/{tag_on}", headers=tenant.headers()),
                       "invalid_transition"),
    }
    for action, (response, code) in attempts.items():
        assert response.status_code == 409, action
        assert response.json["error"] == {"code": code, "message": MSG_DELETED}, action

    after = get(client, tenant, order_id)
    assert after["deleted"] is True and after["status"] == "awaiting_confirmation"
    assert [t["name"] for t in after["tags"] if not t["system"]] == ["要確認"]
    assert after["version"] == deleted_order["order"]["version"]


def test_r8_a_deleted_order_is_hidden_from_the_list_and_the_counts(client, tenant):
    kept = create_order(client, tenant)
    gone = create_order(client, tenant)
    assert counts(client, tenant)["awaiting_confirmation"] == 2

    delete(client, tenant, gone["id"])

    assert listed_ids(client, tenant) == [kept["id"]]
    assert listed_ids(client, tenant, status="awaiting_confirmation") == [kept["id"]]
    after = counts(client, tenant)
    assert after["awaiting_confirmation"] == 1
    assert after["all"] == 1


def test_r8_a_deleted_order_is_found_with_include_deleted_and_by_id(client, tenant):
    kept = create_order(client, tenant)
    gone = create_order(client, tenant)
    delete(client, tenant, gone["id"])

    assert sorted(listed_ids(client, tenant, include_deleted="true")) == sorted([kept["id"], gone["id"]])
    listed = client.get("/api/v1/orders", query_string={"include_deleted": "true"}, headers=tenant.headers()).json
    assert {o["id"]: o["deleted"] for o in listed["items"]} == {kept["id"]: False, gone["id"]: True}
    page = get(client, tenant, gone["id"])
    assert page["deleted"] is True and page["deleted_at"] is not None
    assert page["can_cancel"] is False and page["can_delete"] is False


def test_r8_the_english_refusal_for_a_deleted_order(client, tenant, deleted_order):
    response = cancel(client, tenant, deleted_order["order"]["id"], **{"Accept-Language": "en"})
    refused(response, "cannot_cancel")
    assert "deleted" in response.json["error"]["message"]


# ---------------------------------------------------------------- R10 stock on cancel

def test_r10_cancel_of_an_order_awaiting_shipment_releases_the_reservation(app, client, tenant, mapped):
    order = order_in(app, client, tenant, "awaiting_shipment", "requested", reserve=True)
    assert (product(client, tenant)["stock"], product(client, tenant)["reserved"]) == (10, 2)

    assert cancel(client, tenant, order["id"]).status_code == 200

    after = product(client, tenant)
    assert (after["stock"], after["reserved"], after["available"]) == (10, 0, 10)


def test_r10_cancel_after_a_refused_cancel_releases_the_reservation_exactly_once(app, client, tenant, mapped):
    order = order_in(app, client, tenant, "awaiting_shipment", "requested", reserve=True)
    assert cancel(client, tenant, order["id"]).status_code == 200
    refused(cancel(client, tenant, order["id"]), "cannot_cancel")

    assert product(client, tenant)["reserved"] == 0


def test_r10_cancel_of_a_completed_order_does_not_change_stock_or_reservations(app, client, tenant, mapped):
    waiting = order_in(app, client, tenant, "awaiting_shipment", "requested", reserve=True)  # holds 2
    shipped = order_in(app, client, tenant, "completed", "shipped")
    before = product(client, tenant)
    assert (before["stock"], before["reserved"]) == (10, 2)

    response = cancel(client, tenant, shipped["id"])

    assert response.status_code == 200, response.json
    after = product(client, tenant)
    assert (after["stock"], after["reserved"], after["available"]) == (10, 2, 8)
    assert get(client, tenant, waiting["id"])["status"] == "awaiting_shipment"


# ---------------------------------------------------------------- R12 history

def test_r12_every_action_writes_an_event_with_who_what_and_the_statuses_oldest_first(client, tenant):
    order = create_order(client, tenant)
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    tag = make_tag(client, tenant, "ギフト")
    assert confirm(client, tenant, order["id"]).status_code == 200
    assert client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers()).status_code == 200
    assert client.delete(f"/api/v1/orders/{order['id']}/tags/{tag['id']}",
                         headers=tenant.headers()).status_code == 200
    assert cancel(client, tenant, order["id"], {"reason_code": 8}).status_code == 200

    items = events(client, tenant, order["id"])

    assert [e["kind"] for e in items] == ["registered", "mapped", "confirmed", "tag_added", "tag_removed", "cancelled"]
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)
    assert [e["at"] for e in items] == sorted(e["at"] for e in items)
    assert all(e["at"].endswith("+09:00") for e in items)
    who = {"type": "token", "name": f"{tenant.staff_email}（API）"}
    assert all(e["actor"] == who for e in items)
    by_kind = {e["kind"]: e for e in items}
    assert (by_kind["registered"]["from_status"], by_kind["registered"]["to_status"]) == (None, "awaiting_confirmation")
    assert (by_kind["confirmed"]["from_status"], by_kind["confirmed"]["to_status"]) == ("awaiting_confirmation",
                                                                                       "confirmed")
    assert (by_kind["cancelled"]["from_status"], by_kind["cancelled"]["to_status"]) == ("confirmed", "cancelled")
    assert "ショップ都合（欠品）" in by_kind["cancelled"]["message"]
    assert "ギフト" in by_kind["tag_added"]["message"] and "ギフト" in by_kind["tag_removed"]["message"]


def test_r12_delete_writes_a_deleted_event_keeping_the_status(client, tenant):
    order = create_order(client, tenant)
    delete(client, tenant, order["id"])

    last = events(client, tenant, order["id"])[-1]

    assert last["kind"] == "deleted"
    assert last["actor"] == {"type": "token", "name": f"{tenant.staff_email}（API）"}
    assert (last["from_status"], last["to_status"]) == ("awaiting_confirmation", "awaiting_confirmation")


def test_r12_a_refused_action_writes_no_event(client, tenant, mapped):
    order = create_order(client, tenant)
    before = events(client, tenant, order["id"])
    refused(delete(client, tenant, order["id"]), "cannot_delete")
    assert events(client, tenant, order["id"]) == before


# ---------------------------------------------------------------- R9 capture of the reflection setting

def connect_rms(app, tenant, reflect: bool) -> None:
    """The Rakuten connection comes later: fake its stored credentials."""
    with app.app_context():
        shop = db.session.get(Shop, tenant.shop_id)
        set_rms_connection(shop.id, secrets_enc={"service_secret": "enc:service-secret", "license_key": "enc:license-key"})
        shop.reflect_cancel_to_rms = reflect
        db.session.commit()
        db.session.remove()


def link_to_mall(app, order_id: int) -> None:
    """Make an order look as if the mall import brought it (the import comes later)."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.mall_linked, order.source = True, "mall_import"
        db.session.commit()
        db.session.remove()


def set_reflect(client, tenant, on: bool) -> None:
    response = client.patch(f"/api/v1/shops/{tenant.shop_id}", json={"reflect_cancel_to_rms": on},
                            headers=tenant.headers("admin"))
    assert response.status_code == 200, response.json
    assert response.json["reflect_cancel_to_rms"] is on
    assert response.json["rms_connected"] is True


def reflection_record(app, order_id: int):
    """(captured setting, outbox rows of rms.reflect_cancel for the order)."""
    with app.app_context():
        captured = db.session.get(Order, order_id).reflect_cancel_to_rms
        rows = [m for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "rms.reflect_cancel"))
                if m.payload.get("order_id") == order_id]
        db.session.remove()
    return captured, len(rows)


def test_r9_cancel_with_reflection_on_is_captured_and_queued_and_turning_it_off_later_changes_nothing(app, client,
                                                                                                     tenant):
    connect_rms(app, tenant, reflect=True)
    order = create_order(client, tenant)
    link_to_mall(app, order["id"])

    response = cancel(client, tenant, order["id"])

    assert response.status_code == 200, response.json
    assert response.json["mall_reflection"]["state"] == "pending"
    assert reflection_record(app, order["id"]) == (True, 1)
    assert "reflection_pending" in [e["kind"] for e in events(client, tenant, order["id"])]

    set_reflect(client, tenant, False)

    assert get(client, tenant, order["id"])["mall_reflection"]["state"] == "pending"
    assert reflection_record(app, order["id"]) == (True, 1)


def test_r9_cancel_with_reflection_off_is_never_reflected_even_if_turned_on_later(app, client, tenant):
    connect_rms(app, tenant, reflect=False)
    order = create_order(client, tenant)
    link_to_mall(app, order["id"])

    response = cancel(client, tenant, order["id"])

    assert response.status_code == 200, response.json
    assert response.json["mall_reflection"]["state"] == "none"
    assert reflection_record(app, order["id"]) == (False, 0)

    set_reflect(client, tenant, True)

    assert get(client, tenant, order["id"])["mall_reflection"]["state"] == "none"
    assert reflection_record(app, order["id"]) == (False, 0)
    assert "reflection_pending" not in [e["kind"] for e in events(client, tenant, order["id"])]


def test_r9_the_setting_takes_effect_at_once_for_the_next_cancel(app, client, tenant):
    connect_rms(app, tenant, reflect=False)
    before, after = create_order(client, tenant), create_order(client, tenant)
    link_to_mall(app, before["id"])
    link_to_mall(app, after["id"])

    cancel(client, tenant, before["id"])
    set_reflect(client, tenant, True)
    cancel(client, tenant, after["id"])

    assert reflection_record(app, before["id"]) == (False, 0)
    assert reflection_record(app, after["id"]) == (True, 1)
    assert get(client, tenant, after["id"])["mall_reflection"]["state"] == "pending"


def test_r9_a_manual_order_is_never_reflected(app, client, tenant):
    connect_rms(app, tenant, reflect=True)
    order = create_order(client, tenant)
    assert order["mall_linked"] is False

    response = cancel(client, tenant, order["id"])

    assert response.status_code == 200, response.json
    assert response.json["mall_reflection"]["state"] == "none"
    assert reflection_record(app, order["id"]) == (False, 0)


def test_r9_a_shop_without_an_rms_connection_never_reflects(app, client, tenant):
    set_reflect_without_connection = client.patch(f"/api/v1/shops/{tenant.shop_id}",
                                                  json={"reflect_cancel_to_rms": True}, headers=tenant.headers("admin"))
    assert set_reflect_without_connection.json["rms_connected"] is False
    order = create_order(client, tenant)
    link_to_mall(app, order["id"])

    response = cancel(client, tenant, order["id"])

    assert response.json["mall_reflection"]["state"] == "none"
    assert reflection_record(app, order["id"]) == (False, 0)
