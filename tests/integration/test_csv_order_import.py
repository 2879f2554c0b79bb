"""受注CSV登録 (csv.md §1, §4, §5) through the API and the job: rows become whole orders or nothing."""
from __future__ import annotations

import csv
import io

import pytest

from tests.csv_files import HEADER, csv_bytes, imported, order_row, upload
from tests.factories import create_order, create_product, map_item


def orders_of(client, tenant, **query) -> list[dict]:
    return client.get("/api/v1/orders", query_string={"limit": 200, **query}, headers=tenant.headers()).json["items"]


def test_rows_of_one_order_become_one_csv_order_in_file_order_not_mall_linked(app, client, tenant):
    shop = "テスト商店の楽天店"
    content = csv_bytes([order_row(shop, "CSV-1", item="a", quantity="2"), order_row(shop, "CSV-2", item="c"),
                         order_row(shop, "CSV-1", item="b", price="1,200"), ])
    job = imported(app, client, tenant, content)
    assert job["state"] == "finished", job
    result = job["result"]
    assert (result["rows"], result["orders_created"], result["orders_refused"]) == (3, 2, 0)
    assert result["error_report_url"] is None
    [first] = [o for o in orders_of(client, tenant) if o["mall_order_number"] == "CSV-1"]
    assert first["source"] == "csv" and first["mall_linked"] is False
    assert [line["mall_item_id"] for line in first["lines"]] == ["a", "b"]
    assert [line["quantity"] for line in first["lines"]] == [2, 1]
    assert "モール出荷連携なし" in [tag["name"] for tag in first["tags"]]
    assert {o["mall_order_number"] for o in result["orders"]} == {"CSV-1", "CSV-2"}
    [registered] = [e for e in client.get(f"/api/v1/orders/{first['id']}/events", headers=tenant.headers()).json["items"]
                    if e["kind"] == "registered"]
    assert registered["message"] == "CSVで登録しました。"  # R12: by the upload's job, for the user who uploaded it
    assert registered["actor"]["type"] == "job" and registered["actor"]["name"].startswith(f"受注CSV登録 {job['id'][:8]}（")


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "utf-8-sig"])
def test_each_encoding_is_read(app, client, tenant, encoding):
    content = csv_bytes([order_row("#%d" % tenant.shop_id, "E-1", 商品名="玉露・①")], encoding=encoding)
    job = imported(app, client, tenant, content)
    assert job["result"]["orders_created"] == 1, job
    [order] = orders_of(client, tenant)
    assert order["lines"][0]["name"] == "玉露・①"


def test_a_bad_row_refuses_its_whole_order_and_the_report_has_its_rows(app, client, tenant):
    shop = "#%d" % tenant.shop_id
    content = csv_bytes([order_row(shop, "OK-1"), order_row(shop, "BAD-1"), order_row(shop, "BAD-1", quantity="x")])
    job = imported(app, client, tenant, content)
    result = job["result"]
    assert (result["orders_created"], result["orders_refused"], result["rows_refused"]) == (1, 1, 2)
    assert result["errors"] == [{"row": 4, "column": "数量", "code": "invalid_number", "message": result["errors"][0]["message"]}]
    assert [o["mall_order_number"] for o in orders_of(client, tenant)] == ["OK-1"]
    report = client.get(result["error_report_url"], headers=tenant.headers())
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(report.data.decode("cp932"))))
    assert rows[0] == HEADER + ["エラー内容"]
    assert [row[1] for row in rows[1:]] == ["BAD-1", "BAD-1"]
    assert "他の行にエラー" in rows[1][-1] and rows[2][-1].startswith("数量:")


def test_all_or_nothing_registers_nothing_when_one_row_is_refused(app, client, tenant):
    shop = "#%d" % tenant.shop_id
    content = csv_bytes([order_row(shop, "A-1"), order_row(shop, "A-2", 単価="-5")])
    job = imported(app, client, tenant, content, mode="all_or_nothing")
    assert job["result"]["orders_created"] == 0 and job["result"]["orders_refused"] == 1
    assert orders_of(client, tenant) == []


def test_check_only_reports_like_all_or_nothing_and_registers_nothing(app, client, tenant):
    shop = "#%d" % tenant.shop_id
    content = csv_bytes([order_row(shop, "C-1"), order_row(shop, "C-2")])
    job = imported(app, client, tenant, content, mode="check_only")
    assert (job["result"]["orders_created"], job["result"]["orders_valid"]) == (0, 2)
    assert orders_of(client, tenant) == []


def test_a_number_held_by_a_cancelled_order_is_refused_and_one_held_by_a_deleted_order_is_taken(app, client, tenant):
    cancelled = create_order(client, tenant, number="HELD-C")
    client.post(f"/api/v1/orders/{cancelled['id']}/cancel", json={"reason_code": 10}, headers=tenant.headers())
    deleted = create_order(client, tenant, number="HELD-D")
    assert client.delete(f"/api/v1/orders/{deleted['id']}", headers=tenant.headers()).status_code in (200, 204)
    shop = "#%d" % tenant.shop_id
    job = imported(app, client, tenant, csv_bytes([order_row(shop, "HELD-C"), order_row(shop, "HELD-D")]))
    [error] = job["result"]["errors"]
    assert (error["row"], error["column"], error["code"]) == (2, "モール注文番号", "mall_order_number_taken")
    assert "キャンセル" in error["message"]
    assert job["result"]["orders_created"] == 1


def test_rows_of_one_order_that_disagree_are_refused(app, client, tenant):
    shop = "#%d" % tenant.shop_id
    content = csv_bytes([order_row(shop, "D-1"), order_row(shop, "D-1", 送料="800")])
    job = imported(app, client, tenant, content)
    [error] = job["result"]["errors"]
    assert (error["row"], error["column"], error["code"]) == (3, "送料", "conflicting_order_fields")


def test_a_default_shop_serves_rows_without_a_shop_column(app, client, tenant):
    header = [h for h in HEADER if h != "ショップ"]
    rows = [order_row("", "N-1")[1:]]
    assert upload(client, tenant, csv_bytes(rows, header=header)).status_code == 422
    job = imported(app, client, tenant, csv_bytes(rows, header=header), shop_id=tenant.shop_id)
    assert job["result"]["orders_created"] == 1


def test_an_unknown_shop_is_refused_naming_it(app, client, tenant):
    job = imported(app, client, tenant, csv_bytes([order_row("どこかの店", "U-1")]))
    [error] = job["result"]["errors"]
    assert (error["row"], error["column"], error["code"]) == (2, "ショップ", "unknown_shop")
    assert "どこかの店" in error["message"]


def test_a_file_that_cannot_be_read_is_refused_at_upload(app, client, tenant):
    binary = upload(client, tenant, b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert binary.status_code == 422 and "file" in binary.json["error"]["fields"]
    missing = upload(client, tenant, csv_bytes([["x"]], header=["ショップ", "モール注文番号"]))
    assert missing.status_code == 422 and "購入者名" in missing.json["error"]["message"]


def test_an_upload_over_the_size_limit_is_refused_with_413(app, client, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "CSV_MAX_BYTES", 2000)
    shop = "#%d" % tenant.shop_id
    response = upload(client, tenant, csv_bytes([order_row(shop, f"S-{n}") for n in range(40)]))
    assert response.status_code == 413 and response.json["error"]["code"] == "file_too_large"
    assert orders_of(client, tenant) == []


def test_a_file_over_the_row_limit_fails_and_registers_nothing(app, client, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "CSV_MAX_ROWS", 3)
    shop = "#%d" % tenant.shop_id
    job = imported(app, client, tenant, csv_bytes([order_row(shop, f"L-{n}") for n in range(4)]))
    assert job["state"] == "failed" and "3" in job["error"]
    assert orders_of(client, tenant) == []


def test_a_file_fixed_from_the_error_report_reads_its_guarded_cells_as_the_shop_wrote_them(app, client, tenant):
    shop = "#%d" % tenant.shop_id
    job = imported(app, client, tenant, csv_bytes([order_row(shop, "G-1", 購入者電話番号="+81-3-1234-5678", 数量="x")]))
    report = client.get(job["result"]["error_report_url"], headers=tenant.headers()).data.decode("cp932")
    header, row = list(csv.reader(io.StringIO(report)))[:2]
    assert row[header.index("購入者電話番号")] == "'+81-3-1234-5678"  # guarded against formulas in Excel
    row[header.index("数量")] = "2"  # fixed, and uploaded again without its エラー内容
    assert imported(app, client, tenant, csv_bytes([row[:-1]], header=header[:-1]))["result"]["orders_created"] == 1
    [order] = orders_of(client, tenant)
    assert order["buyer"]["phone"] == "+81-3-1234-5678" and order["lines"][0]["quantity"] == 2


def test_csv_lines_are_mapped_and_an_auto_confirming_shop_confirms_the_orders_it_can(app, client, tenant):
    create_product(client, tenant, "SKU-TEA")
    map_item(client, tenant, "tea", "SKU-TEA")
    changed = client.patch(f"/api/v1/shops/{tenant.shop_id}", json={"auto_confirm": True},
                           headers=tenant.headers("admin"))
    assert changed.status_code == 200, changed.json
    shop = "#%d" % tenant.shop_id
    job = imported(app, client, tenant, csv_bytes([order_row(shop, "M-1", item="tea"),
                                                   order_row(shop, "M-2", item="unknown")]))
    assert job["result"]["orders_created"] == 2
    orders = {o["mall_order_number"]: o for o in orders_of(client, tenant)}
    assert orders["M-1"]["status"] == "confirmed" and orders["M-1"]["lines"][0]["sku"] == "SKU-TEA"
    assert orders["M-2"]["status"] == "awaiting_confirmation"
    assert "unmapped_items" in {t["code"] for t in orders["M-2"]["tags"]}
