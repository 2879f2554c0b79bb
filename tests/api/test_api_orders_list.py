"""GET /api/v1/orders: newest first by (ordered_at, id), keyset cursors, filters and `q`."""
from __future__ import annotations

import pytest

import json
from datetime import date

from boss.extensions import db
from boss.orders.models import Order, Shipment
from tests.api.api_helpers import API, create_tag, error_of, get_order, list_numbers
from tests.factories import create_order, create_product, map_item, set_order_fields, set_state


def _page(client, tenant, **query) -> dict:
    response = client.get(f"{API}/orders", query_string=query, headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


# ---------------------------------------------------------------- what a listed order shows


def _second_parcel_shipped(app, order_id: int) -> None:
    """A 再出荷依頼 that shipped in two boxes, after a first shipment the warehouse could not ship."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.shipments[-1].status, order.shipments[-1].reason = "not_shippable", "住所不明"
        order.shipments.append(Shipment(status="shipped", request_state="sent", warehouse_id="WS-2", carrier="yamato",
                                        tracking_number="1234-5678-9012", shipped_on=date(2026, 11, 30),
                                        parcels=[{"carrier": "yamato", "tracking_number": "1234-5678-9012"},
                                                 {"carrier": "sagawa", "tracking_number": "4000-1111-2222"}]))
        db.session.commit()
        db.session.remove()


def test_each_listed_order_is_the_order_exactly_as_its_own_page_shows_it(app, client, tenant):
    """The list reads a page as rows (orders.listing: lines and tags gathered by the database, no ORM objects),
    the order's own page as an ORM object: a client must not tell them apart, whatever the order holds."""
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    lines = [{"mall_item_id": "item-1", "name": "煎茶", "quantity": 2, "unit_price": 1200},
             {"mall_item_id": "item-9", "sub_code": "red-M", "name": "湯呑", "quantity": 1, "unit_price": 800}]
    unmapped = create_order(client, tenant, number="EQ-1", lines=lines, postage=600, remarks="のし希望",
                            delivery_date="2026-12-24", delivery_time_slot="14-16")
    set_order_fields(app, unmapped["id"], options=["", "色: 赤\nサイズ: M"], wrapping=330, drop_off="玄関前",
                     pickup={"kind": "convenience_store", "store_code": "123456", "store_name": "ローソン 大手町店",
                             "address": "東京都千代田区大手町1-1-1"})
    custom = create_tag(client, tenant, "ギフト", color="#1f6f43")
    held = create_tag(client, tenant, "保留", holds=True)
    for tag in (held, custom):
        version = get_order(client, tenant, unmapped["id"])["version"]
        response = client.post(f"{API}/orders/{unmapped['id']}/tags/{tag['id']}",
                               headers=tenant.headers() | {"If-Match": str(version)})
        assert response.status_code == 200, response.json
    shipped = create_order(client, tenant, number="EQ-2")
    set_state(app, shipped["id"], "completed", "not_shippable")
    _second_parcel_shipped(app, shipped["id"])
    returned = create_order(client, tenant, number="EQ-3")
    set_state(app, returned["id"], "completed", "shipped")
    assert client.post(f"{API}/orders/{returned['id']}/cancel", json={"reason_code": 1},
                       headers=tenant.headers()).status_code == 200
    deleted = create_order(client, tenant, number="EQ-4", lines=[lines[1]])
    assert client.delete(f"{API}/orders/{deleted['id']}", headers=tenant.headers()).status_code == 200
    short = create_order(client, tenant, number="EQ-5")
    set_state(app, short["id"], "shipping_in_progress", "not_shippable")
    with app.app_context():
        shipment = db.session.get(Order, short["id"]).shipments[-1]
        shipment.reason, shipment.reason_code, shipment.short_lines = "在庫不足", "R01", [{"sku": "SKU-1", "short": 2}]
        db.session.commit()
        db.session.remove()

    listed = {order["id"]: order for order in _page(client, tenant, include_deleted="true")["items"]}
    assert len(listed) == 5
    for order_id, order in listed.items():  # as JSON text: true is not 1 there
        assert json.dumps(order, sort_keys=True) == json.dumps(get_order(client, tenant, order_id), sort_keys=True)
    first = listed[unmapped["id"]]
    assert [(line["sku"], line["mapped"], line["options"]) for line in first["lines"]] == [
        ("SKU-1", True, ""), (None, False, "色: 赤\nサイズ: M")]
    assert sorted((tag["name"], tag["system"], tag["holds"]) for tag in first["tags"]) == sorted([
        ("モール出荷連携なし", True, False), ("商品未マッピング", True, False), ("ギフト", False, False), ("保留", False, True)])
    assert [tag["id"] for tag in first["tags"]] == sorted(tag["id"] for tag in first["tags"])
    assert first["can_cancel"] and not first["can_delete"]  # a mapped line: R2
    assert listed[shipped["id"]]["shipment"]["parcels"][1]["tracking_number"] == "4000-1111-2222"
    assert listed[returned["id"]]["return"]["status"] == "awaiting_return"
    assert listed[deleted["id"]]["deleted"] is True
    assert listed[short["id"]]["shipment"]["short_lines"] == [{"sku": "SKU-1", "short": 2}]


# ---------------------------------------------------------------- order and pages


def test_the_list_is_newest_first_by_ordered_at_then_id(client, tenant):
    times = ["2026-11-01T10:00:00+09:00", "2026-11-03T10:00:00+09:00", "2026-11-02T10:00:00+09:00",
             "2026-11-03T10:00:00+09:00", "2026-10-31T23:59:59+09:00"]
    created = [create_order(client, tenant, number=f"L-{i}", ordered_at=at) for i, at in enumerate(times)]
    expected = [o["mall_order_number"] for o in sorted(created, key=lambda o: (o["ordered_at"], o["id"]), reverse=True)]
    assert expected == ["L-3", "L-1", "L-2", "L-0", "L-4"]
    assert list_numbers(client, tenant) == expected


def test_the_cursor_walks_every_page_without_gaps_or_duplicates(client, tenant):
    created = []
    for i in range(23):  # many share a time, so the id decides within a second
        created.append(create_order(client, tenant, number=f"P-{i:02d}",
                                    ordered_at=f"2026-11-{1 + i % 4:02d}T12:00:00+09:00"))
    expected = [o["id"] for o in sorted(created, key=lambda o: (o["ordered_at"], o["id"]), reverse=True)]
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        page = _page(client, tenant, **query)
        pages += 1
        assert len(page["items"]) <= 5
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == expected
    assert pages == 5


def test_an_exact_multiple_of_the_limit_ends_without_an_empty_page(client, tenant):
    for i in range(4):
        create_order(client, tenant, number=f"E-{i}")
    first = _page(client, tenant, limit=2)
    second = _page(client, tenant, limit=2, cursor=first["next_cursor"])
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


def test_orders_added_while_paging_neither_repeat_nor_shift_later_pages(client, tenant):
    for i in range(6):
        create_order(client, tenant, number=f"S-{i}", ordered_at=f"2026-11-0{i + 1}T09:00:00+09:00")
    first = _page(client, tenant, limit=3)
    create_order(client, tenant, number="S-NEW", ordered_at="2026-12-01T09:00:00+09:00")
    second = _page(client, tenant, limit=3, cursor=first["next_cursor"])
    assert [o["mall_order_number"] for o in first["items"]] == ["S-5", "S-4", "S-3"]
    assert [o["mall_order_number"] for o in second["items"]] == ["S-2", "S-1", "S-0"]


def test_the_default_page_holds_50_orders(client, tenant):
    for i in range(51):
        create_order(client, tenant, number=f"D-{i}")
    page = _page(client, tenant)
    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None
    assert len(_page(client, tenant, cursor=page["next_cursor"])["items"]) == 1


def test_a_cursor_keeps_its_filter(client, tenant):
    for i in range(4):
        order = create_order(client, tenant, number=f"F-{i}", ordered_at=f"2026-11-0{i + 1}T09:00:00+09:00")
        if i % 2:
            client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    first = _page(client, tenant, status="cancelled", limit=1)
    second = _page(client, tenant, status="cancelled", limit=1, cursor=first["next_cursor"])
    assert [o["mall_order_number"] for o in first["items"] + second["items"]] == ["F-3", "F-1"]
    assert second["next_cursor"] is None


# ---------------------------------------------------------------- deleted and cancelled


def test_cancelled_orders_are_listed_and_deleted_ones_only_when_asked(client, tenant):
    create_order(client, tenant, number="ACTIVE", ordered_at="2026-11-01T09:00:00+09:00")
    cancelled = create_order(client, tenant, number="CANCELLED", ordered_at="2026-11-02T09:00:00+09:00")
    deleted = create_order(client, tenant, number="DELETED", ordered_at="2026-11-03T09:00:00+09:00")
    client.post(f"{API}/orders/{cancelled['id']}/cancel", json={}, headers=tenant.headers())
    client.delete(f"{API}/orders/{deleted['id']}", headers=tenant.headers())
    assert list_numbers(client, tenant) == ["CANCELLED", "ACTIVE"]
    assert list_numbers(client, tenant, include_deleted="false") == ["CANCELLED", "ACTIVE"]
    assert list_numbers(client, tenant, include_deleted="true") == ["DELETED", "CANCELLED", "ACTIVE"]
    shown = _page(client, tenant, include_deleted="true")["items"][0]
    assert shown["deleted"] is True and shown["deleted_at"].endswith("+09:00")


def test_r8_a_deleted_order_is_still_found_by_its_number_with_include_deleted(client, tenant):
    order = create_order(client, tenant, number="GONE-1")
    client.delete(f"{API}/orders/{order['id']}", headers=tenant.headers())
    assert list_numbers(client, tenant, q="GONE-1") == []
    assert list_numbers(client, tenant, q="GONE-1", include_deleted="true") == ["GONE-1"]
    assert list_numbers(client, tenant, mall_order_number="GONE-1", include_deleted="true") == ["GONE-1"]


# ---------------------------------------------------------------- filters


def test_the_status_filter_returns_only_that_status(app, client, tenant):
    a = create_order(client, tenant, number="ST-AWAIT")
    b = create_order(client, tenant, number="ST-CANCEL")
    c = create_order(client, tenant, number="ST-SHIP")
    client.post(f"{API}/orders/{b['id']}/cancel", json={}, headers=tenant.headers())
    set_state(app, c["id"], "shipping_in_progress", "shipping")
    assert list_numbers(client, tenant, status="awaiting_confirmation") == [a["mall_order_number"]]
    assert list_numbers(client, tenant, status="cancelled") == ["ST-CANCEL"]
    assert list_numbers(client, tenant, status="shipping_in_progress") == ["ST-SHIP"]
    assert list_numbers(client, tenant, status="completed") == []


def test_the_shipment_status_filter_returns_only_that_shipment_status(app, client, tenant):
    for number, status, shipment in [("SH-REQ", "awaiting_shipment", "requested"),
                                     ("SH-NOT", "shipping_in_progress", "not_shippable"),
                                     ("SH-ING", "shipping_in_progress", "shipping"),
                                     ("SH-NONE", None, None)]:
        order = create_order(client, tenant, number=number)
        if status:
            set_state(app, order["id"], status, shipment)
    assert list_numbers(client, tenant, shipment_status="requested") == ["SH-REQ"]
    assert list_numbers(client, tenant, shipment_status="not_shippable") == ["SH-NOT"]
    assert list_numbers(client, tenant, shipment_status="shipping") == ["SH-ING"]
    assert list_numbers(client, tenant, shipment_status="shipped") == []
    assert list_numbers(client, tenant, status="shipping_in_progress", shipment_status="shipping") == ["SH-ING"]
    shown = _page(client, tenant, shipment_status="requested")["items"][0]
    assert shown["shipment_status"] == "requested"


def test_the_tag_filter_accepts_a_tag_id(client, tenant):
    tag = create_tag(client, tenant, name="ギフト")
    tagged = create_order(client, tenant, number="TAG-YES")
    create_order(client, tenant, number="TAG-NO")
    client.post(f"{API}/orders/{tagged['id']}/tags/{tag['id']}", headers=tenant.headers())
    assert list_numbers(client, tenant, tag=str(tag["id"])) == ["TAG-YES"]


def test_the_tag_filter_accepts_a_system_tag_code(client, tenant):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-1", sku="SKU-1")
    create_order(client, tenant, number="MAPPED")
    create_order(client, tenant, number="UNMAPPED", lines=[{"mall_item_id": "item-x", "name": "未登録",
                                                            "quantity": 1, "unit_price": 100}])
    assert list_numbers(client, tenant, tag="unmapped_items") == ["UNMAPPED"]
    assert sorted(list_numbers(client, tenant, tag="not_mall_linked")) == ["MAPPED", "UNMAPPED"]


@pytest.mark.parametrize("tag", ["no_such_code", "999999"])
def test_an_unknown_tag_in_the_filter_answers_404(client, tenant, tag):
    create_order(client, tenant)
    error_of(client.get(f"{API}/orders", query_string={"tag": tag}, headers=tenant.headers()), 404, "not_found")


def test_the_mall_order_number_filter_is_exact(client, tenant):
    create_order(client, tenant, number="123456-20261101-0000012345")
    create_order(client, tenant, number="123456-20261101-0000012346")
    assert list_numbers(client, tenant, mall_order_number="123456-20261101-0000012345") == [
        "123456-20261101-0000012345"]
    assert list_numbers(client, tenant, mall_order_number="123456-20261101") == []


def test_ordered_from_and_to_are_japan_days_with_the_end_day_included(client, tenant):
    create_order(client, tenant, number="DAY-31-LATE", ordered_at="2026-11-01T23:59:59+09:00")
    create_order(client, tenant, number="DAY-2-EARLY", ordered_at="2026-11-02T00:00:00+09:00")
    create_order(client, tenant, number="DAY-2-LATE", ordered_at="2026-11-02T23:59:59+09:00")
    create_order(client, tenant, number="DAY-3", ordered_at="2026-11-03T00:00:00+09:00")
    assert list_numbers(client, tenant, ordered_from="2026-11-02", ordered_to="2026-11-02") == [
        "DAY-2-LATE", "DAY-2-EARLY"]
    assert list_numbers(client, tenant, ordered_from="2026-11-02") == ["DAY-3", "DAY-2-LATE", "DAY-2-EARLY"]
    assert list_numbers(client, tenant, ordered_to="2026-11-01") == ["DAY-31-LATE"]


def test_ordered_from_and_to_accept_date_times_with_an_offset(client, tenant):
    create_order(client, tenant, number="T-A", ordered_at="2026-11-02T09:00:00+09:00")
    create_order(client, tenant, number="T-B", ordered_at="2026-11-02T12:00:00+09:00")
    assert list_numbers(client, tenant, ordered_from="2026-11-02T01:00:00Z") == ["T-B"]
    assert list_numbers(client, tenant, ordered_from="2026-11-02T09:00:00+09:00",
                        ordered_to="2026-11-02T10:00:00+09:00") == ["T-A"]


def test_filters_combine(app, client, tenant):
    tag = create_tag(client, tenant, name="急ぎ")
    for number, cancel, tagged in [("C-1", True, True), ("C-2", True, False), ("C-3", False, True)]:
        order = create_order(client, tenant, number=number)
        if tagged:
            client.post(f"{API}/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
        if cancel:
            client.post(f"{API}/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    assert list_numbers(client, tenant, status="cancelled", tag=str(tag["id"])) == ["C-1"]


# ---------------------------------------------------------------- q


@pytest.fixture
def people(client, tenant):
    create_order(client, tenant, number="Q-YAMADA", ordered_at="2026-11-01T09:00:00+09:00",
                 buyer={"name": "山田 花子", "name_kana": "ヤマダ ハナコ", "phone": "03-1234-5678"})
    create_order(client, tenant, number="Q-SATO", ordered_at="2026-11-02T09:00:00+09:00",
                 buyer={"name": "佐藤 一郎", "name_kana": "サトウ イチロウ", "phone": "090-9999-8888"},
                 recipient={"name": "鈴木 次郎", "name_kana": "スズキ ジロウ", "phone": "06-4444-2222"})
    create_order(client, tenant, number="Q-DISCOUNT", ordered_at="2026-11-03T09:00:00+09:00",
                 buyer={"name": "割引100%商店", "name_kana": "ワリビキ"})
    create_order(client, tenant, number="Q-LATIN", ordered_at="2026-11-04T09:00:00+09:00",
                 buyer={"name": "TANAKA Taro", "name_kana": "タナカ タロウ"})
    create_order(client, tenant, number="123456-20261101-0000012345", ordered_at="2026-11-05T09:00:00+09:00",
                 buyer={"name": "高橋 三郎"})


Q_CASES = [
    ("an exact mall order number", "Q-SATO", ["Q-SATO"]),
    ("an exact Rakuten number", "123456-20261101-0000012345", ["123456-20261101-0000012345"]),
    ("a number with spaces around", "  Q-SATO  ", ["Q-SATO"]),
    ("part of a mall order number does not match", "Q-SAT", []),
    ("a name substring", "花子", ["Q-YAMADA"]),
    ("the full name without its space", "山田花子", ["Q-YAMADA"]),
    ("the name with a full-width space", "山田\u3000花子", ["Q-YAMADA"]),
    ("kana", "ヤマダ", ["Q-YAMADA"]),
    ("half-width kana", "ﾔﾏﾀﾞ", ["Q-YAMADA"]),
    ("half-width kana with a space", "ﾔﾏﾀﾞ ﾊﾅｺ", ["Q-YAMADA"]),
    ("hiragana", "やまだ", ["Q-YAMADA"]),
    ("a two-character name", "山田", ["Q-YAMADA"]),
    ("a two-character kana", "スズ", ["Q-SATO"]),
    ("a recipient name", "鈴木", ["Q-SATO"]),
    ("a recipient kana in hiragana", "じろう", ["Q-SATO"]),
    ("phone digits", "031234", ["Q-YAMADA"]),
    ("a phone as written", "03-1234-5678", ["Q-YAMADA"]),
    ("full-width phone digits", "０３１２３４", ["Q-YAMADA"]),
    ("a recipient phone", "0644442222", ["Q-SATO"]),
    ("latin letters in any case and width", "ｔａｎａｋａ", ["Q-LATIN"]),
    ("a percent sign is literal", "%", ["Q-DISCOUNT"]),
    # PostgreSQL looks a needle mixing digits and other characters up by its longest other run, then
    # re-checks it whole: the same answer as a plain substring test
    ("a name mixing digits and other characters", "100%商店", ["Q-DISCOUNT"]),
    ("only the other characters of it match", "200%商店", []),
    ("a percent sign inside a term is literal", "山%", []),
    ("a trailing percent is literal", "山田%", []),
    ("an underscore is literal", "ヤ_ダ", []),
    ("a lone underscore matches nothing", "_", []),
    ("a backslash is literal", "\\", []),
    ("no match", "存在しない名前", []),
]


@pytest.mark.parametrize("what,q,expected", Q_CASES, ids=[c[0] for c in Q_CASES])
def test_q_finds_orders_by_number_name_kana_or_phone(client, tenant, people, what, q, expected):
    assert list_numbers(client, tenant, q=q) == expected


def test_q_combines_with_the_status_filter(client, tenant, people):
    sato = _page(client, tenant, q="Q-SATO")["items"][0]
    client.post(f"{API}/orders/{sato['id']}/cancel", json={}, headers=tenant.headers())
    assert list_numbers(client, tenant, q="佐藤", status="cancelled") == ["Q-SATO"]
    assert list_numbers(client, tenant, q="佐藤", status="awaiting_confirmation") == []


def test_a_blank_q_filters_nothing(client, tenant, people):
    assert len(list_numbers(client, tenant, q="   ")) == 5
