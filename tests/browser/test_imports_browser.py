"""受注CSV登録 in a real browser against a real rq worker: a person uploads a file with one bad row, watches the
progress give way to the result, and downloads the error report; a mall's file is checked, its format named, and
registered with one click; at a desktop's and a phone's width nothing is wider than the screen."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, nav_link, sign_in
from tests.csv_files import preset_bytes, preset_header

pytestmark = pytest.mark.browser

HEADER = ["ショップ", "モール注文番号", "注文日時", "購入者名", "モール商品ID", "商品名", "数量", "単価", "社内メモ"]


def _file(tmp_path: Path, shop: str) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    for n in range(1, 31):
        writer.writerow([shop, f"CSV-{n:04d}", "2026/11/27 14:05", f"購入者 {n}", "tea-001", "煎茶 100g", "2", "1,200", ""])
    writer.writerow([shop, "CSV-0031", "2026/11/27 14:05", "鈴木 一郎", "tea-001", "煎茶 100g", "たくさん", "1200", "要確認"])
    path = tmp_path / "受注.csv"
    path.write_bytes(text.getvalue().encode("cp932"))
    return path


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width,height", [(1366, 800), (390, 844)])
def test_upload_a_file_with_a_bad_row_watch_the_progress_and_download_the_error_report(
        page, live_server, tenant, app, request, tmp_path, width, height):
    from boss.extensions import db
    from boss.models import Shop

    with app.app_context():
        shop = db.session.get(Shop, tenant.shop_id).name
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, tenant.staff_email)
    nav_link(page, "受注CSV登録").click()
    expect(page.get_by_role("heading", name="受注CSV登録")).to_be_visible()
    expect(page.get_by_label("正常な注文だけ登録")).to_be_checked()
    _no_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"csv-import-form-{width}.png"), full_page=True)

    page.get_by_label("チェックのみ（登録しない）").check()
    page.get_by_role("button", name="アップロードして登録").click()  # no file chosen
    expect(page.get_by_role("alert")).to_contain_text("CSVファイルを選んでください。")
    expect(page.get_by_label("チェックのみ（登録しない）")).to_be_checked()
    _no_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"csv-import-form-refused-{width}.png"), full_page=True)
    page.get_by_label("正常な注文だけ登録").check()

    page.set_input_files("input[name=file]", str(_file(tmp_path, shop)))
    page.get_by_role("button", name="アップロードして登録").click()
    progress = page.locator("#csv-import-job progress")
    expect(progress).to_be_visible()  # no worker yet: the job waits, its bar polls
    expect(page.locator("#csv-import-job")).to_contain_text("待機中")

    request.getfixturevalue("worker")  # now a worker takes the job
    result = page.locator("#csv-import-job")
    expect(result).to_contain_text("登録した注文 30 件", timeout=30_000)
    expect(result).to_contain_text("登録しなかった注文 1 件（1 行）")
    expect(result).to_contain_text("読み込まなかった列: 社内メモ")
    refused = page.locator("table.import-errors tbody tr")
    expect(refused).to_have_count(1)
    expect(refused.first).to_contain_text("32")
    expect(refused.first).to_contain_text("数量")
    expect(page.get_by_role("link", name="CSV-0001")).to_have_attribute("href", re.compile(r"^/orders/\d+$"))
    _no_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"csv-import-result-{width}.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="エラーレポートをダウンロード").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_bytes().decode("cp932"))))
    assert rows[0] == [*HEADER, "エラー内容"]
    assert len(rows) == 2 and rows[1][1] == "CSV-0031" and rows[1][6] == "たくさん" and "数量" in rows[1][-1]

    page.get_by_role("link", name="修正したファイルをアップロード").click()
    expect(page.get_by_role("heading", name="受注CSV登録")).to_be_visible()


def _rakuten_file(tmp_path: Path) -> Path:
    rows = [{"注文番号": f"R-{n}", "注文日時": "2026-11-27 14:05:00", "注文者姓": "楽天", "注文者名": f"太郎{n}",
             "商品管理番号": "sencha", "商品名": "煎茶 100g", "単価": "1080", "個数": "1", "税込別": "0"} for n in (1, 2)]
    path = tmp_path / "楽天ペイ受注.csv"
    path.write_bytes(preset_bytes(preset_header("rakuten_pay.csv"), rows))
    return path


@pytest.mark.parametrize("width,height", [(1366, 800), (390, 844)])
def test_check_a_rakuten_file_see_its_format_named_and_register_it_with_one_click(
        page, live_server, tenant, app, request, tmp_path, width, height):
    from boss.extensions import db
    from boss.models import Shop

    with app.app_context():
        shop = db.session.get(Shop, tenant.shop_id).name
    request.getfixturevalue("worker")
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/imports/orders")
    formats = page.locator("ul.import-formats li")
    expect(formats).to_have_count(5)
    expect(formats.nth(2)).to_have_text("楽天ペイ受注CSV")
    expect(page.get_by_label("商品データ（Yahoo!ショッピングの場合）")).to_be_visible()
    _no_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"presets-screen-form-{width}.png"), full_page=True)

    page.set_input_files("input[name=file]", str(_rakuten_file(tmp_path)))
    page.get_by_label("チェックのみ（登録しない）").check()
    page.get_by_role("button", name="アップロードして登録").click()  # no shop chosen
    expect(page.locator("#import-shop-error")).to_have_text("モールのファイルを登録するには、ショップを選んでください。")
    expect(page.get_by_label("登録先のショップ")).to_have_attribute("aria-invalid", "true")
    _no_overflow(page)

    page.get_by_label("登録先のショップ").select_option(label=shop)
    page.set_input_files("input[name=file]", str(_rakuten_file(tmp_path)))
    page.get_by_role("button", name="アップロードして登録").click()
    result = page.locator("#csv-import-job")
    expect(result).to_contain_text("登録できる注文 2 件", timeout=30_000)
    expect(result).to_contain_text("認識した形式: 楽天ペイ受注CSV")
    _no_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"presets-screen-result-{width}.png"), full_page=True)

    page.get_by_role("button", name="この内容で登録する").click()
    expect(page.locator("#csv-import-job")).to_contain_text("登録した注文 2 件", timeout=30_000)
    expect(page.get_by_role("link", name="R-1")).to_have_attribute("href", re.compile(r"^/orders/\d+$"))
    page.get_by_role("link", name="チェックの結果を見る").click()
    expect(page.locator("#csv-import-job")).to_contain_text("この内容は登録しました。")
    expect(page.get_by_role("button", name="この内容で登録する")).to_have_count(0)
