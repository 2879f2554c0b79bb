"""手動注文登録 as staff type it (issue 18 item 7): 送料, お届け希望日・時間帯, the total, the item picker and
郵便番号 → 住所."""
from __future__ import annotations

import re

import pytest

from tests.factories import create_product, map_item
from tests.web.test_manual import HTMX, _count, _error_of, _form, _orders, _post

SLOTS = ["午前中", "12-14", "14-16", "16-18", "18-20", "19-21"]


def _api_order(client, tenant, app) -> dict:
    return client.get(f"/api/v1/orders/{_orders(app)[-1].id}", headers=tenant.headers()).json


def _value_of(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html).group(0)
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def _sum(html: str) -> dict:
    return {key: re.search(rf'data-amount="{key}">([^<]*)<', html).group(1) for key in ("subtotal", "postage", "total")}


# 送料, お届け希望日, お届け時間帯 ------------------------------------------------------------------------------

def test_the_form_offers_postage_a_delivery_date_and_the_time_slots_api_md_stores(staff_client):
    page = staff_client.get("/orders/new").text
    assert 'name="postage"' in page and 'type="date"' in page and 'name="delivery_date"' in page
    select = page[page.index('name="delivery_time_slot"'):].split("</select>")[0]
    offered = re.findall(r'<option[^>]*value="([^"]*)"', select)
    assert offered == ["", *SLOTS]
    assert "指定なし" in page


@pytest.mark.parametrize("slot", SLOTS)
def test_postage_date_and_slot_are_registered_and_the_total_includes_the_postage(staff_client, client, tenant, app,
                                                                                 slot):
    response = _post(staff_client, _form(tenant, postage="８８０", delivery_date="2026-12-24", delivery_time_slot=slot))
    assert response.status_code == 303
    order = _api_order(client, tenant, app)
    assert order["postage"] == 880 and order["total"] == 2400 + 880
    assert order["delivery_date"] == "2026-12-24" and order["delivery_time_slot"] == slot


def test_without_postage_date_or_slot_the_order_has_none(staff_client, client, tenant, app):
    assert _post(staff_client, _form(tenant, postage="", delivery_date="", delivery_time_slot="")).status_code == 303
    order = _api_order(client, tenant, app)
    assert order["postage"] is None and order["delivery_date"] is None and order["delivery_time_slot"] is None
    assert order["total"] == 2400


@pytest.mark.parametrize("postage, message", [("-1", "0〜1,000,000で入力してください。"),
                                              ("1000001", "0〜1,000,000で入力してください。"),
                                              ("送料無料", "整数で入力してください。")])
def test_postage_out_of_range_or_not_a_number_is_refused_under_the_field(staff_client, tenant, app, postage, message):
    response = _post(staff_client, _form(tenant, postage=postage))
    assert response.status_code == 422 and _error_of(response.text, "postage") == message
    assert _count(app) == 0


def test_a_slot_the_screen_does_not_offer_is_refused(staff_client, tenant, app):
    response = _post(staff_client, _form(tenant, delivery_time_slot="08-24"))
    assert response.status_code == 422 and _error_of(response.text, "delivery_time_slot") == "一覧から選んでください。"
    assert _count(app) == 0


def test_postage_date_and_slot_are_kept_when_the_form_comes_back_with_errors(staff_client, tenant, app):
    response = _post(staff_client, _form(tenant, number="", postage="1,200", delivery_date="2026-12-24",
                                         delivery_time_slot="14-16"))
    assert response.status_code == 422
    assert _value_of(response.text, "postage") == "1,200" and _value_of(response.text, "delivery_date") == "2026-12-24"
    assert re.search(r'<option selected value="14-16">|<option value="14-16" selected>', response.text)
    assert _sum(response.text) == {"subtotal": "¥2,400", "postage": "¥1,200", "total": "¥3,600"}


def test_the_total_is_shown_from_the_lines_and_the_postage(staff_client, tenant):
    assert _sum(staff_client.get("/orders/new").text) == {"subtotal": "¥0", "postage": "¥0", "total": "¥0"}
    lines = [{"mall_item_id": "a", "name": "A", "quantity": "2", "unit_price": "1,000"},
             {"mall_item_id": "b", "name": "B", "quantity": "３", "unit_price": "250"},
             {"mall_item_id": "c", "name": "C", "quantity": "x", "unit_price": "999"}]  # not a number: not counted
    response = _post(staff_client, _form(tenant, lines=lines, postage="500", add_line="1"), htmx=True)
    assert _sum(response.text) == {"subtotal": "¥2,750", "postage": "¥500", "total": "¥3,250"}


# 郵便番号 -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["1000001", "100-0001", "１００－０００１", "〒100 0001", "100ー0001"])
def test_a_postal_code_however_typed_is_registered_as_three_hyphen_four(staff_client, client, tenant, app, typed):
    data = _form(tenant, **{"recipient-name": "佐藤 健", "recipient-postal_code": typed})
    del data["recipient_same"]
    assert _post(staff_client, {**data, "buyer-postal_code": typed}).status_code == 303
    order = _api_order(client, tenant, app)
    assert order["buyer"]["postal_code"] == "100-0001" and order["recipient"]["postal_code"] == "100-0001"


@pytest.mark.parametrize("typed, message", [
    ("100-001", "郵便番号は数字7桁で入力してください（例 100-0001）。入力は6桁です。"),
    ("1000-0001", "郵便番号は数字7桁で入力してください（例 100-0001）。入力は8桁です。"),
    ("100-OOO1", "郵便番号は数字7桁で入力してください（例 100-0001）。数字とハイフン以外の文字があります。"),
])
def test_a_postal_code_not_of_seven_digits_is_refused_saying_why_and_kept(staff_client, tenant, app, typed, message):
    response = _post(staff_client, _form(tenant, **{"buyer-postal_code": typed}))
    assert response.status_code == 422 and _error_of(response.text, "buyer-postal_code") == message
    assert _value_of(response.text, "buyer-postal_code") == typed
    assert _count(app) == 0


def test_a_postal_code_comes_back_normalised_when_another_field_is_wrong(staff_client, tenant):
    response = _post(staff_client, _form(tenant, number="", **{"buyer-postal_code": "１００００１３"}))
    assert response.status_code == 422 and _value_of(response.text, "buyer-postal_code") == "100-0013"


def test_the_recipient_postal_code_is_checked_only_when_the_recipient_is_someone_else(staff_client, tenant, app):
    same = _form(tenant, **{"recipient-postal_code": "12"})  # hidden with 購入者と同じ: not registered, not checked
    assert _post(staff_client, same).status_code == 303
    other = _form(tenant, number="M-2", **{"recipient-name": "佐藤 健", "recipient-postal_code": "12"})
    del other["recipient_same"]
    response = _post(staff_client, other)
    assert response.status_code == 422 and "入力は2桁です" in _error_of(response.text, "recipient-postal_code")


def test_the_address_of_a_postal_code_comes_from_the_offline_data(staff_client):
    answer = staff_client.get("/orders/new/address?postal_code=１００－０００１")
    assert answer.status_code == 200
    assert answer.json["postal_code"] == "100-0001" and answer.json["address"] == "東京都千代田区千代田"
    assert answer.json["message"] == "郵便番号 100-0001 の住所を入力しました。続けて番地を入力してください。"


def test_a_postal_code_for_several_towns_fills_what_they_share_and_names_them(staff_client):
    answer = staff_client.get("/orders/new/address?postal_code=0680546").json
    assert answer["address"] == "北海道夕張市"
    assert "北海道夕張市南部青葉町" in answer["message"] and "北海道夕張市南部菊水町" in answer["message"]


def test_an_unknown_postal_code_says_so_and_gives_no_address(staff_client):
    answer = staff_client.get("/orders/new/address?postal_code=999-9999")
    assert answer.status_code == 404 and "address" not in answer.json
    assert answer.json["message"] == "郵便番号 999-9999 の住所は見つかりません。住所はそのままです。"


def test_a_postal_code_lookup_of_other_than_seven_digits_is_refused_saying_why(staff_client):
    answer = staff_client.get("/orders/new/address?postal_code=12345")
    assert answer.status_code == 422 and answer.json == {
        "message": "郵便番号は数字7桁で入力してください（例 100-0001）。入力は5桁です。"}


def test_the_postal_code_lookup_needs_a_signed_in_user(client):
    assert client.get("/orders/new/address?postal_code=1000001").status_code in (302, 401)


def test_the_form_offers_the_address_button_beside_each_postal_code(staff_client):
    page = staff_client.get("/orders/new").text
    assert 'data-postal-lookup="buyer-postal_code"' in page and 'data-postal-lookup="recipient-postal_code"' in page
    assert 'data-postal-code="buyer-address"' in page and 'data-postal-code="recipient-address"' in page


# The item picker ----------------------------------------------------------------------------------------

def _picks(staff_client, tenant, q: str, line: int = 0, shop_id=None):
    return staff_client.get("/orders/new/products", query_string={
        "shop_id": tenant.shop_id if shop_id is None else shop_id, f"lines-{line}-product": q, "line": line})


def _buttons(html: str) -> list[dict]:
    tags = re.findall(r'<button[^>]*class="pick"[^>]*>', html)
    return [dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag)) for tag in tags]


def test_the_picker_finds_products_by_sku_or_name_with_their_sellable_stock(staff_client, client, tenant):
    create_product(client, tenant, sku="TEA-SENCHA", stock=12)
    create_product(client, tenant, sku="TEA-GENMAI", stock=0)
    create_product(client, tenant, sku="CUP-1")
    by_sku = _picks(staff_client, tenant, "tea-")
    assert by_sku.status_code == 200 and [b["sku"] for b in _buttons(by_sku.text)] == ["TEA-GENMAI", "TEA-SENCHA"]
    assert "販売可能 12" in by_sku.text and "販売可能 0" in by_sku.text
    by_name = _buttons(_picks(staff_client, tenant, "商品 CUP").text)
    assert [(b["sku"], b["name"]) for b in by_name] == [("CUP-1", "商品 CUP-1")]


def test_a_picked_product_brings_the_mall_item_id_the_shop_maps_to_it(staff_client, client, tenant):
    create_product(client, tenant, sku="TEA-SENCHA")
    map_item(client, tenant, mall_item_id="sencha-100g", sku="TEA-SENCHA", sub_code="red")
    map_item(client, tenant, mall_item_id="sencha-set", sku="TEA-SENCHA")
    html = _picks(staff_client, tenant, "SENCHA", line=3).text
    buttons = _buttons(html)
    assert [(b["mall-item-id"], b["sub-code"], b["pick-line"]) for b in buttons] == [
        ("sencha-100g", "red", "3"), ("sencha-set", "", "3")]
    assert "モール商品ID sencha-100g/red" in html
    assert buttons[0]["picked"] == "TEA-SENCHA を選びました（モール商品ID sencha-100g/red にマッピング済み）。"


def test_a_product_without_a_mapping_in_the_shop_is_offered_as_a_manual_line(staff_client, client, tenant):
    create_product(client, tenant, sku="CUP-1")
    html = _picks(staff_client, tenant, "CUP").text
    [button] = _buttons(html)
    assert "mall-item-id" not in button and "マッピングなし" in html
    assert button["picked"] == "CUP-1 を選びました。このショップのマッピングがないため、モール商品IDを入力してください。"


def test_another_shops_mapping_is_not_offered(staff_client, client, tenant):
    other_shop = client.post("/api/v1/shops", json={"name": "二号店", "mall": "yahoo"},
                             headers=tenant.headers("admin")).json
    create_product(client, tenant, sku="CUP-1")
    client.post("/api/v1/mappings", json={"shop_id": other_shop["id"], "mall_item_id": "yahoo-cup", "sku": "CUP-1"},
                headers=tenant.headers())
    assert "mall-item-id" not in _buttons(_picks(staff_client, tenant, "CUP").text)[0]
    [in_other_shop] = _buttons(_picks(staff_client, tenant, "CUP", shop_id=other_shop["id"]).text)
    assert in_other_shop["mall-item-id"] == "yahoo-cup"


def test_r14_another_accounts_products_are_never_offered(staff_client, client, tenant, other_tenant):
    create_product(client, other_tenant, sku="SECRET-TEA")
    create_product(client, tenant, sku="OUR-TEA")
    html = _picks(staff_client, tenant, "TEA").text
    assert [b["sku"] for b in _buttons(html)] == ["OUR-TEA"] and "SECRET" not in html
    assert _buttons(_picks(staff_client, tenant, "SECRET").text) == []


def test_r14_another_accounts_shop_is_not_found(staff_client, client, tenant, other_tenant):
    create_product(client, tenant, sku="OUR-TEA")
    assert _picks(staff_client, tenant, "TEA", shop_id=other_tenant.shop_id).status_code == 404
    assert _picks(staff_client, tenant, "TEA", shop_id="x").status_code == 404


def test_the_picker_shows_at_most_20_and_says_there_are_more(staff_client, client, tenant):
    for i in range(21):
        create_product(client, tenant, sku=f"TEA-{i:02d}")
    html = _picks(staff_client, tenant, "TEA").text
    assert len(_buttons(html)) == 20 and "上位20件を表示しています。" in html


def test_nothing_found_says_a_manual_line_still_works(staff_client, tenant):
    html = _picks(staff_client, tenant, "なにもない").text
    assert _buttons(html) == [] and "モール商品IDと商品名を入力すれば、そのまま登録できます。" in html
    assert _picks(staff_client, tenant, "").text.strip() == ""


def test_each_line_has_a_picker_asking_for_the_chosen_shop(staff_client, tenant):
    html = _post(staff_client, _form(tenant, add_line="1"), htmx=True).text
    for line in (0, 1):
        search = re.search(rf'<input[^>]*name="lines-{line}-product"[^>]*>', html).group(0)
        assert 'hx-get="/orders/new/products"' in search and 'hx-include="#shop_id"' in search
        assert f'aria-controls="lines-{line}-product-picks"' in search
        assert f"""hx-vals='{{"line": "{line}"}}'""" in search
        assert f'id="lines-{line}-product-picks"' in html


def test_a_picked_line_registers_mapped_and_keeps_the_search_text_on_errors(staff_client, client, tenant, app):
    create_product(client, tenant, sku="TEA-SENCHA")
    map_item(client, tenant, mall_item_id="sencha-100g", sku="TEA-SENCHA")
    line = {"product": "TEA-SENCHA", "mall_item_id": "sencha-100g", "name": "商品 TEA-SENCHA", "quantity": "1",
            "unit_price": "1500"}
    again = _post(staff_client, _form(tenant, number="", lines=[line]))
    assert again.status_code == 422 and _value_of(again.text, "lines-0-product") == "TEA-SENCHA"
    assert _post(staff_client, _form(tenant, lines=[line])).status_code == 303
    [registered] = _api_order(client, tenant, app)["lines"]
    assert registered["sku"] == "TEA-SENCHA" and registered["mapped"] is True


def test_the_picker_is_a_fragment_for_htmx(staff_client, client, tenant):
    create_product(client, tenant, sku="TEA-1")
    fragment = staff_client.get("/orders/new/products", query_string={
        "shop_id": tenant.shop_id, "lines-0-product": "TEA", "line": 0}, headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text and "TEA-1" in fragment.text
