"""A person downloads 注文一覧 as CSV in a real browser: the dialog, the progress, the download."""
from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, settled, sign_in
from tests.factories import create_order

pytestmark = pytest.mark.browser


def test_a_person_downloads_the_list_as_csv_of_lines_and_is_told_of_the_replaced_characters(
        browser, live_server, client, tenant, worker):
    for i in range(3):
        create_order(client, tenant, number=f"CSV-{i}", remarks="おすすめ🍣" if i == 0 else "")
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="ja-JP", accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        sign_in(page, live_server, tenant.staff_email)
        page.get_by_role("button", name="CSVダウンロード").click()
        dialog = page.locator("dialog#dialog")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_label("注文単位（1注文1行）")).to_be_checked()
        expect(dialog.locator("select[name=encoding]")).to_have_value("cp932")
        settled(page)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "csv_export_dialog.png"))
        dialog.get_by_label("明細単位（1明細1行・注文の項目を各行に繰り返し）").check()
        dialog.get_by_role("button", name="CSVを作成").click()
        expect(dialog).to_contain_text("CP932で表せない文字 1 文字を〓に置き換えました")
        expect(dialog).to_contain_text("3 件の注文を出力しました。")
        page.screenshot(path=str(SCREENSHOTS / "csv_export_done.png"))
        with page.expect_download() as waiting:
            dialog.get_by_role("link", name="ダウンロード").click()
        download = waiting.value
        assert download.suggested_filename.startswith("orders-") and download.suggested_filename.endswith(".csv")
        rows = list(csv.DictReader(io.StringIO(open(download.path(), "rb").read().decode("cp932"), newline="")))
        assert sorted(row["モール注文番号"] for row in rows) == ["CSV-0", "CSV-1", "CSV-2"]
        assert "おすすめ〓" in [row["備考"] for row in rows]
    finally:
        context.close()
