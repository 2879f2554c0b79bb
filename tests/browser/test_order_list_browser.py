"""A person at 注文一覧 in a real browser: sign in, cancel a row, delete a row, read a refusal, bulk."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, settled, sign_in
from tests.factories import create_order, set_state

pytestmark = pytest.mark.browser


def test_r1_a_person_cancels_a_row_through_the_dialog_and_sees_it_swapped_in_place(page, live_server, client, tenant):
    order = create_order(client, tenant, number="B-CANCEL-1")
    other = create_order(client, tenant, number="B-OTHER-1")
    sign_in(page, live_server, tenant.staff_email)
    row = page.locator(f"#order-{order['id']}")
    row.get_by_role("button", name="キャンセル").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("キャンセルは取り消せません")
    expect(dialog).to_contain_text("モール注文番号「B-CANCEL-1」は今後このショップで再び登録できなくなります。")
    expect(dialog.locator("select[name=reason_code]")).to_have_value("10")
    expect(dialog.locator("select[name=reason_code]")).to_be_focused()
    settled(page)
    dialog.get_by_role("button", name="キャンセルする").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".chip.st-cancelled")).to_have_text("キャンセル")
    expect(page.locator("#messages")).to_contain_text("注文「B-CANCEL-1」をキャンセルしました。")
    expect(row.get_by_role("button", name="キャンセル")).to_be_disabled()
    expect(page.locator(f"#order-{other['id']} .chip")).to_have_text("確認待")
    expect(page.locator("#status-tabs")).to_contain_text(re.compile(r"キャンセル\s*1"))


def test_r2_a_person_deletes_a_row_and_it_leaves_the_list_with_a_notice(page, live_server, client, tenant):
    order = create_order(client, tenant, number="B-DELETE-1")
    sign_in(page, live_server, tenant.staff_email)
    page.locator(f"#order-{order['id']}").get_by_role("button", name="削除").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("モールや倉庫には何も連絡しません。")
    settled(page)
    dialog.get_by_role("button", name="削除する").click()
    expect(page.locator(f"#order-{order['id']}")).to_contain_text("詳細検索（削除済みを含む）で確認できます")
    page.reload()
    expect(page.locator("#order-rows")).not_to_contain_text("B-DELETE-1")


def test_r1_a_refused_action_is_disabled_and_says_why_on_hover_and_to_screen_readers(page, live_server, client, tenant, app):
    order = create_order(client, tenant, number="B-SHIPPING-1")
    set_state(app, order["id"], "shipping_in_progress", "shipping")
    sign_in(page, live_server, tenant.staff_email)
    button = page.locator(f"#order-{order['id']}").get_by_role("button", name="キャンセル")
    expect(button).to_be_disabled()
    reason = "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。"
    expect(button).to_have_attribute("title", reason)
    expect(button).to_have_accessible_description(reason)
    button.hover(force=True)


def test_escape_closes_the_dialog_without_acting(page, live_server, client, tenant):
    order = create_order(client, tenant, number="B-ESC-1")
    sign_in(page, live_server, tenant.staff_email)
    page.locator(f"#order-{order['id']}").get_by_role("button", name="キャンセル").click()
    expect(page.locator("dialog#dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog#dialog")).to_be_hidden()
    expect(page.locator(f"#order-{order['id']} .chip")).to_have_text("確認待")


def test_a_person_bulk_cancels_a_selection_and_reads_what_was_done_and_refused(page, live_server, client, tenant, app):
    ids = [create_order(client, tenant, number=f"B-BULK-{i}")["id"] for i in range(2)]
    busy = create_order(client, tenant, number="B-BULK-BUSY")
    set_state(app, busy["id"], "shipping_in_progress", "withdrawal_requested")
    sign_in(page, live_server, tenant.staff_email)
    for order_id in [*ids, busy["id"]]:
        page.locator(f"#order-{order_id} input[name=order_ids]").check()
    bar = page.locator(".bulkbar")
    expect(bar).to_be_visible()
    bar.get_by_role("button", name=re.compile("選択した 3 件をキャンセル")).click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("3 件の注文")
    settled(page)
    dialog.get_by_role("button", name="キャンセルする").click()
    expect(dialog).to_contain_text("完了 2 件")
    expect(dialog).to_contain_text("できなかった注文 1 件")
    expect(dialog).to_contain_text("出荷取下げの回答待ちです。")
    page.screenshot(path=str(__import__("pathlib").Path(__file__).parent / "screenshots" / "bulk-result.png"))
    dialog.get_by_role("button", name="閉じる").click()
    expect(page.locator(f"#order-{ids[0]} .chip").first).to_have_text("キャンセル")


def test_a_bulk_run_over_the_threshold_shows_progress_until_the_job_reports_its_result(
        page, live_server, client, tenant, app, worker, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 2)
    for i in range(4):
        create_order(client, tenant, number=f"B-JOB-{i}")
    sign_in(page, live_server, tenant.staff_email)
    page.locator(".check-all").check()
    page.locator(".bulkbar").get_by_role("button", name=re.compile("件を削除")).click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("バックグラウンドで実行")
    settled(page)
    dialog.get_by_role("button", name="削除する").click()
    expect(dialog).to_contain_text("完了 4 件", timeout=30_000)


def test_a_bulk_cancel_of_all_matching_acts_on_what_its_dialog_showed_or_says_what_changed(
        page, live_server, client, tenant, app):
    """Issue 11 item 1 in the browser: the dialog freezes 「条件に一致する全件」; an order joining the tag meanwhile
    stops the confirm with the new count, and a tag deleted meanwhile is said in the dialog (a 404 shown)."""
    tag = client.post("/api/v1/tags", json={"name": "要キャンセル"}, headers=tenant.headers()).json
    tagged = [create_order(client, tenant, number=f"B-ALL-{i}") for i in range(2)]
    spared = create_order(client, tenant, number="B-ALL-SPARED")
    for order in tagged:
        client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/orders?status=awaiting_confirmation&tag={tag['id']}")
    page.locator(f"#order-{tagged[0]['id']} input[name=order_ids]").check()
    page.locator(".select-all-matching").click()
    bar = page.locator(".bulkbar")
    expect(bar.locator(".selected-count")).to_have_text("条件に一致する全 2 件を選択中")
    bar.get_by_role("button", name=re.compile("件をキャンセル")).click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("2 件の注文")
    settled(page)

    late = create_order(client, tenant, number="B-ALL-LATE")  # someone tags one more order meanwhile
    client.post(f"/api/v1/orders/{late['id']}/tags/{tag['id']}", headers=tenant.headers())
    dialog.get_by_role("button", name="キャンセルする").click()
    expect(dialog).to_contain_text("条件に一致する注文が変わりました（2件 → 3件）")
    expect(dialog).to_contain_text("3 件の注文")
    settled(page)
    page.screenshot(path=str(SCREENSHOTS / "bulk-selection-changed.png"))

    with app.app_context():  # and the tag is deleted before the confirm
        from boss.orders import tags
        from boss.orders.actor import Actor

        tags.delete_tag(Actor("user", "よそのタブ", tenant.account_id), tag["id"])
    dialog.get_by_role("button", name="キャンセルする").click()
    expect(dialog).to_contain_text(f"絞り込みのタグ「{tag['id']}」が見つかりません")
    page.screenshot(path=str(SCREENSHOTS / "bulk-selection-tag-gone.png"))
    for order in [*tagged, spared, late]:
        assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["status"] == "awaiting_confirmation"
