"""受注CSV登録: the form, an upload through the real worker to its progress and result, the refused rows and their
error report, check_only, the file's refusals on the form, another account's job, and the template."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.orders.models import Order
from boss.orders.shops import create_shop
from tests.conftest import wait_for

HTMX = {"HX-Request": "true"}
HEADER = ["ショップ", "モール注文番号", "購入者名", "モール商品ID", "商品名", "数量", "単価"]


def _csv(rows: list[list[str]], header=HEADER, encoding: str = "cp932") -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([header, *rows])
    return text.getvalue().encode(encoding)


def _good_rows(shop: str) -> list[list[str]]:
    return [[shop, "CSV-1", "山田 太郎", "tea-001", "煎茶", "2", "1200"],
            [shop, "CSV-1", "", "cup-001", "湯呑み", "1", "2500"],
            [shop, "CSV-2", "佐藤 花子", "tea-001", "煎茶", "1", "1200"]]


def _shop_name(app, tenant) -> str:
    from boss.models import Shop

    with app.app_context():
        return db.session.get(Shop, tenant.shop_id).name


def _upload(client, data: bytes | None, name: str = "orders.csv", **fields):
    form = {"csrf_token": client.csrf, "mode": "valid_only", "encoding": "auto", "shop_id": "", **fields}
    if data is not None:
        form["file"] = (io.BytesIO(data), name)
    return client.post("/imports/orders", data=form, content_type="multipart/form-data")


def _result(client, job_url: str) -> str:
    """The job's partial, polled as htmx polls it, until it is the result (no progress bar any more)."""
    first = client.get(job_url, headers=HTMX).text
    progress_url = re.search(r'hx-get="([^"]+/progress)"', first)
    if progress_url is None:
        return first
    return wait_for(lambda: (r := client.get(progress_url.group(1), headers=HTMX).text) and "<progress" not in r and r,
                    message="the CSV job's result")


def _orders(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(Order.mall_order_number, Order.id).order_by(Order.id))]


def test_the_form_offers_the_accounts_shops_the_three_modes_and_the_encodings(staff_client, app, tenant, other_tenant):
    page = staff_client.get("/imports/orders")
    assert page.status_code == 200
    html = page.text
    assert "受注CSV登録" in html and 'href="/imports/orders" aria-current="page"' in html
    assert "ショップ列がない行のショップ" in html and _shop_name(app, tenant) in html
    assert _shop_name(app, other_tenant) not in html
    assert 'value="valid_only" checked' in html and "正常な注文だけ登録" in html
    assert "1件でもエラーがあれば何も登録しない" in html and "チェックのみ（登録しない）" in html
    assert "自動判定" in html and "Shift_JIS (CP932)" in html and "UTF-8" in html
    assert "50 MB" in html and "200,000 行" in html
    assert "必須の列: モール注文番号、購入者名、モール商品ID、商品名、数量、単価" in html
    assert 'enctype="multipart/form-data"' in html and 'href="/imports/orders/template.csv"' in html


def test_the_template_is_cp932_with_the_headers_of_the_spec_and_two_rows_of_one_order(staff_client, app, tenant):
    response = staff_client.get("/imports/orders/template.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("cp932"))))
    assert rows[0][:3] == ["ショップ", "モール注文番号", "注文日時"] and rows[0][-3:] == ["商品名", "数量", "単価"]
    assert len(rows) == 3 and rows[1][1] == rows[2][1] and rows[1][0] == _shop_name(app, tenant)


def test_the_template_registers_as_it_is(staff_client, app, tenant, worker):
    template = staff_client.get("/imports/orders/template.csv").data
    started = _upload(staff_client, template, "order-template.csv")
    assert started.status_code == 303
    result = _result(staff_client, started.headers["Location"])
    assert "登録した注文 1 件" in result and "CSV-0001" in result


def test_a_good_cp932_file_registers_its_orders_then_links_to_them(staff_client, app, tenant, worker):
    started = _upload(staff_client, _csv(_good_rows(_shop_name(app, tenant))), "注文.csv")
    assert started.status_code == 303
    job_url = started.headers["Location"]
    assert re.fullmatch(r"/imports/orders/[0-9a-f-]{36}", job_url)

    page = staff_client.get(job_url)
    assert page.status_code == 200 and "注文.csv" in page.text and 'id="csv-import-job"' in page.text
    result = _result(staff_client, job_url)
    assert "登録した注文 2 件" in result and "登録しなかった注文" not in result
    created = dict(_orders(app))
    assert set(created) == {"CSV-1", "CSV-2"}
    assert f'href="/orders/{created["CSV-1"]}"' in result and f'href="/orders/{created["CSV-2"]}"' in result
    assert "エラーレポートをダウンロード" not in result
    assert "登録した注文 2 件" in staff_client.get(job_url).text  # the page itself, once done


def test_the_progress_partial_polls_itself_and_says_the_phase_and_rows(staff_client, app, tenant):
    started = _upload(staff_client, _csv(_good_rows(_shop_name(app, tenant))))  # no worker: the job waits
    partial = staff_client.get(started.headers["Location"], headers=HTMX).text
    assert 'hx-trigger="load delay:500ms"' in partial and 'hx-swap="outerHTML"' in partial
    assert "<progress" in partial and "待機中" in partial

    from boss.models import JobRecord

    with app.app_context():
        job = db.session.scalars(select(JobRecord)).one()
        job.state, job.checkpoint = "started", {"current": "check", "rows_total": 3, "check": {"rows_done": 2}}
        db.session.commit()
    partial = staff_client.get(started.headers["Location"], headers=HTMX).text
    assert "チェック中" in partial and "2 / 3 行" in partial and 'max="3" value="2"' in partial


def test_a_bad_row_is_shown_refused_and_the_error_report_holds_it_with_its_reason(staff_client, app, tenant, worker):
    shop = _shop_name(app, tenant)
    rows = [*_good_rows(shop), [shop, "CSV-3", "鈴木 一郎", "tea-001", "煎茶", "たくさん", "1200"]]
    started = _upload(staff_client, _csv(rows))
    result = _result(staff_client, started.headers["Location"])
    assert "登録した注文 2 件" in result and "登録しなかった注文 1 件（1 行）" in result
    refused = result.split('class="import-errors"')[1].split("</table>")[0]
    assert re.search(r'<td class="num">5</td><td>数量</td>', refused)
    assert "CSV-3" not in dict(_orders(app))

    report_url = re.search(r'href="([^"]+/error-report\.csv)"', result).group(1)
    assert report_url == started.headers["Location"] + "/error-report.csv"
    report = staff_client.get(report_url)
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(report.data.decode("cp932"))))
    assert lines[0] == [*HEADER, "エラー内容"]
    assert lines[1][:7] == rows[3] and "数量" in lines[1][7] and len(lines) == 2
    assert "修正したファイルをアップロード" in result and 'href="/imports/orders"' in result


def test_unknown_columns_are_listed_as_not_read(staff_client, app, tenant, worker):
    rows = [[*row, "メモ"] for row in _good_rows(_shop_name(app, tenant))]
    started = _upload(staff_client, _csv(rows, header=[*HEADER, "社内メモ"]))
    assert "読み込まなかった列: 社内メモ" in _result(staff_client, started.headers["Location"])


def test_check_only_registers_nothing_and_says_how_many_orders_could_be(staff_client, app, tenant, worker):
    shop = _shop_name(app, tenant)
    rows = [*_good_rows(shop), [shop, "CSV-3", "", "tea-001", "煎茶", "1", "1200"]]
    started = _upload(staff_client, _csv(rows), mode="check_only")
    result = _result(staff_client, started.headers["Location"])
    assert "登録できる注文 2 件（チェックのみ・登録していません）" in result
    assert "登録しなかった注文 1 件（1 行）" in result and "購入者名" in result
    assert _orders(app) == []


def test_all_or_nothing_with_an_error_registers_nothing_and_says_so(staff_client, app, tenant, worker):
    shop = _shop_name(app, tenant)
    rows = [*_good_rows(shop), [shop, "CSV-3", "鈴木 一郎", "tea-001", "煎茶", "0", "1200"]]
    result = _result(staff_client, _upload(staff_client, _csv(rows), mode="all_or_nothing").headers["Location"])
    assert "登録した注文 0 件" in result and "エラーがあったため、何も登録していません。" in result
    assert _orders(app) == []


def test_the_default_shop_serves_a_file_without_a_shop_column(staff_client, app, tenant, worker):
    rows = [row[1:] for row in _good_rows("")]
    started = _upload(staff_client, _csv(rows, header=HEADER[1:], encoding="utf-8"), shop_id=str(tenant.shop_id),
                      encoding="utf-8")
    assert started.status_code == 303
    assert "登録した注文 2 件" in _result(staff_client, started.headers["Location"])


@pytest.mark.parametrize("data,name,expected", [
    (None, "", "CSVファイルを選んでください。"),
    (bytes(range(256)) * 8, "photo.csv", "CSVファイルではありません（バイナリファイルです）。"),
    (_csv([["店", "CSV-1", "山田", "tea", "煎茶", "1"]], header=HEADER[:-1]), "orders.csv", "必須の列がありません: 単価"),
    (_csv([["CSV-1", "山田", "tea", "煎茶", "1", "1200"]], header=HEADER[1:]), "orders.csv",
     "必須の列がありません: ショップ。見出し行（1行目）に追加してください。 または「登録先のショップ」で、ショップ列がない行のショップを選んでください。"),
])
def test_a_file_that_cannot_be_read_is_refused_on_the_form_with_the_options_kept(
        staff_client, app, tenant, data, name, expected):
    response = _upload(staff_client, data, name, mode="check_only", encoding="cp932", shop_id="")
    assert response.status_code == 422
    error = re.search(r'<span class="field-error" role="alert" id="import-file-error">(.*?)</span>', response.text,
                      re.S)
    assert error and expected in error.group(1)
    assert 'value="check_only" checked' in response.text and 'value="cp932" selected' in response.text
    assert _orders(app) == []


def test_a_file_over_the_size_limit_is_refused_with_the_limit_named(staff_client, app, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "CSV_MAX_BYTES", 2048)
    rows = _good_rows(_shop_name(app, tenant)) * 40
    response = _upload(staff_client, _csv(rows))
    assert response.status_code == 413 and "ファイルが大きすぎます（上限 2,048 bytes）" in response.text


def test_the_upload_needs_the_csrf_token(staff_client, app, tenant):
    response = staff_client.post("/imports/orders", data={"file": (io.BytesIO(_csv(_good_rows("x"))), "a.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 400 and _orders(app) == []


def test_another_accounts_shop_as_default_is_not_found(staff_client, app, tenant, other_tenant):
    response = _upload(staff_client, _csv(_good_rows("")), shop_id=str(other_tenant.shop_id))
    assert response.status_code == 404 and _orders(app) == []


def test_another_accounts_job_its_progress_and_its_error_report_are_not_found(staff_client, app, tenant, other_tenant,
                                                                               worker):
    from tests.conftest import login

    shop = _shop_name(app, tenant)
    rows = [*_good_rows(shop), [shop, "CSV-3", "", "tea-001", "煎茶", "1", "1200"]]
    job_url = _upload(staff_client, _csv(rows)).headers["Location"]
    _result(staff_client, job_url)
    assert staff_client.get(job_url + "/error-report.csv").status_code == 200

    stranger = login(app.test_client(), other_tenant.staff_email)
    job_id = job_url.rsplit("/", 1)[1]
    for url in (job_url, job_url + "/error-report.csv", f"/jobs/{job_id}/progress"):
        assert stranger.get(url).status_code == 404, url
    assert stranger.get("/imports/orders/no-such-job").status_code == 404


def test_admins_and_staff_both_use_the_page_and_a_signed_out_visitor_is_sent_to_login(admin_client, client, tenant):
    assert admin_client.get("/imports/orders").status_code == 200
    response = client.get("/imports/orders")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_failed_job_shows_its_error_in_red_with_what_to_do(staff_client, app, tenant, worker):
    rows = _good_rows(_shop_name(app, tenant))
    started = _upload(staff_client, _csv(rows + [[*rows[0], "余分"]]))  # a row wider than the header
    result = _result(staff_client, started.headers["Location"])
    assert 'class="flash flash-error" role="alert"' in result and "処理が失敗しました。" in result
    assert "5行目の列の数（8）が見出し行の列の数（7）より多くなっています。" in result
    assert "ファイルを確認・修正して、もう一度アップロードしてください。" in result
    assert _orders(app) == []


def test_the_default_shop_select_lists_every_shop_of_the_account(staff_client, app, tenant):
    from boss.orders.actor import Actor

    with app.app_context():
        create_shop(Actor("user", "admin", tenant.account_id), "二号店", "yahoo")
        db.session.remove()
    html = staff_client.get("/imports/orders").text
    select_html = html.split('id="import-shop"')[1].split("</select>")[0]
    assert "二号店" in select_html and _shop_name(app, tenant) in select_html and select_html.count("<option") == 3


def test_a_file_larger_than_the_json_bodies_limit_is_taken(staff_client, app, tenant):
    shop = _shop_name(app, tenant)
    rows = [[shop, f"CSV-{n}", "山田 太郎", "tea-001", "煎茶 " + "あ" * 200, "1", "1200"] for n in range(6000)]
    data = _csv(rows)
    assert len(data) > 2 * app.config["MAX_CONTENT_LENGTH"]
    assert _upload(staff_client, data).status_code == 303


def test_a_body_over_the_csv_limit_is_refused_on_the_form_with_the_limit_named(staff_client, app, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "CSV_MAX_BYTES", 1024)
    response = _upload(staff_client, b"x" * (200 * 1024))
    assert response.status_code == 413 and "ファイルが大きすぎます（上限 1,024 bytes）" in response.text
    assert 'id="import-file-error"' in response.text


def test_a_signed_out_visitors_oversized_upload_gets_a_bare_413(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "CSV_MAX_BYTES", 1024)
    response = client.post("/imports/orders", data={"file": (io.BytesIO(b"x" * (200 * 1024)), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "ショップ列がない行のショップ" not in response.text
