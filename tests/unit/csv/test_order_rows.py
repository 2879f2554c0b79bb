"""受注CSV登録's rows (csv.md §1): a row read with every problem at once, and the rows of one order assembled
into the order registration takes, pure."""
from __future__ import annotations

from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from boss.csv.order_rows import ORDER_COLUMNS, ORDER_FIELDS, OrderRow, assemble, read_row
from boss.csv.reading import Row, open_table, read_header
from boss.csv.values import CODES

quick = settings(database=None, max_examples=300, deadline=None)

NAMES = ("ショップ", "モール注文番号", "注文日時", "購入者名", "送付先名", "送付先住所", "備考", "お届け時間帯", "送料",
         "請求金額", "項目選択肢", "モール商品ID", "サブコード", "商品名", "数量", "単価")
HEADER = read_header(NAMES, ORDER_COLUMNS, [c.field for c in ORDER_COLUMNS if c.required])
BASE = {"ショップ": "本店", "モール注文番号": "A-1", "購入者名": "山田 太郎", "モール商品ID": "item-1", "商品名": "りんご",
        "数量": "2", "単価": "1,200"}


def row(number: int = 2, header=HEADER, **cells) -> Row:
    written = {**BASE, **cells}
    return Row(number, tuple(written.get(name, "") for name in header.names))


def order_row(number: int = 2, **cells) -> OrderRow:
    read, errors = read_row(HEADER, row(number, **cells))
    assert errors == []
    return read


def test_every_header_of_the_spec_is_a_column_with_its_english_name():
    assert [c.ja for c in ORDER_COLUMNS][:4] == ["ショップ", "モール注文番号", "注文日時", "購入者名"]
    assert {c.field for c in ORDER_COLUMNS if c.required} == {
        "shop", "mall_order_number", "buyer_name", "mall_item_id", "item_name", "quantity", "unit_price"}
    assert "options" not in ORDER_FIELDS and "billed" in ORDER_FIELDS and "quantity" not in ORDER_FIELDS


def test_a_row_is_read_into_its_order_fields_and_its_line():
    read = order_row(**{"モール注文番号": "ＡＢＣ－１２３", "注文日時": "2026/11/27 14:05", "お届け時間帯": "14時-16時",
                        "送料": "５００", "項目選択肢": "カラー:赤\r\nサイズ:M", "サブコード": "red"})
    assert (read.row, read.shop, read.number, read.key) == (2, "本店", "ABC-123", "abc-123")
    assert read.order == {"ordered_at": datetime(2026, 11, 27, 5, 5), "buyer_name": "山田 太郎",
                          "delivery_time_slot": "14-16", "postage": 500}
    assert read.line == {"mall_item_id": "item-1", "sub_code": "red", "name": "りんご", "quantity": 2,
                         "unit_price": 1200, "options": "カラー:赤\nサイズ:M"}


def test_every_problem_of_a_row_is_given_at_once_with_its_column_and_code():
    read, errors = read_row(HEADER, row(7, **{"モール注文番号": "", "注文日時": "2026/02/30", "数量": "0", "単価": "abc",
                                              "お届け時間帯": "夜", "商品名": "", "送付先住所": "あ" * 501}))
    assert read is None
    assert [(e.row, e.column, e.code) for e in errors] == [
        (7, "モール注文番号", "missing"), (7, "注文日時", "invalid_date"), (7, "送付先住所", "too_long"),
        (7, "お届け時間帯", "invalid_choice"), (7, "商品名", "missing"), (7, "数量", "out_of_range"),
        (7, "単価", "invalid_number")]
    assert all(e.reason.ja and e.reason.en for e in errors)


def test_a_number_too_long_or_holding_an_invisible_character_is_refused():
    _, errors = read_row(HEADER, row(**{"モール注文番号": "A" * 65}))
    assert [(e.code, e.column) for e in errors] == [("too_long", "モール注文番号")]
    _, errors = read_row(HEADER, row(**{"モール注文番号": "A-1\u200b"}))
    assert [e.code for e in errors] == ["invalid_number"] and "4文字目" in errors[0].reason.ja


def test_errors_name_the_column_as_the_file_writes_it():
    header = read_header(("shop", "mall_order_number", "buyer_name", "mall_item_id", "item_name", "quantity",
                          "unit_price"), ORDER_COLUMNS, ["mall_order_number"])
    _, errors = read_row(header, Row(3, ("本店", "A-1", "山田", "i", "n", "x", "1")))
    assert [(e.column, e.code) for e in errors] == [("quantity", "invalid_number")]


def test_an_order_level_cell_may_be_empty_but_the_line_cells_may_not():
    read, errors = read_row(HEADER, row(**{"購入者名": "", "ショップ": ""}))
    assert errors == [] and read.shop == "" and "buyer_name" not in read.order


def test_rows_of_one_order_make_one_order_with_lines_in_file_order():
    first = order_row(2, **{"注文日時": "2026/11/27 14:05", "送料": "500", "備考": "のし"})
    second = order_row(5, **{"購入者名": "", "モール商品ID": "item-2", "商品名": "みかん", "数量": "1", "単価": "300",
                             "注文日時": "2026-11-27T14:05:00+09:00"})
    order, errors = assemble([first, second])
    assert errors == []
    assert order["mall_order_number"] == "A-1"
    assert order["buyer"] == {"name": "山田 太郎", "name_kana": "", "email": "", "phone": "", "postal_code": "",
                              "address": ""}
    assert order["recipient"] is None  # 送付先名 empty: the buyer
    assert [line["name"] for line in order["lines"]] == ["りんご", "みかん"]
    assert (order["ordered_at"], order["postage"], order["remarks"]) == (datetime(2026, 11, 27, 5, 5), 500, "のし")
    assert (order["charges"], order["discount"], order["points_used"], order["billed"]) == (0, 0, 0, None)
    assert order["delivery_date"] is None and order["delivery_time_slot"] is None


def test_a_recipient_is_given_when_its_name_is():
    order, _ = assemble([order_row(**{"送付先名": "佐藤 花子", "送付先住所": "東京都港区1-1"})])
    assert order["recipient"]["name"] == "佐藤 花子" and order["recipient"]["address"] == "東京都港区1-1"


def test_a_recipient_address_without_a_name_is_refused_rather_than_sent_to_the_buyer():
    order, errors = assemble([order_row(**{"送付先住所": "東京都港区1-1"})])
    assert order is None and [(e.column, e.code) for e in errors] == [("送付先名", "missing")]


def test_later_rows_disagreeing_on_an_order_field_are_refused_each_on_its_row():
    rows = [order_row(2, **{"送料": "500"}), order_row(3, **{"送料": "５００"}), order_row(4, **{"送料": "600"}),
            order_row(5, **{"送料": "700", "購入者名": "別人"})]
    order, errors = assemble(rows)
    assert order is None
    assert [(e.row, e.column, e.code) for e in errors] == [
        (4, "送料", "conflicting_order_fields"), (5, "購入者名", "conflicting_order_fields"),
        (5, "送料", "conflicting_order_fields")]
    assert "2行目" in errors[0].reason.ja


def test_an_order_whose_rows_never_name_the_buyer_is_refused_on_its_first_row():
    _, errors = assemble([order_row(3, **{"購入者名": ""}), order_row(4, **{"購入者名": ""})])
    assert [(e.row, e.column, e.code) for e in errors] == [(3, "購入者名", "missing")]


def test_an_order_of_more_than_200_lines_is_refused():
    assert assemble([order_row(n) for n in range(2, 202)])[1] == []
    order, errors = assemble([order_row(n) for n in range(2, 203)])
    assert order is None and [(e.row, e.code) for e in errors] == [(202, "too_many_lines")]


def test_a_whole_file_reads_through_the_columns_by_japanese_and_english_headers():
    data = ("ショップ,mall_order_number,購入者名,モール商品ID,商品名,QUANTITY,単価,項目選択肢\r\n"
            '本店,A-1,山田,i-1,りんご,１,"1,200","カラー:赤\nサイズ:M"\r\n').encode("cp932")
    table = open_table(lambda: iter([data]), ORDER_COLUMNS)
    read, errors = read_row(table.header, next(table.rows()))
    assert errors == [] and read.line["options"] == "カラー:赤\nサイズ:M" and read.line["unit_price"] == 1200


def test_delivery_date_and_slot_and_adjustments_reach_the_order():
    header = read_header(("モール注文番号", "購入者名", "モール商品ID", "商品名", "数量", "単価", "お届け日", "お届け時間帯",
                          "手数料", "割引", "ポイント利用", "請求金額"), ORDER_COLUMNS, [])
    read, errors = read_row(header, Row(2, ("A-1", "山田", "i", "n", "1", "100", "２０２６／１２／１０", "AM", "330",
                                            "50", "10", "370")))
    order, _ = assemble([read])
    assert (order["delivery_date"], order["delivery_time_slot"]) == (date(2026, 12, 10), "午前中")
    assert (order["charges"], order["discount"], order["points_used"], order["billed"]) == (330, 50, 10, 370)


@quick
@given(st.lists(st.text(max_size=12), min_size=len(NAMES), max_size=len(NAMES)), st.integers(2, 10_000))
def test_any_cells_make_an_order_row_or_row_errors_never_anything_else(cells, number):
    read, errors = read_row(HEADER, Row(number, tuple(cells)))
    assert (read is None) == bool(errors)
    assert all(e.code in CODES and e.row == number and e.column in NAMES for e in errors)
    if read is not None:
        order, errors = assemble([read, read])
        assert (order is None) == bool(errors)
