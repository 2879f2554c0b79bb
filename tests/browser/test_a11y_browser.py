"""Issue 18 item 5: every page and every dialog meets WCAG 2.1 AA as axe-core checks it, at 1366 px and at 390 px,
and nothing is wider than a phone's screen. The demo shop's data (boss/demo.py) gives every page something to show:
orders in every status, system and custom tags, holds, unmapped items, a deleted order; a cancelled 完了 order
adds a return, and a token and a light custom tag complete it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from boss.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from boss.extensions import db
from tests.browser.conftest import SCREENSHOTS, axe_violations, settled, sign_in
from tests.factories import create_order

pytestmark = pytest.mark.browser

WIDTHS = {1366: 800, 390: 844}
TABS = ("awaiting_confirmation", "confirmed", "awaiting_shipment", "shipping_in_progress", "completed", "cancelled",
        "all")


@dataclass
class Demo:
    orders: dict[str, int]  # a name → an order id of that kind
    product_id: int
    tag_id: int
    shop_id: int
    return_id: int


def _demo(app) -> Demo:
    """The demo shop, a return (a 完了 order of the Yahoo! shop cancelled), an API token and a light custom tag."""
    from boss.accounts import create_token
    from boss.models import Product, Shop, User
    from boss.orders import actions, rules, tags
    from boss.orders.actor import Actor
    from boss.orders.models import Order, Return, Tag

    with app.app_context():
        seed_demo()
        user = db.session.scalars(select(User).where(User.email == DEMO_EMAIL)).one()
        actor = Actor("user", user.name, user.account_id, user.id)
        create_token(user, "倉庫システム連携")
        tags.create_tag(actor, "同梱チラシ", "#f7dc6f")

        def first(*where) -> int:
            return db.session.scalars(select(Order.id).where(*where).order_by(Order.id)).first()

        live = Order.deleted_at.is_(None)
        yahoo = db.session.scalars(select(Shop.id).where(Shop.mall == "yahoo")).one()
        returned = first(live, Order.status == rules.COMPLETED, Order.shop_id == yahoo)
        actions.cancel(actor, returned)
        orders = {
            "waiting": next(order.id for order in db.session.scalars(select(Order).where(
                live, Order.status == rules.AWAITING_CONFIRMATION).order_by(Order.id))
                if not any(line.mapped for line in order.lines)),  # 商品未マッピング: it can be deleted
            "confirmed": first(live, Order.status == rules.CONFIRMED),
            "awaiting-shipment": first(live, Order.status == rules.AWAITING_SHIPMENT),
            "shipping": first(live, Order.shipment_status == rules.SHIPPING),
            "withdrawal": first(live, Order.shipment_status == rules.WITHDRAWAL_REQUESTED),
            "not-shippable": first(live, Order.shipment_status == rules.NOT_SHIPPABLE),
            "completed": first(live, Order.status == rules.COMPLETED),
            "cancelled-with-return": returned,
            "deleted": first(Order.deleted_at.is_not(None)),
        }
        waiting = db.session.get(Order, orders["waiting"])  # 備考 long enough to scroll in its box
        waiting.remarks = "\n".join(f"[配送メモ{i}] 不在時は宅配ボックスへ" for i in range(10))
        db.session.commit()
        demo = Demo(orders=orders, product_id=db.session.scalars(select(Product.id).order_by(Product.id)).first(),
                    tag_id=db.session.scalars(select(Tag.id).where(Tag.system.is_(False)).order_by(Tag.id)).first(),
                    shop_id=yahoo, return_id=db.session.scalars(select(Return.id)).one())
        db.session.remove()
    return demo


Opener = Callable[[object], None]


@dataclass
class Tour:
    """Visits pages at each width, opens their dialogs, runs axe on each; collects what it finds."""

    page: object
    base: str
    problems: list[str] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)
    checked: int = 0

    def visit(self, name: str, path: str, dialogs: dict[str, Opener] | None = None) -> None:
        for width, height in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.goto(f"{self.base}{path}")
            settled(self.page)
            self.check(name, width, full_page=True)
            for dialog_name, open_dialog in (dialogs or {}).items():
                open_dialog(self.page)
                dialog = self.page.locator("dialog#dialog")
                expect(dialog).to_be_visible()
                expect(dialog.locator("> *").first).to_be_visible()
                settled(self.page)
                self.check(f"{name}+{dialog_name}", width, full_page=False)
                self.page.keyboard.press("Escape")
                expect(dialog).to_be_hidden()
                expect(dialog.locator("> *")).to_have_count(0)

    def check(self, name: str, width: int, full_page: bool) -> None:
        self.checked += 1
        self.page.screenshot(path=str(SCREENSHOTS / f"tour-{name}-{width}.png"), full_page=full_page)
        for found in axe_violations(self.page):
            self.problems.append(f"{name} @{width}: {found['rule']} ({found['impact']}) at {found['target']} — "
                                 f"{found['summary'].splitlines()[-1].strip()}")
        if width < 760:
            scroll_width, inner_width = self.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            if scroll_width > inner_width:
                self.too_wide.append(f"{name} @{width}: {scroll_width} px wide")


def _row_button(kind: str) -> Opener:
    return lambda page: page.locator(f"#order-rows button.act-{kind}:not(:disabled):not([aria-disabled=true])").first.click()


def _bulk(label: str) -> Opener:
    def open_dialog(page) -> None:
        page.locator("#order-rows input[name=order_ids]:not(:disabled):not([aria-disabled=true])").first.check()
        page.locator(".bulkbar").get_by_role("button", name=label).click()
    return open_dialog


def _button(label: str, within: str = "main") -> Opener:
    return lambda page: page.locator(within).get_by_role("button", name=label, disabled=False).first.click()


def test_every_page_and_dialog_meets_wcag_21_aa_at_desktop_and_phone_widths(axe_page, live_server, app):
    SCREENSHOTS.mkdir(exist_ok=True)
    demo = _demo(app)
    page = axe_page
    tour = Tour(page, live_server)
    tour.visit("login", "/login")
    page.set_viewport_size({"width": 1366, "height": 800})
    sign_in(page, live_server, DEMO_EMAIL, DEMO_PASSWORD)

    tour.visit("orders-awaiting_confirmation", "/orders?status=awaiting_confirmation", {
        "cancel": _row_button("cancel"), "delete": _row_button("delete"),
        "bulk-cancel": _bulk("件をキャンセル"), "bulk-delete": _bulk("件を削除"), "bulk-tags": _bulk("タグを追加"),
        "csv-download": _button("CSVダウンロード")})
    for tab in TABS[1:]:
        tour.visit(f"orders-{tab}", f"/orders?status={tab}")
    tour.visit("search", "/search?name=%E5%B1%B1%E7%94%B0&include_deleted=1", {
        "csv-download": _button("CSVダウンロード"), "bulk-tags": _bulk("タグを追加")})
    for kind, order_id in demo.orders.items():
        dialogs = {"waiting": {"cancel": _button("キャンセル", "#order-detail .detail-actions"),
                               "delete": _button("削除", "#order-detail .detail-actions")},
                   "shipping": {"withdraw-then-cancel": _button("取下げ後にキャンセル")}}.get(kind)
        tour.visit(f"order-{kind}", f"/orders/{order_id}", dialogs)
    tour.visit("shipments", "/shipments")
    tour.visit("returns", "/returns")
    tour.visit("return", f"/returns/{demo.return_id}")
    tour.visit("mapping", "/mapping")
    tour.visit("manual", "/orders/new")
    tour.visit("products", "/products")
    tour.visit("stock", "/stock")
    tour.visit("stock-ledger", f"/stock/{demo.product_id}")
    tour.visit("tags", "/tags")
    tour.visit("tag-edit", f"/tags/{demo.tag_id}/edit")
    tour.visit("settings-shops", "/settings", {
        "shop-edit": lambda page: page.locator(f"a[href$='/settings/shops/{demo.shop_id}/edit']").click()})
    tour.visit("settings-shop-edit", f"/settings/shops/{demo.shop_id}/edit")
    tour.visit("settings-users", "/settings/users", {"disable-user": _button("無効にする")})
    tour.visit("settings-tokens", "/settings/tokens", {"revoke-token": _button("失効させる")})
    tour.visit("settings-warehouse", "/settings/warehouse")
    tour.visit("imports", "/imports/orders")

    assert tour.checked > 80
    assert not tour.problems, f"{len(tour.problems)} serious or critical WCAG 2.1 AA violations:\n" + "\n".join(
        tour.problems)
    assert not tour.too_wide, "wider than the screen at 390 px:\n" + "\n".join(tour.too_wide)


def test_the_first_tab_offers_the_skip_link_and_the_next_one_reaches_the_first_row(page, live_server, client, tenant):
    for i in range(2):
        create_order(client, tenant, number=f"SKIP-{i}")
    sign_in(page, live_server, tenant.staff_email)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="一覧へスキップ")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.screenshot(path=str(SCREENSHOTS / "skip-link.png"))
    page.keyboard.press("Enter")
    expect(page.locator("#order-rows")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#order-rows input[name=order_ids]").first).to_be_focused()
