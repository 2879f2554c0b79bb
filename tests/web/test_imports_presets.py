"""受注CSV登録 of the malls' own files (csv.md §6) on the screen: the formats listed, the format recognised named on
the result, Yahoo!'s two files in one upload, a mall's file without a shop or a file of no known format refused at
their inputs, and a check-only result registered with one click, once."""
from __future__ import annotations

import io
import re

from tests.conftest import login
from tests.csv_files import preset_bytes, preset_header
from tests.web.test_imports import _orders, _result

RAKUTEN = preset_header("rakuten_pay.csv")
YAHOO_ORDER = preset_header("yahoo_order.csv")
YAHOO_ITEM = preset_header("yahoo_item.csv")


def _rakuten(*numbers: str) -> bytes:
    return preset_bytes(RAKUTEN, [{"注文番号": number, "注文日時": "2026-11-27 14:05:00", "注文者姓": "楽天", "注文者名": "太郎",
                                   "注文者電話番号1": "03", "注文者電話番号2": "1234", "注文者電話番号3": "5678",
                                   "商品管理番号": "sencha", "商品名": "煎茶", "単価": "1080", "個数": "1", "税込別": "0",
                                   "請求金額": "1080"} for number in numbers])


def _post(client, files: dict[str, tuple[bytes, str]], **fields):
    form = {"csrf_token": client.csrf, "mode": "valid_only", "encoding": "auto", "shop_id": "", **fields}
    form.update({name: (io.BytesIO(content), file_name) for name, (content, file_name) in files.items()})
    return client.post("/imports/orders", data=form, content_type="multipart/form-data")


def _field_error(html: str, field: str) -> str:
    found = re.search(rf'<span class="field-error" role="alert" id="import-{field}-error">(.*?)</span>', html, re.S)
    assert found, f"no error at {field}"
    return found.group(1)


def _register_form(html: str) -> str:
    found = re.search(r'<form method="post" action="(/imports/orders/[0-9a-f-]{36}/register)"', html)
    assert found, "no register button"
    return found.group(1)


def test_the_form_lists_the_formats_it_reads_and_takes_yahoos_second_file(staff_client):
    html = staff_client.get("/imports/orders").text
    listed = html.split('class="help import-formats">')[1].split("</ul>")[0]
    assert re.findall(r"<li>(.*?)</li>", listed) == [
        "BOSSの受注CSV（テンプレート）", "ネクストエンジン汎用受注CSV", "楽天ペイ受注CSV", "Amazon 注文レポート",
        "Yahoo!ショッピング 注文データ + 商品データ"]
    assert "「登録先のショップ」を選んでください" in html and "注文データと商品データの2つを一緒にアップロードします" in html
    assert 'name="item_file"' in html and "商品データ（Yahoo!ショッピングの場合）" in html


def test_a_rakuten_file_through_the_screen_names_its_format_on_the_result(staff_client, app, tenant, worker):
    started = _post(staff_client, {"file": (_rakuten("R-1", "R-2"), "rakuten.csv")}, shop_id=str(tenant.shop_id))
    assert started.status_code == 303
    result = _result(staff_client, started.headers["Location"])
    assert "認識した形式: 楽天ペイ受注CSV" in result and "登録した注文 2 件" in result
    assert {number for number, _ in _orders(app)} == {"R-1", "R-2"}


def test_the_progress_view_names_the_format_before_the_job_runs(staff_client, tenant):
    started = _post(staff_client, {"file": (_rakuten("R-1"), "rakuten.csv")}, shop_id=str(tenant.shop_id))
    partial = staff_client.get(started.headers["Location"], headers={"HX-Request": "true"}).text
    assert "<progress" in partial and "認識した形式: 楽天ペイ受注CSV" in partial


def test_yahoos_two_files_uploaded_together_in_either_input_become_orders(staff_client, app, tenant, worker):
    orders_file = preset_bytes(YAHOO_ORDER, [{"OrderId": "store-1", "OrderTime": "2026/11/27 14:05:00",
                                              "BillName": "矢風 花子", "TotalPrice": "1800"}])
    items_file = preset_bytes(YAHOO_ITEM, [{"OrderId": "store-1", "LineId": "1", "ItemId": "sencha", "Title": "煎茶",
                                            "Quantity": "2", "UnitPrice": "900"}])
    started = _post(staff_client, {"file": (items_file, "item.csv"), "item_file": (orders_file, "order.csv")},
                    shop_id=str(tenant.shop_id))
    assert started.status_code == 303
    page = staff_client.get(started.headers["Location"]).text
    assert "item.csv、order.csv" in page
    result = _result(staff_client, started.headers["Location"])
    assert "認識した形式: Yahoo!ショッピング 注文データ + 商品データ" in result and "登録した注文 1 件" in result
    assert [number for number, _ in _orders(app)] == ["store-1"]


def test_half_of_yahoos_pair_is_refused_at_the_file_input(staff_client, tenant):
    orders_file = preset_bytes(YAHOO_ORDER, [{"OrderId": "store-1", "OrderTime": "2026/11/27", "BillName": "矢風"}])
    response = _post(staff_client, {"file": (orders_file, "order.csv")}, shop_id=str(tenant.shop_id))
    assert response.status_code == 422
    assert "注文データと商品データの2つを一緒に" in _field_error(response.text, "file")


def test_a_mall_file_without_a_shop_is_refused_at_the_shop_select_with_the_options_kept(staff_client, app, tenant):
    response = _post(staff_client, {"file": (_rakuten("R-1"), "rakuten.csv")}, mode="check_only")
    assert response.status_code == 422
    assert _field_error(response.text, "shop") == "モールのファイルを登録するには、ショップを選んでください。"
    shop_select = response.text.split('<select id="import-shop"')[0].rsplit('<div class="field', 1)[1]
    assert shop_select.startswith(" has-error")
    assert 'aria-invalid="true"' in response.text.split('<select id="import-shop"')[1].split(">")[0]
    assert 'id="import-file-error"' not in response.text and 'id="upload-error"' not in response.text
    assert 'value="check_only" checked' in response.text
    assert _orders(app) == []


def test_a_file_of_no_known_format_gets_one_error_at_the_file_input_naming_the_formats(staff_client, tenant):
    content = "伝票,お客様,品物\r\n1,山田,煎茶\r\n".encode("cp932")
    response = _post(staff_client, {"file": (content, "mystery.csv")}, shop_id=str(tenant.shop_id))
    assert response.status_code == 422
    message = _field_error(response.text, "file")
    for name in ("ネクストエンジン汎用受注CSV", "楽天ペイ受注CSV", "Amazon 注文レポート", "Yahoo!ショッピング 注文データ + 商品データ"):
        assert name in message


def test_a_check_only_result_registers_with_one_click_and_a_second_click_registers_nothing_more(
        staff_client, app, tenant, worker):
    checked = _post(staff_client, {"file": (_rakuten("R-1", "R-2"), "rakuten.csv")}, shop_id=str(tenant.shop_id),
                    mode="check_only")
    check_url = checked.headers["Location"]
    result = _result(staff_client, check_url)
    assert "認識した形式: 楽天ペイ受注CSV" in result and "登録できる注文 2 件" in result and _orders(app) == []
    register_url = _register_form(result)
    assert "この内容で登録する" in result

    registered = staff_client.post(register_url, data={"csrf_token": staff_client.csrf})
    assert registered.status_code == 303 and registered.headers["Location"] != check_url
    outcome = _result(staff_client, registered.headers["Location"])
    assert "登録した注文 2 件" in outcome and "認識した形式: 楽天ペイ受注CSV" in outcome
    assert "「チェックのみ」の結果から登録しました。" in outcome
    assert sorted(number for number, _ in _orders(app)) == ["R-1", "R-2"]

    again = staff_client.post(register_url, data={"csrf_token": staff_client.csrf})  # a stale page's second click
    assert again.status_code == 303 and again.headers["Location"] == check_url
    page = staff_client.get(check_url).text
    assert "このチェック結果からは、すでに登録しました。" in page
    assert "この内容で登録する" not in page and "この内容は登録しました。" in page
    assert registered.headers["Location"] in page  # a link to the registration's result
    assert sorted(number for number, _ in _orders(app)) == ["R-1", "R-2"]


def test_a_check_only_result_with_errors_offers_no_register_button(staff_client, app, tenant, worker):
    content = preset_bytes(RAKUTEN, [{"注文番号": "R-9", "注文日時": "2026-11-27 14:05:00", "注文者姓": "楽天",
                                      "商品管理番号": "sencha", "商品名": "煎茶", "単価": "1080", "個数": "たくさん"}])
    checked = _post(staff_client, {"file": (content, "rakuten.csv")}, shop_id=str(tenant.shop_id), mode="check_only")
    result = _result(staff_client, checked.headers["Location"])
    assert "登録しなかった注文 1 件" in result and "この内容で登録する" not in result


def test_registering_needs_the_csrf_token_and_a_check_only_run(staff_client, app, tenant, worker):
    done = _post(staff_client, {"file": (_rakuten("R-1"), "rakuten.csv")}, shop_id=str(tenant.shop_id))
    job_url = done.headers["Location"]
    _result(staff_client, job_url)
    assert staff_client.post(job_url + "/register").status_code == 400
    refused = staff_client.post(job_url + "/register", data={"csrf_token": staff_client.csrf})
    assert refused.status_code == 303 and refused.headers["Location"] == job_url
    assert "登録できるのは、終了した「チェックのみ」の結果だけです。" in staff_client.get(job_url).text
    assert len(_orders(app)) == 1


def test_another_accounts_check_only_job_is_not_found_to_register(staff_client, app, tenant, other_tenant, worker):
    checked = _post(staff_client, {"file": (_rakuten("R-1"), "rakuten.csv")}, shop_id=str(tenant.shop_id),
                    mode="check_only")
    register_url = _register_form(_result(staff_client, checked.headers["Location"]))
    stranger = login(app.test_client(), other_tenant.staff_email)
    assert stranger.post(register_url, data={"csrf_token": stranger.csrf}).status_code == 404
    assert stranger.post("/imports/orders/no-such-job/register", data={"csrf_token": stranger.csrf}).status_code == 404
    assert _orders(app) == []
    assert "この内容で登録する" in staff_client.get(checked.headers["Location"]).text


def test_a_check_whose_files_are_gone_is_refused_saying_to_upload_again(staff_client, app, tenant, worker):
    from sqlalchemy import delete

    from boss.extensions import db
    from boss.models import FileChunk, StoredFile

    checked = _post(staff_client, {"file": (_rakuten("R-1"), "rakuten.csv")}, shop_id=str(tenant.shop_id),
                    mode="check_only")
    check_url = checked.headers["Location"]
    register_url = _register_form(_result(staff_client, check_url))
    with app.app_context():  # what delete_expired does after FILE_KEEP_DAYS
        db.session.execute(delete(FileChunk))
        db.session.execute(delete(StoredFile))
        db.session.commit()
    refused = staff_client.post(register_url, data={"csrf_token": staff_client.csrf})
    assert refused.status_code == 303 and refused.headers["Location"] == check_url
    page = staff_client.get(check_url).text
    assert "チェックしたファイルは保存期間（7日）を過ぎたため削除されました。もう一度アップロードしてください。" in page
    assert _orders(app) == []
