"""Issue 18 item 5 in the pages' HTML: the skip link comes first and leads to the list (or the content), tags are
drawn in colours they can be read on, a scrolling 備考 is reachable by keyboard."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from boss.extensions import db
from boss.orders.models import Tag
from tests.factories import create_order, set_order_fields

FOCUSABLE = re.compile(r'<(a\s[^>]*href|button|select|textarea|input(?![^>]*type="hidden"))[^>]*>|<[^>]+tabindex="0"')


def _first_focusable(html: str) -> str:
    return FOCUSABLE.search(html, html.index("<body")).group(0)


@pytest.mark.parametrize("path, target", [("/orders", "order-rows"), ("/orders?status=cancelled", "order-rows"),
                                          ("/shipments", "shipment-rows"), ("/returns", "return-rows"),
                                          ("/products", "product-rows"), ("/stock", "stock-rows"),
                                          ("/search?name=%E5%B1%B1%E7%94%B0", "order-rows")])
def test_a_lists_first_focusable_element_skips_to_its_rows(staff_client, path, target):
    html = staff_client.get(path).text
    assert _first_focusable(html) == f'<a class="skip-link" href="#{target}">'
    assert "一覧へスキップ" in html
    assert re.search(rf'<tbody id="{target}" tabindex="-1">', html)  # focus lands on it, the next Tab on a row


@pytest.mark.parametrize("path", ["/tags", "/search", "/orders/new", "/settings", "/login"])
def test_other_pages_skip_to_the_content(app, staff_client, path):
    client = app.test_client() if path == "/login" else staff_client
    html = client.get(path).text
    assert _first_focusable(html) == '<a class="skip-link" href="#main">'
    assert "本文へスキップ" in html and '<main id="main" tabindex="-1">' in html


def test_a_system_tag_is_drawn_in_its_defined_colour_whatever_the_account_stored(app, staff_client, client, tenant):
    order = create_order(client, tenant, number="A11Y-TAG")  # a manual order: モール出荷連携なし
    with app.app_context():  # as an account made before the colours changed has it
        db.session.execute(update(Tag).where(Tag.code == "not_mall_linked").values(color="#7f8c8d"))
        db.session.commit()
        db.session.remove()
    row = staff_client.get("/orders").text
    assert 'data-tag-color="#5f6b6d" data-tag-ink="#ffffff"' in row
    api = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert {tag["code"]: tag["color"] for tag in api["tags"]}["not_mall_linked"] == "#5f6b6d"


def test_a_light_custom_tag_gets_black_text_and_a_dark_one_white(staff_client, client, tenant):
    for name, colour in (("同梱チラシ", "#f7dc6f"), ("要確認", "#1f5fae")):
        created = client.post("/api/v1/tags", json={"name": name, "color": colour}, headers=tenant.headers())
        assert created.status_code == 201
    html = staff_client.get("/tags").text
    assert 'data-tag-color="#f7dc6f" data-tag-ink="#000000"' in html
    assert 'data-tag-color="#1f5fae" data-tag-ink="#ffffff"' in html


def test_the_remarks_scroll_in_a_region_the_keyboard_reaches(app, staff_client, client, tenant):
    order = create_order(client, tenant, number="A11Y-REMARKS")
    set_order_fields(app, order["id"], remarks="\n".join(f"[備考{i}] 置き配希望" for i in range(12)))
    html = staff_client.get(f"/orders/{order['id']}").text
    assert '<div class="remarks" tabindex="0" role="region" aria-label="備考">[備考0]' in html
