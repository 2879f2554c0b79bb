"""注文一覧 and 詳細検索: sortable headers (注文日時, 合計, 購入者) that keep the tab and filters, and 次へ / 前へ in the
sort shown; 出荷一覧 and the order page link a tracking number to its carrier's page; the favicon."""
from __future__ import annotations

import html
import re

import pytest

from boss.extensions import db
from boss.orders.models import Order
from boss.web import orders as orders_view
from boss.web import search as search_view
from boss.web.shipment_view import tracking_url
from tests.factories import create_order, set_state

HTMX = {"HX-Request": "true"}
PRICES = [1200, 300, 4500, 300, 900]


@pytest.fixture()
def five(client, tenant) -> list[dict]:
    return [create_order(client, tenant, number=f"SO-{i}", buyer={"name": name},
                         ordered_at=f"2026-11-0{i + 1}T10:00:00+09:00",
                         lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": price}])
            for i, (name, price) in enumerate(zip(["佐藤", "Abe", "鈴木", "ヤマダ", "abe"], PRICES))]


def _numbers(page: str) -> list[str]:
    rows = page[page.index('id="order-rows"'):]
    return re.findall(r'<td class="number"><a [^>]*>([^<]+)</a>', rows)


def _header(page: str, label: str) -> tuple[str, str | None, dict]:
    """(the th's attributes, its aria-sort, its link's query) of the sortable header `label`."""
    th = re.search(r'<th([^>]*)>\s*<a class="sort-link" href="([^"]+)"[^>]*>' + label, page)
    query = dict(re.findall(r"[?&]([^=&]+)=([^&]*)", html.unescape(th.group(2))))
    aria = re.search(r'aria-sort="(\w+)"', th.group(1))
    return th.group(2), aria.group(1) if aria else None, query


def _link(page: str, which: str) -> str | None:
    """The pager's link to the next or the prev page."""
    pattern = r'<a href="([^"]+)">次の50件' if which == "next" else r'<a href="([^"]+)" rel="prev">‹ 前の50件'
    found = re.search(pattern, page)
    return html.unescape(found.group(1)) if found else None


def _by(orders: list[dict], key, reverse=False) -> list[str]:
    return [o["mall_order_number"] for o in sorted(orders, key=lambda o: (key(o), o["id"]), reverse=reverse)]


def test_the_list_is_newest_first_and_says_so_on_its_header(staff_client, five):
    page = staff_client.get("/orders").text
    assert _numbers(page) == ["SO-4", "SO-3", "SO-2", "SO-1", "SO-0"]
    _href, aria, query = _header(page, "注文日時")
    assert aria == "descending" and query == {"sort": "ordered_at"}  # a click turns it round
    assert _header(page, "合計")[1:] == (None, {"sort": "-total"})  # another column: biggest first
    assert _header(page, "購入者")[1:] == (None, {"sort": "buyer"})


@pytest.mark.parametrize("sort, key, reverse, aria, label", [
    ("-total", lambda o: o["total"], True, "descending", "合計"), ("total", lambda o: o["total"], False, "ascending", "合計"),
    ("buyer", lambda o: o["buyer"]["name"], False, "ascending", "購入者"),
    ("-buyer", lambda o: o["buyer"]["name"], True, "descending", "購入者"),
    ("ordered_at", lambda o: o["ordered_at"], False, "ascending", "注文日時")])
def test_a_sorted_list_shows_its_order_and_direction(staff_client, five, sort, key, reverse, aria, label):
    page = staff_client.get(f"/orders?sort={sort}").text
    assert _numbers(page) == _by(five, key, reverse)
    _href, shown, query = _header(page, label)
    turned = sort[1:] if sort.startswith("-") else f"-{sort}"
    assert shown == aria and query.get("sort") == (None if turned == "-ordered_at" else turned)  # the default: no sort
    assert page.count("aria-sort=") == 1


def test_headers_tabs_and_the_filter_keep_the_tab_the_tag_and_the_sort(staff_client, client, tenant, app, five):
    tag = client.post("/api/v1/tags", json={"name": "ギフト"}, headers=tenant.headers()).json
    for order in five[:3]:
        assert client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers()).status_code == 200
    page = staff_client.get(f"/orders?status=awaiting_confirmation&tag={tag['id']}&sort=-total").text
    assert _numbers(page) == ["SO-2", "SO-0", "SO-1"]
    _href, _aria, query = _header(page, "購入者")
    assert query == {"status": "awaiting_confirmation", "tag": str(tag["id"]), "sort": "buyer"}
    tab = re.search(r'<a href="([^"]+)"[^>]*>\s*確認済', page).group(1)
    assert "sort=-total" in tab and f"tag={tag['id']}" in tab
    assert '<input type="hidden" name="sort" value="-total">' in page


def test_next_and_prev_pages_keep_the_sort_and_filters(staff_client, five, monkeypatch):
    monkeypatch.setattr(orders_view, "PAGE_SIZE", 2)
    expected = _by(five, lambda o: o["total"], reverse=True)
    first = staff_client.get("/orders?status=awaiting_confirmation&sort=-total").text
    assert _numbers(first) == expected[:2] and _link(first, "prev") is None
    pages, url = [first], _link(first, "next")
    while url:
        assert "sort=-total" in url and "status=awaiting_confirmation" in url
        pages.append(staff_client.get(url).text)
        url = _link(pages[-1], "next")
    assert sum((_numbers(p) for p in pages), []) == expected
    back = staff_client.get(_link(pages[-1], "prev")).text
    assert _numbers(back) == _numbers(pages[-2])
    top = staff_client.get(_link(back, "prev")).text
    assert _numbers(top) == expected[:2] and _link(top, "prev") is None and "最初のページ" not in top


def test_a_cursor_of_another_sort_starts_that_sort_again(staff_client, five, monkeypatch):
    monkeypatch.setattr(orders_view, "PAGE_SIZE", 2)
    cursor = re.search(r"cursor=([^&\"]+)", _link(staff_client.get("/orders?sort=-total").text, "next")).group(1)
    response = staff_client.get(f"/orders?sort=buyer&cursor={cursor}&status=awaiting_confirmation")
    assert response.status_code == 302
    assert response.headers["Location"] == "/orders?sort=buyer&status=awaiting_confirmation"
    assert staff_client.get("/orders?cursor=garbage").status_code == 302


def test_search_headers_and_pages_keep_the_criteria(staff_client, five, monkeypatch):
    monkeypatch.setattr(search_view, "PAGE_SIZE", 2)
    page = staff_client.get("/search?status=awaiting_confirmation&sort=buyer").text
    expected = _by(five, lambda o: o["buyer"]["name"])
    assert _numbers(page) == expected[:2] and "5 件が見つかりました" in page
    _href, aria, query = _header(page, "購入者")
    assert aria == "ascending" and query == {"status": "awaiting_confirmation", "sort": "-buyer"}
    assert _header(page, "合計")[2] == {"status": "awaiting_confirmation", "sort": "-total"}
    second = staff_client.get(_link(page, "next")).text
    assert _numbers(second) == expected[2:4]
    back = staff_client.get(_link(second, "prev")).text
    assert _numbers(back) == expected[:2] and _link(back, "prev") is None
    assert '<input type="hidden" name="sort" value="buyer">' in page  # a new search keeps the sort


# ---------------------------------------------------------------- tracking links


@pytest.mark.parametrize("carrier, number, url", [
    ("yamato", "4123-4567-8901", "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&number01=412345678901"),
    ("sagawa", "３６０１ ２３４５ ６７８９", "https://k2k.sagawa-exp.co.jp/p/web/okurijosearch.do?okurijoNo=360123456789"),
    ("japanpost", "EA123456789JP",
     "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1=EA123456789JP&locale=ja"),
    ("other", "ZX-1", None), (None, "412345678901", None), ("yamato", "41234&x=1", None), ("yamato", "", None)])
def test_each_carrier_has_its_tracking_page(carrier, number, url):
    assert tracking_url(carrier, number) == url


def _shipped(client, tenant, app, number: str, carrier: str, tracking: str) -> dict:
    order = create_order(client, tenant, number=number)
    set_state(app, order["id"], "completed", "shipped")
    with app.app_context():
        shipment = db.session.get(Order, order["id"]).shipments[0]
        shipment.carrier, shipment.tracking_number = carrier, tracking
        db.session.commit()
        db.session.remove()
    return order


def test_shipments_and_the_order_page_link_the_tracking_number_in_a_new_tab(staff_client, client, tenant, app):
    yamato = _shipped(client, tenant, app, "TR-Y", "yamato", "412345678901")
    other = _shipped(client, tenant, app, "TR-O", "other", "OT-777")
    link = ('<a class="mono tracking-link" href="https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number00=1&amp;'
            'number01=412345678901" target="_blank" rel="noopener noreferrer">412345678901')
    listed = staff_client.get("/shipments").text
    rows = {number: re.search(rf'<tr id="shipment-\d+"[^>]*>(?:(?!</tr>).)*{number}.*?</tr>', listed, re.S).group(0)
            for number in ("TR-Y", "TR-O")}
    assert "ヤマト運輸" in rows["TR-Y"] and link in rows["TR-Y"]
    assert "その他" in rows["TR-O"] and '<span class="mono">OT-777</span>' in rows["TR-O"]
    assert "tracking-link" not in rows["TR-O"]
    detail = staff_client.get(f"/orders/{yamato['id']}").text
    panel = detail[detail.index('id="shipment-panel"'):]
    assert "ヤマト運輸" in panel and link in panel
    other_panel = staff_client.get(f"/orders/{other['id']}").text
    assert '<span class="mono">OT-777</span>' in other_panel and "tracking-link" not in other_panel


def test_the_favicon_is_linked_and_served_to_anyone(staff_client, client):
    page = staff_client.get("/orders").text
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    response = client.get(href)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml" and b"<svg" in response.data


def test_shipments_page_back_with_prev(staff_client, client, tenant, app, monkeypatch):
    from boss.web import shipments as shipments_view

    monkeypatch.setattr(shipments_view, "PAGE_SIZE", 2)
    for i in range(3):
        _shipped(client, tenant, app, f"SP-{i}", "yamato", f"41234567890{i}")
    first = staff_client.get("/shipments?carrier=yamato").text
    assert _link(first, "prev") is None
    second = staff_client.get(_link(first, "next")).text
    back = _link(second, "prev")
    assert "carrier=yamato" in back
    numbers = re.compile(r'<td class="number"[^>]*><a [^>]*>([^<]+)</a>')
    assert numbers.findall(staff_client.get(back).text) == numbers.findall(first) == ["SP-2", "SP-1"]
