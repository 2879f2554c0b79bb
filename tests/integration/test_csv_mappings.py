"""商品マッピングCSV (csv.md §2, §4, §5): adds, updates and deletes mappings from a file as Excel writes it, maps
the waiting 確認待 lines as the screen does, refuses rows with their row and column, writes the error report,
and a job killed after a chunk resumes without doing a row twice."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from boss import outbox
from boss.csv import mapping_import
from boss.extensions import db
from boss.models import ItemMapping, OutboxMessage
from tests.factories import create_order, create_product, map_item

API = "/api/v1"
HEADER = "削除フラグ,ショップ,モール商品ID,サブコード,SKUコード\r\n"


def _csv(rows: list[str], encoding: str = "cp932", header: str = HEADER) -> bytes:
    data = (header + "".join(row + "\r\n" for row in rows)).encode("utf-8" if encoding == "utf-8-sig" else encoding)
    return b"\xef\xbb\xbf" + data if encoding == "utf-8-sig" else data


def _upload(client, tenant, data: bytes, name: str = "mappings.csv", **form):
    return client.post(f"{API}/imports/mappings", data={"file": (io.BytesIO(data), name), **form},
                       headers=tenant.headers(), content_type="multipart/form-data")


def _run(app, job_id: str) -> None:
    with app.app_context():
        message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.job_id == job_id))
        outbox.run_message(message_id)
        db.session.remove()


def _import(app, client, tenant, data: bytes, **form) -> dict:
    response = _upload(client, tenant, data, **form)
    assert response.status_code == 202, response.json
    _run(app, response.json["job_id"])
    job = client.get(f"{API}/jobs/{response.json['job_id']}", headers=tenant.headers()).json
    assert (job["kind"], job["state"]) == ("csv_mappings", "finished"), job
    return job


def _mappings(app) -> dict:
    with app.app_context():
        rows = db.session.execute(select(ItemMapping.mall_item_id, ItemMapping.sub_code, ItemMapping.product_id)).all()
        db.session.remove()
    return {(item, sub): product for item, sub, product in rows}


def _line(item: str, sub_code: str = "") -> dict:
    line = {"mall_item_id": item, "name": f"商品 {item}", "quantity": 1, "unit_price": 1000}
    if sub_code:
        line["sub_code"] = sub_code
    return line


def _shop_name(client, tenant) -> str:
    return client.get(f"{API}/shops", headers=tenant.headers()).json["items"][0]["name"]


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig"])
def test_a_file_adds_mappings_and_maps_the_waiting_lines_of_confirmation_pending_orders(app, client, tenant, encoding):
    cup, plate = create_product(client, tenant, "湯呑-赤"), create_product(client, tenant, "PLATE")
    waiting = create_order(client, tenant, lines=[_line("cup", "red"), _line("plate")])
    assert "商品未マッピング" in [tag["name"] for tag in waiting["tags"]]
    shop = _shop_name(client, tenant)
    job = _import(app, client, tenant, _csv([f",{shop},cup,red,湯呑-赤", f",#{tenant.shop_id},plate,,PLATE"], encoding))
    assert job["result"] == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "deleted": 0, "lines_mapped": 2,
                             "rows_refused": 0, "errors": [], "error_report_url": None}
    assert _mappings(app) == {("cup", "red"): cup["id"], ("plate", ""): plate["id"]}
    order = client.get(f"{API}/orders/{waiting['id']}", headers=tenant.headers()).json
    assert [line["sku"] for line in order["lines"]] == ["湯呑-赤", "PLATE"]
    assert "商品未マッピング" not in [tag["name"] for tag in order["tags"]]


def test_a_mapping_of_the_same_shop_item_and_sub_code_changes_its_sku_for_lines_mapped_later(app, client, tenant):
    old, new = create_product(client, tenant, "OLD"), create_product(client, tenant, "NEW")
    map_item(client, tenant, "cup", "OLD")
    mapped_before = create_order(client, tenant, lines=[_line("cup")])
    job = _import(app, client, tenant, _csv([f",#{tenant.shop_id},cup,,NEW"]))
    assert (job["result"]["created"], job["result"]["updated"]) == (0, 1)
    assert _mappings(app) == {("cup", ""): new["id"]}
    mapped_after = create_order(client, tenant, lines=[_line("cup")])
    assert [line["sku"] for line in mapped_after["lines"]] == ["NEW"]
    kept = client.get(f"{API}/orders/{mapped_before['id']}", headers=tenant.headers()).json
    assert [line["sku"] for line in kept["lines"]] == ["OLD"] and old["id"] != new["id"]


def test_a_row_with_the_delete_flag_deletes_the_mapping_and_leaves_mapped_lines_as_they_are(app, client, tenant):
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "cup", "SKU-1", sub_code="red")
    order = create_order(client, tenant, lines=[_line("cup", "red")])
    job = _import(app, client, tenant, _csv([f"1,#{tenant.shop_id},cup,red,"]))
    assert (job["result"]["deleted"], job["result"]["rows_refused"]) == (1, 0)
    assert _mappings(app) == {}
    kept = client.get(f"{API}/orders/{order['id']}", headers=tenant.headers()).json
    assert [line["sku"] for line in kept["lines"]] == ["SKU-1"]


def test_refused_rows_are_named_by_row_and_column_as_written_and_the_others_are_done(app, client, tenant):
    create_product(client, tenant, "SKU-1")
    header = "削除フラグ,shop,モール商品ID,サブコード,SKUコード\r\n"  # the English name of ショップ is accepted
    rows = [f",#{tenant.shop_id},ok,,SKU-1",  # row 2: done
            ",よその店,item,,SKU-1",  # row 3: unknown shop
            f",#{tenant.shop_id},item,,NONE",  # row 4: unknown SKU
            f",#{tenant.shop_id},,,",  # row 5: モール商品ID and SKUコード missing
            f"2,#{tenant.shop_id},item,,SKU-1",  # row 6: a flag other than 1 / empty
            f"1,#{tenant.shop_id},never-mapped,,",  # row 7: deleting a mapping that does not exist
            f",#{tenant.shop_id},{'x' * 256},,SKU-1"]  # row 8: too long
    job = _import(app, client, tenant, _csv(rows, header=header))
    result = job["result"]
    assert (result["rows"], result["created"], result["rows_refused"]) == (7, 1, 6)
    assert [(e["row"], e["column"], e["code"]) for e in result["errors"]] == [
        (3, "shop", "unknown_shop"), (4, "SKUコード", "unknown_sku"), (5, "モール商品ID", "missing"),
        (5, "SKUコード", "missing"), (6, "削除フラグ", "invalid_choice"), (7, "モール商品ID", "mapping_not_found"),
        (8, "モール商品ID", "too_long")]
    assert "よその店" in result["errors"][0]["message"] and "ショップ" in result["errors"][0]["message"]
    assert result["error_report_url"] == f"/api/v1/jobs/{job['id']}/error-report.csv"


def test_messages_are_in_the_uploaders_language(app, client, tenant):
    response = client.post(f"{API}/imports/mappings", headers={**tenant.headers(), "Accept-Language": "en"},
                           data={"file": (io.BytesIO(_csv([f",#{tenant.shop_id},item,,NONE"])), "m.csv")},
                           content_type="multipart/form-data")
    _run(app, response.json["job_id"])
    job = client.get(f"{API}/jobs/{response.json['job_id']}", headers=tenant.headers()).json
    assert job["result"]["errors"][0]["message"].startswith("No product has the SKU “NONE”")


def test_the_error_report_holds_the_refused_rows_as_uploaded_with_their_errors_in_the_uploads_encoding(
        app, client, tenant):
    create_product(client, tenant, "SKU-1")
    rows = [f",#{tenant.shop_id},ok,,SKU-1", ',よその店,"item, with comma",青,SKU-1', f",#{tenant.shop_id},x,,NONE"]
    job = _import(app, client, tenant, _csv(rows))
    report = client.get(job["result"]["error_report_url"], headers=tenant.headers())
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    data = report.data
    lines = data.decode("cp932").split("\r\n")
    assert lines[0] == "削除フラグ,ショップ,モール商品ID,サブコード,SKUコード,エラー内容"
    assert lines[1].startswith(',よその店,"item, with comma",青,SKU-1,ショップ: ショップ「よその店」はありません')
    assert lines[2].startswith(f",#{tenant.shop_id},x,,NONE,SKUコード: SKU「NONE」の商品が登録されていません")
    assert lines[3:] == [""]


def test_a_job_killed_after_a_chunk_resumes_and_does_no_row_twice(app, client, tenant, monkeypatch):
    monkeypatch.setattr(mapping_import, "CHUNK_ROWS", 3)
    create_product(client, tenant, "SKU-1")
    orders = [create_order(client, tenant, lines=[_line(f"item-{n}")]) for n in range(8)]
    rows = [f",#{tenant.shop_id},item-{n},,SKU-1" for n in range(8)] + [f"1,#{tenant.shop_id},item-0,,"]
    response = _upload(client, tenant, _csv(rows))
    job_id = response.json["job_id"]
    apply_change = mapping_import.apply_change
    seen = []

    class Killed(Exception):
        pass

    def killed_in_the_second_chunk(actor, change, found):
        seen.append(change.mall_item_id)
        if len(seen) == 5:
            raise Killed
        return apply_change(actor, change, found)

    monkeypatch.setattr(mapping_import, "apply_change", killed_in_the_second_chunk)
    with pytest.raises(Killed):
        _run(app, job_id)
    assert client.get(f"{API}/jobs/{job_id}", headers=tenant.headers()).json["progress"] == 33
    assert len(_mappings(app)) == 3  # the first chunk only: the second rolled back whole
    monkeypatch.setattr(mapping_import, "apply_change", apply_change)
    _run(app, job_id)
    job = client.get(f"{API}/jobs/{job_id}", headers=tenant.headers()).json
    assert job["result"] | {"errors": None} == {"rows": 9, "created": 8, "updated": 0, "unchanged": 0, "deleted": 1,
                                                 "lines_mapped": 8, "rows_refused": 0, "errors": None,
                                                 "error_report_url": None}
    assert set(_mappings(app)) == {(f"item-{n}", "") for n in range(1, 8)}
    with app.app_context():
        from boss.orders.models import OrderEvent
        events = db.session.scalar(select(func.count()).select_from(OrderEvent).where(OrderEvent.kind == "mapped"))
        db.session.remove()
    assert events == 8 and len(orders) == 8
    history = client.get(f"{API}/orders/{orders[1]['id']}/events", headers=tenant.headers()).json["items"]
    assert any(event["actor"]["name"].startswith(f"商品マッピングCSV {job_id[:8]}（") for event in history), history
    _run(app, job_id)  # once more: finished, nothing done
    assert client.get(f"{API}/jobs/{job_id}", headers=tenant.headers()).json == job


def test_a_binary_file_or_one_without_a_required_column_is_refused_at_once(app, client, tenant):
    binary = _upload(client, tenant, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert binary.status_code == 422 and binary.json["error"]["code"] == "validation_error"
    assert "バイナリ" in binary.json["error"]["fields"]["file"]
    missing = _upload(client, tenant, _csv([",a,b"], header="削除フラグ,ショップ,モール商品ID\r\n"))
    assert missing.status_code == 422 and "SKUコード" in missing.json["error"]["fields"]["file"]
    nothing = client.post(f"{API}/imports/mappings", data={}, headers=tenant.headers(),
                          content_type="multipart/form-data")
    assert nothing.status_code == 422 and "file" in nothing.json["error"]["fields"]


def test_a_file_over_csv_max_bytes_is_refused_with_413_naming_the_limit(app, client, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "CSV_MAX_BYTES", 2000)
    rows = [f",#{tenant.shop_id},item-{n},,SKU-1" for n in range(100)]
    response = _upload(client, tenant, _csv(rows))
    assert response.status_code == 413 and response.json["error"]["code"] == "file_too_large"
    assert "2,000 bytes" in response.json["error"]["message"]
    far_over = _upload(client, tenant, _csv(rows * 50))
    assert far_over.status_code == 413 and far_over.json["error"]["code"] == "file_too_large"


def test_a_file_over_csv_max_rows_fails_the_job_naming_the_limit_and_maps_nothing(app, client, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "CSV_MAX_ROWS", 2)
    create_product(client, tenant, "SKU-1")
    response = _upload(client, tenant, _csv([f",#{tenant.shop_id},item-{n},,SKU-1" for n in range(3)]))
    _run(app, response.json["job_id"])
    job = client.get(f"{API}/jobs/{response.json['job_id']}", headers=tenant.headers()).json
    assert job["state"] == "failed" and "2行" in job["error"] and _mappings(app) == {}
