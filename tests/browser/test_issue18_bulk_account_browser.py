"""Issue 18 items 2, 6, 8, 9 in a real browser: 「選択した N 件を確認済にする」 from the bulk bar (at 1366×800 and
390×844), the mapping delete's own dialog, the アカウント page and a user's password reset, screenshots of each."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, settled, sign_in
from tests.factories import create_order, create_product, map_item

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
UNMAPPED = [{"mall_item_id": "item-unmapped", "name": "番茶", "quantity": 1, "unit_price": 500}]


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", SIZES)
def test_a_person_confirms_a_selection_from_the_bulk_bar_and_reads_each_orders_shop_and_refusal(
        page, live_server, client, tenant, size):
    page.set_viewport_size(SIZES[size])
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    ready = [create_order(client, tenant, number=f"BC-{size}-{i}") for i in range(2)]
    unmapped = create_order(client, tenant, number=f"BC-{size}-UNMAPPED", lines=UNMAPPED)
    sign_in(page, live_server, tenant.staff_email)
    for order in [*ready, unmapped]:
        page.locator(f"#order-{order['id']} input[name=order_ids]").check()
    bar = page.locator(".bulkbar")
    confirm = bar.get_by_role("button", name=re.compile("選択した 3 件を確認済にする"))
    expect(confirm).to_be_visible()
    _shot(page, f"bulk-confirm-bar-{size}")
    confirm.click()

    dialog = page.locator("dialog#dialog")
    expect(dialog.locator("#dialog-title")).to_have_text("一括確認")
    expect(dialog).to_contain_text("3 件の注文を確認済にします。")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    settled(page)
    _shot(page, f"bulk-confirm-dialog-{size}")
    dialog.get_by_role("button", name="確認済にする").click()

    expect(dialog).to_contain_text("完了 2 件")
    expect(dialog).to_contain_text("できなかった注文 1 件")
    refused = dialog.locator("tr.refused")
    expect(refused).to_contain_text(f"BC-{size}-UNMAPPED")
    expect(refused).to_contain_text("テスト商店の楽天店")
    expect(refused).to_contain_text("商品がマッピングされていない明細があるため確認できません（item-unmapped）")
    expect(dialog.locator("tr.ok").first).to_contain_text("テスト商店の楽天店")
    _shot(page, f"bulk-confirm-result-{size}")
    result_box = dialog.locator(".result-table-wrap").bounding_box()
    assert result_box["x"] >= 0 and result_box["x"] + result_box["width"] <= SIZES[size]["width"]  # within the screen
    dialog.get_by_role("button", name="閉じる").click()
    expect(page.locator(f"#order-{ready[0]['id']} .chip").first).to_have_text("確認済")
    expect(page.locator(f"#order-{unmapped['id']} .chip").first).to_have_text("確認待")


def test_the_mapping_delete_asks_in_its_own_dialog_on_back_and_deletes_only_when_told(page, live_server, client, tenant):
    create_product(client, tenant, "TEA-1")
    mapping = map_item(client, tenant, "item-tea", "TEA-1")
    page.on("dialog", lambda native: pytest.fail(f"a native dialog opened: {native.message}"))
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/mapping")
    row = page.locator(f"#mapping-{mapping['id']}")
    delete = row.get_by_role("button", name="削除")
    delete.click()

    dialog = page.locator("dialog#dialog")
    expect(dialog.locator("#dialog-title")).to_have_text("マッピングの削除")
    expect(dialog).to_contain_text("マッピング「item-tea → TEA-1」を削除します。")
    expect(dialog).to_contain_text("既にマッピングされた明細はそのまま残ります。")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    settled(page)
    _shot(page, "mapping-delete-dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    expect(row).to_contain_text("TEA-1")

    delete.click()
    settled(page)
    dialog.get_by_role("button", name="削除する").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("マッピング「item-tea → TEA-1」を削除しました。")
    expect(row).to_be_focused()
    page.reload()
    expect(page.locator(f"#mapping-{mapping['id']}")).to_have_count(0)


@pytest.mark.parametrize("size", SIZES)
def test_the_account_page_is_one_click_from_the_user_menu(page, live_server, tenant, size):
    page.set_viewport_size(SIZES[size])
    sign_in(page, live_server, tenant.staff_email)
    menu = page.get_by_role("button", name="メニュー")  # a phone folds the user menu behind it
    if menu.is_visible():
        menu.click()
    page.locator(".user-menu").get_by_role("link", name="アカウント").click()
    expect(page.locator("h1")).to_have_text("アカウント")
    page.fill("input[name=current_password]", "not-mine")
    page.fill("input[name=new_password]", "a-new-password")
    page.fill("input[name=confirm_password]", "a-new-password")
    page.get_by_role("button", name="パスワードを変更する").click()
    expect(page.locator("#password")).to_contain_text("現在のパスワードが正しくありません。")
    _shot(page, f"account-{size}")


def test_an_admin_resets_a_password_in_the_dialog_and_the_row_says_so(page, live_server, tenant):
    sign_in(page, live_server, tenant.admin_email)
    page.goto(f"{live_server}/settings/users")
    page.get_by_role("link", name=re.compile("^パスワード再設定")).click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.locator("#dialog-title")).to_have_text("パスワードの再設定")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    settled(page)
    dialog.locator("input[name=new_password]").fill("a-new-password")
    dialog.locator("input[name=confirm_password]").fill("another-one")
    dialog.get_by_role("button", name="再設定する").click()
    expect(dialog).to_contain_text("確認用のパスワードが新しいパスワードと一致しません。")
    _shot(page, "user-password-reset-refused")
    settled(page)
    dialog.locator("input[name=new_password]").fill("a-new-password")
    dialog.locator("input[name=confirm_password]").fill("a-new-password")
    dialog.get_by_role("button", name="再設定する").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text("さんのパスワードを再設定しました。")


@pytest.mark.parametrize("size", SIZES)
def test_a_yahoo_orders_cancel_dialog_names_yahoo_and_groups_the_reasons(page, live_server, app, size):
    from tests.conftest import make_tenant

    page.set_viewport_size(SIZES[size])
    shop = make_tenant(app, f"ブラウザのYahoo店{size}", mall="yahoo")
    order = create_order(app.test_client(), shop, number=f"Y-{size}")
    sign_in(page, live_server, shop.staff_email)
    page.locator(f"#order-{order['id']}").get_by_role("button", name="キャンセル").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("モールには反映しません（Yahoo!ショッピングの管理画面でキャンセルしてください）。")
    expect(dialog).not_to_contain_text("RMS")
    select = dialog.locator("select[name=reason_code]")
    expect(select.locator("optgroup")).to_have_count(2)
    expect(select.locator("option:checked")).to_have_text("その他（ショップ都合）")
    expect(select.locator("option").last).to_have_text("その他（ショップ都合）")
    _shot(page, f"cancel-dialog-yahoo-{size}")


def test_a_bad_ship_date_keeps_what_was_typed_with_why(page, live_server, tenant):
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/shipments?shipped_from=12/02")
    typed = page.locator("input[name=shipped_from]")
    expect(typed).to_have_value("12/02")
    expect(typed).to_have_accessible_description(re.compile("日付は 2026-11-01 の形式で入力してください。"))
    _shot(page, "shipments-bad-date")
