"""api.md errors: a body that is not JSON (400 `bad_request`) and fields that are missing, of the wrong type,
out of range or too long (422 `validation_error` with `fields`). A refused request changes nothing."""
from __future__ import annotations

import copy

import pytest

from tests.api.api_helpers import API, db_counts, error_of, get_order
from tests.factories import create_order, order_body

LINE = {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1000}


# ---------------------------------------------------------------- 400: not JSON

NOT_JSON = [
    ("post", "/orders"),
    ("post", "/mappings"),
    ("post", "/tags"),
    ("post", "/products"),
    ("post", "/orders/{order}/cancel"),
    ("post", "/orders/bulk"),
]


@pytest.mark.parametrize("payload,content_type", [
    ("this is not json", "text/plain"),
    ("{broken json", "application/json"),
    ("shop_id=1&mall_order_number=X", "application/x-www-form-urlencoded"),
])
@pytest.mark.parametrize("method,path", NOT_JSON)
def test_a_body_that_is_not_json_answers_400_bad_request_and_changes_nothing(
        app, client, tenant, method, path, payload, content_type):
    order = create_order(client, tenant)
    before = db_counts(app)
    response = getattr(client, method)(API + path.format(order=order["id"]), data=payload,
                                       headers=tenant.headers(**{"Content-Type": content_type}))
    error_of(response, 400, "bad_request")
    assert db_counts(app) == before
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"


@pytest.mark.parametrize("method,path", [("post", "/shops"), ("patch", "/shops/{shop}")])
def test_a_shop_body_that_is_not_json_answers_400_bad_request(client, tenant, method, path):
    response = getattr(client, method)(API + path.format(shop=tenant.shop_id), data="nope",
                                       headers=tenant.headers("admin", **{"Content-Type": "text/plain"}))
    error_of(response, 400, "bad_request")


@pytest.mark.parametrize("payload", ["[1, 2]", '"a string"', "42"])
def test_json_that_is_not_an_object_answers_422_and_registers_nothing(app, client, tenant, payload):
    before = db_counts(app)
    response = client.post(f"{API}/orders", data=payload, headers=tenant.headers(**{"Content-Type": "application/json"}))
    assert response.status_code in (400, 422), response.json
    assert response.json["error"]["code"] in ("bad_request", "validation_error")
    assert db_counts(app) == before


# ---------------------------------------------------------------- 422: POST /orders


def _set(path: str, value):
    """A mutation of the order body: dotted path, list indexes as numbers; value DELETE removes the key."""
    def mutate(body: dict) -> dict:
        body = copy.deepcopy(body)
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target = body
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
        return body
    return mutate


DELETE = object()

INVALID_ORDERS = [
    ("quantity 0", _set("lines.0.quantity", 0), "lines[0].quantity"),
    ("quantity 10000", _set("lines.0.quantity", 10000), "lines[0].quantity"),
    ("quantity negative", _set("lines.0.quantity", -1), "lines[0].quantity"),
    ("quantity as a string", _set("lines.0.quantity", "2"), "lines[0].quantity"),
    ("quantity as a fraction", _set("lines.0.quantity", 1.5), "lines[0].quantity"),
    ("quantity as a boolean", _set("lines.0.quantity", True), "lines[0].quantity"),
    ("quantity missing", _set("lines.0.quantity", DELETE), "lines[0].quantity"),
    ("unit_price -1", _set("lines.0.unit_price", -1), "lines[0].unit_price"),
    ("unit_price 10,000,001", _set("lines.0.unit_price", 10_000_001), "lines[0].unit_price"),
    ("unit_price missing", _set("lines.0.unit_price", DELETE), "lines[0].unit_price"),
    ("line name missing", _set("lines.0.name", DELETE), "lines[0].name"),
    ("line mall_item_id missing", _set("lines.0.mall_item_id", DELETE), "lines[0].mall_item_id"),
    ("second line bad", _set("lines.1", {**LINE, "quantity": 0}), "lines[1].quantity"),
    ("no lines", _set("lines", []), "lines"),
    ("201 lines", _set("lines", [LINE] * 201), "lines"),
    ("lines missing", _set("lines", DELETE), "lines"),
    ("lines not a list", _set("lines", LINE), "lines"),
    ("number of 65 characters", _set("mall_order_number", "N" * 65), "mall_order_number"),
    ("blank number", _set("mall_order_number", "   "), "mall_order_number"),
    ("empty number", _set("mall_order_number", ""), "mall_order_number"),
    ("number missing", _set("mall_order_number", DELETE), "mall_order_number"),
    ("number not a string", _set("mall_order_number", 12345), "mall_order_number"),
    ("number with a newline inside", _set("mall_order_number", "AB\nCD"), "mall_order_number"),
    ("number with a control character", _set("mall_order_number", "AB\x07CD"), "mall_order_number"),
    ("buyer name missing", _set("buyer.name", DELETE), "buyer.name"),
    ("buyer name blank", _set("buyer.name", "  "), "buyer.name"),
    ("buyer missing", _set("buyer", DELETE), "buyer"),
    ("buyer not an object", _set("buyer", "山田"), "buyer"),
    ("buyer name too long", _set("buyer.name", "山" * 256), "buyer.name"),
    ("recipient without a name", _set("recipient", {"address": "東京都"}), "recipient.name"),
    ("shop_id missing", _set("shop_id", DELETE), "shop_id"),
    ("shop_id as a string", _set("shop_id", "1"), "shop_id"),
    ("ordered_at not a date", _set("ordered_at", "yesterday"), "ordered_at"),
    ("postage negative", _set("postage", -1), "postage"),
    ("an unknown field", _set("colour", "red"), "colour"),
]


@pytest.mark.parametrize("what,mutate,field", INVALID_ORDERS, ids=[c[0] for c in INVALID_ORDERS])
def test_an_invalid_order_answers_422_naming_the_field_and_registers_nothing(
        app, client, tenant, what, mutate, field):
    body = order_body(tenant.shop_id, number="V-1", lines=[dict(LINE), dict(LINE, mall_item_id="item-2")])
    before = db_counts(app)
    response = client.post(f"{API}/orders", json=mutate(body), headers=tenant.headers())
    error = error_of(response, 422, "validation_error")
    assert field in error["fields"], error
    assert isinstance(error["fields"][field], str) and error["fields"][field]
    assert db_counts(app) == before
    # the number is still free: the refused request left nothing behind
    assert client.post(f"{API}/orders", json=body, headers=tenant.headers()).status_code == 201


def test_every_invalid_field_is_named_at_once(client, tenant):
    body = order_body(tenant.shop_id, number="N" * 65,
                      lines=[dict(LINE, quantity=0), dict(LINE, unit_price=-1)])
    del body["buyer"]["name"]
    error = error_of(client.post(f"{API}/orders", json=body, headers=tenant.headers()), 422, "validation_error")
    assert {"mall_order_number", "buyer.name", "lines[0].quantity", "lines[1].unit_price"} <= set(error["fields"])


@pytest.mark.parametrize("what,line_changes,count", [
    ("quantity 1", {"quantity": 1}, 1),
    ("quantity 9999", {"quantity": 9999}, 1),
    ("unit_price 0", {"unit_price": 0}, 1),
    ("unit_price 10,000,000", {"unit_price": 10_000_000}, 1),
    ("200 lines", {}, 200),
])
def test_values_at_the_edges_of_the_ranges_are_accepted(client, tenant, what, line_changes, count):
    lines = [dict(LINE, mall_item_id=f"item-{i}", **line_changes) for i in range(count)]
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id, lines=lines), headers=tenant.headers())
    assert response.status_code == 201, response.json
    assert len(response.json["lines"]) == count
    assert response.json["lines"][0]["quantity"] == line_changes.get("quantity", 1)


def test_manual_numbers_are_trimmed(client, tenant):
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id, number="  \tTRIM-1 \n"),
                           headers=tenant.headers())
    assert response.status_code == 201, response.json
    assert response.json["mall_order_number"] == "TRIM-1"
    assert client.get(f"{API}/orders", query_string={"mall_order_number": "TRIM-1"},
                      headers=tenant.headers()).json["items"][0]["id"] == response.json["id"]


def test_a_number_of_64_printable_characters_is_accepted_after_trimming(client, tenant):
    number = "A" * 30 + "-_/#.()" + "9" * 27
    assert len(number) == 64
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id, number=f"  {number}  "),
                           headers=tenant.headers())
    assert response.status_code == 201, response.json
    assert response.json["mall_order_number"] == number


@pytest.mark.parametrize("number", ["1", "注文番号-あ", "123456-20261101-0000012345", "a b"])
def test_manual_numbers_have_no_pattern_check(client, tenant, number):
    response = client.post(f"{API}/orders", json=order_body(tenant.shop_id, number=number), headers=tenant.headers())
    assert response.status_code == 201, response.json
    assert response.json["mall_order_number"] == number


# ---------------------------------------------------------------- 422: cancel


@pytest.mark.parametrize("body,field", [
    ({"reason_code": 7}, "reason_code"),
    ({"reason_code": 0}, "reason_code"),
    ({"reason_code": "10"}, "reason_code"),
    ({"retrieve_parcel": "yes"}, "retrieve_parcel"),
    ({"reason": 10}, "reason"),
])
def test_an_invalid_cancel_answers_422_and_the_order_stays_as_it_was(client, tenant, body, field):
    order = create_order(client, tenant)
    response = client.post(f"{API}/orders/{order['id']}/cancel", json=body, headers=tenant.headers())
    error = error_of(response, 422, "validation_error")
    assert field in error["fields"]
    again = get_order(client, tenant, order["id"])
    assert again["status"] == "awaiting_confirmation"
    assert again["version"] == order["version"]
    assert again["cancelled_at"] is None


@pytest.mark.parametrize("reason_code", [1, 6, 8, 10, 13, 15])
def test_a_cancel_accepts_the_rms_reason_codes(client, tenant, reason_code):
    order = create_order(client, tenant)
    response = client.post(f"{API}/orders/{order['id']}/cancel", json={"reason_code": reason_code},
                           headers=tenant.headers())
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"


def test_a_cancel_without_a_body_uses_the_default_reason(client, tenant):
    order = create_order(client, tenant)
    response = client.post(f"{API}/orders/{order['id']}/cancel", headers=tenant.headers())
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert response.json["cancel_reason_code"] == 10


# ---------------------------------------------------------------- 422: the list's query


@pytest.mark.parametrize("query,field", [
    ({"status": "shipped"}, "status"),
    ({"status": "CANCELLED"}, "status"),
    ({"shipment_status": "lost"}, "shipment_status"),
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "MjAyNi0xMS0wMQ"}, "cursor"),
    ({"ordered_from": "2026/11/01"}, "ordered_from"),
    ({"ordered_to": "tomorrow"}, "ordered_to"),
    ({"include_deleted": "maybe"}, "include_deleted"),
])
def test_an_invalid_list_query_answers_422_naming_the_parameter(client, tenant, query, field):
    create_order(client, tenant)
    error = error_of(client.get(f"{API}/orders", query_string=query, headers=tenant.headers()),
                     422, "validation_error")
    assert field in error.get("fields", {}), error


@pytest.mark.parametrize("limit", ["1", "200"])
def test_the_limits_at_the_edges_are_accepted(client, tenant, limit):
    create_order(client, tenant)
    create_order(client, tenant)
    response = client.get(f"{API}/orders", query_string={"limit": limit}, headers=tenant.headers())
    assert response.status_code == 200
    assert len(response.json["items"]) == min(int(limit), 2)


# ---------------------------------------------------------------- 422: other bodies


@pytest.mark.parametrize("path,body,field", [
    ("/tags", {}, "name"),
    ("/tags", {"name": "x" * 41}, "name"),
    ("/tags", {"name": "色違い", "color": "red"}, "color"),
    ("/tags", {"name": "保留", "holds": "yes"}, "holds"),
    ("/products", {"name": "煎茶"}, "sku"),
    ("/products", {"sku": "S" * 65, "name": "煎茶"}, "sku"),
    ("/products", {"sku": "S-1", "name": "煎茶", "stock": -1}, "stock"),
    ("/mappings", {"mall_item_id": "item-1", "sku": "SKU-1"}, "shop_id"),
    ("/mappings", {"shop_id": "{shop}", "sku": "SKU-1"}, "mall_item_id"),
    ("/mappings", {"shop_id": "{shop}", "mall_item_id": "item-1"}, "sku"),
    ("/mappings", {"shop_id": "{shop}", "mall_item_id": "item-1", "sku": "NO-SUCH-SKU"}, "sku"),
])
def test_invalid_catalogue_bodies_answer_422_and_create_nothing(app, client, tenant, path, body, field):
    client.post(f"{API}/products", json={"sku": "SKU-1", "name": "煎茶"}, headers=tenant.headers())
    body = {k: (tenant.shop_id if v == "{shop}" else v) for k, v in body.items()}
    before = db_counts(app)
    error = error_of(client.post(API + path, json=body, headers=tenant.headers()), 422, "validation_error")
    assert field in error["fields"], error
    assert db_counts(app) == before


@pytest.mark.parametrize("body,field", [
    ({"name": ""}, "name"),
    ({"mall": "ebay"}, "mall"),
    ({"auto_confirm": "on"}, "auto_confirm"),
])
def test_an_invalid_shop_change_answers_422_and_changes_nothing(client, tenant, body, field):
    before = client.get(f"{API}/shops", headers=tenant.headers()).json
    error = error_of(client.patch(f"{API}/shops/{tenant.shop_id}", json=body, headers=tenant.headers("admin")),
                     422, "validation_error")
    assert field in error["fields"]
    assert client.get(f"{API}/shops", headers=tenant.headers()).json == before


def test_a_non_integer_if_match_answers_422_and_changes_nothing(client, tenant):
    order = create_order(client, tenant)
    response = client.post(f"{API}/orders/{order['id']}/cancel", json={},
                           headers=tenant.headers(**{"If-Match": "latest"}))
    error_of(response, 422, "validation_error")
    assert get_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"
