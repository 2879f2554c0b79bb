"""Returns in a real browser, against the simulator and a real rq worker: a person cancels a 完了 order with
「荷物を引き戻す」 from its page, sees its return 返品待ち in the order's return panel and on 返品, the warehouse
acknowledges (synced), and the person enters the inspection — first figures that do not add up (the refusal is
shown), then good ones: only the sellable units go back into stock. Screenshots at a desktop's and a phone's width;
nothing is wider than the screen."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, nav_link, settled, sign_in
from tests.conftest import wait_for
from tests.integration.test_warehouse_flow import warehouse  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def _shot(page, name: str, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(SCREENSHOTS / f"returns-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width,height", [(1366, 800), (390, 844)])
def test_cancel_a_completed_order_with_retrieval_see_its_return_and_enter_the_inspection(
        page, live_server, warehouse, worker, width, height):
    page.set_viewport_size({"width": width, "height": height})
    order = warehouse.confirmed_order(quantity=3, number=f"RT-{width}")
    warehouse.act(order["id"], "request-shipment")
    reference = str(warehouse.wait_sent(order["id"])["shipment"]["id"])
    warehouse.advance(reference, "shipped", carrier="yamato", tracking_number="1234-5678-9012")
    warehouse.sync()
    sign_in(page, live_server, warehouse.tenant.staff_email)

    page.goto(f"{live_server}/orders/{order['id']}")
    expect(page.locator("#return-panel")).to_have_count(0)
    page.get_by_role("button", name="キャンセル").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("在庫は自動では戻りません")
    settled(page)
    dialog.get_by_label("配送会社から荷物を引き戻す（倉庫へ連絡します）").check()
    dialog.get_by_role("button", name="キャンセルする").click()
    panel = page.locator("#return-panel")
    expect(panel).to_contain_text("返品待ち")
    expect(panel.locator(".return-lines")).to_contain_text("SKU-1")
    expect(page.locator("#order-detail .tag", has_text="倉庫連絡待ち")).to_be_visible()
    wait_for(lambda: any(c["function"] == "cancellation" for c in warehouse.calls()), timeout=30,
             message="the cancellation at the warehouse")
    warehouse.advance(reference, "cancellation_acknowledged")
    warehouse.sync()
    page.reload()
    expect(page.locator("#order-detail .tag", has_text="倉庫連絡待ち")).to_have_count(0)
    _shot(page, "order-awaiting", width)

    nav_link(page, "返品").click()
    expect(page.locator("#return-tabs [aria-current=page]")).to_contain_text("返品待ち 1")
    row = page.locator("#return-rows tr", has_text=f"RT-{width}")
    expect(row).to_contain_text("3 / — / —")
    _shot(page, "list-awaiting", width)

    row.get_by_role("link", name="検品結果を入力").click()
    form = page.locator(".inspection-form")
    form.get_by_label("SKU-1 の返品数").fill("2")
    form.get_by_label("SKU-1 の販売可能数").fill("3")
    form.get_by_role("button", name="検品結果を登録").click()
    expect(page.locator(".inspection-form [role=alert]")).to_be_visible()
    expect(form).to_contain_text("販売可能数は0〜返品数（2）で指定してください")
    _shot(page, "refused", width)
    assert warehouse.product().stock == 7

    form.get_by_label("SKU-1 の返品数").fill("3")
    form.get_by_label("SKU-1 の販売可能数").fill("2")
    form.get_by_role("button", name="検品結果を登録").click()
    expect(page.locator(".flash-success")).to_contain_text("検品結果を登録しました")
    expect(page.locator(".return-lines .unsellable")).to_have_text("1")
    assert warehouse.product().stock == 9

    page.goto(f"{live_server}/returns?status=inspected")
    expect(page.locator("#return-rows")).to_contain_text("3 / 3 / 2")
    _shot(page, "list-inspected", width)
    page.goto(f"{live_server}/orders/{order['id']}")
    expect(page.locator("#return-panel")).to_contain_text("検品済")
    _shot(page, "order-inspected", width)
