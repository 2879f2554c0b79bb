"""csv.md §6: mall exports recognised by their header and read as §1's rows (boss.csv.presets, pure)."""
from __future__ import annotations

from datetime import datetime

import pytest

from boss.csv import presets
from boss.csv.order_rows import assemble
from boss.csv.reading import peek_header
from tests.csv_files import preset_bytes, preset_header

NE = preset_header("next_engine.csv")
RAKUTEN = preset_header("rakuten_pay.csv")
AMAZON = preset_header("amazon_order_report.tsv")
YAHOO_ORDER = preset_header("yahoo_order.csv")
YAHOO_ITEM = preset_header("yahoo_item.csv")
RAKUTEN_107 = RAKUTEN[:RAKUTEN.index("メンバーシッププログラム受注タイプ") + 1]


def source(content: bytes, name: str = "orders.csv") -> presets.SourceFile:
    def opener():
        return iter([content])
    used, delimiter, header_row, names = peek_header(opener, "auto", "auto")
    return presets.SourceFile(opener, name, used, delimiter, header_row, names, True)


def table_of(*files: tuple[bytes, str]):
    sources = [source(content, name) for content, name in files]
    return presets.open_preset(presets.recognise(sources[0].names), sources)


def read_all(table) -> list[tuple]:
    """(OrderRow or None, errors, the SourceRow) of every row."""
    return [(*table.read(row), row) for row in table.rows()]


def orders(table) -> dict[str, dict]:
    """The rows assembled into orders by number (every row read without error)."""
    groups: dict[str, list] = {}
    for parsed, errors, _ in read_all(table):
        assert not errors, errors
        groups.setdefault(parsed.number, []).append(parsed)
    assembled = {}
    for number, rows in groups.items():
        fields, errors = assemble(rows)
        assert not errors, errors
        assembled[number] = fields
    return assembled


# ---------------------------------------------------------------- recognition


@pytest.mark.parametrize("header, expected", [
    (NE, "next_engine"), (RAKUTEN, "rakuten_pay"), (AMAZON, "amazon"), (YAHOO_ORDER, "yahoo"), (YAHOO_ITEM, "yahoo"),
    (RAKUTEN_107, "rakuten_pay"), (NE[:NE.index("出荷済フラグ") + 1], "next_engine"),
    ([" 注文番号", "注文 日時", "注文者姓", "商品管理番号", "商品名", "単価", "個数"], "rakuten_pay"),
    (["ORDER-ID", "Purchase-Date", "SKU", "quantity-purchased", "item-price"], "amazon"),
    (["店舗伝票番号", "受注日", "受注名", "商品コード", "商品名", "商品価格", "受注数量"], "next_engine"),
])
def test_a_format_is_recognised_by_its_required_columns_whatever_follows_them(header, expected):
    assert presets.recognise(header).id == expected


@pytest.mark.parametrize("header", [
    ["モール注文番号", "購入者名", "モール商品ID", "商品名", "数量", "単価"],  # §1's own
    ["注文番号", "注文日時", "商品名", "単価", "個数"],  # Rakuten's without 注文者姓, 商品管理番号
    ["a", "b", "c"],
])
def test_a_header_without_a_presets_required_columns_is_none_of_them(header):
    assert presets.recognise(header) is None


def test_the_unknown_format_message_names_each_format_by_id_and_japanese_name():
    for identifier, name in presets.FORMATS:
        assert f"{identifier}（{name}）" in presets.REASON_UNKNOWN.ja
        assert f"{identifier} ({name})" in presets.REASON_UNKNOWN.en


# ---------------------------------------------------------------- Next Engine


def test_next_engine_joins_addresses_sums_charges_and_keeps_the_order_fields_of_its_first_row():
    head = {"店舗伝票番号": "NE-1", "受注日": "2026/11/27 14:05:00", "受注名": "山田 太郎", "受注名カナ": "ヤマダ タロウ",
            "受注郵便番号": "150-0001", "受注住所１": "東京都渋谷区神宮前1-2-3", "受注住所２": "青山ビル2F",
            "受注電話番号": "03-1234-5678", "受注メールアドレス": "taro@example.com", "発送先名": "佐藤 花子",
            "発送郵便番号": "530-0001", "発送先住所１": "大阪府大阪市北区梅田1-1", "発送電話番号": "06-1111-2222",
            "支払方法": "代金引換", "発送料": "５００", "手数料": "330", "その他費用": "100", "ポイント": "50",
            "合計金額": "3,580", "時間帯指定": "14時-16時", "日付指定": "2026/12/10", "備考": "のし希望"}
    content = preset_bytes(NE, [
        {**head, "商品コード": "sencha", "商品名": "煎茶", "商品価格": "1200", "受注数量": "2",
         "商品オプション": "のし:あり\nサイズ:M"},
        {"店舗伝票番号": "NE-1", "商品コード": "gyokuro", "商品名": "玉露", "商品価格": "1,000", "受注数量": "１"}])
    order = orders(table_of((content, "ne.csv")))["NE-1"]
    assert order["buyer"]["address"] == "東京都渋谷区神宮前1-2-3 青山ビル2F"
    assert order["recipient"]["name"] == "佐藤 花子" and order["recipient"]["postal_code"] == "530-0001"
    assert (order["postage"], order["charges"], order["points_used"], order["billed"]) == (500, 430, 50, 3580)
    assert order["delivery_time_slot"] == "14-16"
    assert [(line["mall_item_id"], line["quantity"], line["unit_price"]) for line in order["lines"]] == \
        [("sencha", 2, 1200), ("gyokuro", 1, 1000)]
    assert order["lines"][0]["options"] == "のし:あり\nサイズ:M"


def test_an_error_names_the_files_own_column():
    content = preset_bytes(NE, [{"店舗伝票番号": "NE-2", "受注日": "2026/11/27", "受注名": "山田", "商品コード": "a",
                                 "商品名": "煎茶", "商品価格": "千円", "受注数量": "1", "その他費用": "x"}])
    [(parsed, errors, _)] = read_all(table_of((content, "ne.csv")))
    assert parsed is None
    assert {(error.column, error.code) for error in errors} == {("商品価格", "invalid_number"),
                                                                ("その他費用", "invalid_number")}


# ---------------------------------------------------------------- 楽天ペイ


def rakuten_row(number: str = "100000-20261127-0000000001", **cells) -> dict:
    return {"注文番号": number, "注文日時": "2026-11-27 14:05:00", "注文者姓": "楽天", "注文者名": "太郎",
            "注文者姓カナ": "ラクテン", "注文者名カナ": "タロウ", "注文者電話番号1": "03", "注文者電話番号2": "1234",
            "注文者電話番号3": "5678", "注文者郵便番号1": "60", "注文者郵便番号2": "１", "注文者住所都道府県": "京都府",
            "注文者住所郡市区": "京都市下京区", "注文者住所それ以降の住所": "四条通1-1", "注文者メールアドレス": "r@example.com",
            "支払方法名": "代金引換", "商品管理番号": "sencha", "商品名": "煎茶", "単価": "1080", "個数": "1",
            "送料合計": "600", "代引料合計": "330", "決済手数料": "0", "クーポン利用総額": "100", "ポイント利用額": "10",
            "請求金額": "2000", **cells}


def test_rakuten_joins_names_phones_postcodes_and_addresses():
    order = orders(table_of((preset_bytes(RAKUTEN, [rakuten_row()]), "r.csv")))["100000-20261127-0000000001"]
    assert order["buyer"] == {"name": "楽天 太郎", "name_kana": "ラクテン タロウ", "email": "r@example.com",
                              "phone": "03-1234-5678", "postal_code": "060-0001", "address": "京都府京都市下京区四条通1-1"}
    assert order["recipient"] is None
    assert (order["postage"], order["charges"], order["discount"], order["points_used"], order["billed"]) == \
        (600, 330, 100, 10, 2000)


@pytest.mark.parametrize("cells, price", [
    ({"単価": "1000", "税込別": "0", "商品毎税込価格": "1100"}, 1100),
    ({"単価": "1000", "税込別": "1", "商品税率": "0.1", "商品毎税込価格": ""}, 1100),
    ({"単価": "999", "税込別": "1", "商品税率": "0.08"}, 1078),  # 999 × 108 // 100
    ({"単価": "1080", "税込別": "0"}, 1080),
])
def test_rakuten_unit_price_is_with_tax_in_integers(cells, price):
    [(parsed, errors, _)] = read_all(table_of((preset_bytes(RAKUTEN, [rakuten_row(**cells)]), "r.csv")))
    assert not errors and parsed.line["unit_price"] == price


def test_a_rakuten_row_without_tax_in_the_layout_before_2023_is_refused_naming_its_tax_rate():
    content = preset_bytes(RAKUTEN_107, [rakuten_row(単価="1000", 税込別="1")])
    [(parsed, errors, _)] = read_all(table_of((content, "r.csv")))
    assert parsed is None and [(e.column, e.code) for e in errors] == [("商品税率", "missing")]


def test_rakuten_sku_is_the_sub_code_and_sku_information_the_options_when_no_choice_is_given():
    content = preset_bytes(RAKUTEN, [rakuten_row(SKU管理番号="sencha-L", SKU情報="サイズ:L"),
                                     rakuten_row(SKU管理番号="sencha", **{"項目・選択肢": "のし:あり"})])
    lines = orders(table_of((content, "r.csv")))["100000-20261127-0000000001"]["lines"]
    assert [(line["sub_code"], line["options"]) for line in lines] == [("sencha-L", "サイズ:L"), ("", "のし:あり")]


def test_rakuten_several_destinations_take_the_first_rows_recipient_and_mark_the_order():
    first = {"送付先姓": "佐藤", "送付先名": "花子", "送付先郵便番号1": "150", "送付先郵便番号2": "0001",
             "送付先住所都道府県": "東京都", "送付先住所郡市区": "渋谷区", "送付先住所それ以降の住所": "神宮前1"}
    second = {"送付先姓": "鈴木", "送付先名": "一郎", "送付先郵便番号1": "530", "送付先郵便番号2": "0001",
              "送付先住所都道府県": "大阪府", "送付先住所郡市区": "大阪市", "送付先住所それ以降の住所": "梅田1"}
    content = preset_bytes(RAKUTEN, [rakuten_row(複数送付先フラグ="1", **first),
                                     rakuten_row(複数送付先フラグ="1", 商品管理番号="gyokuro", **second)])
    table = table_of((content, "r.csv"))
    assert all(row.several_destinations for _, _, row in read_all(table))
    order = orders(table)["100000-20261127-0000000001"]
    assert order["recipient"]["name"] == "佐藤 花子" and order["recipient"]["postal_code"] == "150-0001"


# ---------------------------------------------------------------- Amazon


def amazon_row(**cells) -> dict:
    return {"order-id": "250-1234567-1234567", "order-item-id": "1", "purchase-date": "2026-11-27T05:05:00+00:00",
            "buyer-email": "a@marketplace.amazon.co.jp", "buyer-name": "", "buyer-phone-number": "",
            "sku": "sencha", "product-name": "煎茶", "quantity-purchased": "2", "item-price": "2400",
            "shipping-price": "300", "recipient-name": "尼 太郎", "ship-address-1": "神宮前1-2-3",
            "ship-address-2": "青山ビル", "ship-city": "渋谷区", "ship-state": "東京都", "ship-postal-code": "150-0001",
            "ship-phone-number": "03-1111-2222", "item-promotion-discount": "-100", "ship-promotion-discount": "-300",
            "delivery-start-date": "2026-12-10T09:00:00+09:00", **cells}


def test_amazon_divides_the_line_total_sums_shipping_and_promotions_and_reads_the_offset():
    content = preset_bytes(AMAZON, [amazon_row(), amazon_row(**{"order-item-id": "2", "sku": "gyokuro",
                                                                "quantity-purchased": "1", "item-price": "1000",
                                                                "shipping-price": "0",
                                                                "ship-promotion-discount": "0"})],
                           delimiter="\t")
    order = orders(table_of((content, "report.txt")))["250-1234567-1234567"]
    assert [(line["quantity"], line["unit_price"]) for line in order["lines"]] == [(2, 1200), (1, 1000)]
    assert (order["postage"], order["discount"]) == (300, 500)
    assert order["ordered_at"] == datetime(2026, 11, 27, 5, 5)  # 14:05 JST, kept as UTC
    assert order["buyer"]["name"] == "尼 太郎" and order["buyer"]["address"] == "東京都渋谷区神宮前1-2-3 青山ビル"
    assert order["recipient"]["phone"] == "03-1111-2222"
    assert str(order["delivery_date"]) == "2026-12-10"


def test_an_amazon_price_that_does_not_divide_by_its_quantity_is_refused_naming_item_price():
    content = preset_bytes(AMAZON, [amazon_row(**{"item-price": "2401"})], delimiter="\t")
    [(parsed, errors, _)] = read_all(table_of((content, "report.txt")))
    assert parsed is None and [(e.column, e.code) for e in errors] == [("item-price", "invalid_number")]


# ---------------------------------------------------------------- Yahoo!


def yahoo_order(order_id: str, **cells) -> dict:
    return {"OrderId": order_id, "OrderTime": "2026/11/27 14:05:00", "BillName": "", "BillLastName": "矢風",
            "BillFirstName": "花子", "BillPhoneNumber": "090-1111-2222", "BillZipCode": "1500001",
            "BillPrefecture": "東京都", "BillCity": "渋谷区", "BillAddress1": "神宮前1-2-3", "BillAddress2": "2F",
            "BillMailAddress": "y@example.com", "PayMethodName": "クレジットカード", "ShipCharge": "500",
            "PayCharge": "0", "GiftWrapCharge": "200", "Discount": "100", "TotalMallCouponDiscount": "50",
            "UsePoint": "30", "TotalPrice": "2920", **cells}


def yahoo_item(order_id: str, line: str, **cells) -> dict:
    return {"OrderId": order_id, "LineId": line, "ItemId": "sencha", "Title": "煎茶", "Quantity": "2",
            "UnitPrice": "900", **cells}


def test_yahoo_joins_its_two_files_by_order_id_in_either_order():
    orders_file = preset_bytes(YAHOO_ORDER, [yahoo_order("store-1")])
    items_file = preset_bytes(YAHOO_ITEM, [
        yahoo_item("store-1", "1", ItemOptionName="カラー;サイズ", ItemOptionValue="赤;M", CouponDiscount="100"),
        yahoo_item("store-1", "2", ItemId="gyokuro", SubCode="g-50", Quantity="1", UnitPrice="1000")])
    for files in ([(orders_file, "order.csv"), (items_file, "item.csv")],
                  [(items_file, "item.csv"), (orders_file, "order.csv")]):
        order = orders(table_of(*files))["store-1"]
        assert order["buyer"]["name"] == "矢風 花子"
        assert order["buyer"]["address"] == "東京都渋谷区神宮前1-2-3 2F"
        assert [(line["unit_price"], line["options"], line["sub_code"]) for line in order["lines"]] == \
            [(1000, "カラー:赤\nサイズ:M", ""), (1000, "", "g-50")]
        # 割引 = Discount + TotalMallCouponDiscount + CouponDiscount × Quantity
        assert (order["postage"], order["charges"], order["discount"], order["points_used"], order["billed"]) == \
            (500, 200, 350, 30, 2920)


def test_a_yahoo_order_without_items_and_items_without_an_order_are_refused_on_their_order_id():
    orders_file = preset_bytes(YAHOO_ORDER, [yahoo_order("store-1"), yahoo_order("store-2")])
    items_file = preset_bytes(YAHOO_ITEM, [yahoo_item("store-1", "1"), yahoo_item("store-3", "1")])
    table = table_of((orders_file, "order.csv"), (items_file, "item.csv"))
    read = read_all(table)
    refused = {(row.item_row, row.order_row): [(e.column, e.code) for e in errors]
               for parsed, errors, row in read if errors}
    assert refused == {(3, 0): [("OrderId", "missing")], (0, 3): [("OrderId", "missing")]}
    [orphan_items] = [row for _, errors, row in read if errors and row.item_row]
    assert table.places(orphan_items) == [("item.csv", 3)]
    [orphan_order] = [row for _, errors, row in read if errors and row.order_row]
    assert table.places(orphan_order) == [("order.csv", 3)]


def test_an_amazon_report_coming_back_from_the_error_report_reads_its_guarded_negative_discounts():
    content = preset_bytes(AMAZON, [amazon_row(**{"item-promotion-discount": "'-100",
                                                  "ship-promotion-discount": "'-300"})], delimiter="\t")
    assert orders(table_of((content, "errors.csv")))["250-1234567-1234567"]["discount"] == 400


def test_yahoos_two_files_of_one_name_are_told_apart_in_errors():
    table = table_of((preset_bytes(YAHOO_ITEM, [yahoo_item("store-9", "1")]), "data.csv"),
                     (preset_bytes(YAHOO_ORDER, [yahoo_order("store-1")]), "data.csv"))
    [(_, _, orphan_items), (_, _, orphan_order)] = read_all(table)
    assert table.places(orphan_items) == [("data.csv（商品データ）", 2)]
    assert table.places(orphan_order) == [("data.csv（注文データ）", 2)]
