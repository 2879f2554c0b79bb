"""The order page in a real browser at a desk (1366 px) and on a phone (390 px): the amounts a 代金引換 parcel
collects, the lines' 項目選択肢, the pickup and 置き配 all fit the screen (screenshots in tests/browser/screenshots)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, fits, sign_in
from tests.factories import create_order, set_order_fields

pytestmark = pytest.mark.browser

PICKUP = {"kind": "convenience_store", "store_code": "012345", "store_name": "ファミリーマート 渋谷道玄坂二丁目店",
          "address": "150-0043 東京都 渋谷区道玄坂2-10-12 新大宗ビル1号館1階"}


def _cash_on_delivery_order(client, tenant, app) -> dict:
    order = create_order(
        client, tenant, number="BR-COD-20261101-0000012345", payment_method="代金引換", postage=880,
        charges=330, discount=500, points_used=120, delivery_date="2026-11-05", delivery_time_slot="14-16",
        remarks="[配送日時指定:]\n2026-11-05 14:00～16:00",
        lines=[{"mall_item_id": "tea-gift-set-premium-2026", "sub_code": "size-l-color-green", "quantity": 2,
                "name": "【送料無料】静岡県産 深蒸し煎茶 ギフトセット 3本入り 化粧箱付き のし対応", "unit_price": 3240},
               {"mall_item_id": "cup", "name": "有田焼 湯呑み", "quantity": 1, "unit_price": 2200}])
    set_order_fields(app, order["id"], wrapping=220, billed=9670, pickup=PICKUP, drop_off="玄関前（宅配ボックスがない場合）",
                     options=["熨斗:御歳暮（名入れなし）\nラッピング:希望する（＋220円）\n名入れ:不要", ""])
    return order



@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_the_order_page_shows_what_a_cod_parcel_collects_within_the_screen(page, live_server, client, tenant, app,
                                                                          width, height):
    order = _cash_on_delivery_order(client, tenant, app)
    sign_in(page, live_server, tenant.staff_email)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/orders/{order['id']}")
    billed = page.locator(".amount.cod")
    expect(billed).to_contain_text("代引で集金する額")
    expect(billed).to_contain_text("¥9,670")
    expect(page.locator(".line-options").first).to_contain_text("ラッピング:希望する（＋220円）")
    expect(page.locator("dd.pickup")).to_contain_text("コンビニ受取")
    for selector in (".amounts-box", "dd.pickup", ".line-options"):
        where = fits(page, selector)
        assert where["left"] >= 0 and where["right"] <= where["viewport"], (selector, where)
        assert where["overflow"] <= 0, (selector, where)
    billed.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"order_page_{width}.png"), full_page=True)
