"""GET /api/v1/orders/export.csv (csv.md §3, §5): the orders GET /orders would list, every one of them, as CSV
with §1's headers, in either shape and encoding; another account's orders never; deleted ones only when asked."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import event

from boss.csv import exports
from boss.extensions import db
from tests.api.api_helpers import API, create_tag, error_of
from tests.csv_files import imported
from tests.factories import create_order, set_state

ORDER_COLUMNS = ["ショップ", "モール注文番号", "注文日時", "購入者名", "購入者名カナ", "購入者メール", "購入者電話番号",
                 "購入者郵便番号", "購入者住所", "送付先名", "送付先名カナ", "送付先電話番号", "送付先郵便番号", "送付先住所",
                 "支払方法", "備考", "お届け日", "お届け時間帯", "送料", "手数料", "割引", "ポイント利用", "請求金額"]
LINE_COLUMNS = ["項目選択肢", "モール商品ID", "サブコード", "商品名", "数量", "単価"]
EXTRA_COLUMNS = ["注文ステータス", "出荷ステータス", "タグ", "合計", "配送会社", "追跡番号"]


def _export(client, tenant, **query):
    return client.get(f"{API}/orders/export.csv", query_string=query, headers=tenant.headers())


def _rows(response, encoding: str = "cp932") -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data().decode("utf-8-sig" if encoding == "utf-8" else "cp932")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _numbers(response, encoding: str = "cp932") -> list[str]:
    return [row["モール注文番号"] for row in _rows(response, encoding)]


def test_the_orders_shape_has_one_row_per_order_with_the_headers_of_registration_and_the_export(client, tenant):
    create_order(client, tenant, number="E-1", ordered_at="2026-11-27T14:05:00+09:00", postage=600,
                 delivery_date="2026-12-10", delivery_time_slot="14-16", payment_method="クレジットカード",
                 lines=[{"mall_item_id": "tea", "name": "煎茶", "quantity": 2, "unit_price": 1200},
                        {"mall_item_id": "cup", "sub_code": "red", "name": "湯呑", "quantity": 1, "unit_price": 800}])
    response = _export(client, tenant)
    assert response.headers["Content-Type"] == "text/csv; charset=Shift_JIS"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="orders-')
    assert response.headers["Content-Disposition"].endswith('.csv"')
    header = next(csv.reader(io.StringIO(response.get_data().decode("cp932"))))
    assert header == ORDER_COLUMNS + EXTRA_COLUMNS
    [row] = _rows(response)
    assert row["ショップ"] == "テスト商店の楽天店" and row["モール注文番号"] == "E-1"
    assert row["注文日時"] == "2026/11/27 14:05:00"
    assert row["購入者名"] == "山田 花子" and row["送付先名"] == "山田 花子"
    assert (row["お届け日"], row["お届け時間帯"], row["送料"], row["支払方法"]) == ("2026/12/10", "14-16", "600",
                                                                                  "クレジットカード")
    assert (row["注文ステータス"], row["出荷ステータス"], row["合計"]) == ("確認待", "", str(2 * 1200 + 800 + 600))
    assert response.get_data().endswith(b"\r\n")


def test_the_lines_shape_has_one_row_per_line_with_the_orders_fields_repeated(client, tenant):
    create_order(client, tenant, number="E-2",
                 lines=[{"mall_item_id": "tea", "name": "煎茶", "quantity": 2, "unit_price": 1200},
                        {"mall_item_id": "cup", "sub_code": "red", "name": "湯呑", "quantity": 1, "unit_price": 800}])
    response = _export(client, tenant, shape="lines")
    header = next(csv.reader(io.StringIO(response.get_data().decode("cp932"))))
    assert header == ORDER_COLUMNS + LINE_COLUMNS + EXTRA_COLUMNS
    rows = _rows(response)
    assert [(r["モール注文番号"], r["モール商品ID"], r["サブコード"], r["商品名"], r["数量"], r["単価"]) for r in rows] == [
        ("E-2", "tea", "", "煎茶", "2", "1200"), ("E-2", "cup", "red", "湯呑", "1", "800")]
    assert rows[0]["購入者名"] == rows[1]["購入者名"] == "山田 花子"


def test_utf8_is_written_with_a_bom_and_keeps_what_cp932_writes_as_geta_marks(client, tenant):
    create_order(client, tenant, number="E-3", buyer={"name": "寿司🍣 太郎"})
    utf8 = _export(client, tenant, encoding="utf-8")
    assert utf8.headers["Content-Type"] == "text/csv; charset=UTF-8"
    assert utf8.get_data().startswith(b"\xef\xbb\xbf")
    assert _rows(utf8, "utf-8")[0]["購入者名"] == "寿司🍣 太郎"
    assert _rows(_export(client, tenant, encoding="cp932"))[0]["購入者名"] == "寿司〓 太郎"


def test_cells_starting_like_a_formula_are_written_as_text(client, tenant):
    create_order(client, tenant, number="E-4", buyer={"name": "=HYPERLINK(\"http://x\")"}, remarks="+81 3 1234",
                 lines=[{"mall_item_id": "@item", "name": "-割引品", "quantity": 1, "unit_price": 100}])
    [row] = _rows(_export(client, tenant, shape="lines"))
    assert row["購入者名"] == "'=HYPERLINK(\"http://x\")" and row["備考"] == "'+81 3 1234"
    assert row["モール商品ID"] == "'@item" and row["商品名"] == "'-割引品"


def test_the_filters_of_the_order_list_are_honoured(client, tenant):
    tag = create_tag(client, tenant, name="ギフト")
    first = create_order(client, tenant, number="F-1", ordered_at="2026-11-01T10:00:00+09:00")
    create_order(client, tenant, number="F-2", ordered_at="2026-11-05T10:00:00+09:00", buyer={"name": "佐藤 一郎"})
    third = create_order(client, tenant, number="F-3", ordered_at="2026-11-09T10:00:00+09:00")
    client.post(f"{API}/orders/{first['id']}/tags/{tag['id']}", headers=tenant.headers())
    set_state(client.application, third["id"], "completed", "shipped")
    assert _numbers(_export(client, tenant)) == ["F-3", "F-2", "F-1"]  # newest first, as the list
    assert _numbers(_export(client, tenant, tag=str(tag["id"]))) == ["F-1"]
    assert _numbers(_export(client, tenant, status="completed")) == ["F-3"]
    assert _numbers(_export(client, tenant, shipment_status="shipped")) == ["F-3"]
    assert _numbers(_export(client, tenant, q="佐藤")) == ["F-2"]
    assert _numbers(_export(client, tenant, mall_order_number="f-1")) == ["F-1"]
    assert _numbers(_export(client, tenant, ordered_from="2026-11-02", ordered_to="2026-11-05")) == ["F-2"]
    assert _numbers(_export(client, tenant, shop_id=tenant.shop_id)) == ["F-3", "F-2", "F-1"]
    shipped = _rows(_export(client, tenant, status="completed"))[0]
    assert (shipped["注文ステータス"], shipped["出荷ステータス"]) == ("完了", "出荷完了")
    assert "ギフト" in _rows(_export(client, tenant, tag=str(tag["id"])))[0]["タグ"].split("、")
    assert "ギフト" not in _rows(_export(client, tenant, status="completed"))[0]["タグ"]


@pytest.mark.parametrize("sort, expected", [
    ("-ordered_at", ["T-3", "T-2", "T-1", "T-4"]), ("ordered_at", ["T-4", "T-1", "T-2", "T-3"]),
    ("-total", ["T-2", "T-4", "T-3", "T-1"]), ("total", ["T-1", "T-3", "T-4", "T-2"]),
    ("buyer", ["T-4", "T-1", "T-3", "T-2"]), ("-buyer", ["T-2", "T-3", "T-1", "T-4"])])
def test_the_rows_come_in_the_sort_the_list_was_shown_in_across_batches(app, client, tenant, sort, expected):
    """`sort` as GET /orders takes it; in batches of 2 the file is two keyset pages of the sort, in the same order."""
    for number, at, price, name in (("T-1", "2026-11-02", 500, "伊藤 一郎"), ("T-2", "2026-11-03", 9000, "渡辺 二郎"),
                                    ("T-3", "2026-11-04", 1500, "佐藤 三郎"), ("T-4", "2026-11-01", 3000, "Abe Shiro")):
        create_order(client, tenant, number=number, ordered_at=f"{at}T10:00:00+09:00", buyer={"name": name},
                     lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": price}])
    listed = client.get(f"{API}/orders", query_string={"sort": sort}, headers=tenant.headers()).json["items"]
    assert [order["mall_order_number"] for order in listed] == expected  # what the list shows
    assert _numbers(_export(client, tenant, sort=sort)) == expected
    assert _numbers(_export(client, tenant, sort=sort, shape="lines", encoding="utf-8"), "utf-8") == expected
    with app.app_context():
        from boss.orders.search import OrderFilter

        text = b"".join(exports.stream(OrderFilter(account_id=tenant.account_id), "orders", "utf-8", batch=2,
                                       sort=sort)).decode("utf-8-sig")
        db.session.remove()
    assert [row["モール注文番号"] for row in csv.DictReader(io.StringIO(text, newline=""))] == expected


def test_a_sort_that_is_not_one_is_refused_with_its_field_together_with_a_filters(client, tenant):
    error = error_of(_export(client, tenant, sort="price", status="lost"), 422, "validation_error")
    assert set(error["fields"]) == {"sort", "status"}


def test_the_carrier_and_tracking_number_of_the_shipment_are_written(app, client, tenant):
    order = create_order(client, tenant, number="S-1")
    set_state(app, order["id"], "completed", "shipped")
    with app.app_context():
        from boss.orders.models import Order

        shipment = db.session.get(Order, order["id"]).shipments[-1]
        shipment.carrier, shipment.tracking_number = "yamato", "1234-5678-9012"
        db.session.commit()
        db.session.remove()
    [row] = _rows(_export(client, tenant))
    assert (row["配送会社"], row["追跡番号"]) == ("ヤマト運輸", "1234-5678-9012")


def test_another_accounts_orders_are_never_exported(client, tenant, other_tenant):
    create_order(client, tenant, number="MINE-1")
    create_order(client, other_tenant, number="THEIRS-1")
    for shape in exports.SHAPES:
        assert _numbers(_export(client, tenant, shape=shape)) == ["MINE-1"]
    # a filter naming the other account's shop is refused, never widened to it
    error_of(_export(client, tenant, shop_id=other_tenant.shop_id), 404, "not_found")


def test_deleted_orders_are_exported_only_when_asked(client, tenant):
    kept = create_order(client, tenant, number="D-1")
    gone = create_order(client, tenant, number="D-2")
    client.delete(f"{API}/orders/{gone['id']}", headers=tenant.headers())
    assert _numbers(_export(client, tenant)) == ["D-1"]
    assert sorted(_numbers(_export(client, tenant, include_deleted="true"))) == ["D-1", "D-2"]
    assert kept


def test_an_account_without_matching_orders_gets_the_header_alone(client, tenant):
    response = _export(client, tenant, shape="lines", encoding="utf-8")
    assert response.get_data().decode("utf-8-sig") == ",".join(ORDER_COLUMNS + LINE_COLUMNS + EXTRA_COLUMNS) + "\r\n"


@pytest.mark.parametrize("query, field", [({"shape": "rows"}, "shape"), ({"encoding": "latin-1"}, "encoding"),
                                          ({"encoding": "sjis", "shape": "x"}, "shape"),
                                          ({"status": "lost"}, "status"),
                                          ({"ordered_from": "yesterday"}, "ordered_from")])
def test_a_value_that_is_not_one_is_refused_with_its_field(client, tenant, query, field):
    error = error_of(_export(client, tenant, **query), 422, "validation_error")
    assert field in error["fields"]


def test_a_shape_and_encoding_error_are_refused_together_with_a_filters(client, tenant):
    error = error_of(_export(client, tenant, shape="rows", encoding="latin-1", status="lost"), 422, "validation_error")
    assert {"shape", "encoding", "status"} <= set(error["fields"])


def test_without_a_token_the_export_is_refused(client, tenant):
    assert client.get(f"{API}/orders/export.csv").status_code == 401


def test_the_export_reads_in_batches_whose_queries_do_not_grow_with_the_orders_in_them(app, client, tenant):
    """3,000 orders in batches of 500 take the queries 300 orders in batches of 50 take: per batch the orders,
    their lines, tags and shipments, one query each — no query per order, no OFFSET."""
    with app.app_context():
        _many_orders(app, tenant, 3000)
        from boss.orders.search import OrderFilter

        flt = OrderFilter(account_id=tenant.account_id)

        def statements(batch: int, limit: int | None = None) -> tuple[int, int, list[str]]:
            seen: list[tuple] = []
            listener = lambda *args: seen.append(args[2:4])  # noqa: E731  (before_cursor_execute's statement, params)
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                if limit is not None:
                    flt.ordered_to = _nth_time(limit)
                rows = sum(piece.count(b"\r\n") for piece in exports.stream(flt, "lines", "cp932", batch=batch)) - 1
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
                flt.ordered_to = None
            return rows, len(seen), seen

        rows, big, seen = statements(500)
        assert rows == 3000 * 2
        # keyset: every batch starts at OFFSET 0 (SQLite writes one with each LIMIT) after the last batch's key
        assert all(params[-1] == 0 for statement, params in seen if "OFFSET" in statement.upper())
        small_rows, small, _ = statements(50, limit=300)
        assert small_rows == 300 * 2
        assert big == small, (big, small)  # 7 reads each (a read loads its page of 499 or 49 and the next order)
        assert big <= 7 * 4
        db.session.remove()


_BASE = None


def _nth_time(n: int):
    """The ordered_at before which exactly the n oldest of _many_orders' orders lie."""
    from datetime import timedelta

    return _BASE + timedelta(minutes=n)


def _many_orders(app, tenant, n: int) -> None:
    """n orders of two lines each, one a minute, two of them tagged and shipped: inserted as rows, not through
    the API, for the test's speed."""
    global _BASE
    from datetime import datetime

    from sqlalchemy import insert

    from boss.orders.models import Order, OrderLine

    _BASE = datetime(2026, 1, 1)
    from datetime import timedelta

    db.session.execute(insert(Order), [dict(
        account_id=tenant.account_id, shop_id=tenant.shop_id, mall_order_number=f"M-{i:05d}",
        mall_order_number_key=f"m-{i:05d}", ordered_at=_BASE + timedelta(minutes=i), buyer_name=f"購入者{i}",
        recipient_name=f"購入者{i}", total=2400, version=1) for i in range(n)])
    ids = list(db.session.scalars(db.select(Order.id).where(Order.account_id == tenant.account_id)))
    db.session.execute(insert(OrderLine), [dict(order_id=order_id, position=position, mall_item_id=f"item-{position}",
                                                name="煎茶", quantity=1, unit_price=1200)
                                           for order_id in ids for position in (0, 1)])
    db.session.commit()


# ---------------------------------------------------------------- round trip

def test_a_lines_export_registered_again_under_new_numbers_gives_the_same_orders(app, client, tenant):
    create_order(client, tenant, number="R-1", ordered_at="2026-11-27T14:05:00+09:00", postage=600, charges=330,
                 discount=100, points_used=50, payment_method="代金引換", remarks="置き配希望\n玄関前",
                 delivery_date="2026-12-10", delivery_time_slot="午前中",
                 buyer={"name": "山田 花子", "name_kana": "ヤマダ ハナコ", "phone": "03-1234-5678",
                        "email": "hanako@example.jp", "postal_code": "150-0001", "address": "東京都渋谷区神宮前1-1-1"},
                 recipient={"name": "山田 太郎", "phone": "06-1111-2222", "postal_code": "530-0001",
                            "address": "大阪府大阪市北区梅田1-1"},
                 lines=[{"mall_item_id": "tea", "name": "煎茶, 100g", "quantity": 2, "unit_price": 1200},
                        {"mall_item_id": "cup", "sub_code": "red", "name": "湯呑 \"赤\"", "quantity": 1,
                         "unit_price": 800}])
    create_order(client, tenant, number="R-2", ordered_at="2026-11-28T09:00:00+09:00")
    exported = _export(client, tenant, shape="lines")
    before = _rows(exported)
    renumbered = io.StringIO(newline="")
    writer = csv.writer(renumbered, lineterminator="\r\n")
    reader = csv.reader(io.StringIO(exported.get_data().decode("cp932"), newline=""))
    header = next(reader)
    writer.writerow(header)
    number_at = header.index("モール注文番号")
    for row in reader:  # the file as the shop keeps it, each order under a new number (the seed's advice, R6)
        writer.writerow([f"NEW-{cell}" if index == number_at else cell for index, cell in enumerate(row)])
    job = imported(app, client, tenant, renumbered.getvalue().encode("cp932"))
    assert (job["result"]["orders_created"], job["result"]["errors"]) == (2, []), job
    again = _rows(_export(client, tenant, shape="lines", q="NEW-R-1")) + _rows(_export(client, tenant, shape="lines",
                                                                                      q="NEW-R-2"))

    def without_number(rows):
        return sorted(tuple((k, v) for k, v in row.items() if k != "モール注文番号") for row in rows)

    assert without_number(again) == without_number(before)
