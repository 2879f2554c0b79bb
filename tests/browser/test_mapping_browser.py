"""商品マッピング in a real browser: the candidate search answers every time, and the mapping is for the SKU picked."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from boss.extensions import db
from boss.models import ItemMapping
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.factories import create_order, create_product

pytestmark = pytest.mark.browser

RECORD_HTMX_ERRORS = """
window.htmxErrors = [];
document.addEventListener("htmx:targetError", function (event) { window.htmxErrors.push("htmx:targetError"); });
document.addEventListener("htmx:swapError", function (event) { window.htmxErrors.push("htmx:swapError"); });
"""


def test_i2_a_second_candidate_search_replaces_the_first_and_the_mapping_is_for_the_sku_picked_from_it(
        page, live_server, client, tenant, app):
    create_product(client, tenant, sku="TEA-SENCHA")
    create_product(client, tenant, sku="TEA-GENMAI")
    create_order(client, tenant, lines=[{"mall_item_id": "item-tea", "name": "お茶", "quantity": 1, "unit_price": 900}])
    page.add_init_script(RECORD_HTMX_ERRORS)
    sign_in(page, live_server, tenant.staff_email)
    page.goto(f"{live_server}/mapping")
    row = page.locator("#group-1")
    search = row.get_by_role("searchbox")
    options = row.locator(".options")

    search.fill("SENCHA")
    expect(options.get_by_role("radio")).to_have_count(1)
    expect(options).to_contain_text("TEA-SENCHA")
    search.fill("GENMAI")
    expect(options).to_contain_text("TEA-GENMAI")
    expect(options).not_to_contain_text("TEA-SENCHA")
    search.fill("TEA")
    expect(options.get_by_role("radio")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "mapping-candidates.png"))
    options.get_by_role("radio", name="TEA-GENMAI").check()
    row.get_by_role("button", name="マッピング").click()

    expect(row).to_contain_text("「item-tea」を「TEA-GENMAI 商品 TEA-GENMAI」にマッピングしました。")
    assert page.evaluate("window.htmxErrors") == []
    with app.app_context():
        mapped = db.session.scalars(select(ItemMapping).where(ItemMapping.mall_item_id == "item-tea")).one()
        assert mapped.product.sku == "TEA-GENMAI"
        db.session.remove()
    expect(page.locator("#mappings")).to_contain_text("TEA-GENMAI")
