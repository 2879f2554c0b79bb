"""Issue 11 item 7 in a real browser: every page and action of the demo shop works under the
Content-Security-Policy (no inline script or style, htmx without eval) and the console stays clean."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from boss.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from boss.extensions import db
from boss.models import Connection, Shop
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.conftest import wait_for

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  const text = event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " at "
             + event.sourceFile + ":" + event.lineNumber + " " + (event.sample || "");
  window.__cspViolations.push(text);
  window.__reportViolation(text);
});
"""


@pytest.fixture
def demo(app, live_server, worker, monkeypatch):
    """The demo shop (every status, tags, holds, unmapped items, a Rakuten shop on the sandbox of this server),
    once its first import has brought the sandbox's new orders in (the lists then hold still)."""
    monkeypatch.setitem(app.config, "RMS_SANDBOX_BASE_URL", f"{live_server}/sandbox/rms")
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 100)  # the worker paces at RMS_MIN_INTERVAL 0.05
    with app.app_context():
        seed_demo()
        db.session.remove()

    def imported():
        with app.app_context():
            done = db.session.scalars(select(Connection.last_run_at).join(Shop, Shop.id == Connection.shop_id)
                                      .where(Shop.mall == "rakuten")).one()
            db.session.remove()
            return done

    wait_for(imported, timeout=30, message="the demo shop's first import")


@pytest.fixture
def watched(page):
    """The page, with every CSP violation (recorded on window by an init script), console error or warning and
    failed request collected, whatever page they happened on."""
    problems = []
    page.context.expose_binding("__reportViolation", lambda source, text: problems.append(f"{source['page'].url}: {text}"))
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: message.type in ("error", "warning")
            and problems.append(f"{page.url}: console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"{page.url}: page error: {error}"))
    page.on("response", lambda response: response.status >= 400
            and problems.append(f"{page.url}: {response.request.method} {response.url} answered {response.status}"))
    page.problems = problems
    return page


def _waiting_orders(app) -> tuple[list[int], list[int]]:
    """The demo's 確認待 orders not deleted: (untagged with a mapped item, with no item mapped)."""
    from boss.orders.models import Order

    with app.app_context():
        orders = db.session.scalars(select(Order).where(Order.status == "awaiting_confirmation",
                                                        Order.deleted_at.is_(None)).order_by(Order.id)).all()
        mapped = [order.id for order in orders if not order.tags and any(line.mapped for line in order.lines)]
        unmapped = [order.id for order in orders if not any(line.mapped for line in order.lines)]
        db.session.remove()
        return mapped, unmapped


def _settled(page) -> None:
    """htmx wires swapped-in content up when it settles (20 ms on): act on it only then."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


@pytest.mark.slow
def test_r7_every_page_and_action_runs_under_the_csp_with_no_violation_and_a_clean_console(
        watched, live_server, app, demo, monkeypatch):
    page = watched
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server}/login")
    expect(page.locator("input[name=email]")).to_be_visible()
    sign_in(page, live_server, DEMO_EMAIL, DEMO_PASSWORD)

    # 注文一覧: every tab, the tag filter, a row's cancel and delete, a bulk cancel, the tags bulk dialog.
    tabs = page.locator("#status-tabs a")
    for index in range(tabs.count()):
        tabs.nth(index).click()
        expect(tabs.nth(index)).to_have_attribute("aria-current", "page")
        _settled(page)
    page.locator("#status-tabs a", has_text="確認待").click()
    expect(page.locator("#status-tabs a[aria-current=page]")).to_contain_text("確認待")
    _settled(page)
    held = page.locator(".tag", has_text="要確認（電話）").first
    expect(held).to_be_visible()
    expect(held).to_have_css("border-top-color", "rgb(230, 126, 34)")  # from its data- attribute, by app.js
    page.locator(".list-filter select[name=tag]").select_option(label="ギフト包装")
    expect(page.locator(".list-filter .muted")).to_be_visible()
    _settled(page)
    page.locator(".list-filter select[name=tag]").select_option(value="")
    expect(page.locator(".list-filter .muted")).to_have_count(0)
    _settled(page)

    shown = set(page.locator("#order-rows tr[id^=order-]").evaluate_all("rows => rows.map(r => +r.id.slice(6))"))
    mapped, unmapped = ([order_id for order_id in ids if order_id in shown] for ids in _waiting_orders(app))
    first, third, fourth, fifth = mapped[:4]
    second = unmapped[0]
    page.locator(f"#order-{first}").get_by_role("button", name="キャンセル").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("キャンセルは取り消せません")
    _settled(page)  # htmx binds the dialog's form when it settles (else it posts as a plain form)
    dialog.get_by_role("button", name="キャンセルする").click()
    expect(page.locator(f"#order-{first} .chip.st-cancelled")).to_be_visible()
    page.locator(f"#order-{second}").get_by_role("button", name="削除").click()
    _settled(page)  # htmx binds the dialog's form when it settles (else it posts as a plain form)
    dialog.get_by_role("button", name="削除する").click()
    expect(page.locator(f"#order-{second}")).to_contain_text("詳細検索（削除済みを含む）で確認できます")

    for order_id in (third, fourth):
        page.locator(f"#order-{order_id} input[name=order_ids]").check()
    bar = page.locator(".bulkbar")
    expect(bar).to_be_visible()
    bar.get_by_role("button", name=re.compile("選択した 2 件をキャンセル")).click()
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 1)  # runs as a job: the progress dialog too
    _settled(page)  # htmx binds the dialog's form when it settles (else it posts as a plain form)
    dialog.get_by_role("button", name="キャンセルする").click()
    expect(dialog).to_contain_text("一括操作を実行中")
    expect(dialog).to_contain_text("完了 2 件", timeout=30_000)
    with page.expect_response(lambda response: "/orders?" in response.url):  # closing reloads the list
        dialog.get_by_role("button", name="閉じる").click()
    expect(dialog).to_be_hidden()
    _settled(page)

    page.locator(f"#order-{fifth} input[name=order_ids]").check()
    bar.get_by_role("button", name="タグを追加").click()
    expect(dialog.locator(".tag", has_text="ギフト包装")).to_have_css("border-top-color", "rgb(22, 160, 133)")
    _settled(page)  # htmx binds the dialog's form when it settles (else it posts as a plain form)
    dialog.get_by_label("ギフト包装").check()
    dialog.get_by_role("button", name="タグを追加する").click()
    expect(dialog).to_contain_text("完了 1 件")
    page.screenshot(path=str(SCREENSHOTS / "csp-orders-with-dialog.png"))
    with page.expect_response(lambda response: "/orders?" in response.url):
        dialog.get_by_role("button", name="閉じる").click()
    _settled(page)

    # 注文詳細: a tag added in place.
    page.goto(f"{live_server}/orders/{fifth}")
    page.locator(".tag-add select[name=tag_id]").select_option(label="要確認（電話） （保留）")
    page.locator(".tag-add").get_by_role("button", name="追加").click()
    expect(page.locator("#order-detail .tag", has_text="要確認（電話）")).to_be_visible()
    page.get_by_role("button", name="キャンセル").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="戻る").click()

    # 詳細検索, 出荷一覧, 商品, 手動登録, タグ and a tag's edit page.
    page.goto(f"{live_server}/search")
    page.locator(".search-form input[name=name]").fill("山田")
    page.locator(".search-form input[name=include_deleted]").check()
    page.locator(".search-form").get_by_role("button", name="検索").click()
    expect(page).to_have_url(re.compile(r"name=%E5%B1%B1%E7%94%B0"))
    page.goto(f"{live_server}/shipments")
    expect(page.locator("h1")).to_contain_text("出荷一覧")
    page.goto(f"{live_server}/products")
    page.get_by_role("searchbox", name="商品を検索").fill("TWL")
    expect(page.locator("#product-list")).not_to_contain_text("TEA-001")
    expect(page.locator("#product-list")).to_contain_text("TWL-002")
    page.goto(f"{live_server}/orders/new")
    lines = page.locator("#manual-form tbody tr")
    count = lines.count()
    page.get_by_role("button", name="＋ 明細を追加").click()
    expect(lines).to_have_count(count + 1)
    page.goto(f"{live_server}/tags")
    expect(page.locator("tr", has_text="#16a085").locator(".swatch")).to_have_css("background-color", "rgb(22, 160, 133)")
    page.screenshot(path=str(SCREENSHOTS / "csp-tags.png"), full_page=True)
    page.get_by_role("link", name=re.compile("タグ「ギフト包装」を編集")).click()
    expect(page.locator("input[name=name]")).to_have_value("ギフト包装")

    # 商品マッピング: a candidate search and a mapping.
    page.goto(f"{live_server}/mapping")
    group = page.locator("tr[id^=group-]").first
    group.locator("input[name=q]").fill("TEA-001")
    expect(group.locator("label.option")).to_contain_text("TEA-001")
    group.get_by_role("button", name="マッピング").click()
    expect(page.locator("#mapping-content")).to_contain_text("TEA-001")

    # 設定: the shop filter, a shop's edit dialog saved, 今すぐ取込 to its end, users, tokens with a copy.
    page.goto(f"{live_server}/settings")
    page.locator("#shop-filter").select_option(label="デモYahoo!ショップ")
    expect(page.locator("#shop-filter")).to_have_value(re.compile(r"\d+"))
    page.locator("#shop-filter").select_option(value="")
    expect(page.locator("#shop-filter")).to_have_value("")
    page.get_by_role("link", name=re.compile("編集 デモYahoo!ショップ")).click()
    expect(dialog).to_contain_text("ショップ設定の変更")
    _settled(page)  # htmx binds the dialog's form when it settles (else it posts as a plain form)
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text("設定を保存しました")
    page.get_by_role("button", name=re.compile("今すぐ取込 デモ楽天ショップ")).click()
    done = page.locator(".import-job.done")
    expect(done).to_contain_text("取込が完了しました", timeout=30_000)
    done.get_by_role("button", name="閉じる").click()
    expect(done).to_have_count(0)

    page.goto(f"{live_server}/settings/users")
    expect(page.locator("h1, h2").first).to_be_visible()
    page.goto(f"{live_server}/settings/tokens")
    page.locator("#new-token input[name=name]").fill("倉庫システム連携")
    page.locator("#new-token").get_by_role("button", name="作成する").click()
    token = page.locator("#new-token-value")
    expect(token).to_be_visible()
    token.focus()
    assert token.evaluate("el => el.selectionEnd - el.selectionStart") == len(token.input_value())
    copy = page.locator(".token-copy").get_by_role("button", name="コピー")
    copy.click()
    expect(copy).to_have_text("コピーしました")
    assert page.evaluate("navigator.clipboard.readText()") == token.input_value()
    page.get_by_role("button", name="失効させる 倉庫システム連携").click()
    dialog.locator("button.danger").click()  # hx-confirm asks in the page's dialog (no window.confirm)
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="失効させる 倉庫システム連携")).to_have_count(0)

    # English, then logging out to the login page.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server}/orders")
    expect(page.locator("#status-tabs")).to_contain_text("All")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("input[name=email]")).to_be_visible()

    assert page.evaluate("window.__cspViolations") == []
    assert page.problems == []
