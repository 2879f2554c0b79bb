"""The warehouse's screens in a real browser, against the simulator and a real rq worker: a person requests a shipment
from the order page and two from 注文一覧's bulk bar, watches them move in 出荷一覧 as the warehouse works (advanced
with the simulator's control API, then synced), withdraws one from its 出荷一覧 row, cancels another with
取下げ後にキャンセル, and reads a shipped one's parcels. Screenshots of each main state at a desktop's and a phone's
width; nothing is wider than the screen."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, settled, sign_in
from tests.conftest import wait_for
from tests.integration import test_warehouse_flow

pytestmark = pytest.mark.browser
warehouse = test_warehouse_flow.warehouse  # the fixture


def _withdrawals_received(warehouse, n: int) -> None:
    """The withdrawal notices (sent by the worker) have reached the simulator: only then can it answer them."""
    wait_for(lambda: sum(1 for call in warehouse.calls() if call["function"] == "withdrawal"
                         and call["http_status"] < 300) >= n, timeout=30, message=f"{n} withdrawals at the warehouse")


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _shot(page, name: str, width: int) -> None:
    _no_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"warehouse-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width,height", [(1366, 800), (390, 844)])
def test_request_watch_withdraw_and_cancel_through_the_screens(page, live_server, warehouse, worker, width, height):
    page.set_viewport_size({"width": width, "height": height})
    first = warehouse.confirmed_order(quantity=2, number="WH-FIRST")
    second = warehouse.confirmed_order(quantity=1, number="WH-SECOND")
    third = warehouse.confirmed_order(quantity=1, number="WH-THIRD")
    sign_in(page, live_server, warehouse.tenant.staff_email)

    # 出荷依頼 from the order page
    page.goto(f"{live_server}/orders/{first['id']}")
    panel = page.locator("#shipment-panel")
    expect(panel).to_contain_text("出荷依頼はまだありません")
    panel.get_by_role("button", name="出荷依頼").click()
    expect(page.locator(".flash-success")).to_contain_text("注文「WH-FIRST」を出荷依頼しました。")
    expect(panel).to_contain_text("出荷依頼済")
    sent = warehouse.wait_sent(first["id"])
    page.reload()
    expect(panel.locator(".request-state")).to_have_text("送信済み")
    expect(panel.locator(".warehouse-id")).to_have_text(sent["shipment"]["warehouse_id"])
    _shot(page, "order-requested", width)

    # 出荷依頼 of two more from the bulk bar
    page.goto(f"{live_server}/orders?status=confirmed")
    for order in (second, third):
        page.locator(f"#order-{order['id']} input[type=checkbox]").check()
    page.get_by_role("button", name=re.compile(r"選択した\s*2\s*件を出荷依頼")).click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("一括出荷依頼")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    settled(page)
    dialog.get_by_role("button", name="出荷依頼する").click()
    expect(dialog).to_contain_text("完了 2 件")
    expect(dialog).to_contain_text("できなかった注文 0 件")
    dialog.get_by_role("button", name="閉じる").click()
    for order in (second, third):
        warehouse.wait_sent(order["id"])

    # the warehouse starts two of them and ships one in two boxes: 出荷一覧 shows it after the sync
    references = {o["mall_order_number"]: str(warehouse.order(o["id"])["shipment"]["id"]) for o in (first, second, third)}
    warehouse.advance(references["WH-FIRST"], "started")
    warehouse.advance(references["WH-SECOND"], "started")
    warehouse.advance(references["WH-THIRD"], "shipped", carrier="yamato", tracking_number="1111-2222-3333",
                      shipped_on="2026-12-05", parcels=[{"carrier": "yamato", "tracking_number": "1111-2222-3333"},
                                                        {"carrier": "yamato", "tracking_number": "1111-2222-4444"}])
    warehouse.sync()
    page.goto(f"{live_server}/shipments")
    tabs = page.locator("#shipment-tabs")
    expect(tabs).to_contain_text(re.compile(r"出荷中\s*2"))
    expect(tabs).to_contain_text(re.compile(r"出荷完了\s*1"))
    shipped_row = page.locator("#shipment-rows tr", has_text="WH-THIRD")
    expect(shipped_row).to_contain_text("ヤマト運輸")
    expect(shipped_row).to_contain_text("2026/12/05")
    _shot(page, "shipments", width)

    # 出荷取下げ from 出荷一覧's row: the row answers in place
    row = page.locator("#shipment-rows tr", has_text="WH-FIRST")
    row.get_by_role("button", name="出荷取下げ").click()
    row = page.locator("#shipment-rows tr", has_text="WH-FIRST")
    expect(row).to_contain_text("出荷取下げを倉庫へ依頼しました")
    expect(row).to_contain_text("取下げ依頼中")
    _withdrawals_received(warehouse, 1)
    warehouse.advance(references["WH-FIRST"], "withdrawn")
    warehouse.sync()
    page.goto(f"{live_server}/shipments?status=not_shippable")
    expect(page.locator("#shipment-rows tr", has_text="WH-FIRST").get_by_role("button", name="再出荷依頼")).to_be_enabled()
    page.goto(f"{live_server}/orders/{first['id']}")
    expect(page.locator("#shipment-panel")).to_contain_text("出荷不可")
    expect(page.locator("#shipment-panel").get_by_role("button", name="再出荷依頼")).to_be_enabled()
    _shot(page, "order-not-shippable", width)

    # 取下げ後にキャンセル from the refused cancel of an order in 出荷中
    page.goto(f"{live_server}/orders/{second['id']}")
    refused = page.locator("#cancel-refused")
    expect(refused).to_contain_text("出荷作業中のためキャンセルできません")
    _shot(page, "order-shipping", width)
    refused.get_by_role("button", name="取下げ後にキャンセル").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("取り下げられたらこの注文をキャンセルします")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    settled(page)
    dialog.locator("select[name=reason_code]").select_option("8")
    dialog.get_by_role("button", name="取下げを依頼してキャンセルする").click()
    expect(page.locator(".flash-success")).to_contain_text("取り下げられるとキャンセルします")
    expect(page.locator("#shipment-panel")).to_contain_text("取り下げられたらキャンセルします（ショップ都合（欠品））")
    _withdrawals_received(warehouse, 2)
    warehouse.advance(references["WH-SECOND"], "withdrawn")
    warehouse.sync()
    page.reload()
    expect(page.locator(".notice-cancelled")).to_contain_text("キャンセル済")
    _shot(page, "order-cancelled", width)

    # the shipped one: carrier, every parcel, ship date
    page.goto(f"{live_server}/orders/{third['id']}")
    panel = page.locator("#shipment-panel")
    expect(panel.locator(".carrier")).to_have_text("ヤマト運輸")
    expect(panel.locator(".parcels li")).to_have_count(2)
    expect(panel.locator(".shipped-on")).to_have_text("2026/12/05")
    _shot(page, "order-shipped", width)


@pytest.mark.parametrize("width,height", [(1366, 800), (390, 844)])
def test_sync_now_on_the_warehouse_settings_shows_its_progress_then_its_result(
        page, live_server, warehouse, worker, app, width, height):
    from tests.integration.test_warehouse_sync import _periodic_run_ended

    page.set_viewport_size({"width": width, "height": height})
    order = warehouse.confirmed_order(quantity=1, number="WH-SYNC")
    warehouse.act(order["id"], "request-shipment")
    warehouse.advance(str(warehouse.wait_sent(order["id"])["shipment"]["id"]), "started")
    wait_for(lambda: _periodic_run_ended(app, warehouse.tenant.account_id), timeout=20,
             message="the first periodic run to end")
    warehouse.control("faults", {"function": "events", "times": 1, "http_status": None, "delay_ms": 2500})
    sign_in(page, live_server, warehouse.tenant.staff_email)

    page.goto(f"{live_server}/settings/warehouse")
    expect(page.locator("#warehouse-status")).to_contain_text("接続中")
    last_sync = page.locator("#warehouse-last-sync time").get_attribute("datetime")
    page.get_by_role("button", name="今すぐ同期").click()
    sync = page.locator("#warehouse-sync")
    expect(sync).to_contain_text("このページを離れても同期は続きます。")
    expect(sync.locator("progress")).to_be_visible()
    _shot(page, "sync-running", width)
    expect(sync).to_contain_text("同期が完了しました", timeout=20_000)
    expect(sync.locator("progress")).to_have_count(0)
    # 最終同期 follows the run without a reload, and the page holds it once
    expect(page.locator("#warehouse-last-sync time")).not_to_have_attribute("datetime", last_sync)
    expect(page.locator("#warehouse-last-sync")).to_have_count(1)
    expect(page.locator("#warehouse-status")).to_contain_text("接続中")
    _shot(page, "sync-finished", width)

    page.goto(f"{live_server}/shipments")
    expect(page.locator("#shipment-tabs")).to_contain_text(re.compile(r"出荷中\s*1"))
