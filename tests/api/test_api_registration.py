"""POST /api/v1/orders: R4, R6 (one holder per number, cancelled numbers never come back), R7 (manual orders
are not mall-linked), mapping at registration, recipient, total and Japan time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.api.api_helpers import (API, db_counts, error_of, events, get_order, list_numbers, post_order,
                                   tag_codes)
from tests.factories import create_order, create_product, map_item, order_body, set_state

CANCELLED_HOLDER_MESSAGE = "このモール注文番号はキャンセル済みの注文で使用されているため登録できません。別の番号で登録してください。"


# ---------------------------------------------------------------- R6


@pytest.mark.parametrize("status,shipment_status", [
    ("awaiting_confirmation", None),
    ("confirmed", None),
    ("awaiting_shipment", "requested"),
    ("shipping_in_progress", "shipping"),
    ("completed", "shipped"),
])
def test_r6_a_number_held_by_an_active_order_is_refused(app, client, tenant, status, shipment_status):
    holder = create_order(client, tenant, number="R6-ACTIVE")
    set_state(app, holder["id"], status, shipment_status)
    before = db_counts(app)
    error = error_of(post_order(client, tenant, number="R6-ACTIVE"), 409, "mall_order_number_taken")
    assert error["message"] != CANCELLED_HOLDER_MESSAGE
    assert "キャンセル" not in error["message"]
    assert db_counts(app) == before


def test_r6_a_number_held_by_a_cancelled_order_is_refused_with_the_use_another_number_message(app, client, tenant):
    holder = create_order(client, tenant, number="R6-CANCELLED")
    assert client.post(f"{API}/orders/{holder['id']}/cancel", json={}, headers=tenant.headers()).status_code == 200
    before = db_counts(app)
    error = error_of(post_order(client, tenant, number="R6-CANCELLED"), 409, "mall_order_number_taken")
    assert error["message"] == CANCELLED_HOLDER_MESSAGE
    assert db_counts(app) == before


def test_r6_the_cancelled_holder_message_is_english_when_asked(client, tenant):
    holder = create_order(client, tenant, number="R6-CANCELLED-EN")
    client.post(f"{API}/orders/{holder['id']}/cancel", json={}, headers=tenant.headers())
    error = error_of(post_order(client, tenant, number="R6-CANCELLED-EN", headers={"Accept-Language": "en"}),
                     409, "mall_order_number_taken")
    assert "cancelled" in error["message"].lower()
    assert "different number" in error["message"].lower()


def test_r6_a_number_is_compared_after_trimming(client, tenant):
    create_order(client, tenant, number="R6-TRIM")
    error_of(post_order(client, tenant, number="  R6-TRIM  "), 409, "mall_order_number_taken")


def test_r6_a_number_whose_only_holder_was_deleted_is_accepted(client, tenant):
    first = create_order(client, tenant, number="R6-DELETED")
    assert client.delete(f"{API}/orders/{first['id']}", headers=tenant.headers()).status_code == 200
    response = post_order(client, tenant, number="R6-DELETED")
    assert response.status_code == 201, response.json
    second = response.json
    assert second["id"] != first["id"]
    assert second["deleted"] is False
    assert get_order(client, tenant, first["id"])["deleted"] is True
    assert list_numbers(client, tenant) == ["R6-DELETED"]
    assert list_numbers(client, tenant, include_deleted="true") == ["R6-DELETED", "R6-DELETED"]


def test_r6_after_deleting_two_holders_the_number_is_still_free(client, tenant):
    for _ in range(2):
        order = create_order(client, tenant, number="R6-TWICE")
        assert client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers()).status_code == 200
    assert post_order(client, tenant, number="R6-TWICE").status_code == 201


def test_r6_a_re_registered_number_that_is_cancelled_again_is_refused_as_cancelled(client, tenant):
    first = create_order(client, tenant, number="R6-AGAIN")
    client.delete(f"{API}/orders/{first['id']}", headers=tenant.headers())
    second = create_order(client, tenant, number="R6-AGAIN")
    client.post(f"{API}/orders/{second['id']}/cancel", json={}, headers=tenant.headers())
    error = error_of(post_order(client, tenant, number="R6-AGAIN"), 409, "mall_order_number_taken")
    assert error["message"] == CANCELLED_HOLDER_MESSAGE


def test_r4_the_same_number_may_be_registered_in_another_shop_of_the_account(client, tenant):
    create_order(client, tenant, number="R4-SHARED")
    shop = client.post(f"{API}/shops", json={"name": "二号店", "mall": "rakuten"}, headers=tenant.headers("admin"))
    assert shop.status_code == 201, shop.json
    response = client.post(f"{API}/orders", json=order_body(shop.json["id"], number="R4-SHARED"),
                           headers=tenant.headers())
    assert response.status_code == 201, response.json
    assert response.json["shop_id"] == shop.json["id"]
    error_of(post_order(client, tenant, number="R4-SHARED"), 409, "mall_order_number_taken")


# ---------------------------------------------------------------- R7


def test_r7_a_manual_order_is_not_mall_linked_and_carries_the_system_tag(client, tenant):
    order = create_order(client, tenant)
    assert order["source"] == "manual"
    assert order["mall_linked"] is False
    tag = next(t for t in order["tags"] if t["code"] == "not_mall_linked")
    assert tag["name"] == "モール出荷連携なし"
    assert tag["system"] is True
    assert tag["holds"] is False


def test_r7_a_registered_order_starts_awaiting_confirmation_with_its_actions_open(client, tenant):
    order = create_order(client, tenant)
    assert order["status"] == "awaiting_confirmation"
    assert order["status_label"] == "確認待"
    assert order["shipment_status"] is None
    assert order["deleted"] is False and order["deleted_at"] is None and order["cancelled_at"] is None
    assert order["can_cancel"] is True and order["can_delete"] is True
    assert order["mall_reflection"] == {"state": "none", "message": None}
    assert isinstance(order["version"], int)


def test_r12_registration_writes_a_registered_event(client, tenant):
    order = create_order(client, tenant)
    history = events(client, tenant, order["id"])
    assert [e["kind"] for e in history] == ["registered"]
    assert history[0]["to_status"] == "awaiting_confirmation"
    assert history[0]["actor"]["type"] == "token"
    assert history[0]["at"].endswith("+09:00")


# ---------------------------------------------------------------- lines and mapping


def test_lines_are_mapped_where_a_mapping_exists(client, tenant):
    create_product(client, tenant, sku="SKU-TEA")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-TEA")
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1000},
        {"mall_item_id": "item-2", "name": "番茶", "quantity": 1, "unit_price": 500},
    ])
    first, second = order["lines"]
    assert (first["mapped"], first["sku"]) == (True, "SKU-TEA")
    assert (second["mapped"], second["sku"]) == (False, None)
    assert "unmapped_items" in tag_codes(order)
    assert order["can_delete"] is False  # R2: a mapped line


def test_an_order_whose_lines_are_all_mapped_has_no_unmapped_items_tag(client, tenant):
    create_product(client, tenant, sku="SKU-TEA")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-TEA")
    order = create_order(client, tenant)
    assert all(line["mapped"] for line in order["lines"])
    assert "unmapped_items" not in tag_codes(order)
    assert tag_codes(order) == ["not_mall_linked"]


def test_registration_mapping_matches_the_sub_code_exactly(client, tenant):
    create_product(client, tenant, sku="SKU-RED")
    create_product(client, tenant, sku="SKU-PLAIN")
    map_item(client, tenant, mall_item_id="shirt", sub_code="red", sku="SKU-RED")
    map_item(client, tenant, mall_item_id="shirt", sku="SKU-PLAIN")
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "shirt", "sub_code": "red", "name": "シャツ 赤", "quantity": 1, "unit_price": 3000},
        {"mall_item_id": "shirt", "sub_code": "blue", "name": "シャツ 青", "quantity": 1, "unit_price": 3000},
        {"mall_item_id": "shirt", "name": "シャツ", "quantity": 1, "unit_price": 3000},
    ])
    assert [(l["sub_code"], l["sku"], l["mapped"]) for l in order["lines"]] == [
        ("red", "SKU-RED", True), ("blue", None, False), (None, "SKU-PLAIN", True)]


def test_a_mapping_of_another_shop_does_not_map_lines(client, tenant):
    shop = client.post(f"{API}/shops", json={"name": "二号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    create_product(client, tenant, sku="SKU-TEA")
    response = client.post(f"{API}/mappings", json={"shop_id": shop["id"], "mall_item_id": "item-1", "sku": "SKU-TEA"},
                           headers=tenant.headers())
    assert response.status_code == 201
    order = create_order(client, tenant)
    assert order["lines"][0]["mapped"] is False


def test_lines_keep_their_order_and_values(client, tenant):
    lines = [{"mall_item_id": f"item-{i}", "sub_code": f"s{i}", "name": f"商品{i}", "quantity": i, "unit_price": 100 * i}
             for i in range(1, 6)]
    order = create_order(client, tenant, lines=lines)
    assert [{k: l[k] for k in ("mall_item_id", "sub_code", "name", "quantity", "unit_price")}
            for l in order["lines"]] == lines
    assert all(isinstance(l["id"], int) for l in order["lines"])


# ---------------------------------------------------------------- parties, total, time


def test_the_recipient_defaults_to_the_buyer(client, tenant):
    buyer = {"name": "山田 花子", "name_kana": "ヤマダ ハナコ", "email": "hanako@example.jp", "phone": "03-1234-5678",
             "postal_code": "100-0001", "address": "東京都千代田区千代田1-1"}
    order = create_order(client, tenant, buyer=buyer)
    assert order["buyer"] == buyer
    assert order["recipient"] == buyer


def test_a_given_recipient_is_kept_apart_from_the_buyer(client, tenant):
    recipient = {"name": "鈴木 次郎", "name_kana": "スズキ ジロウ", "email": "", "phone": "06-0000-1111",
                 "postal_code": "530-0001", "address": "大阪府大阪市北区梅田1-1"}
    order = create_order(client, tenant, recipient=recipient)
    assert order["recipient"] == recipient
    assert order["buyer"]["name"] == "山田 花子"


@pytest.mark.parametrize("postage,expected", [(None, 2 * 1200 + 3 * 500), (0, 3900), (660, 3900 + 660)])
def test_the_total_is_the_sum_of_the_lines_plus_postage(client, tenant, postage, expected):
    extra = {} if postage is None else {"postage": postage}
    order = create_order(client, tenant, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": 2, "unit_price": 1200},
        {"mall_item_id": "item-2", "name": "番茶", "quantity": 3, "unit_price": 500},
    ], **extra)
    assert order["total"] == expected
    assert get_order(client, tenant, order["id"])["total"] == expected


def test_the_total_of_the_largest_order_is_exact(client, tenant):
    lines = [{"mall_item_id": f"item-{i}", "name": "高額品", "quantity": 9999, "unit_price": 10_000_000}
             for i in range(200)]
    order = create_order(client, tenant, lines=lines)
    assert order["total"] == 200 * 9999 * 10_000_000


@pytest.mark.parametrize("given", ["2026-11-01T01:15:30Z", "2026-11-01T01:15:30+00:00", "2026-11-01T10:15:30+09:00",
                                   "2026-11-01T10:15:30", "2026-10-31T20:15:30-05:00"])
def test_ordered_at_is_returned_in_japan_time(client, tenant, given):
    order = create_order(client, tenant, ordered_at=given)
    assert order["ordered_at"] == "2026-11-01T10:15:30+09:00"
    assert get_order(client, tenant, order["id"])["ordered_at"] == "2026-11-01T10:15:30+09:00"


def test_ordered_at_defaults_to_now_in_japan_time(client, tenant):
    order = create_order(client, tenant)
    shown = datetime.fromisoformat(order["ordered_at"])
    assert order["ordered_at"].endswith("+09:00")
    assert abs(shown - datetime.now(timezone.utc)) < timedelta(minutes=5)


def test_optional_fields_are_returned_as_given(client, tenant):
    order = create_order(client, tenant, payment_method="クレジットカード", remarks="のし希望\n赤",
                         delivery_date="2026-11-05", delivery_time_slot="14-16")
    assert order["payment_method"] == "クレジットカード"
    assert order["remarks"] == "のし希望\n赤"
    assert order["delivery_date"] == "2026-11-05"
    assert order["delivery_time_slot"] == "14-16"


def test_auto_confirm_confirms_a_fully_mapped_order_at_registration(client, tenant):
    create_product(client, tenant, sku="SKU-TEA")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-TEA")
    client.patch(f"{API}/shops/{tenant.shop_id}", json={"auto_confirm": True}, headers=tenant.headers("admin"))
    mapped = create_order(client, tenant)
    unmapped = create_order(client, tenant, lines=[{"mall_item_id": "item-2", "name": "番茶", "quantity": 1,
                                                    "unit_price": 100}])
    assert mapped["status"] == "confirmed"
    assert unmapped["status"] == "awaiting_confirmation"
