"""csv.md §6 through the API and the job: mall exports uploaded untouched become orders as §1's rows would."""
from __future__ import annotations

import csv
import io

from tests.csv_files import imported, preset_bytes, preset_header, run_jobs, upload
from tests.factories import create_product, map_item

NE = preset_header("next_engine.csv")
RAKUTEN = preset_header("rakuten_pay.csv")
RAKUTEN_107 = RAKUTEN[:RAKUTEN.index("メンバーシッププログラム受注タイプ") + 1]
AMAZON = preset_header("amazon_order_report.tsv")
YAHOO_ORDER = preset_header("yahoo_order.csv")
YAHOO_ITEM = preset_header("yahoo_item.csv")


def order_of(client, tenant, number: str) -> dict:
    found = client.get("/api/v1/orders", query_string={"limit": 200}, headers=tenant.headers()).json["items"]
    [summary] = [order for order in found if order["mall_order_number"] == number]
    return client.get(f"/api/v1/orders/{summary['id']}", headers=tenant.headers()).json


def numbers(client, tenant) -> set[str]:
    found = client.get("/api/v1/orders", query_string={"limit": 200}, headers=tenant.headers()).json["items"]
    return {order["mall_order_number"] for order in found}


def money(order: dict) -> tuple:
    return order["postage"], order["charges"], order["discount"], order["points_used"], order["billed"]


def party(order: dict, who: str) -> tuple:
    return tuple(order[who][key] for key in ("name", "name_kana", "phone", "postal_code", "address"))


def report_rows(client, tenant, result: dict, encoding: str = "cp932") -> list[list[str]]:
    report = client.get(result["error_report_url"], headers=tenant.headers())
    assert report.status_code == 200
    return list(csv.reader(io.StringIO(report.data.decode(encoding))))


# ---------------------------------------------------------------- ネクストエンジン


NE_HEAD = {"受注日": "2026/11/27 14:05:00", "受注名": "山田 太郎", "受注名カナ": "ヤマダ タロウ", "受注郵便番号": "150-0001",
           "受注住所１": "東京都渋谷区神宮前１-２-３", "受注住所２": "青山ビル, 2F", "受注電話番号": "03-1234-5678",
           "受注メールアドレス": "taro@example.com", "支払方法": "代金引換", "発送料": "５００", "手数料": "330",
           "その他費用": "100", "ポイント": "50", "合計金額": "3,080", "時間帯指定": "14時-16時", "日付指定": "2026/12/10",
           "備考": "のし希望\n「御歳暮」"}


def test_a_next_engine_file_becomes_orders_whether_its_lines_repeat_the_order_or_leave_it_empty(app, client, tenant):
    repeated = [{**NE_HEAD, "店舗伝票番号": "NE-1", "商品コード": "sencha", "商品名": "煎茶", "商品価格": "1,200",
                 "受注数量": "２", "商品オプション": "のし:あり\nサイズ:M"},
                {**NE_HEAD, "店舗伝票番号": "NE-1", "商品コード": "gyokuro", "商品名": "玉露", "商品価格": "1000",
                 "受注数量": "1"}]
    emptied = [{**NE_HEAD, "店舗伝票番号": "NE-2", "発送先名": "佐藤 花子", "発送先カナ": "サトウ ハナコ",
                "発送郵便番号": "530-0001", "発送先住所１": "大阪府大阪市北区梅田1-1", "発送電話番号": "06-1111-2222",
                "商品コード": "sencha", "商品名": "煎茶", "商品価格": "1200", "受注数量": "1"},
               {"店舗伝票番号": "NE-2", "商品コード": "hojicha", "商品名": "ほうじ茶", "商品価格": "980", "受注数量": "3"}]
    job = imported(app, client, tenant, preset_bytes(NE, repeated + emptied), name="ne.csv", shop_id=tenant.shop_id)
    result = job["result"]
    assert (result["preset"], result["orders_created"], result["rows_refused"]) == ("next_engine", 2, 0), result
    assert result["unknown_columns"] == []
    first = order_of(client, tenant, "NE-1")
    assert first["source"] == "csv" and first["mall_linked"] is False
    assert party(first, "buyer") == ("山田 太郎", "ヤマダ タロウ", "03-1234-5678", "150-0001",
                                     "東京都渋谷区神宮前１-２-３ 青山ビル, 2F")
    assert first["buyer"]["email"] == "taro@example.com"
    assert money(first) == (500, 430, 0, 50, 3080)
    assert first["remarks"] == "のし希望\n「御歳暮」" and first["delivery_time_slot"] == "14-16"
    assert first["delivery_date"] == "2026-12-10" and first["payment_method"] == "代金引換"
    assert [(line["mall_item_id"], line["quantity"], line["unit_price"], line["options"]) for line in first["lines"]] \
        == [("sencha", 2, 1200, "のし:あり\nサイズ:M"), ("gyokuro", 1, 1000, "")]
    second = order_of(client, tenant, "NE-2")
    assert party(second, "recipient") == ("佐藤 花子", "サトウ ハナコ", "06-1111-2222", "530-0001", "大阪府大阪市北区梅田1-1")
    assert [(line["mall_item_id"], line["quantity"]) for line in second["lines"]] == [("sencha", 1), ("hojicha", 3)]


def test_an_older_next_engine_layout_stopping_at_its_shipped_flag_is_read_and_a_mapped_item_gets_mapped(
        app, client, tenant):
    create_product(client, tenant, "SKU-SENCHA")
    map_item(client, tenant, "sencha", "SKU-SENCHA")
    header = NE[:NE.index("出荷済フラグ") + 1]
    content = preset_bytes(header, [{**NE_HEAD, "店舗伝票番号": "NE-OLD", "商品コード": "sencha", "商品名": "煎茶",
                                     "商品価格": "1200", "受注数量": "1"}])
    job = imported(app, client, tenant, content, name="ne-old.csv", shop_id=tenant.shop_id)
    assert (job["result"]["preset"], job["result"]["orders_created"]) == ("next_engine", 1), job
    [line] = order_of(client, tenant, "NE-OLD")["lines"]
    assert line["sku"] == "SKU-SENCHA" and line["mapped"] is True


# ---------------------------------------------------------------- 楽天ペイ


def rakuten_row(number: str, **cells) -> dict:
    return {"注文番号": number, "注文日時": "2026-11-27 14:05:00", "注文者姓": "楽天", "注文者名": "太郎",
            "注文者姓カナ": "ラクテン", "注文者名カナ": "タロウ", "注文者電話番号1": "03", "注文者電話番号2": "1234",
            "注文者電話番号3": "5678", "注文者郵便番号1": "60", "注文者郵便番号2": "１", "注文者住所都道府県": "京都府",
            "注文者住所郡市区": "京都市下京区", "注文者住所それ以降の住所": "四条通1-1, 2F", "注文者メールアドレス": "r@example.com",
            "支払方法名": "代金引換", "コメント": "不在時は\n宅配ボックスへ", "お届け時間帯": "午前中",
            "商品管理番号": "sencha", "商品名": "煎茶", "単価": "1080", "個数": "1", "送料合計": "600",
            "代引料合計": "330", "決済手数料": "20", "クーポン利用総額": "100", "ポイント利用額": "10", "請求金額": "3,010",
            **cells}


def test_a_rakuten_file_joins_split_fields_adds_tax_and_maps_its_sku(app, client, tenant):
    create_product(client, tenant, "SKU-G-L")
    map_item(client, tenant, "gyokuro", "SKU-G-L", sub_code="gyokuro-L")
    rows = [rakuten_row("R-1", 単価="1000", 税込別="1", 商品税率="0.08", 商品毎税込価格=""),
            rakuten_row("R-1", 商品管理番号="gyokuro", SKU管理番号="gyokuro-L", SKU情報="サイズ:L", 単価="1000",
                        税込別="0", 商品毎税込価格="1100")]
    job = imported(app, client, tenant, preset_bytes(RAKUTEN, rows), name="rakuten.csv", shop_id=tenant.shop_id)
    assert (job["result"]["preset"], job["result"]["orders_created"]) == ("rakuten_pay", 1), job
    order = order_of(client, tenant, "R-1")
    assert party(order, "buyer") == ("楽天 太郎", "ラクテン タロウ", "03-1234-5678", "060-0001", "京都府京都市下京区四条通1-1, 2F")
    assert money(order) == (600, 350, 100, 10, 3010)
    assert order["remarks"] == "不在時は\n宅配ボックスへ" and order["delivery_time_slot"] == "午前中"
    assert [(line["unit_price"], line["sub_code"], line["options"], line["sku"]) for line in order["lines"]] == \
        [(1080, None, "", None), (1100, "gyokuro-L", "サイズ:L", "SKU-G-L")]


def test_a_later_rakuten_or_amazon_row_may_leave_the_orders_fields_empty(app, client, tenant):
    later = {"注文番号": "R-E", "商品管理番号": "gyokuro", "商品名": "玉露", "単価": "2000", "個数": "１"}
    job = imported(app, client, tenant, preset_bytes(RAKUTEN, [rakuten_row("R-E"), later]), name="r.csv",
                   shop_id=tenant.shop_id)
    assert job["result"]["orders_created"] == 1, job["result"]["errors"]
    order = order_of(client, tenant, "R-E")
    assert money(order) == (600, 350, 100, 10, 3010) and order["buyer"]["phone"] == "03-1234-5678"
    assert [(line["mall_item_id"], line["quantity"], line["unit_price"]) for line in order["lines"]] == \
        [("sencha", 1, 1080), ("gyokuro", 1, 2000)]
    later = {"order-id": "250-5555555-6666666", "sku": "gyokuro", "product-name": "玉露", "quantity-purchased": "３",
             "item-price": "3000"}
    content = preset_bytes(AMAZON, [amazon_row("1", **{"order-id": "250-5555555-6666666"}), later], delimiter="\t")
    job = imported(app, client, tenant, content, name="report.txt", shop_id=tenant.shop_id)
    assert job["result"]["orders_created"] == 1, job["result"]["errors"]
    order = order_of(client, tenant, "250-5555555-6666666")
    assert [(line["quantity"], line["unit_price"]) for line in order["lines"]] == [(2, 1200), (3, 1000)]
    assert (order["buyer"]["name"], order["postage"], order["discount"]) == ("尼 花子", 300, 400)


def test_a_rakuten_order_for_several_destinations_takes_the_first_and_is_held(app, client, tenant):
    rows = [rakuten_row("R-M", 複数送付先フラグ="1", 送付先姓="佐藤", 送付先名="花子", 送付先郵便番号1="150",
                        送付先郵便番号2="1", 送付先住所都道府県="東京都", 送付先住所郡市区="渋谷区", 送付先住所それ以降の住所="神宮前1"),
            rakuten_row("R-M", 複数送付先フラグ="1", 送付先姓="鈴木", 送付先名="一郎", 送付先郵便番号1="530",
                        送付先郵便番号2="0001", 送付先住所都道府県="大阪府", 商品管理番号="gyokuro")]
    job = imported(app, client, tenant, preset_bytes(RAKUTEN, rows), name="rakuten.csv", shop_id=tenant.shop_id)
    assert job["result"]["orders_created"] == 1, job
    order = order_of(client, tenant, "R-M")
    assert (order["recipient"]["name"], order["recipient"]["postal_code"]) == ("佐藤 花子", "150-0001")
    assert "複数送付先" in [tag["name"] for tag in order["tags"]]


def test_a_rakuten_row_without_tax_in_the_older_layout_is_refused_naming_its_tax_rate_in_the_report(
        app, client, tenant):
    rows = [rakuten_row("R-OK"), rakuten_row("R-NG", 単価="1000", 税込別="1"), rakuten_row("R-NG")]
    job = imported(app, client, tenant, preset_bytes(RAKUTEN_107, rows), name="rakuten.csv", shop_id=tenant.shop_id)
    result = job["result"]
    assert (result["preset"], result["orders_created"], result["orders_refused"], result["rows_refused"]) == \
        ("rakuten_pay", 1, 1, 2)
    assert [(e["row"], e["column"], e["code"]) for e in result["errors"]] == [(3, "商品税率", "missing")]
    assert "file" not in result["errors"][0]
    report = report_rows(client, tenant, result)
    assert report[0] == RAKUTEN_107 + ["エラー内容"]
    assert [row[0] for row in report[1:]] == ["R-NG", "R-NG"]
    assert report[1][RAKUTEN_107.index("コメント")] == "不在時は\n宅配ボックスへ"
    assert numbers(client, tenant) == {"R-OK"}


# ---------------------------------------------------------------- Amazon


def amazon_row(item: str, **cells) -> dict:
    return {"order-id": "250-1111111-2222222", "order-item-id": item, "purchase-date": "2026-11-27T05:05:00+00:00",
            "buyer-email": "x@marketplace.amazon.co.jp", "buyer-name": "尼 花子", "buyer-phone-number": "090-0000-1111",
            "sku": "sencha", "product-name": "煎茶 100g", "quantity-purchased": "2", "item-price": "2400",
            "shipping-price": "300", "recipient-name": "尼 太郎", "ship-address-1": "神宮前1-2-3",
            "ship-city": "渋谷区", "ship-state": "東京都", "ship-postal-code": "150-0001",
            "ship-phone-number": "03-1111-2222",
            "item-promotion-discount": "-100", "ship-promotion-discount": "-300", **cells}


def test_an_amazon_report_divides_line_totals_reads_offsets_and_names_item_price_when_it_does_not_divide(
        app, client, tenant):
    rows = [amazon_row("1"), amazon_row("2", sku="gyokuro", **{"quantity-purchased": "1", "item-price": "1000.00",
                                                               "shipping-price": "0", "ship-promotion-discount": ""}),
            amazon_row("3", **{"order-id": "250-3333333-4444444", "item-price": "2401"})]
    content = preset_bytes(AMAZON, rows, encoding="utf-8", delimiter="\t")
    job = imported(app, client, tenant, content, name="report.txt", shop_id=tenant.shop_id)
    result = job["result"]
    assert (result["preset"], result["orders_created"], result["orders_refused"]) == ("amazon", 1, 1), result
    assert [(e["row"], e["column"], e["code"]) for e in result["errors"]] == [(4, "item-price", "invalid_number")]
    order = order_of(client, tenant, "250-1111111-2222222")
    assert [(line["quantity"], line["unit_price"]) for line in order["lines"]] == [(2, 1200), (1, 1000)]
    assert order["ordered_at"] == "2026-11-27T14:05:00+09:00"  # 05:05 UTC
    assert (order["postage"], order["discount"]) == (300, 500)
    assert order["buyer"]["name"] == "尼 花子" and order["buyer"]["address"] == "東京都渋谷区神宮前1-2-3"
    assert party(order, "recipient") == ("尼 太郎", "", "03-1111-2222", "150-0001", "東京都渋谷区神宮前1-2-3")
    report = report_rows(client, tenant, result, "utf-8")  # written as a comma CSV, its header the file's own
    assert report[0] == AMAZON + ["エラー内容"] and report[1][0] == "250-3333333-4444444"


# ---------------------------------------------------------------- Yahoo!


def yahoo_order(order_id: str, row: int = 0, **cells) -> dict:
    return {"OrderId": order_id, "OrderTime": "2026/11/27 14:05:00", "BillLastName": "矢風", "BillFirstName": "花子",
            "BillPhoneNumber": "090-1111-2222", "BillZipCode": "150-0001", "BillPrefecture": "東京都",
            "BillCity": "渋谷区", "BillAddress1": "神宮前1-2-3", "BillAddress2": "2F", "BillMailAddress": "y@example.com",
            "ShipName": "矢風 一郎", "ShipZipCode": "530-0001", "ShipPrefecture": "大阪府", "ShipCity": "大阪市北区",
            "ShipAddress1": "梅田1-1", "ShipPhoneNumber": "06-1111-2222", "PayMethodName": "クレジットカード",
            "BuyerComments": "よろしく, お願いします", "ShipCharge": "500", "PayCharge": "0", "GiftWrapCharge": "200",
            "Discount": "100", "TotalMallCouponDiscount": "50", "UsePoint": "30", "TotalPrice": "2720", **cells}


def yahoo_item(order_id: str, line: str, **cells) -> dict:
    return {"OrderId": order_id, "LineId": line, "ItemId": "sencha", "Title": "煎茶", "Quantity": "2",
            "UnitPrice": "900", **cells}


def test_yahoos_two_files_in_either_order_become_orders_joined_by_order_id(app, client, tenant):
    orders_file = preset_bytes(YAHOO_ORDER, [yahoo_order("store-1")])
    items_file = preset_bytes(YAHOO_ITEM, [
        yahoo_item("store-1", "1", ItemOptionName="カラー;サイズ", ItemOptionValue="赤;M", CouponDiscount="100"),
        yahoo_item("store-1", "2", ItemId="gyokuro", SubCode="g-50", Quantity="1", UnitPrice="１０００")])
    job = imported(app, client, tenant, [(items_file, "item.csv"), (orders_file, "order.csv")],
                   shop_id=tenant.shop_id)
    assert (job["result"]["preset"], job["result"]["orders_created"]) == ("yahoo", 1), job
    order = order_of(client, tenant, "store-1")
    assert party(order, "buyer") == ("矢風 花子", "", "090-1111-2222", "150-0001", "東京都渋谷区神宮前1-2-3 2F")
    assert party(order, "recipient") == ("矢風 一郎", "", "06-1111-2222", "530-0001", "大阪府大阪市北区梅田1-1")
    assert money(order) == (500, 200, 350, 30, 2720)
    assert [(line["unit_price"], line["options"]) for line in order["lines"]] == \
        [(1000, "カラー:赤\nサイズ:M"), (1000, "")]


def test_a_yahoo_order_without_items_and_items_without_an_order_are_refused_by_order_id_naming_their_file(
        app, client, tenant):
    orders_file = preset_bytes(YAHOO_ORDER, [yahoo_order("store-1"), yahoo_order("store-2")])
    items_file = preset_bytes(YAHOO_ITEM, [yahoo_item("store-1", "1"), yahoo_item("store-3", "1")])
    job = imported(app, client, tenant, [(orders_file, "order.csv"), (items_file, "item.csv")],
                   shop_id=tenant.shop_id)
    result = job["result"]
    assert (result["orders_created"], result["orders_refused"], result["rows_refused"]) == (1, 2, 2), result
    assert sorted((e["file"], e["row"], e["column"], e["code"]) for e in result["errors"]) == \
        [("item.csv", 3, "OrderId", "missing"), ("order.csv", 3, "OrderId", "missing")]
    assert numbers(client, tenant) == {"store-1"}
    report = report_rows(client, tenant, result)
    assert report[0] == YAHOO_ORDER + ["エラー内容"] and report[1][0] == "store-2"
    assert report[2] == YAHOO_ITEM + ["エラー内容"] and report[3][0] == "store-3"


# ---------------------------------------------------------------- what is refused


def test_a_file_of_no_known_format_is_refused_naming_the_formats(app, client, tenant):
    content = "伝票,お客様,品物\r\n1,山田,煎茶\r\n".encode("cp932")
    response = upload(client, tenant, content, shop_id=tenant.shop_id)
    assert response.status_code == 422
    message = response.json["error"]["fields"]["file"]
    for listed in ("next_engine（ネクストエンジン汎用受注CSV）", "rakuten_pay（楽天ペイ受注CSV）", "amazon（Amazon 注文レポート）",
                   "yahoo（Yahoo!ショッピング 注文データ + 商品データ）"):
        assert listed in message


def test_two_files_of_another_format_are_refused(app, client, tenant):
    content = preset_bytes(NE, [{**NE_HEAD, "店舗伝票番号": "NE-9", "商品コード": "a", "商品名": "煎茶", "商品価格": "1",
                                 "受注数量": "1"}])
    response = upload(client, tenant, [(content, "a.csv"), (content, "b.csv")], shop_id=tenant.shop_id)
    assert response.status_code == 422 and "file" in response.json["error"]["fields"]
    assert numbers(client, tenant) == set()


def test_half_of_yahoos_pair_alone_is_refused(app, client, tenant):
    response = upload(client, tenant, preset_bytes(YAHOO_ORDER, [yahoo_order("store-1")]), shop_id=tenant.shop_id)
    assert response.status_code == 422 and "file" in response.json["error"]["fields"]


def test_a_mall_file_without_a_default_shop_is_refused_naming_shop_id(app, client, tenant):
    response = upload(client, tenant, preset_bytes(RAKUTEN, [rakuten_row("R-1")]))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error" and "shop_id" in response.json["error"]["fields"]


def test_a_check_only_run_names_the_format_and_registers_nothing(app, client, tenant):
    job = imported(app, client, tenant, preset_bytes(RAKUTEN, [rakuten_row("R-C")]), shop_id=tenant.shop_id,
                   mode="check_only")
    assert (job["result"]["preset"], job["result"]["orders_valid"], job["result"]["orders_created"]) == \
        ("rakuten_pay", 1, 0)
    assert numbers(client, tenant) == set()



def test_a_check_only_run_is_registered_over_the_api_once_from_its_stored_files(app, client, tenant, other_tenant):
    checked = imported(app, client, tenant, preset_bytes(RAKUTEN, [rakuten_row("R-A"), rakuten_row("R-B")]),
                       shop_id=tenant.shop_id, mode="check_only")
    url = f"/api/v1/jobs/{checked['id']}/register"
    assert client.post(url, headers=other_tenant.headers()).status_code == 404  # another account's job
    started = client.post(url, headers=tenant.headers())
    assert started.status_code == 202, started.json
    run_jobs(app)
    job = client.get(f"/api/v1/jobs/{started.json['job_id']}", headers=tenant.headers()).json
    assert (job["result"]["preset"], job["result"]["mode"], job["result"]["orders_created"]) == \
        ("rakuten_pay", "valid_only", 2), job
    assert numbers(client, tenant) == {"R-A", "R-B"}
    again = client.post(url, headers=tenant.headers())
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_transition"
    assert client.post(f"/api/v1/jobs/{started.json['job_id']}/register", headers=tenant.headers()).status_code == 409
    assert client.post("/api/v1/jobs/no-such-job/register", headers=tenant.headers()).status_code == 404
    assert numbers(client, tenant) == {"R-A", "R-B"}
