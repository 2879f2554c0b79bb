"""Mappings (orders.md §1, §3: map items, auto-confirm) and tags (§5: system, custom, holding)."""
from __future__ import annotations

import pytest

from tests.api.api_helpers import (API, create_tag, db_counts, error_of, events, get_order, raise_system_tag,
                                   system_tag_id, tag_codes, tag_names)
from tests.factories import create_order, create_product, map_item, set_state

ITEM_2 = {"mall_item_id": "item-2", "name": "番茶", "quantity": 1, "unit_price": 500}


def _map(client, tenant, **body):
    return client.post(f"{API}/mappings", json={"shop_id": tenant.shop_id, **body}, headers=tenant.headers())


# ---------------------------------------------------------------- mapping


def test_a_mapping_maps_matching_lines_of_awaiting_confirmation_orders_only(app, client, tenant):
    create_product(client, tenant, sku="SKU-1")
    waiting = create_order(client, tenant, number="M-WAIT")
    confirmed = create_order(client, tenant, number="M-CONFIRMED")
    set_state(app, confirmed["id"], "confirmed")
    cancelled = create_order(client, tenant, number="M-CANCELLED")
    client.post(f"{API}/orders/{cancelled['id']}/cancel", json={}, headers=tenant.headers())
    deleted = create_order(client, tenant, number="M-DELETED")
    client.delete(f"{API}/orders/{deleted['id']}", headers=tenant.headers())
    other_item = create_order(client, tenant, number="M-OTHER", lines=[ITEM_2])

    response = _map(client, tenant, mall_item_id="item-1", sku="SKU-1")
    assert response.status_code == 201, response.json
    assert {k: response.json[k] for k in ("shop_id", "mall_item_id", "sub_code", "sku")} == {
        "shop_id": tenant.shop_id, "mall_item_id": "item-1", "sub_code": None, "sku": "SKU-1"}

    mapped = get_order(client, tenant, waiting["id"])["lines"][0]
    assert (mapped["mapped"], mapped["sku"]) == (True, "SKU-1")
    for order in (confirmed, cancelled, deleted, other_item):
        line = get_order(client, tenant, order["id"])["lines"][0]
        assert (line["mapped"], line["sku"]) == (False, None), order["mall_order_number"]


def test_a_mapping_records_a_mapped_event_and_bumps_the_version(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    order = create_order(client, tenant)
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    after = get_order(client, tenant, order["id"])
    assert after["version"] > order["version"]
    mapped = [e for e in events(client, tenant, order["id"]) if e["kind"] == "mapped"]
    assert len(mapped) == 1 and "SKU-1" in mapped[0]["message"]


@pytest.mark.parametrize("mapping_sub_code,mapped_sub_codes", [
    ("red", ["red"]),
    (None, [None]),
    ("blue", []),
])
def test_a_mapping_matches_the_sub_code_exactly(client, tenant, mapping_sub_code, mapped_sub_codes):
    create_product(client, tenant, sku="SKU-1")
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "item-1", "sub_code": "red", "name": "赤", "quantity": 1, "unit_price": 100},
        {"mall_item_id": "item-1", "name": "無地", "quantity": 1, "unit_price": 100},
        {"mall_item_id": "item-1", "sub_code": "RED", "name": "赤(大文字)", "quantity": 1, "unit_price": 100},
    ])
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1", sub_code=mapping_sub_code)
    lines = get_order(client, tenant, order["id"])["lines"]
    assert [l["sub_code"] for l in lines if l["mapped"]] == mapped_sub_codes


def test_the_unmapped_items_tag_goes_when_every_line_is_mapped(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    create_product(client, tenant, sku="SKU-2")
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 100}, ITEM_2])
    assert "unmapped_items" in tag_codes(order)
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    assert "unmapped_items" in tag_codes(get_order(client, tenant, order["id"]))
    map_item(client, tenant, mall_item_id="item-2", sku="SKU-2")
    after = get_order(client, tenant, order["id"])
    assert "unmapped_items" not in tag_codes(after)
    assert "not_mall_linked" in tag_codes(after)
    assert after["status"] == "awaiting_confirmation"  # auto_confirm is off by default


def test_auto_confirm_confirms_orders_that_become_fully_mapped_and_are_not_held(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    plain = create_order(client, tenant, number="AC-PLAIN")
    held = create_order(client, tenant, number="AC-HELD")
    partial = create_order(client, tenant, number="AC-PARTIAL",
                           lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1}, ITEM_2])
    hold = create_tag(client, tenant, name="保留中", holds=True)
    client.post(f"{API}/orders/{held['id']}/tags/{hold['id']}", headers=tenant.headers())
    shop = client.patch(f"{API}/shops/{tenant.shop_id}", json={"auto_confirm": True}, headers=tenant.headers("admin"))
    assert shop.status_code == 200 and shop.json["auto_confirm"] is True

    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")

    assert get_order(client, tenant, plain["id"])["status"] == "confirmed"
    assert get_order(client, tenant, held["id"])["status"] == "awaiting_confirmation"
    assert get_order(client, tenant, partial["id"])["status"] == "awaiting_confirmation"
    confirmed = [e for e in events(client, tenant, plain["id"]) if e["kind"] == "confirmed"]
    assert len(confirmed) == 1 and confirmed[0]["actor"]["type"] == "system"
    now = client.get(f"{API}/orders/counts", headers=tenant.headers()).json
    assert (now["confirmed"], now["awaiting_confirmation"], now["all"]) == (1, 2, 3)


def test_without_auto_confirm_a_fully_mapped_order_waits_for_a_user(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    order = create_order(client, tenant)
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"


def test_a_duplicate_mapping_answers_409_already_exists(app, client, tenant):
    create_product(client, tenant, sku="SKU-1")
    create_product(client, tenant, sku="SKU-2")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    before = db_counts(app)
    error_of(_map(client, tenant, mall_item_id="item-1", sku="SKU-2"), 409, "already_exists")
    assert db_counts(app) == before
    assert _map(client, tenant, mall_item_id="item-1", sub_code="red", sku="SKU-2").status_code == 201


def test_many_mall_items_may_map_to_one_product(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    assert _map(client, tenant, mall_item_id="item-2", sku="SKU-1").status_code == 201


def test_a_mapping_to_an_unknown_sku_answers_422(app, client, tenant):
    order = create_order(client, tenant)
    before = db_counts(app)
    error = error_of(_map(client, tenant, mall_item_id="item-1", sku="NO-SUCH"), 422, "validation_error")
    assert "sku" in error["fields"]
    assert db_counts(app) == before
    assert get_order(client, tenant, order["id"])["lines"][0]["mapped"] is False


def test_deleting_a_mapping_answers_204_and_mapped_lines_stay_mapped(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    mapping = map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    order = create_order(client, tenant)
    response = client.delete(f"{API}/mappings/{mapping['id']}", headers=tenant.headers())
    assert response.status_code == 204
    assert response.get_data() == b""
    line = get_order(client, tenant, order["id"])["lines"][0]
    assert (line["mapped"], line["sku"]) == (True, "SKU-1")
    assert client.get(f"{API}/mappings", headers=tenant.headers()).json["items"] == []
    assert create_order(client, tenant)["lines"][0]["mapped"] is False  # new orders no longer map
    error_of(client.delete(f"{API}/mappings/{mapping['id']}", headers=tenant.headers()), 404, "not_found")


def test_a_deleted_mapping_may_be_made_again(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    mapping = map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    client.delete(f"{API}/mappings/{mapping['id']}", headers=tenant.headers())
    assert _map(client, tenant, mall_item_id="item-1", sku="SKU-1").status_code == 201


# ---------------------------------------------------------------- tags


def test_a_custom_tag_is_created_with_its_colour_and_hold(client, tenant):
    response = client.post(f"{API}/tags", json={"name": "ギフト包装", "color": "#AA3300", "holds": True},
                           headers=tenant.headers())
    assert response.status_code == 201, response.json
    tag = response.json
    assert {k: tag[k] for k in ("code", "name", "color", "system", "holds")} == {
        "code": None, "name": "ギフト包装", "color": "#AA3300", "system": False, "holds": True}
    listed = client.get(f"{API}/tags", headers=tenant.headers()).json["items"]
    assert tag in listed


def test_a_custom_tag_does_not_hold_unless_asked(client, tenant):
    tag = create_tag(client, tenant, name="メモ")
    assert tag["holds"] is False and tag["system"] is False


@pytest.mark.parametrize("name", ["ギフト包装", "複数送付先", "モール出荷連携なし"])
def test_a_tag_name_that_exists_answers_409_already_exists(app, client, tenant, name):
    create_tag(client, tenant, name="ギフト包装")
    before = db_counts(app)
    error_of(client.post(f"{API}/tags", json={"name": name}, headers=tenant.headers()), 409, "already_exists")
    assert db_counts(app) == before


def test_a_tag_is_added_to_and_removed_from_an_order(client, tenant):
    tag = create_tag(client, tenant, name="ギフト")
    order = create_order(client, tenant)
    added = client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    assert added.status_code == 200, added.json
    assert "ギフト" in tag_names(added.json)
    assert added.json["version"] > order["version"]
    removed = client.delete(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    assert removed.status_code == 200, removed.json
    assert "ギフト" not in tag_names(removed.json)
    assert "ギフト" not in tag_names(get_order(client, tenant, order["id"]))
    kinds = [(e["kind"], e["message"]) for e in events(client, tenant, order["id"])]
    assert ("tag_added", "ギフト") in kinds and ("tag_removed", "ギフト") in kinds


def test_adding_a_tag_twice_keeps_one(client, tenant):
    tag = create_tag(client, tenant, name="ギフト")
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    again = client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    assert again.status_code == 200
    assert tag_names(again.json).count("ギフト") == 1


def test_a_holding_tag_blocks_confirm_naming_the_tag(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    order = create_order(client, tenant)
    hold = create_tag(client, tenant, name="与信確認中", holds=True)
    client.post(f"{API}/orders/{order['id']}/tags/{hold['id']}", headers=tenant.headers())
    error = error_of(client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()),
                     409, "invalid_transition")
    assert "与信確認中" in error["message"]
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"

    removed = client.delete(f"{API}/orders/{order['id']}/tags/{hold['id']}", headers=tenant.headers())
    assert removed.json["status"] == "awaiting_confirmation"  # removing a hold changes no status
    assert client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()).json["status"] == "confirmed"


def test_a_tag_that_does_not_hold_never_blocks_confirm(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    order = create_order(client, tenant)
    memo = create_tag(client, tenant, name="メモ", holds=False)
    client.post(f"{API}/orders/{order['id']}/tags/{memo['id']}", headers=tenant.headers())
    assert client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()).status_code == 200


@pytest.mark.parametrize("action", ["cancel", "delete"])
def test_a_holding_tag_never_blocks_cancel_or_delete(client, tenant, action):
    order = create_order(client, tenant)
    hold = create_tag(client, tenant, name="保留", holds=True)
    client.post(f"{API}/orders/{order['id']}/tags/{hold['id']}", headers=tenant.headers())
    if action == "cancel":
        response = client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
        assert response.status_code == 200, response.json
        assert response.json["status"] == "cancelled"
    else:
        response = client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers())
        assert response.status_code == 200, response.json
        assert response.json["deleted"] is True


@pytest.mark.parametrize("code", ["multiple_destinations", "mall_reflection_error", "not_mall_linked",
                                  "unmapped_items", "warehouse_notice_pending", "mall_cancelled"])
def test_a_system_tag_cannot_be_added_by_hand(app, client, tenant, code):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    order = create_order(client, tenant)  # fully mapped: carries only not_mall_linked
    before = get_order(client, tenant, order["id"])
    tag_id = system_tag_id(client, tenant, code)
    response = client.post(f"{API}/orders/{order['id']}/tags/{tag_id}", headers=tenant.headers())
    error = error_of(response, 409, "invalid_transition")
    assert "システムタグ" in error["message"]
    after = get_order(client, tenant, order["id"])
    assert tag_codes(after) == tag_codes(before)
    assert after["version"] == before["version"]


@pytest.mark.parametrize("code", ["not_mall_linked", "unmapped_items"])
def test_a_system_tag_the_system_clears_cannot_be_removed_by_hand(client, tenant, code):
    order = create_order(client, tenant)
    tag_id = system_tag_id(client, tenant, code)
    error = error_of(client.delete(f"{API}/orders/{order['id']}/tags/{tag_id}", headers=tenant.headers()),
                     409, "invalid_transition")
    assert error["message"]
    assert code in tag_codes(get_order(client, tenant, order["id"]))


def test_multiple_destinations_holds_and_a_user_may_remove_it(app, client, tenant):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    order = create_order(client, tenant)
    raise_system_tag(app, order["id"], "multiple_destinations")
    error = error_of(client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()),
                     409, "invalid_transition")
    assert "複数送付先" in error["message"]
    tag_id = system_tag_id(client, tenant, "multiple_destinations")
    removed = client.delete(f"{API}/orders/{order['id']}/tags/{tag_id}", headers=tenant.headers())
    assert removed.status_code == 200, removed.json
    assert "multiple_destinations" not in tag_codes(removed.json)
    assert client.post(f"{API}/orders/{order['id']}/confirm", headers=tenant.headers()).status_code == 200


def test_r8_tags_of_a_deleted_order_cannot_change(client, tenant):
    tag = create_tag(client, tenant, name="ギフト")
    order = create_order(client, tenant)
    client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers())
    error = error_of(client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers()),
                     409, "invalid_transition")
    assert error["message"] == "削除済みの注文は操作できません。"
    assert "ギフト" not in tag_names(get_order(client, tenant, order["id"]))


def test_a_cancelled_order_may_still_be_tagged(client, tenant):
    tag = create_tag(client, tenant, name="返金済み")
    order = create_order(client, tenant)
    client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    response = client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    assert response.status_code == 200, response.json
    assert "返金済み" in tag_names(response.json)
    assert response.json["status"] == "cancelled"


def test_an_unknown_tag_id_answers_404(client, tenant):
    order = create_order(client, tenant)
    error_of(client.post(f"{API}/orders/{order['id']}/tags/999999", headers=tenant.headers()), 404, "not_found")
