"""商品マッピング: the waiting mall items, the search-as-you-type picker, mapping at once, the mapping list."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from boss.extensions import db
from boss.models import ItemMapping
from boss.web import mapping as mapping_view
from tests.factories import create_order, create_product, map_item, set_state

HTMX = {"HX-Request": "true"}


def _line(item="item-9", name="未登録の湯呑み", sub_code=None, quantity=1):
    line = {"mall_item_id": item, "name": name, "quantity": quantity, "unit_price": 1000}
    if sub_code:
        line["sub_code"] = sub_code
    return line


def _map(client, tenant, item="item-9", sku="SKU-1", sub_code="", row=1, htmx=True, csrf=True):
    data = {"shop_id": tenant.shop_id, "mall_item_id": item, "sub_code": sub_code, "sku": sku, "row": row}
    if csrf:
        data["csrf_token"] = client.csrf
    return client.post("/mapping", data=data, headers=HTMX if htmx else {})


def _order(client, tenant, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers()).json


def _mapping_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ItemMapping))


def test_the_page_and_its_htmx_fragments_come_from_one_url(staff_client, client, tenant):
    create_order(client, tenant, lines=[_line("item-9")])
    page = staff_client.get("/mapping")
    fragment = staff_client.get("/mapping", headers=HTMX)
    assert page.status_code == 200 and "<html" in page.text and "item-9" in page.text
    assert "<html" not in fragment.text and "item-9" in fragment.text and 'id="mappings"' in fragment.text
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    only_mappings = staff_client.get("/mapping", headers={**HTMX, "HX-Target": "mappings"}).text
    assert "登録済みのマッピング" in only_mappings and "item-9" not in only_mappings


def test_unmapped_items_are_grouped_per_shop_item_and_sub_code_with_the_orders_waiting_on_them(staff_client, client, tenant):
    create_order(client, tenant, lines=[_line("item-9", quantity=2), _line("item-9", quantity=1)])
    create_order(client, tenant, lines=[_line("item-9")])
    create_order(client, tenant, lines=[_line("item-9", sub_code="red", name="湯呑み 赤")])
    page = staff_client.get("/mapping").text
    rows = [row for row in page.split("<tr") if 'id="group-' in row]
    assert len(rows) == 2
    plain = next(row for row in rows if "湯呑み 赤" not in row)
    assert re.search(r'<td class="num"[^>]*>2</td>', plain)  # two orders (three lines) wait on item-9
    red = next(row for row in rows if "湯呑み 赤" in row)
    assert re.search(r'<td class="number"[^>]*>red</td>', red) and re.search(r'<td class="num"[^>]*>1</td>', red)


def test_only_not_deleted_orders_awaiting_confirmation_are_counted(staff_client, client, tenant, app):
    create_order(client, tenant, number="WAIT", lines=[_line("item-w")])
    deleted = create_order(client, tenant, number="DEL", lines=[_line("item-d")])
    client.delete(f"/api/v1/orders/{deleted['id']}", headers=tenant.headers())
    cancelled = create_order(client, tenant, number="CAN", lines=[_line("item-c")])
    client.post(f"/api/v1/orders/{cancelled['id']}/cancel", json={}, headers=tenant.headers())
    page = staff_client.get("/mapping").text
    assert "item-w" in page and "item-d" not in page and "item-c" not in page


def test_r14_items_of_another_account_are_not_listed(staff_client, client, tenant, other_tenant):
    create_order(client, other_tenant, lines=[_line("their-item")])
    create_product(client, other_tenant, sku="THEIR-SKU")
    page = staff_client.get("/mapping").text
    assert "their-item" not in page and "マッピング待ちのモール商品はありません。" in page
    options = staff_client.get("/mapping/products?q=THEIR").text
    assert "THEIR-SKU" not in options and "一致する商品がありません" in options


def test_the_header_shop_filter_is_respected(staff_client, client, tenant):
    other = client.post("/api/v1/shops", json={"name": "二号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    create_order(client, tenant, lines=[_line("first-shop-item")])
    client.post("/api/v1/orders", json={"shop_id": other["id"], "mall_order_number": "Y-1", "buyer": {"name": "客"},
                                        "lines": [_line("second-shop-item")]}, headers=tenant.headers())
    staff_client.post("/shop-filter", data={"shop_id": other["id"], "csrf_token": staff_client.csrf})
    page = staff_client.get("/mapping").text
    assert "second-shop-item" in page and "first-shop-item" not in page


def test_the_picker_searches_sku_name_and_code_of_the_accounts_products_at_most_twenty(staff_client, client, tenant):
    for n in range(25):
        create_product(client, tenant, sku=f"CUP-{n:03d}")
    client.post("/api/v1/products", json={"sku": "TEA-1", "name": "静岡煎茶", "code": "SHIZU"}, headers=tenant.headers())
    by_name = staff_client.get("/mapping/products?q=煎茶", headers=HTMX).text
    by_code = staff_client.get("/mapping/products?q=shizu", headers=HTMX).text
    assert 'value="TEA-1"' in by_name and 'value="TEA-1"' in by_code and "CUP-" not in by_name
    many = staff_client.get("/mapping/products?q=CUP", headers=HTMX).text
    assert many.count('type="radio"') == 20 and "上位20件" in many
    assert 'type="radio"' not in staff_client.get("/mapping/products?q=", headers=HTMX).text
    literal = staff_client.get("/mapping/products?q=%25", headers=HTMX).text  # % is a character, not a wildcard
    assert 'type="radio"' not in literal


def test_the_picker_input_searches_as_you_type(staff_client, client, tenant):
    create_order(client, tenant, lines=[_line("item-9")])
    page = staff_client.get("/mapping").text
    assert 'hx-get="/mapping/products"' in page and 'hx-trigger="input changed delay:250ms, search"' in page


def test_mapping_updates_the_waiting_orders_at_once_and_swaps_the_row_with_the_result(staff_client, client, tenant, app):
    create_product(client, tenant, sku="SKU-1")
    first = create_order(client, tenant, lines=[_line("item-9"), _line("item-other")])
    second = create_order(client, tenant, lines=[_line("item-9")])
    cancelled = create_order(client, tenant, lines=[_line("item-9")])
    client.post(f"/api/v1/orders/{cancelled['id']}/cancel", json={}, headers=tenant.headers())
    response = _map(staff_client, tenant, row=3)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<tr id="group-3" class="gone">')
    assert "確認待の注文 2 件を更新しました。" in response.text and "自動確認" not in response.text
    assert "<template>" in response.text and 'id="mappings" hx-swap-oob="true"' in response.text and "SKU-1" in response.text
    one, two = _order(client, tenant, first["id"]), _order(client, tenant, second["id"])
    assert [line["sku"] for line in one["lines"]] == ["SKU-1", None]
    assert "unmapped_items" in [t["code"] for t in one["tags"]]  # item-other still waits
    assert two["lines"][0]["sku"] == "SKU-1" and "unmapped_items" not in [t["code"] for t in two["tags"]]
    assert two["status"] == "awaiting_confirmation"  # auto_confirm is off by default
    assert _order(client, tenant, cancelled["id"])["lines"][0]["sku"] is None  # not 確認待: left alone
    assert "item-9" not in staff_client.get("/mapping").text.split("登録済みのマッピング")[0]


def test_mapping_auto_confirms_orders_now_fully_mapped_when_the_shop_auto_confirms(staff_client, client, tenant):
    client.patch(f"/api/v1/shops/{tenant.shop_id}", json={"auto_confirm": True}, headers=tenant.headers("admin"))
    create_product(client, tenant, sku="SKU-1")
    whole = create_order(client, tenant, lines=[_line("item-9")])
    partly = create_order(client, tenant, lines=[_line("item-9"), _line("item-other")])
    response = _map(staff_client, tenant)
    assert "確認待の注文 2 件を更新しました。" in response.text
    assert "うち 1 件は自動確認で確認済になりました。" in response.text
    assert _order(client, tenant, whole["id"])["status"] == "confirmed"
    assert _order(client, tenant, partly["id"])["status"] == "awaiting_confirmation"


def test_an_unknown_sku_is_a_message_on_the_row_not_an_error_page(staff_client, client, tenant, app):
    order = create_order(client, tenant, lines=[_line("item-9")])
    response = _map(staff_client, tenant, sku="NO-SUCH", row=7)
    assert response.status_code == 422
    assert 'id="group-7"' in response.text and "SKU「NO-SUCH」の商品が登録されていません" in response.text
    assert 'value="NO-SUCH"' in response.text  # what was typed stays in the box
    assert _mapping_count(app) == 0 and _order(client, tenant, order["id"])["lines"][0]["sku"] is None


def test_an_item_mapped_already_is_a_message_on_the_row(staff_client, client, tenant, app):
    create_product(client, tenant, sku="SKU-1")
    map_item(client, tenant, mall_item_id="item-9", sku="SKU-1")
    response = _map(staff_client, tenant, sku="SKU-1")
    assert response.status_code == 409 and "既にマッピングされています" in response.text
    assert _mapping_count(app) == 1


def test_mapping_without_a_product_chosen_asks_for_one(staff_client, client, tenant, app):
    create_order(client, tenant, lines=[_line("item-9")])
    response = _map(staff_client, tenant, sku="")
    assert response.status_code == 422 and "マッピング先の商品を検索して選んでください。" in response.text
    assert _mapping_count(app) == 0


def test_without_htmx_mapping_redirects_back_with_a_message(staff_client, client, tenant):
    create_product(client, tenant, sku="SKU-1")
    create_order(client, tenant, lines=[_line("item-9")])
    response = _map(staff_client, tenant, htmx=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/mapping")
    assert "確認待の注文 1 件を更新しました。" in staff_client.get("/mapping").text


def test_csrf_a_post_without_its_token_is_refused_and_maps_nothing(staff_client, client, tenant, app):
    create_product(client, tenant, sku="SKU-1")
    order = create_order(client, tenant, lines=[_line("item-9")])
    response = _map(staff_client, tenant, csrf=False)
    assert response.status_code == 400
    assert _mapping_count(app) == 0 and _order(client, tenant, order["id"])["lines"][0]["sku"] is None


def test_r14_mapping_for_a_shop_of_another_account_is_not_found(staff_client, client, tenant, other_tenant, app):
    create_product(client, tenant, sku="SKU-1")
    response = staff_client.post("/mapping", data={"shop_id": other_tenant.shop_id, "mall_item_id": "item-9", "sku": "SKU-1",
                                                   "csrf_token": staff_client.csrf}, headers=HTMX)
    assert response.status_code == 404 and _mapping_count(app) == 0


def test_deleting_a_mapping_leaves_mapped_lines_mapped(staff_client, client, tenant, app):
    create_product(client, tenant, sku="SKU-1")
    order = create_order(client, tenant, lines=[_line("item-9")])
    mapping = map_item(client, tenant, mall_item_id="item-9", sku="SKU-1")
    page = staff_client.get("/mapping").text
    assert f'id="mapping-{mapping["id"]}"' in page and f'hx-get="/mapping/{mapping["id"]}/delete"' in page
    assert "hx-confirm=" not in page
    dialog = " ".join(staff_client.get(f"/mapping/{mapping['id']}/delete", headers=HTMX).text.split())
    assert "マッピングの削除" in dialog and "マッピング「item-9 → SKU-1」を削除します。" in dialog
    assert "既にマッピングされた明細はそのまま残ります。" in dialog and "テスト商店の楽天店" in dialog
    assert f'hx-target="#mapping-{mapping["id"]}"' in dialog and "data-answer-closes-dialog" in dialog
    assert re.search(r'<button type="button" class="secondary" data-close-dialog autofocus>戻る</button>', dialog)
    response = staff_client.post(f"/mapping/{mapping['id']}/delete", data={"csrf_token": staff_client.csrf}, headers=HTMX)
    assert response.status_code == 200 and 'class="gone"' in response.text and "そのまま残ります" in response.text
    assert _mapping_count(app) == 0 and _order(client, tenant, order["id"])["lines"][0]["sku"] == "SKU-1"


def test_r14_a_mapping_of_another_account_cannot_be_deleted(staff_client, client, tenant, other_tenant, app):
    create_product(client, other_tenant, sku="THEIR-SKU")
    theirs = map_item(client, other_tenant, mall_item_id="their-item", sku="THEIR-SKU")
    response = staff_client.post(f"/mapping/{theirs['id']}/delete", data={"csrf_token": staff_client.csrf}, headers=HTMX)
    assert response.status_code == 404 and _mapping_count(app) == 1
    assert staff_client.get(f"/mapping/{theirs['id']}/delete", headers=HTMX).status_code == 404
    assert "their-item" not in staff_client.get("/mapping").text


def test_the_mapping_list_is_paged_and_searchable(staff_client, client, tenant, monkeypatch):
    monkeypatch.setattr(mapping_view, "MAPPINGS_PER_PAGE", 2)
    create_product(client, tenant, sku="SKU-1")
    for item in ("m-1", "m-2", "m-3"):
        map_item(client, tenant, mall_item_id=item, sku="SKU-1")
    first = staff_client.get("/mapping").text
    assert "m-3" in first and "m-2" in first and "m-1" not in first and "mpage=2" in first
    second = staff_client.get("/mapping?mpage=2", headers={**HTMX, "HX-Target": "mappings"}).text
    assert "m-1" in second and "m-3" not in second
    searched = staff_client.get("/mapping?q=m-2").text
    assert ">m-2<" in searched and ">m-3<" not in searched


def test_item_names_and_ids_are_shown_as_text_never_as_markup(staff_client, client, tenant):
    create_order(client, tenant, lines=[_line("<i>x</i>", name="<script>alert(1)</script>")])
    client.post("/api/v1/products", json={"sku": "<b>S</b>", "name": "<script>p()</script>"}, headers=tenant.headers())
    page = staff_client.get("/mapping").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<i>x</i>" not in page
    options = staff_client.get("/mapping/products?q=S", headers=HTMX).text
    assert "<script>p()</script>" not in options and "&lt;b&gt;S&lt;/b&gt;" in options


def test_a_staff_user_and_an_admin_both_map(admin_client, client, tenant):
    create_product(client, tenant, sku="SKU-1")
    create_order(client, tenant, lines=[_line("item-9")])
    assert _map(admin_client, tenant).status_code == 200


def test_orders_set_to_later_statuses_are_not_waiting(staff_client, client, tenant, app):
    order = create_order(client, tenant, lines=[_line("item-late")])
    set_state(app, order["id"], "confirmed")
    assert "item-late" not in staff_client.get("/mapping").text


def test_the_candidates_show_what_is_sellable_as_the_product_page_does(staff_client, client, tenant):
    create_product(client, tenant, sku="AV-1", stock=5)
    create_product(client, tenant, sku="AV-0", stock=0)
    options = " ".join(staff_client.get("/mapping/products?q=AV-", headers=HTMX).text.split())
    assert "販売可能 5" in options and "販売可能 0" in options
    assert re.search(r'<span class="small warn">販売可能 0</span>', options)
    assert "在庫 5" not in options
    assert "<th class=\"num\">販売可能</th>" in staff_client.get("/products").text
