"""在庫 in a real browser: an adjustment in a row updates that row, a refusal says why in it, and the ledger page's
adjustment updates the numbers and the ledger below; at a desktop's and a phone's width nothing is wider than the
screen."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from boss.extensions import db
from boss.orders.actor import Actor
from boss.orders.models import Order
from boss.unit_of_work import unit_of_work
from boss.warehouse import stock
from tests.browser.conftest import SCREENSHOTS, settled, sign_in
from tests.factories import create_order, create_product, map_item

pytestmark = pytest.mark.browser


def _seed(app, client, tenant) -> dict:
    products = [create_product(client, tenant, sku, stock=n) for sku, n in
                (("TEA-001", 120), ("TEA-002", 4), ("CUP-001", 2), ("SWT-001", 36))]
    map_item(client, tenant, "item-1", "TEA-001")
    order = create_order(client, tenant, lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 3,
                                                 "unit_price": 1200}])
    with app.app_context():
        with unit_of_work() as uow:
            stock.reserve(db.session.get(Order, order["id"]), Actor("user", "倉庫 太郎", tenant.account_id))
            uow.commit()
        db.session.remove()
    return products[0]


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width,height", [(1366, 800), (390, 844)])
def test_adjusting_in_the_list_and_on_the_ledger_page(page, live_server, client, tenant, app, width, height):
    tea = _seed(app, client, tenant)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/stock")
    row = page.locator(f"#stock-row-{tea['id']}")
    expect(row).to_contain_text("117")

    row.locator("input[name=delta]").fill("-200")
    row.locator("input[name=reason]").fill("棚卸し")
    row.get_by_role("button", name="調整").click()
    row = page.locator(f"#stock-row-{tea['id']}")
    expect(row).to_contain_text("引当済みの3点を下回る在庫数にはできません")
    page.screenshot(path=str(SCREENSHOTS / f"stock-list-refused-{width}.png"), full_page=True)
    row.locator("input[name=delta]").fill("10")
    row.get_by_role("button", name="調整").click()
    row = page.locator(f"#stock-row-{tea['id']}")
    expect(row).to_contain_text("調整しました")
    expect(row).to_contain_text("130")
    _no_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"stock-list-{width}.png"), full_page=True)

    page.goto(f"{live_server}/stock/{tea['id']}")
    page.locator("#stock-numbers input[name=delta]").fill("-5")
    page.locator("#stock-numbers input[name=reason]").fill("破損")
    page.locator("#stock-numbers").get_by_role("button", name="調整").click()
    expect(page.locator("#stock-numbers")).to_contain_text("125")
    expect(page.locator("#stock-ledger tbody tr").first).to_contain_text("破損")
    settled(page)
    expect(page.locator("#stock-ledger")).to_contain_text("引当")
    _no_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"stock-ledger-{width}.png"), full_page=True)
