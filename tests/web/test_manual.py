"""手動注文登録: the form, its field errors, R6 (number taken) and R7 (not mall-linked, and the warning)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from boss.extensions import db
from boss.orders.models import Order
from tests.factories import create_order

HTMX = {"HX-Request": "true"}
R7_WARNING = "手動登録した注文はモールと連携されません。出荷情報はモールへ自動で反映されません。"
TAKEN_BY_CANCELLED = "このモール注文番号はキャンセル済みの注文で使用されているため登録できません。別の番号で登録してください。"


def _form(tenant, number="M-0001", lines=None, **more) -> dict:
    data = {
        "shop_id": tenant.shop_id, "mall_order_number": number, "ordered_at": "2026-11-27T14:05",
        "buyer-name": "山田 花子", "buyer-name_kana": "ヤマダ ハナコ", "buyer-email": "hanako@example.jp",
        "buyer-phone": "03-1234-5678", "buyer-postal_code": "100-0001", "buyer-address": "東京都千代田区1-1",
        "recipient_same": "y", "payment_method": "銀行振込", "remarks": "のし不要",
    }
    for i, line in enumerate(lines or [{"mall_item_id": "item-1", "name": "煎茶", "quantity": "2", "unit_price": "1200"}]):
        for key, value in line.items():
            data[f"lines-{i}-{key}"] = value
    data.update(more)
    return data


def _post(client, data, htmx=False, csrf=True):
    if csrf:
        data = {**data, "csrf_token": client.csrf}
    return client.post("/orders/new", data=data, headers=HTMX if htmx else {})


def _orders(app) -> list[Order]:
    with app.app_context():
        found = list(db.session.scalars(select(Order).order_by(Order.id)))
        db.session.expunge_all()
        return found


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order))


def _error_of(html: str, field_id: str) -> str:
    found = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


def test_r7_the_form_warns_that_manual_orders_are_not_linked_to_the_mall(staff_client):
    page = staff_client.get("/orders/new")
    assert page.status_code == 200 and "<html" in page.text
    assert R7_WARNING in page.text and 'class="r7-warning" role="note"' in page.text


def test_the_page_and_its_htmx_fragment_come_from_one_url(staff_client):
    page = staff_client.get("/orders/new")
    fragment = staff_client.get("/orders/new", headers=HTMX)
    assert "<html" not in fragment.text and 'id="manual-form"' in fragment.text and 'name="csrf_token"' in fragment.text
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]


def test_the_form_offers_the_accounts_shops_only_and_defaults_to_now_in_japan_time(staff_client, tenant, other_tenant):
    page = staff_client.get("/orders/new").text
    assert "テスト商店の楽天店" in page and "よその商店の楽天店" not in page
    shown = re.search(r'name="ordered_at"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="ordered_at"', page)
    now_jst = datetime.now(timezone(timedelta(hours=9))).replace(tzinfo=None)
    assert abs(datetime.strptime(shown.group(1), "%Y-%m-%dT%H:%M") - now_jst) < timedelta(minutes=2)
    assert 'name="recipient_same"' in page and "購入者と同じ" in page
    assert re.search(r'name="recipient_same"[^>]*checked', page)


def test_r7_a_registered_order_is_manual_not_mall_linked_and_tagged(staff_client, client, tenant, app):
    response = _post(staff_client, _form(tenant, number="  M-0001  "))
    assert response.status_code == 303
    order = _orders(app)[0]
    assert response.headers["Location"].endswith(f"/orders/{order.id}")  # the detail page
    fresh = client.get(f"/api/v1/orders/{order.id}", headers=tenant.headers()).json
    assert fresh["mall_order_number"] == "M-0001"  # trimmed
    assert fresh["source"] == "manual" and fresh["mall_linked"] is False
    assert "not_mall_linked" in [t["code"] for t in fresh["tags"]]
    assert fresh["ordered_at"] == "2026-11-27T14:05:00+09:00"  # typed in Japan time
    assert fresh["buyer"]["name"] == "山田 花子" and fresh["recipient"]["name"] == "山田 花子"
    assert fresh["payment_method"] == "銀行振込" and fresh["remarks"] == "のし不要"
    assert fresh["lines"][0]["quantity"] == 2 and fresh["total"] == 2400
    assert "注文「M-0001」を登録しました。" in staff_client.get(response.headers["Location"]).text


def test_a_recipient_other_than_the_buyer_is_kept(staff_client, client, tenant, app):
    data = _form(tenant, **{"recipient-name": "佐藤 健", "recipient-address": "大阪府"})
    del data["recipient_same"]
    assert _post(staff_client, data).status_code == 303
    fresh = client.get(f"/api/v1/orders/{_orders(app)[0].id}", headers=tenant.headers()).json
    assert fresh["recipient"]["name"] == "佐藤 健" and fresh["recipient"]["address"] == "大阪府"
    assert fresh["buyer"]["name"] == "山田 花子"


def test_a_different_recipient_needs_a_name(staff_client, tenant, app):
    data = _form(tenant)
    del data["recipient_same"]
    response = _post(staff_client, data)
    assert response.status_code == 422 and "送付先の氏名を入力してください" in _error_of(response.text, "recipient-name")
    assert _count(app) == 0


def test_bad_input_shows_errors_next_to_the_fields_and_registers_nothing(staff_client, tenant, app):
    data = _form(tenant, number="", lines=[{"mall_item_id": "", "name": "煎茶", "quantity": "0", "unit_price": "10000001"}],
                 **{"buyer-name": "", "buyer-email": "not-an-address", "ordered_at": "yesterday"})
    response = _post(staff_client, data)
    assert response.status_code == 422
    html = response.text
    assert _error_of(html, "mall_order_number") == "入力してください。"
    assert _error_of(html, "buyer-name") == "購入者の氏名を入力してください。"
    assert "メールアドレスの形式" in _error_of(html, "buyer-email")
    assert _error_of(html, "lines-0-mall_item_id") == "入力してください。"
    assert "1〜9,999" in _error_of(html, "lines-0-quantity")
    assert "0〜10,000,000" in _error_of(html, "lines-0-unit_price")
    assert _error_of(html, "ordered_at") == "日時を正しく入力してください（例 2026/11/27 14:05）。"
    assert 'aria-invalid="true"' in html and "入力内容を確認してください。" in html
    assert 'value="煎茶"' in html  # what was typed stays
    assert _count(app) == 0


def test_quantities_and_prices_must_be_whole_numbers_but_may_be_typed_with_separators(staff_client, client, tenant, app):
    words = _post(staff_client, _form(tenant, lines=[{"mall_item_id": "i", "name": "n", "quantity": "abc", "unit_price": "1.5"}]))
    assert words.status_code == 422
    assert _error_of(words.text, "lines-0-quantity") == "整数で入力してください。"
    assert _error_of(words.text, "lines-0-unit_price") == "整数で入力してください。"
    typed = _post(staff_client, _form(tenant, lines=[{"mall_item_id": "i", "name": "n", "quantity": "２", "unit_price": "1,200"}]))
    assert typed.status_code == 303
    assert client.get(f"/api/v1/orders/{_orders(app)[0].id}", headers=tenant.headers()).json["total"] == 2400


def test_the_number_is_at_most_64_printable_characters(staff_client, tenant, app):
    too_long = _post(staff_client, _form(tenant, number="N" * 65))
    assert too_long.status_code == 422 and "64文字以内" in _error_of(too_long.text, "mall_order_number")
    control = _post(staff_client, _form(tenant, number="AB\tC"))
    assert control.status_code == 422
    assert _error_of(control.text, "mall_order_number") == "3文字目に表示されない文字（U+0009）があります。削除してから登録してください。"
    blank = _post(staff_client, _form(tenant, number="   "))
    assert blank.status_code == 422 and _error_of(blank.text, "mall_order_number") == "入力してください。"
    assert _post(staff_client, _form(tenant, number="N" * 64)).status_code == 303
    assert _count(app) == 1


def _holder_link(html: str) -> tuple[str, str]:
    """The link under the number field to the order holding the number: (href, text)."""
    found = re.search(r'id="mall_order_number-error"[^>]*>.*?<a href="([^"]+)">([^<]*)</a>', html, re.S)
    return (found.group(1), found.group(2).strip()) if found else ("", "")


def test_r6_a_number_held_by_an_active_order_is_refused_under_the_number_field_linking_to_it(staff_client, client,
                                                                                               tenant, app):
    holder = create_order(client, tenant, number="TAKEN-1")
    response = _post(staff_client, _form(tenant, number="TAKEN-1"))
    assert response.status_code == 409
    assert _error_of(response.text, "mall_order_number").strip() == "このモール注文番号は既に登録されています。"
    assert _holder_link(response.text) == (f"/orders/{holder['id']}", "この番号の注文「TAKEN-1」を開く")
    assert staff_client.get(f"/orders/{holder['id']}").status_code == 200
    assert _count(app) == 1


def test_r6_a_number_held_by_a_cancelled_order_is_refused_saying_so_and_linking_to_it(staff_client, client, tenant, app):
    order = create_order(client, tenant, number="CANCELLED-1")
    client.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    response = _post(staff_client, _form(tenant, number="ｃａｎｃｅｌｌｅｄ－１"))
    assert response.status_code == 409 and _error_of(response.text, "mall_order_number").strip() == TAKEN_BY_CANCELLED
    assert _holder_link(response.text) == (f"/orders/{order['id']}", "キャンセル済みの注文「CANCELLED-1」を開く")
    assert 'value="ｃａｎｃｅｌｌｅｄ－１"' in response.text  # what was typed stays
    assert _count(app) == 1


LOOK_ALIKES = ["ＣＸＬ－７７７", "CXL\u2212777", "CXL-\u2077\u2077\u2077", "cxl-777"]  # issue 11 item 3
INVISIBLE = ["\ufe0f", "\u034f", "\u3164", "\u115f", "\u2800", "\U000e0100", "\uffa0"]


@pytest.mark.parametrize("number", LOOK_ALIKES)
def test_r6_a_look_alike_of_a_cancelled_number_is_refused_under_the_number_field(staff_client, client, tenant, app, number):
    order = create_order(client, tenant, number="CXL-777")
    client.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    response = _post(staff_client, _form(tenant, number=number))
    assert response.status_code == 409 and _error_of(response.text, "mall_order_number").strip() == TAKEN_BY_CANCELLED
    assert _count(app) == 1


@pytest.mark.parametrize("character", INVISIBLE, ids=lambda ch: f"U+{ord(ch):04X}")
def test_r6_a_character_that_shows_nothing_is_refused_naming_its_position(staff_client, tenant, app, character):
    response = _post(staff_client, _form(tenant, number="CXL-777" + character))
    assert response.status_code == 422
    assert _error_of(response.text, "mall_order_number") == \
        f"8文字目に表示されない文字（U+{ord(character):04X}）があります。削除してから登録してください。"
    assert _count(app) == 0


def test_r6_the_invisible_character_refusal_reads_in_english(staff_client, tenant, app):
    assert staff_client.post("/lang/en", data={"csrf_token": staff_client.csrf}).status_code == 302
    response = _post(staff_client, _form(tenant, number="CX\u200bL"))
    assert response.status_code == 422
    assert _error_of(response.text, "mall_order_number") == "Character 3 (U+200B) shows nothing. Remove it and register again."


def test_the_number_is_stored_nfkc_normalised(staff_client, tenant, app):
    response = _post(staff_client, _form(tenant, number="ＡＢＣ－１２３"))
    assert response.status_code == 303
    assert [o.mall_order_number for o in _orders(app)] == ["ABC-123"]
    assert "注文「ABC-123」を登録しました。" in staff_client.get(response.headers["Location"]).text


def test_r6_a_number_whose_only_holders_were_deleted_is_accepted(staff_client, client, tenant, app):
    order = create_order(client, tenant, number="REUSE-1")
    client.delete(f"/api/v1/orders/{order['id']}", headers=tenant.headers())
    response = _post(staff_client, _form(tenant, number="REUSE-1"))
    assert response.status_code == 303
    holders = sorted((o.mall_order_number, o.deleted_at is None) for o in _orders(app))
    assert holders == [("REUSE-1", False), ("REUSE-1", True)]  # the deleted one and the new active one


def test_csrf_a_post_without_its_token_is_refused_and_registers_nothing(staff_client, tenant, app):
    response = _post(staff_client, _form(tenant), csrf=False)
    assert response.status_code == 400 and _count(app) == 0


def test_r14_a_shop_of_another_account_is_not_found(staff_client, tenant, other_tenant, app):
    response = _post(staff_client, _form(other_tenant))
    assert response.status_code == 404 and _count(app) == 0


def test_add_line_returns_the_form_with_one_more_line_keeping_what_was_typed(staff_client, tenant, app):
    data = _form(tenant, number="KEEP-ME", add_line="1")
    plain = _post(staff_client, data)
    assert plain.status_code == 200 and "<html" in plain.text
    assert 'name="lines-1-mall_item_id"' in plain.text and 'value="KEEP-ME"' in plain.text
    assert "field-error" not in plain.text  # nothing was checked yet
    fragment = _post(staff_client, data, htmx=True)
    assert "<html" not in fragment.text and fragment.text.lstrip().startswith('<div id="manual-form">')
    assert 'name="lines-1-mall_item_id"' in fragment.text and "autofocus" in fragment.text
    assert _count(app) == 0


def test_remove_line_drops_that_line_but_never_the_last_one(staff_client, tenant, app):
    lines = [{"mall_item_id": "keep", "name": "A", "quantity": "1", "unit_price": "1"},
             {"mall_item_id": "drop", "name": "B", "quantity": "1", "unit_price": "1"}]
    response = _post(staff_client, _form(tenant, lines=lines, remove_line="1"), htmx=True).text
    assert 'value="keep"' in response and 'value="drop"' not in response
    single = _post(staff_client, _form(tenant, lines=lines[:1], remove_line="0"), htmx=True).text
    assert 'value="keep"' in single and 'name="remove_line"' not in single
    assert _count(app) == 0


def test_several_lines_are_registered_in_order(staff_client, client, tenant, app):
    lines = [{"mall_item_id": f"item-{i}", "sub_code": "s" if i == 1 else "", "name": f"商品{i}", "quantity": "1",
              "unit_price": "100"} for i in range(3)]
    assert _post(staff_client, _form(tenant, lines=lines)).status_code == 303
    fresh = client.get(f"/api/v1/orders/{_orders(app)[0].id}", headers=tenant.headers()).json
    assert [(l["mall_item_id"], l["sub_code"]) for l in fresh["lines"]] == [("item-0", None), ("item-1", "s"), ("item-2", None)]


def test_more_than_200_lines_are_refused(staff_client, tenant, app):
    lines = [{"mall_item_id": f"i{i}", "name": "x", "quantity": "1", "unit_price": "1"} for i in range(201)]
    response = _post(staff_client, _form(tenant, lines=lines))
    assert response.status_code == 422 and "明細は200件までです。" in response.text
    assert _count(app) == 0


def test_a_buyer_named_script_stays_text_when_the_form_comes_back(staff_client, tenant):
    response = _post(staff_client, _form(tenant, number="", **{"buyer-name": "<script>alert(1)</script>"}))
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_an_admin_registers_too(admin_client, tenant, app):
    assert _post(admin_client, _form(tenant)).status_code == 303 and _count(app) == 1
