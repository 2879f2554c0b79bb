"""商品: the account's products with stock and mappings, search, paging, and registering one."""
from __future__ import annotations

from sqlalchemy import select

from boss.extensions import db
from boss.models import Product
from boss.web import products as products_view
from tests.factories import create_product, map_item

HTMX = {"HX-Request": "true"}


def _products(app) -> list[tuple[str, str, str, int]]:
    with app.app_context():
        return [(p.sku, p.name, p.code, p.stock) for p in db.session.scalars(select(Product).order_by(Product.id))]


def _create(client, csrf=True, **fields):
    data = {"sku": "TEA-001", "name": "静岡煎茶 100g", "code": "", "stock": "10", **fields}
    if csrf:
        data["csrf_token"] = client.csrf
    return client.post("/products", data=data)


def test_the_page_and_its_htmx_fragment_come_from_one_url_and_the_nav_links_it(staff_client, client, tenant):
    create_product(client, tenant, sku="SKU-1")
    page = staff_client.get("/products")
    fragment = staff_client.get("/products", headers=HTMX)
    assert "<html" in page.text and 'href="/products"' in page.text and "SKU-1" in page.text
    assert "<html" not in fragment.text and "SKU-1" in fragment.text and "商品を登録" not in fragment.text
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]


def test_products_show_stock_reserved_available_and_how_many_mall_items_map_to_them(staff_client, client, tenant):
    create_product(client, tenant, sku="SKU-1", stock=1200)
    map_item(client, tenant, mall_item_id="a", sku="SKU-1")
    map_item(client, tenant, mall_item_id="b", sku="SKU-1")
    row = next(r for r in staff_client.get("/products").text.split("<tr") if "SKU-1" in r)
    assert row.count('<td class="num">1,200</td>') == 2 and '<td class="num">0</td>' in row  # stock, available, reserved
    assert '<td class="num">2</td>' in row


def test_r14_products_of_another_account_are_not_listed(staff_client, client, other_tenant):
    create_product(client, other_tenant, sku="THEIR-SKU")
    assert "THEIR-SKU" not in staff_client.get("/products").text


def test_the_list_searches_sku_name_and_code_and_is_paged(staff_client, client, tenant, monkeypatch):
    monkeypatch.setattr(products_view, "PER_PAGE", 2)
    for sku in ("A-1", "A-2", "A-3", "B-1"):
        create_product(client, tenant, sku=sku)
    first = staff_client.get("/products?q=A-").text
    assert "A-1" in first and "A-2" in first and "A-3" not in first and "B-1" not in first and "page=2" in first
    second = staff_client.get("/products?q=A-&page=2", headers=HTMX).text
    assert "A-3" in second and "A-1" not in second


def test_registering_a_product(staff_client, app):
    response = _create(staff_client, sku="  TEA-001 ", stock="25")
    assert response.status_code == 303 and response.headers["Location"].endswith("/products")
    assert _products(app) == [("TEA-001", "静岡煎茶 100g", "TEA-001", 25)]  # code defaults to the SKU
    assert "商品「TEA-001 静岡煎茶 100g」を登録しました。" in staff_client.get("/products").text


def test_bad_input_shows_errors_next_to_the_fields_and_registers_nothing(staff_client, app):
    response = _create(staff_client, sku="", name="x" * 256, stock="-1")
    assert response.status_code == 422
    assert 'id="sku-error"' in response.text and 'id="name-error"' in response.text and 'id="stock-error"' in response.text
    assert "0〜10,000,000で入力してください。" in response.text
    assert _products(app) == []


def test_a_sku_registered_already_is_refused_on_the_sku_field(staff_client, client, tenant, app):
    create_product(client, tenant, sku="TEA-001")
    response = _create(staff_client)
    assert response.status_code == 409 and "SKU「TEA-001」は既に登録されています。" in response.text
    assert len(_products(app)) == 1


def test_csrf_registering_without_the_token_is_refused_and_registers_nothing(staff_client, app):
    assert _create(staff_client, csrf=False).status_code == 400 and _products(app) == []


def test_product_names_are_shown_as_text_never_as_markup(staff_client, client, tenant):
    client.post("/api/v1/products", json={"sku": "X-1", "name": "<script>alert(1)</script>"}, headers=tenant.headers())
    page = staff_client.get("/products").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
