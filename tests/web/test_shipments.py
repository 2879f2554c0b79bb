"""出荷一覧: shipments of not-deleted orders (R8), newest first, by shipment status, keyset pages."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from boss.extensions import db
from boss.orders.models import Order, Shipment
from boss.web import shipments as shipments_view
from tests.factories import create_order, set_state

HTMX = {"HX-Request": "true"}


def _numbers(html: str) -> list[str]:
    rows = html[html.index('id="shipment-rows"'):]
    return re.findall(r'<td class="number"[^>]*><a [^>]*>([^<]+)</a>', rows)


def _shipped_order(client, tenant, app, number, status="awaiting_shipment", shipment_status="requested",
                   requested_at=None, **kwargs):
    order = create_order(client, tenant, number=number, **kwargs)
    set_state(app, order["id"], status, shipment_status)
    if requested_at is not None:
        with app.app_context():
            found = db.session.get(Order, order["id"])
            found.shipments[0].requested_at = requested_at
            db.session.commit()
            db.session.remove()
    return order


def _tab(page: str, label: str) -> str:
    return re.search(label + r' <span class="count">([^<]+)</span>', " ".join(page.split())).group(1)


def test_the_list_is_a_full_page_and_its_partial_for_htmx_from_one_url(staff_client, client, tenant, app):
    _shipped_order(client, tenant, app, "SH-1")
    page = staff_client.get("/shipments")
    fragment = staff_client.get("/shipments", headers=HTMX)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.text and "SH-1" in page.text
    assert "<html" not in fragment.text and "SH-1" in fragment.text and 'id="shipment-tabs"' in fragment.text


def test_each_row_shows_order_shop_buyer_statuses_requested_at_and_tracking(staff_client, client, tenant, app):
    order = _shipped_order(client, tenant, app, "SH-ROW", "completed", "shipped",
                           requested_at=datetime(2026, 11, 27, 5, 5))
    with app.app_context():
        found = db.session.get(Order, order["id"])
        found.shipments[0].tracking_number = "412345678901"
        db.session.commit()
        db.session.remove()
    page = staff_client.get("/shipments").text
    row = re.search(r'<tr id="shipment-\d+".*?</tr>', page, re.S).group(0)
    assert f'href="/orders/{order["id"]}"' in row and "SH-ROW" in row and "テスト商店の楽天店" in row
    assert "山田 花子" in row and "出荷完了" in row and "完了" in row
    assert "2026/11/27 14:05" in row  # Japan time
    assert "412345678901" in row


def test_r8_shipments_of_deleted_orders_are_not_listed_nor_counted(staff_client, client, tenant, app):
    _shipped_order(client, tenant, app, "SH-KEPT")
    gone = _shipped_order(client, tenant, app, "SH-GONE", "awaiting_confirmation", "not_shippable")
    client.delete(f"/api/v1/orders/{gone['id']}", headers=tenant.headers())
    page = staff_client.get("/shipments").text
    assert _numbers(page) == ["SH-KEPT"]
    assert _tab(page, "すべて") == "1" and _tab(page, "出荷不可") == "0"
    assert _numbers(staff_client.get("/shipments?status=not_shippable").text) == []


def test_newest_first_with_tabs_per_shipment_status_and_counts(staff_client, client, tenant, app):
    base = datetime(2026, 11, 20, 1, 0)
    _shipped_order(client, tenant, app, "SH-OLD", requested_at=base)
    _shipped_order(client, tenant, app, "SH-MID", "shipping_in_progress", "shipping", requested_at=base + timedelta(hours=1))
    _shipped_order(client, tenant, app, "SH-NEW", requested_at=base + timedelta(hours=2))
    page = staff_client.get("/shipments").text
    assert _numbers(page) == ["SH-NEW", "SH-MID", "SH-OLD"]
    assert _tab(page, "すべて") == "3" and _tab(page, "出荷依頼済") == "2" and _tab(page, "出荷中") == "1"
    assert _tab(page, "出荷完了") == "0"
    requested = staff_client.get("/shipments?status=requested").text
    assert _numbers(requested) == ["SH-NEW", "SH-OLD"]
    assert re.search(r'<a href="/shipments\?status=requested" aria-current="page"', requested)
    assert _numbers(staff_client.get("/shipments?status=nonsense").text) == ["SH-NEW", "SH-MID", "SH-OLD"]


def test_every_shipment_of_an_order_is_listed(staff_client, client, tenant, app):
    order = _shipped_order(client, tenant, app, "SH-TWICE", "shipping_in_progress", "not_shippable")
    with app.app_context():
        db.session.add(Shipment(order_id=order["id"], status="requested"))
        db.session.commit()
        db.session.remove()
    page = staff_client.get("/shipments").text
    assert _numbers(page) == ["SH-TWICE", "SH-TWICE"] and "出荷不可" in page and "出荷依頼済" in page


def test_keyset_pages_keep_the_tab_and_never_overlap(staff_client, client, tenant, app, monkeypatch):
    monkeypatch.setattr(shipments_view, "PAGE_SIZE", 2)
    same_time = datetime(2026, 11, 20, 1, 0)  # equal requested_at: the id breaks the tie
    for i in range(5):
        _shipped_order(client, tenant, app, f"SH-P{i}", requested_at=same_time)
    _shipped_order(client, tenant, app, "SH-SHIPPING", "shipping_in_progress", "shipping", requested_at=same_time)
    page = staff_client.get("/shipments?status=requested").text
    seen = _numbers(page)
    while "次の50件" in page:
        link = re.search(r'<a href="([^"]+)">次の50件', page).group(1).replace("&amp;", "&")
        assert "status=requested" in link and "cursor=" in link
        page = staff_client.get(link).text
        seen += _numbers(page)
    assert seen == [f"SH-P{i}" for i in (4, 3, 2, 1, 0)]
    assert staff_client.get("/shipments?cursor=garbage").status_code == 302


def test_the_header_shop_filter_is_respected(staff_client, client, tenant, app):
    other = client.post("/api/v1/shops", json={"name": "二号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    _shipped_order(client, tenant, app, "SH-SHOP-A")
    order = client.post("/api/v1/orders", json={
        "shop_id": other["id"], "mall_order_number": "SH-SHOP-B", "buyer": {"name": "佐藤"},
        "lines": [{"mall_item_id": "i", "name": "n", "quantity": 1, "unit_price": 1}]}, headers=tenant.headers()).json
    set_state(app, order["id"], "awaiting_shipment", "requested")
    assert sorted(_numbers(staff_client.get("/shipments").text)) == ["SH-SHOP-A", "SH-SHOP-B"]
    staff_client.post("/shop-filter", data={"shop_id": other["id"], "csrf_token": staff_client.csrf})
    page = staff_client.get("/shipments").text
    assert _numbers(page) == ["SH-SHOP-B"] and _tab(page, "すべて") == "1"


def test_r14_another_accounts_shipments_are_not_shown(staff_client, client, tenant, other_tenant, app):
    _shipped_order(client, tenant, app, "SH-MINE")
    _shipped_order(client, other_tenant, app, "SH-THEIRS")
    page = staff_client.get("/shipments").text
    assert _numbers(page) == ["SH-MINE"] and "SH-THEIRS" not in page


def test_no_shipments_says_so(staff_client):
    assert "該当する出荷はありません。" in staff_client.get("/shipments").text


def test_a_buyer_named_like_a_script_stays_text(staff_client, client, tenant, app):
    _shipped_order(client, tenant, app, "SH-XSS", buyer={"name": "<script>alert(1)</script>"})
    page = staff_client.get("/shipments").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_both_roles_see_the_list(app, client, tenant, role):
    from tests.conftest import login

    signed_in = login(app.test_client(), tenant.staff_email if role == "staff" else tenant.admin_email)
    _shipped_order(client, tenant, app, f"SH-{role}")
    assert _numbers(signed_in.get("/shipments").text) == [f"SH-{role}"]
