"""Issue 11 item 4 on the screens: no input gives a 500. A NUL byte in a query or a form is refused with a
page naming the field (422); a date outside 1900-01-01…2100-12-31 is the form's error; a forged cursor
starts the list over; an unexpected error shows a request id (test_api_hostile_input)."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from boss.extensions import db
from boss.models import Product
from boss.orders.models import Order
from tests.conftest import csrf_token_from
from tests.factories import create_order


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("query", [{"name": "山田\x00"}, {"mall_order_number": "\x00"}, {"email": "a\x00@b"},
                                   {"sku": "\x00"}, {"phone": "03\x00"}])
def test_a_nul_byte_in_the_detailed_search_answers_422_naming_the_field(staff_client, client, tenant, query):
    create_order(client, tenant)
    response = staff_client.get("/search", query_string=query)
    assert response.status_code == 422
    assert "NUL" in response.text and next(iter(query)) in response.text


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
@pytest.mark.parametrize("field", ["ordered_from", "ordered_to"])
def test_a_search_date_outside_1900_to_2100_is_the_forms_error(staff_client, client, tenant, field, day):
    create_order(client, tenant)
    response = staff_client.get("/search", query_string={field: day})
    assert response.status_code == 200
    assert "1900-01-01 から 2100-12-31 までの日付を入力してください。" in response.text


@pytest.mark.parametrize("query", [{"tag": "\x00"}, {"status": "\x00"}, {"cursor": "\x00"}])
def test_a_nul_byte_in_the_order_lists_filters_answers_422(staff_client, client, tenant, query):
    create_order(client, tenant)
    assert staff_client.get("/orders", query_string=query).status_code == 422


@pytest.mark.parametrize("raw", ["2026-11-01T00:00:00|99999999999999999999", "2026-11-01T00:00:00|9223372036854775808",
                                 "0001-01-01T00:00:00+09:00|1"])
@pytest.mark.parametrize("page,query", [("/orders", {}), ("/search", {"name": "山田"}), ("/shipments", {})])
def test_a_forged_cursor_starts_the_list_over(staff_client, client, tenant, page, query, raw):
    create_order(client, tenant)
    response = staff_client.get(page, query_string={**query, "cursor": _cursor(raw)})
    assert response.status_code in (200, 302)


def test_a_nul_byte_in_a_form_is_refused_and_changes_nothing(app, staff_client):
    response = staff_client.post("/products", data={"sku": "SKU\x00", "name": "煎茶", "csrf_token": staff_client.csrf})
    assert response.status_code == 422 and "sku" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_a_nul_byte_in_the_login_form_is_refused_without_a_server_error(app, tenant):
    client = app.test_client()
    page = client.get("/login")
    response = client.post("/login", data={"email": tenant.staff_email + "\x00", "password": "password-123",
                                           "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 422
    assert client.get("/orders").status_code == 302  # not signed in


def test_a_next_address_with_a_control_character_gives_no_server_error(app, tenant):
    client = app.test_client()
    page = client.get("/login?next=/%0d/x")
    assert page.status_code == 200
    response = client.post("/login?next=/%0d/x", data={"email": tenant.staff_email, "password": "password-123",
                                                        "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302
    assert "\r" not in response.headers["Location"] and "\n" not in response.headers["Location"]


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_a_manual_order_time_outside_1900_to_2100_is_the_forms_error(app, staff_client, tenant, value):
    data = {"shop_id": tenant.shop_id, "mall_order_number": "M-1", "ordered_at": value, "buyer-name": "山田 花子",
            "recipient_same": "y", "lines-0-mall_item_id": "item-1", "lines-0-name": "煎茶", "lines-0-quantity": "1",
            "lines-0-unit_price": "100", "csrf_token": staff_client.csrf}
    response = staff_client.post("/orders/new", data=data)
    assert response.status_code == 422
    assert "1900-01-01 から 2100-12-31 までの日時を入力してください。" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0


NOT_AN_ID = ["²", "١٢", "9" * 5000, "99999999999999999999", "-1"]


@pytest.mark.parametrize("bad", NOT_AN_ID, ids=["superscript", "arabic", "5000 digits", "20 digits", "negative"])
def test_a_number_field_holding_what_no_id_is_gives_no_server_error_and_changes_nothing(app, staff_client,
                                                                                          admin_client, client,
                                                                                          tenant, bad):
    order = create_order(client, tenant)
    for url in (f"/orders?tag={bad}", f"/mapping?page={bad}", f"/products?page={bad}", f"/search?shop_id={bad}",
                f"/search?tag={bad}"):
        assert staff_client.get(url).status_code < 500, url
    forms = [("/shop-filter", {"shop_id": bad}), (f"/orders/{order['id']}/tags", {"tag_id": bad}),
             (f"/orders/{order['id']}/cancel", {"reason_code": bad, "version": bad}),
             (f"/orders/{order['id']}/confirm", {"version": bad}), ("/orders/bulk", {"action": "cancel", "order_ids": bad}),
             ("/orders/new", {"remove_line": bad}), ("/mapping", {"row": bad, "shop_id": bad}),
             ("/tags/bulk-add", {"tag_id": bad, "order_ids": bad})]
    for url, data in forms:
        assert staff_client.post(url, data={**data, "csrf_token": staff_client.csrf}).status_code < 500, url
    response = admin_client.post("/settings/tokens", data={"user_id": bad, "name": "x", "csrf_token": admin_client.csrf})
    assert response.status_code < 500
    fresh = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert (fresh["status"], fresh["version"], fresh["tags"]) == (order["status"], order["version"], order["tags"])
