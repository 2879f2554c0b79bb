"""注文詳細's 編集 in a real browser at a desk (1366 px) and on a phone (390 px): change a line's quantity, add a
line, save, and see the new total and the history (screenshots in tests/browser/screenshots)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from boss.extensions import db
from boss.orders.models import Order
from tests.browser.conftest import SCREENSHOTS, fits, settled, sign_in
from tests.factories import create_order, set_state

pytestmark = pytest.mark.browser



@pytest.mark.parametrize("width, height", [(1366, 800), (390, 844)])
def test_editing_a_lines_quantity_and_adding_a_line_shows_the_new_total_and_history(page, live_server, client, tenant,
                                                                                   app, width, height):
    order = create_order(client, tenant, number=f"BR-EDIT-{width}", postage=550, lines=[
        {"mall_item_id": "tea-gift-set-premium-2026", "sub_code": "size-l", "name": "静岡県産 深蒸し煎茶 ギフトセット",
         "quantity": 1, "unit_price": 3240}])
    with app.app_context():  # as a Rakuten import would have it: the form warns that RMS is not changed
        db.session.get(Order, order["id"]).mall_linked = True
        db.session.commit()
        db.session.remove()
    sign_in(page, live_server, tenant.staff_email)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/orders/{order['id']}")
    page.get_by_role("link", name="編集").click()
    form = page.locator("#order-edit")
    expect(form).to_contain_text("モール連携の注文です。ここでの変更は楽天RMSには反映されません。")
    settled(page)
    page.get_by_label("明細1 の数量").fill("3")
    page.get_by_role("button", name="明細を追加").click()
    expect(page.get_by_label("明細2 のモール商品ID")).to_be_visible()
    settled(page)
    expect(page.get_by_label("明細1 の数量")).to_have_value("3")  # what was typed stays
    page.get_by_label("明細2 のモール商品ID").fill("cup")
    page.get_by_label("明細2 の商品名").fill("有田焼 湯呑み")
    page.get_by_label("明細2 の単価").fill("2200")
    for selector in ("#order-edit", ".edit-lines"):
        where = fits(page, selector)
        assert where["left"] >= 0 and where["right"] <= where["viewport"], (selector, where)
        assert where["overflow"] <= 0, (selector, where)
    SCREENSHOTS.mkdir(exist_ok=True)
    form.screenshot(path=str(SCREENSHOTS / f"order_edit_form_{width}.png"))

    page.get_by_role("button", name="保存").click()
    expect(page.locator("#messages")).to_contain_text(f"注文「BR-EDIT-{width}」を編集しました。")
    expect(page.locator("#order-edit")).to_have_count(0)
    total = 3 * 3240 + 2200 + 550
    expect(page.locator(".detail-meta")).to_contain_text(f"¥{total:,}")
    history = page.locator("table.history")
    expect(history).to_contain_text("明細1 数量: 1 → 3")
    expect(history).to_contain_text("明細追加: （なし） → 有田焼 湯呑み（cup）×1 単価2200")
    page.screenshot(path=str(SCREENSHOTS / f"order_edit_saved_{width}.png"), full_page=True)


@pytest.mark.parametrize("width, height", [(1366, 800), (390, 844)])
def test_an_order_past_editing_shows_the_edit_button_disabled_with_its_reason_under_it(page, live_server, client,
                                                                                      tenant, app, width, height):
    order = create_order(client, tenant, number=f"BR-NOEDIT-{width}")
    set_state(app, order["id"], "completed", "shipped")
    sign_in(page, live_server, tenant.staff_email)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/orders/{order['id']}")
    button = page.get_by_role("button", name="編集")
    expect(button).to_be_disabled()
    reason = page.locator("#edit-why")
    expect(reason).to_be_visible()
    expect(reason).to_contain_text("この注文は完了のため編集できません。")
    assert reason.bounding_box()["y"] > button.bounding_box()["y"]  # written under the button
    where = fits(page, ".detail-actions")
    assert where["left"] >= 0 and where["right"] <= where["viewport"], where
    page.locator(".detail-head").screenshot(path=str(SCREENSHOTS / f"order_edit_refused_{width}.png"))
