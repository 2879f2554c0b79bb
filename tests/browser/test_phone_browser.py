"""The screens on a phone (390 px) and at a desk (1366 px): no page scrolls sideways, the main navigation folds
behind 「メニュー」 on a phone, and a disabled action's reason shows on click, tap and keyboard (the toggletip)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.factories import create_order, create_product, map_item, set_order_fields, set_state

pytestmark = pytest.mark.browser

SIZES = [(1366, 800), (390, 844)]
SHIPPING_REASON = "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。"
DELETE_REASON = "確認待の注文のみ削除できます。キャンセルをご利用ください。"


def _orders(client, tenant, app) -> dict:
    """A list with something in every column: a long number with 項目選択肢, tags, each action refused somewhere."""
    create_product(client, tenant, sku="SKU-TEA")
    map_item(client, tenant, mall_item_id="tea", sku="SKU-TEA")
    waiting = create_order(client, tenant, number="PH-20261101-0000012345",
                           lines=[{"mall_item_id": "tea", "name": "静岡県産 深蒸し煎茶 ギフトセット 3本入り", "quantity": 2,
                                   "unit_price": 3240}, {"mall_item_id": "cup", "name": "有田焼 湯呑み", "quantity": 1,
                                                         "unit_price": 2200}])
    set_order_fields(app, waiting["id"], options=["熨斗:御歳暮（名入れなし）\nラッピング:希望する", ""])
    shipping = create_order(client, tenant, number="PH-SHIPPING-0000012346")
    set_state(app, shipping["id"], "shipping_in_progress", "shipping")
    cancelled = create_order(client, tenant, number="PH-CANCELLED-0000012347")
    set_state(app, cancelled["id"], "cancelled")
    return {"waiting": waiting, "shipping": shipping, "cancelled": cancelled}


# what sticks out past the screen and is not inside a box that scrolls or clips it: named when a page is too wide
WIDER_THAN_THE_SCREEN = """() => Array.from(document.querySelectorAll('body *')).filter(e => {
    if (e.getBoundingClientRect().right <= innerWidth + 1) return false;
    for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return false;
    return true;
}).slice(0, 8).map(e => `${e.tagName}.${e.className}#${e.id}`)"""


def _page_fits(page, path: str, name: str, width: int) -> None:
    page.goto(path)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    page.screenshot(path=str(SCREENSHOTS / f"phone-{name}-{width}.png"), full_page=True)
    assert widths[0] <= widths[1], (name, widths, page.evaluate(WIDER_THAN_THE_SCREEN))


@pytest.mark.parametrize("width, height", SIZES)
def test_no_page_scrolls_sideways(page, live_server, client, tenant, app, width, height):
    orders = _orders(client, tenant, app)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, tenant.admin_email)
    SCREENSHOTS.mkdir(exist_ok=True)
    pages = {"orders": "/orders", "search": "/search?name=山田",
             "order": f"/orders/{orders['waiting']['id']}", "order-shipping": f"/orders/{orders['shipping']['id']}",
             "shipments": "/shipments", "returns": "/returns",
             "mapping": "/mapping", "manual": "/orders/new", "products": "/products", "stock": "/stock", "tags": "/tags",
             "settings": "/settings", "settings-users": "/settings/users", "settings-tokens": "/settings/tokens",
             "settings-warehouse": "/settings/warehouse", "imports": "/imports/orders"}
    failures = []
    for name, path in pages.items():
        try:
            _page_fits(page, live_server + path, name, width)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, '\n'.join(failures)


def test_on_a_phone_the_menu_opens_and_closes_the_navigation(page, live_server, client, tenant):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, tenant.staff_email)
    menu = page.get_by_role("button", name="メニュー")
    nav = page.get_by_role("navigation", name="メイン")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="出荷一覧")).to_be_visible()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "phone-menu-open-390.png"))
    page.keyboard.press("Escape")  # closes it again
    expect(nav).to_be_hidden()
    menu.focus()
    page.keyboard.press("Enter")  # by keyboard, then along the links
    expect(nav).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    page.get_by_role("heading", name="注文一覧").click()  # a click elsewhere closes it
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    nav.get_by_role("link", name="出荷一覧").click()
    page.wait_for_url(f"{live_server}/shipments")


def test_at_a_desk_the_navigation_shows_without_a_menu(page, live_server, client, tenant):
    page.set_viewport_size({"width": 1366, "height": 800})
    sign_in(page, live_server, tenant.staff_email)
    expect(page.get_by_role("button", name="メニュー")).to_be_hidden()
    expect(page.get_by_role("navigation", name="メイン").get_by_role("link", name="出荷一覧")).to_be_visible()


def test_without_scripts_a_phone_still_shows_the_navigation(browser, live_server, client, tenant):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP", java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server, tenant.staff_email)
        expect(page.get_by_role("navigation", name="メイン").get_by_role("link", name="出荷一覧")).to_be_visible()
        expect(page.locator(".menu-toggle")).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()


@pytest.mark.parametrize("width, height", SIZES)
def test_a_disabled_actions_reason_shows_on_click_and_by_keyboard(page, live_server, client, tenant, app, width,
                                                                   height):
    orders = _orders(client, tenant, app)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, tenant.staff_email)
    row = page.locator(f"#order-{orders['shipping']['id']}")
    cancel = row.get_by_role("button", name="キャンセル")
    expect(cancel).to_be_disabled()
    expect(cancel).to_have_accessible_description(SHIPPING_REASON)
    tip = page.get_by_role("status").filter(has_text=SHIPPING_REASON)

    cancel.click(force=True)  # a click or a tap (force: Playwright waits for an enabled button otherwise)
    expect(tip).to_be_visible()
    expect(page.locator("dialog#dialog")).to_be_hidden()
    box = tip.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    page.screenshot(path=str(SCREENSHOTS / f"phone-toggletip-{width}.png"))
    page.locator("h1").click()  # a click elsewhere closes it
    expect(tip).to_have_count(0)

    cancel.focus()  # by keyboard: Enter opens, Escape closes; Space too
    page.keyboard.press("Enter")
    expect(tip).to_be_visible()
    page.keyboard.press("Escape")
    expect(tip).to_have_count(0)
    expect(cancel).to_be_focused()
    delete = row.get_by_role("button", name="削除")
    page.keyboard.press("Tab")
    expect(delete).to_be_focused()
    page.keyboard.press(" ")
    expect(page.get_by_role("status").filter(has_text=DELETE_REASON)).to_be_visible()
    # the order still stands: the disabled actions did nothing else
    expect(row.locator(".chip.st-shipping_in_progress")).to_be_visible()


@pytest.mark.parametrize("width, height", SIZES)
def test_the_order_page_writes_a_disabled_buttons_reason_under_it(page, live_server, client, tenant, app, width,
                                                                   height):
    orders = _orders(client, tenant, app)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/orders/{orders['cancelled']['id']}")
    delete = page.get_by_role("group", name="この注文の操作").get_by_role("button", name="削除")
    expect(delete).to_be_disabled()
    reason = page.locator("#delete-why")
    expect(reason).to_be_visible()
    expect(reason).to_have_text(DELETE_REASON)
    assert reason.bounding_box()["y"] > delete.bounding_box()["y"]  # under it
    delete.click(force=True)  # written already: no toggletip
    expect(page.get_by_role("status").filter(has_text=DELETE_REASON)).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / f"phone-order-reasons-{width}.png"), full_page=True)
