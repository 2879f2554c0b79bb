"""商品マッピングCSV on the 商品マッピング screen: upload, the job's live progress, its result with the refused rows
and the error report, the template, and the file refused at once (422, 413)."""
from __future__ import annotations

import io
import re

from sqlalchemy import select

from boss import outbox
from boss.csv import mapping_import
from boss.extensions import db
from boss.models import OutboxMessage
from tests.factories import create_order, create_product

HTMX = {"HX-Request": "true"}
HEADER = "削除フラグ,ショップ,モール商品ID,サブコード,SKUコード\r\n"


def _file(rows: list[str]) -> bytes:
    return (HEADER + "".join(row + "\r\n" for row in rows)).encode("cp932")


def _upload(client, data: bytes, htmx: bool = True, **form):
    return client.post("/mapping/csv", data={"file": (io.BytesIO(data), "マッピング.csv"), "csrf_token": client.csrf,
                                             "encoding": "auto", **form},
                       headers=HTMX if htmx else {}, content_type="multipart/form-data")


def _run_jobs(app) -> None:
    with app.app_context():
        for message_id in db.session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.kind == mapping_import.RUN, OutboxMessage.state == "pending")).all():
            outbox.run_message(message_id)
        db.session.remove()


def test_the_mapping_page_offers_the_csv_upload_with_encodings_and_the_template(staff_client):
    page = staff_client.get("/mapping").text
    assert "商品マッピングCSV" in page and 'name="file"' in page and 'hx-encoding="multipart/form-data"' in page
    assert all(f">{label}</option>" in page for label in ("自動判定", "Shift_JIS (CP932)", "UTF-8"))
    template = staff_client.get("/mapping/csv/template.csv")
    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    rows = template.data.decode("cp932").split("\r\n")
    assert rows[0] == "削除フラグ,ショップ,モール商品ID,サブコード,SKUコード"
    assert rows[1].split(",")[0] == "" and rows[1].split(",")[1] == "テスト商店の楽天店" and rows[2:] == [""]


def test_an_upload_shows_the_jobs_progress_then_its_result_with_refused_rows_and_the_error_report(
        app, staff_client, client, tenant):
    create_product(client, tenant, "SKU-1")
    order = create_order(client, tenant, lines=[{"mall_item_id": "cup", "name": "湯呑み", "quantity": 1,
                                                 "unit_price": 1000}])
    response = _upload(staff_client, _file([f",#{tenant.shop_id},cup,,SKU-1", ",ない店,plate,,SKU-1"]))
    assert response.status_code == 200
    progress = re.search(r'<div id="mapping-csv-job"[^>]*>', response.text).group(0)
    assert 'hx-trigger="load delay:500ms"' in progress and 'hx-swap="outerHTML"' in progress
    poll = re.search(r'hx-get="([^"]+)"', progress).group(1)
    assert "待機中" in response.text and "<html" not in response.text

    _run_jobs(app)
    result = staff_client.get(poll, headers=HTMX).text
    assert "hx-trigger" not in result.split('id="mapping-csv-job"')[1].split(">")[0]  # polling stops
    assert 'hx-trigger="load" hx-target="#mapping-content"' in result  # the page's lists follow
    assert "追加 1 件・更新 0 件・削除 0 件" in result and "明細 1 行をマッピングしました" in result
    assert "エラーのため反映しなかった行 1 行" in result
    assert re.search(r'<td class="num">3</td><td>ショップ</td><td>ショップ「ない店」はありません', result)
    report_url = re.search(r'href="([^"]+error-report\.csv)"', result).group(1)
    report = staff_client.get(report_url)
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    assert report.data.decode("cp932").split("\r\n")[:2] == [
        "削除フラグ,ショップ,モール商品ID,サブコード,SKUコード,エラー内容",
        ",ない店,plate,,SKU-1,ショップ: ショップ「ない店」はありません。ショップ名か「#ショップID」（例 #12）で入力してください。"]
    mapped = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert [line["sku"] for line in mapped["lines"]] == ["SKU-1"]
    assert "商品未マッピング" not in [tag["name"] for tag in mapped["tags"]]
    assert "cup" in staff_client.get("/mapping", headers={**HTMX, "HX-Target": "mappings"}).text


def test_without_htmx_the_upload_comes_back_to_the_page_with_its_job(app, staff_client, tenant):
    response = _upload(staff_client, _file([f"1,#{tenant.shop_id},none,,"]), htmx=False)
    assert response.status_code == 303 and "/mapping?csv_job=" in response.headers["Location"]
    _run_jobs(app)
    page = staff_client.get(response.headers["Location"]).text
    assert "<html" in page and "削除するマッピング" in page and "エラーレポートをダウンロード" in page


def test_a_binary_file_or_a_missing_column_is_refused_on_the_form_with_what_is_wrong(staff_client):
    binary = _upload(staff_client, b"\x00\x01\x02PK\x03\x04")
    assert binary.status_code == 422 and "バイナリ" in binary.text and 'aria-invalid="true"' in binary.text
    missing = _upload(staff_client, "ショップ,モール商品ID\r\na,b\r\n".encode("cp932"), encoding="cp932")
    assert missing.status_code == 422 and "SKUコード" in missing.text and 'value="cp932" selected' in missing.text
    nothing = staff_client.post("/mapping/csv", data={"csrf_token": staff_client.csrf}, headers=HTMX)
    assert nothing.status_code == 422 and "CSVファイルを選んでください" in nothing.text


def test_a_file_over_csv_max_bytes_is_refused_413_naming_the_limit_even_past_the_1_mb_of_other_bodies(
        app, staff_client, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "CSV_MAX_BYTES", 2 * 1024 * 1024)
    big = _file([f",#{tenant.shop_id},item-{n:07d},,SKU-1" for n in range(52_000)])  # ~1.3 MB: taken
    assert 1024 * 1024 < len(big) < 2 * 1024 * 1024
    assert _upload(staff_client, big).status_code == 200
    over = _upload(staff_client, big + big)
    assert over.status_code == 413 and "ファイルが大きすぎます（上限 2 MB）" in over.text


def test_an_upload_without_the_csrf_token_is_refused(staff_client, tenant):
    response = staff_client.post("/mapping/csv", data={"file": (io.BytesIO(_file([])), "a.csv")}, headers=HTMX,
                                 content_type="multipart/form-data")
    assert response.status_code == 400
