"""POST /api/v1/orders with what the buyer pays besides the lines (api.md): charges, discount, points_used
(0..10,000,000 each), billed (default: total + charges − discount − points_used) and delivery_time_slot only
in api.md's forms — refused with a validation_error naming the field, nothing registered."""
from __future__ import annotations

import re

import pytest

from boss.orders.delivery import is_time_slot, time_slot_pattern
from tests.api.api_helpers import API, db_counts, error_of, get_order, post_order

LINES = [{"mall_item_id": "tea", "name": "煎茶", "quantity": 2, "unit_price": 1200},
         {"mall_item_id": "cup", "name": "湯呑み", "quantity": 1, "unit_price": 2200}]  # ¥4,600


def test_the_amounts_are_kept_and_billed_defaults_to_the_formula(client, tenant):
    response = post_order(client, tenant, lines=LINES, postage=880, charges=330, discount=500, points_used=120,
                          payment_method="代金引換", delivery_date="2026-11-05", delivery_time_slot="14-16")
    assert response.status_code == 201, response.json
    order = get_order(client, tenant, response.json["id"])
    assert (order["total"], order["postage"], order["wrapping"]) == (5480, 880, 0)
    assert (order["charges"], order["discount"], order["points_used"]) == (330, 500, 120)
    assert order["billed"] == 5480 + 330 - 500 - 120 == 5190
    assert (order["delivery_date"], order["delivery_time_slot"]) == ("2026-11-05", "14-16")


def test_without_amounts_billed_is_the_total_and_the_others_are_zero(client, tenant):
    order = post_order(client, tenant, lines=LINES).json
    assert (order["charges"], order["discount"], order["points_used"], order["postage"]) == (0, 0, 0, None)
    assert order["billed"] == order["total"] == 4600
    nulls = post_order(client, tenant, lines=LINES, charges=None, discount=None, points_used=None, billed=None).json
    assert (nulls["charges"], nulls["discount"], nulls["points_used"], nulls["billed"]) == (0, 0, 0, 4600)


def test_a_given_billed_is_kept_as_the_shop_was_told_it(client, tenant):
    """A 請求金額 from elsewhere (a mall's own rounding, a deal made by phone) is not recomputed."""
    order = post_order(client, tenant, lines=LINES, charges=330, billed=4000).json
    assert (order["total"], order["billed"]) == (4600, 4000)


@pytest.mark.parametrize("field, value", [
    ("charges", -1), ("discount", -500), ("points_used", -1), ("charges", 10_000_001), ("points_used", 1.5),
    ("discount", "500"), ("billed", -1), ("billed", True),
])
def test_an_amount_out_of_range_or_not_an_integer_is_refused_naming_it(app, client, tenant, field, value):
    before = db_counts(app)
    error = error_of(post_order(client, tenant, lines=LINES, **{field: value}), 422, "validation_error")
    assert list(error["fields"]) == [field]
    assert db_counts(app) == before


def test_the_largest_amounts_are_taken(client, tenant):
    order = post_order(client, tenant, lines=[{"mall_item_id": "gold", "name": "金の茶釜", "quantity": 9999,
                                               "unit_price": 10_000_000}],
                       charges=10_000_000, discount=10_000_000, points_used=10_000_000).json
    assert order["billed"] == 9999 * 10_000_000 - 10_000_000


def test_coupons_and_points_beyond_what_is_paid_are_refused_rather_than_billing_a_negative_amount(app, client, tenant):
    before = db_counts(app)
    error = error_of(post_order(client, tenant, lines=LINES, discount=4000, points_used=601), 422, "validation_error")
    assert "discount" in error["fields"] and "マイナス" in error["fields"]["discount"]
    assert db_counts(app) == before
    # with a 請求額 given, the shop has said what it asks for
    assert post_order(client, tenant, lines=LINES, discount=4000, points_used=601, billed=0).status_code == 201


@pytest.mark.parametrize("slot", ["午前中", "午後", "その他", "08-12", "14-16", "19-21", "00-24", " 12-14 "])
def test_a_time_slot_of_api_md_is_taken(client, tenant, slot):
    order = post_order(client, tenant, delivery_time_slot=slot).json
    assert order["delivery_time_slot"] == slot.strip()


@pytest.mark.parametrize("slot", [None, "", "  "])
def test_no_time_slot_is_null(client, tenant, slot):
    assert post_order(client, tenant, delivery_time_slot=slot).json["delivery_time_slot"] is None


@pytest.mark.parametrize("slot", ["14:00-16:00", "14～16", "16-14", "14-14", "8-12", "23-25", "午前", "指定なし",
                                  "１４-１６", "14-16時", "1416"])
def test_any_other_time_slot_is_refused_saying_which_forms_are_taken(app, client, tenant, slot):
    before = db_counts(app)
    error = error_of(post_order(client, tenant, delivery_time_slot=slot), 422, "validation_error")
    assert list(error["fields"]) == ["delivery_time_slot"]
    assert "午前中" in error["fields"]["delivery_time_slot"] and "14-16" in error["fields"]["delivery_time_slot"]
    assert db_counts(app) == before


def test_the_document_states_the_new_fields_and_exactly_the_slots_the_server_takes(client):
    schema = client.get("/api/openapi.json").json["components"]["schemas"]["NewOrder"]["properties"]
    for name in ("charges", "discount", "points_used"):
        assert (schema[name]["minimum"], schema[name]["maximum"]) == (0, 10_000_000)
    assert schema["billed"]["minimum"] == 0
    pattern = re.compile(time_slot_pattern())
    candidates = ["午前中", "午後", "その他", "午前", "", *(f"{a:02d}-{b:02d}" for a in range(100) for b in range(100))]
    assert [c for c in candidates if bool(pattern.fullmatch(c)) != is_time_slot(c)] == []
    assert sum(map(is_time_slot, candidates)) == 3 + 24 * 25 // 2
    assert time_slot_pattern().removeprefix("^").removesuffix("$") in schema["delivery_time_slot"]["pattern"]


def test_the_english_refusal_names_the_field_too(client, tenant):
    response = client.post(f"{API}/orders", json={"shop_id": tenant.shop_id, "mall_order_number": "EN-1",
                                                 "buyer": {"name": "A"}, "delivery_time_slot": "9-12",
                                                 "lines": LINES}, headers=tenant.headers(**{"Accept-Language": "en"}))
    error = error_of(response, 422, "validation_error")
    assert "delivery_time_slot" in error["message"]
