"""手動注文登録 in a real browser at a desk (1366 px) and on a phone (390 px): an item picked by name with the keyboard,
the address filled from a postal code, postage, date and slot set, the total following, and the order registered."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, settled, sign_in
from tests.factories import create_order, map_item

pytestmark = pytest.mark.browser


def _within_screen(page, selector: str) -> None:
    fits = page.eval_on_selector(selector, """el => {
        const box = el.getBoundingClientRect();
        return {left: box.left, right: box.right, viewport: document.documentElement.clientWidth,
                overflow: el.scrollWidth - el.clientWidth};
    }""")
    assert fits["left"] >= 0 and fits["right"] <= fits["viewport"] and fits["overflow"] <= 0, (selector, fits)


@pytest.mark.parametrize("width, height", [(1366, 800), (390, 844)])
def test_staff_pick_an_item_by_name_fill_the_address_from_the_postal_code_and_register(page, live_server, client,
                                                                                      tenant, width, height):
    client.post("/api/v1/products", json={"sku": "TEA-SENCHA", "name": "静岡 深蒸し煎茶 100g", "stock": 12},
                headers=tenant.headers())
    client.post("/api/v1/products", json={"sku": "TEA-GENMAI", "name": "玄米茶 200g", "stock": 0},
                headers=tenant.headers())
    map_item(client, tenant, mall_item_id="sencha-100g", sku="TEA-SENCHA")
    sign_in(page, live_server, tenant.staff_email)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/orders/new")
    SCREENSHOTS.mkdir(exist_ok=True)

    page.fill("#mall_order_number", f"TEL-{width}")
    page.fill("#buyer-name", "山田 花子")
    postal = page.locator("#buyer-postal_code")
    postal.fill("１０００００１")
    postal.press("Tab")  # leaving the field fills the empty address
    address = page.locator("#buyer-address")
    expect(address).to_have_value("東京都千代田区千代田")
    expect(postal).to_have_value("100-0001")
    expect(page.locator("#buyer-postal_code-hint")).to_have_text(
        "郵便番号 100-0001 の住所を入力しました。続けて番地を入力してください。")
    expect(address).to_be_focused()
    page.keyboard.type("1-1")
    expect(address).to_have_value("東京都千代田区千代田1-1")
    page.get_by_role("button", name="住所を入力").first.click()  # again: the 番地 typed after it stays
    expect(address).to_have_value("東京都千代田区千代田1-1")

    search = page.get_by_label("明細1 の商品をSKU・商品名で検索")
    settled(page)  # the address lookup's swap done: htmx has bound the search box
    search.fill("煎茶")
    candidates = page.locator("#lines-0-product-picks button.pick")
    expect(candidates).to_have_count(1)
    expect(candidates).to_contain_text("静岡 深蒸し煎茶 100g")
    expect(candidates).to_contain_text("販売可能 12")
    search.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(SCREENSHOTS / f"manual_picker_{width}.png"))
    search.press("ArrowDown")
    expect(candidates).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#lines-0-mall_item_id")).to_have_value("sencha-100g")
    expect(page.locator("#lines-0-name")).to_have_value("静岡 深蒸し煎茶 100g")
    expect(search).to_have_value("TEA-SENCHA")
    expect(page.locator("#lines-0-product-picked")).to_have_text(
        "TEA-SENCHA を選びました（モール商品ID sencha-100g にマッピング済み）。")
    quantity = page.locator("#lines-0-quantity")
    expect(quantity).to_be_focused()
    quantity.fill("2")
    page.fill("#lines-0-unit_price", "1500")
    page.fill("#postage", "880")
    page.fill("#delivery_date", "2026-12-24")
    page.select_option("#delivery_time_slot", "14-16")
    expect(page.locator("[data-amount=subtotal]")).to_have_text("¥3,000")
    expect(page.locator("[data-amount=total]")).to_have_text("¥3,880")
    for selector in ("#manual-form", ".lines-table", "#order-sum"):
        _within_screen(page, selector)
    page.screenshot(path=str(SCREENSHOTS / f"manual_form_{width}.png"), full_page=True)

    settled(page)
    page.get_by_role("button", name="注文を登録する").click()
    page.wait_for_url(re.compile(r"/orders/\d+$"))
    expect(page.locator("#messages")).to_contain_text(f"注文「TEL-{width}」を登録しました。")
    detail = page.locator("#order-detail")
    expect(detail).to_contain_text("¥3,880")
    expect(detail).to_contain_text("東京都千代田区千代田1-1")
    expect(detail).to_contain_text("14-16")
    expect(detail).to_contain_text("TEA-SENCHA")  # the line is mapped
    page.screenshot(path=str(SCREENSHOTS / f"manual_registered_{width}.png"), full_page=True)


def test_an_unknown_postal_code_says_so_and_leaves_the_address_alone(page, live_server, tenant):
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/orders/new")
    page.fill("#buyer-address", "手書きの住所")
    page.fill("#buyer-postal_code", "999-9999")
    page.get_by_role("button", name="住所を入力").first.click()
    expect(page.locator("#buyer-postal_code-hint")).to_have_text(
        "郵便番号 999-9999 の住所は見つかりません。住所はそのままです。")
    expect(page.locator("#buyer-address")).to_have_value("手書きの住所")


def test_a_number_burnt_by_a_cancelled_order_is_refused_with_a_link_to_that_order(page, live_server, client, tenant):
    holder = create_order(client, tenant, number="BURNT-1")
    client.post(f"/api/v1/orders/{holder['id']}/cancel", json={}, headers=tenant.headers())
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/orders/new")
    page.fill("#mall_order_number", "burnt-1")
    page.fill("#buyer-name", "山田 花子")
    page.fill("#lines-0-mall_item_id", "item-1")
    page.fill("#lines-0-name", "煎茶")
    page.fill("#lines-0-unit_price", "1200")
    page.fill("#postage", "500")
    page.get_by_role("button", name="注文を登録する").click()
    error = page.locator("#mall_order_number-error")
    expect(error).to_contain_text("キャンセル済みの注文で使用されているため登録できません。")
    expect(page.locator("#postage")).to_have_value("500")
    expect(page.locator("[data-amount=total]")).to_have_text("¥1,700")
    page.screenshot(path=str(SCREENSHOTS / "manual_number_taken.png"))
    error.get_by_role("link", name="キャンセル済みの注文「BURNT-1」を開く").click()
    page.wait_for_url(f"{live_server}/orders/{holder['id']}")
    expect(page.locator("#order-detail")).to_contain_text("BURNT-1")
