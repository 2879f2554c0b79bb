"""Issue 11 item 14: no irreversible action by two presses of Enter. A dialog that acts on orders opens on 戻る (or on
the reason select of a cancel), Escape closes it and gives focus back to the button that opened it, and after the
action focus is on the updated row or the message."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from boss.extensions import db
from boss.orders.models import Order
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.factories import create_order

pytestmark = pytest.mark.browser


def _posts(page) -> list[str]:
    """The POSTs the page sends from now on (an action that reached the server)."""
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    return posts


def _state(app, order_id: int) -> tuple[str, bool]:
    with app.app_context():
        order = db.session.get(Order, order_id)
        state = order.status, order.deleted_at is not None
        db.session.remove()
    return state


def _closed(page) -> None:
    """The dialog is closed and its close handlers have run (they empty it and give focus back): the close event
    comes a moment after the dialog hides, so a key pressed before it would race them."""
    expect(page.locator("dialog#dialog")).to_be_hidden()
    expect(page.locator("dialog#dialog > *")).to_have_count(0)


def _enter_on(page, button) -> None:
    """Enter on a button, then wait until the dialog it opens has settled (htmx focuses [autofocus] then)."""
    _closed(page)
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("dialog#dialog .dialog-body")).to_be_visible()
    expect(page.locator("dialog#dialog .dialog-body")).not_to_have_class(re.compile(r"\bhtmx-added\b"))


def test_i14_enter_enter_on_a_rows_cancel_opens_the_dialog_on_the_reason_and_cancels_nothing(page, live_server, client, tenant, app):
    order = create_order(client, tenant, number="K-CANCEL-1")
    sign_in(page, live_server, tenant.staff_email)
    posts = _posts(page)
    opener = page.locator(f"#order-{order['id']}").get_by_role("button", name="キャンセル")
    dialog = page.locator("dialog#dialog")

    _enter_on(page, opener)
    expect(dialog).to_be_visible()
    expect(dialog.locator("select[name=reason_code]")).to_be_focused()
    page.screenshot(path=str(SCREENSHOTS / "cancel-dialog-keyboard.png"))
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    if dialog.is_visible():  # the first Escape may only close the select's list
        page.keyboard.press("Escape")
    _closed(page)
    expect(opener).to_be_focused()
    assert posts == []
    assert _state(app, order["id"]) == ("awaiting_confirmation", False)
    expect(page.locator(f"#order-{order['id']} .chip").first).to_have_text("確認待")


def test_i14_enter_enter_on_a_rows_delete_lands_on_back_and_deletes_nothing(page, live_server, client, tenant, app):
    order = create_order(client, tenant, number="K-DELETE-1")
    sign_in(page, live_server, tenant.staff_email)
    posts = _posts(page)
    opener = page.locator(f"#order-{order['id']}").get_by_role("button", name="削除")
    dialog = page.locator("dialog#dialog")

    _enter_on(page, opener)
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    page.keyboard.press("Enter")
    _closed(page)
    expect(opener).to_be_focused()
    assert posts == []
    assert _state(app, order["id"]) == ("awaiting_confirmation", False)


def test_i14_enter_enter_on_the_bulk_bar_changes_no_order(page, live_server, client, tenant, app):
    ids = [create_order(client, tenant, number=f"K-BULK-{i}")["id"] for i in range(2)]
    sign_in(page, live_server, tenant.staff_email)
    for order_id in ids:
        page.locator(f"#order-{order_id} input[name=order_ids]").check()
    posts = _posts(page)
    bar = page.locator(".bulkbar")
    dialog = page.locator("dialog#dialog")

    delete = bar.get_by_role("button", name=re.compile("件を削除"))
    _enter_on(page, delete)
    expect(dialog).to_contain_text("2 件の注文")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    page.keyboard.press("Enter")
    _closed(page)
    expect(delete).to_be_focused()

    cancel = bar.get_by_role("button", name=re.compile("件をキャンセル"))
    _enter_on(page, cancel)
    expect(dialog.locator("select[name=reason_code]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    if dialog.is_visible():
        page.keyboard.press("Escape")
    _closed(page)
    expect(cancel).to_be_focused()

    tag = bar.get_by_role("button", name="タグを追加")
    _enter_on(page, tag)
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    page.keyboard.press("Enter")
    _closed(page)
    expect(tag).to_be_focused()

    opened_dialogs = [url for url in posts if url.endswith(("/orders/bulk/confirm", "/tags/bulk-add"))]
    assert len(opened_dialogs) == 3 and posts == opened_dialogs  # nothing was run (/orders/bulk, /tags/bulk-apply)
    assert [_state(app, order_id) for order_id in ids] == [("awaiting_confirmation", False)] * 2


def test_i14_escape_closes_the_dialog_and_gives_focus_back_to_the_button_that_opened_it(page, live_server, client, tenant):
    order = create_order(client, tenant, number="K-ESC-1")
    sign_in(page, live_server, tenant.staff_email)
    opener = page.locator(f"#order-{order['id']}").get_by_role("button", name="削除")
    opener.click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    page.keyboard.press("Escape")
    _closed(page)
    expect(opener).to_be_focused()


def test_i14_after_a_cancel_by_keyboard_focus_is_on_the_updated_row(page, live_server, client, tenant, app):
    order = create_order(client, tenant, number="K-DONE-1")
    sign_in(page, live_server, tenant.staff_email)
    row = page.locator(f"#order-{order['id']}")
    _enter_on(page, row.get_by_role("button", name="キャンセル"))
    dialog = page.locator("dialog#dialog")
    expect(dialog.locator("select[name=reason_code]")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="キャンセルする")).to_be_focused()
    page.keyboard.press("Enter")
    _closed(page)
    expect(row.locator(".chip.st-cancelled")).to_have_text("キャンセル")
    expect(row).to_be_focused()
    assert _state(app, order["id"]) == ("cancelled", False)


def test_i14_after_a_delete_by_keyboard_focus_is_on_the_rows_message(page, live_server, client, tenant):
    order = create_order(client, tenant, number="K-GONE-1")
    sign_in(page, live_server, tenant.staff_email)
    row = page.locator(f"#order-{order['id']}")
    _enter_on(page, row.get_by_role("button", name="削除"))
    dialog = page.locator("dialog#dialog")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="削除する")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row).to_contain_text("詳細検索（削除済みを含む）で確認できます")
    expect(row).to_be_focused()


def test_i14_after_a_cancel_on_the_order_page_focus_is_on_the_message(page, live_server, client, tenant):
    order = create_order(client, tenant, number="K-DETAIL-1")
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/orders/{order['id']}")
    opener = page.locator(".detail-actions").get_by_role("button", name="キャンセル")
    _enter_on(page, opener)
    dialog = page.locator("dialog#dialog")
    expect(dialog.locator("select[name=reason_code]")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    if dialog.is_visible():
        page.keyboard.press("Escape")
    _closed(page)
    expect(opener).to_be_focused()
    expect(page.locator(".notice-cancelled")).to_have_count(0)

    _enter_on(page, opener)
    expect(dialog.locator("select[name=reason_code]")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".notice-cancelled")).to_be_visible()
    expect(page.locator("#messages")).to_be_focused()


def test_i14_enter_enter_on_revoking_a_token_revokes_nothing_and_a_chosen_revoke_focuses_the_row(page, live_server, tenant, app):
    """hx-confirm asks in the dialog on 戻る, not with the browser's confirm() whose OK holds the focus."""
    from boss.models import ApiToken

    with app.app_context():
        token_id = db.session.query(ApiToken).join(ApiToken.user).filter_by(email=tenant.admin_email).one().id
        db.session.remove()
    sign_in(page, live_server, tenant.admin_email)
    page.goto(f"{live_server}/settings/tokens")
    posts = _posts(page)
    row = page.locator(f"#token-{token_id}")
    revoke = row.get_by_role("button", name=re.compile("失効させる"))
    dialog = page.locator("dialog#dialog")

    revoke.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_contain_text("元に戻せません")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    page.screenshot(path=str(SCREENSHOTS / "confirm-dialog-keyboard.png"))
    page.keyboard.press("Enter")
    _closed(page)
    expect(revoke).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    page.keyboard.press("Escape")
    _closed(page)
    expect(revoke).to_be_focused()
    assert posts == []
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None
        db.session.remove()

    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name=re.compile("失効させる"))).to_be_focused()
    page.keyboard.press("Enter")
    expect(row.locator(".chip-off")).to_have_text("失効")
    expect(row).to_be_focused()
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
        db.session.remove()


def test_i14_enter_in_a_chosen_tag_adds_it_and_closing_the_result_focuses_the_reloaded_list(page, live_server, client, tenant, app):
    ids = [create_order(client, tenant, number=f"K-TAG-{i}")["id"] for i in range(2)]
    tag = client.post("/api/v1/tags", json={"name": "ギフト包装", "color": "#16a085"}, headers=tenant.headers()).json
    sign_in(page, live_server, tenant.staff_email)
    for order_id in ids:
        page.locator(f"#order-{order_id} input[name=order_ids]").check()
    dialog = page.locator("dialog#dialog")
    _enter_on(page, page.locator(".bulkbar").get_by_role("button", name="タグを追加"))
    expect(dialog.get_by_role("button", name="戻る")).to_be_focused()
    dialog.get_by_role("radio").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(dialog).to_contain_text("タグ「ギフト包装」の追加")
    expect(dialog).to_contain_text("完了 2 件")
    expect(dialog.get_by_role("button", name="閉じる")).to_be_focused()
    page.keyboard.press("Enter")
    _closed(page)
    expect(page.locator(f"#order-{ids[0]} .tags")).to_contain_text(tag["name"])
    expect(page.locator("#order-list")).to_be_focused()
