"""商品マッピングCSV in a real browser, through a real rq worker: upload a file with a bad row, watch the progress
give way to the result, download the error report."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.factories import create_order, create_product

pytestmark = pytest.mark.browser


def test_an_uploaded_mapping_file_shows_its_progress_then_its_result_and_the_error_report_downloads(
        page, live_server, client, tenant, worker, tmp_path):
    create_product(client, tenant, sku="TEA-SENCHA")
    create_order(client, tenant, lines=[{"mall_item_id": "item-tea", "name": "お茶", "quantity": 1, "unit_price": 900}])
    upload = tmp_path / "マッピング.csv"
    upload.write_bytes(("削除フラグ,ショップ,モール商品ID,サブコード,SKUコード\r\n"
                        f",#{tenant.shop_id},item-tea,,TEA-SENCHA\r\n"
                        f",#{tenant.shop_id},item-cup,,NO-SUCH-SKU\r\n").encode("cp932"))
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/mapping")
    section = page.locator("section.mapping-csv")
    expect(section.get_by_role("heading", name="商品マッピングCSV")).to_be_visible()
    section.screenshot(path=str(SCREENSHOTS / "mapping-csv-form.png"))

    section.locator("input[type=file]").set_input_files(str(upload))
    section.get_by_label("文字コード").select_option("cp932")
    section.get_by_role("button", name="アップロードして反映").click()
    result = section.locator("#mapping-csv-job")
    expect(result).to_contain_text("追加 1 件・更新 0 件・削除 0 件", timeout=20_000)
    expect(result).to_contain_text("エラーのため反映しなかった行 1 行")
    expect(result.locator("table.import-errors tbody tr")).to_have_text(
        ["3SKUコードSKU「NO-SUCH-SKU」の商品が登録されていません。先に商品を登録してください。"])
    expect(page.locator("#mappings")).to_contain_text("TEA-SENCHA")  # the page's lists follow the job
    expect(page.locator("#unmapped")).not_to_contain_text("item-tea")
    page.screenshot(path=str(SCREENSHOTS / "mapping-csv-1366.png"), full_page=True)

    with page.expect_download() as download:
        result.get_by_role("link", name="エラーレポートをダウンロード").click()
    report = download.value.path().read_bytes().decode("cp932").split("\r\n")
    assert report[0].endswith(",エラー内容") and report[1].startswith(f",#{tenant.shop_id},item-cup,,NO-SUCH-SKU,")
