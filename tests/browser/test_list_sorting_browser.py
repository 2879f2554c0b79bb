"""A person sorts 注文一覧 by a column header, turns it round, pages on and back, on a desk and on a phone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, settled, sign_in
from tests.factories import create_order

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width, height", [(1366, 800), (390, 844)])
def test_a_person_sorts_the_list_by_total_and_turns_it_round(page, live_server, client, tenant, width, height):
    for i, price in enumerate([1200, 300, 4500, 800]):
        create_order(client, tenant, number=f"BS-{i}", ordered_at=f"2026-11-0{i + 1}T10:00:00+09:00",
                     lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": price}])
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, tenant.staff_email)
    numbers = page.locator("#order-rows td.number a")
    expect(numbers).to_have_text(["BS-3", "BS-2", "BS-1", "BS-0"])
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "descending")

    total = page.locator("th", has=page.get_by_role("link", name=re.compile("^合計")))
    total.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/orders\?sort=-total$"))
    expect(numbers).to_have_text(["BS-2", "BS-0", "BS-3", "BS-1"])
    expect(total).to_have_attribute("aria-sort", "descending")
    settled(page)
    page.screenshot(path=str(SCREENSHOTS / f"list-sorted-by-total-{width}.png"), full_page=True)

    total.get_by_role("link").click()  # the same header again: the other way round
    expect(page).to_have_url(re.compile(r"/orders\?sort=total$"))
    expect(numbers).to_have_text(["BS-1", "BS-3", "BS-0", "BS-2"])
    expect(total).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("th[aria-sort]")).to_have_count(1)

    page.locator("#status-tabs").get_by_role("link", name=re.compile("確認待")).click()  # a tab keeps the sort
    expect(page).to_have_url(re.compile(r"status=awaiting_confirmation.*sort=total|sort=total.*status=awaiting"))
    expect(numbers).to_have_text(["BS-1", "BS-3", "BS-0", "BS-2"])


@pytest.mark.parametrize("width, height", [(1366, 800), (390, 844)])
def test_a_tracking_number_opens_the_carriers_page_in_a_new_tab(page, live_server, client, tenant, app, width, height):
    from boss.extensions import db
    from boss.orders.models import Order
    from tests.factories import set_state

    order = create_order(client, tenant, number="BT-1")
    set_state(app, order["id"], "completed", "shipped")
    with app.app_context():
        shipment = db.session.get(Order, order["id"]).shipments[0]
        shipment.carrier, shipment.tracking_number = "sagawa", "3601-2345-6789"
        db.session.commit()
        db.session.remove()
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, tenant.staff_email)
    url = "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo=360123456789"
    for path, shot in (("/shipments", "shipments"), (f"/orders/{order['id']}", "order-page")):
        page.goto(f"{live_server}{path}")
        link = page.get_by_role("link", name=re.compile("^3601-2345-6789"))
        expect(link).to_have_attribute("href", url)
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
        expect(page.locator(".carrier").first).to_have_text("佐川急便")
        link.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"tracking-link-{shot}-{width}.png"))
