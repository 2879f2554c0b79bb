"""Issue 13 item 6: what the order page and 注文一覧 show of what the buyer pays and where the parcel goes —
the amounts (商品合計 … 請求額, 「代引で集金する額」 on a 代金引換 order, 「未確定」 before the mall fixes them),
the lines' 項目選択肢, お届け希望日・時間帯, a convenience-store or post-office pickup and 置き配 — and the manual form's
お届け希望日・時間帯."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.orders.models import Order
from tests.factories import create_order, set_order_fields

HTMX = {"HX-Request": "true"}
LINES = [{"mall_item_id": "tea", "name": "煎茶", "quantity": 2, "unit_price": 1200},
         {"mall_item_id": "cup", "name": "湯呑み", "quantity": 1, "unit_price": 2200}]  # ¥4,600


def _text(html: str) -> str:
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


def _amounts(html: str) -> list[tuple[str, str]]:
    """The amounts block as a person reads it: (label, amount) from top to bottom."""
    block = re.search(r'<dl class="amounts".*?</dl>', html, re.S).group(0)
    return [(_text(label), _text(value)) for label, value in
            re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", block, re.S)]


def _page(staff_client, order_id: int) -> str:
    response = staff_client.get(f"/orders/{order_id}")
    assert response.status_code == 200
    return response.text


def test_a_cash_on_delivery_order_shows_the_amount_to_collect_boxed_at_the_bottom(staff_client, client, tenant, app):
    order = create_order(client, tenant, lines=LINES, payment_method="代金引換", postage=880, charges=330)
    set_order_fields(app, order["id"], wrapping=220, billed=5910)
    page = _page(staff_client, order["id"])
    assert _amounts(page) == [("商品合計", "¥4,600"), ("送料", "¥880"), ("ラッピング料", "¥220"), ("合計", "¥5,700"),
                              ("手数料", "+¥330"), ("代引で集金する額", "¥5,910")]
    assert re.search(r'<div class="amount billed cod"><dt>代引で集金する額</dt><dd class="tnum">¥5,910</dd>', page)
    assert "請求額" not in _text(page)


def test_coupons_and_points_are_taken_off_the_total_and_the_bill_follows_the_formula(staff_client, client, tenant):
    order = create_order(client, tenant, lines=LINES, payment_method="クレジットカード", postage=0, discount=500,
                         points_used=120)
    page = _page(staff_client, order["id"])
    assert _amounts(page) == [("商品合計", "¥4,600"), ("送料", "¥0"), ("合計", "¥4,600"), ("クーポン", "−¥500"),
                              ("ポイント", "−¥120"), ("請求額", "¥3,980")]
    assert "代引で集金する額" not in page and 'class="amount billed"' in page


def test_amounts_the_mall_has_not_fixed_read_unfixed(staff_client, client, tenant, app):
    order = create_order(client, tenant, lines=LINES, payment_method="代金引換")
    set_order_fields(app, order["id"], postage=None, billed=None)
    page = _page(staff_client, order["id"])
    assert _amounts(page) == [("商品合計", "¥4,600"), ("送料", "未確定"), ("合計", "¥4,600"), ("代引で集金する額", "未確定")]
    assert "モールで金額が確定していません。確定した金額は次の取込で反映されます。" in page


def test_a_manual_order_without_postage_shows_none_given_not_unfixed(staff_client, client, tenant):
    order = create_order(client, tenant, lines=LINES)
    page = _page(staff_client, order["id"])
    assert _amounts(page) == [("商品合計", "¥4,600"), ("送料", "—"), ("合計", "¥4,600"), ("請求額", "¥4,600")]
    assert "未確定" not in _text(page)


def test_each_line_shows_its_options_one_per_line_under_its_name(staff_client, client, tenant, app):
    order = create_order(client, tenant, lines=LINES)
    set_order_fields(app, order["id"], options=["熨斗:御歳暮\nラッピング:希望する<b>", ""])
    page = _page(staff_client, order["id"])
    first, second = re.findall(r'<td class="line-name">(.*?)</td>', page, re.S)
    assert re.findall(r"<span>(.*?)</span>", first) == ["熨斗:御歳暮", "ラッピング:希望する&lt;b&gt;"]
    assert first.startswith("煎茶<span class=\"line-options\">")
    assert second == "湯呑み"


def test_the_delivery_date_and_slot_show_and_none_reads_not_specified(staff_client, client, tenant):
    chosen = create_order(client, tenant, delivery_date="2026-11-05", delivery_time_slot="19-21")
    text = _text(_page(staff_client, chosen["id"]))
    assert "お届け希望日 2026/11/05" in text and "お届け時間帯 19-21" in text
    none = create_order(client, tenant)
    text = _text(_page(staff_client, none["id"]))
    assert "お届け希望日 指定なし" in text and "お届け時間帯 指定なし" in text


@pytest.mark.parametrize("kind, label", [("convenience_store", "コンビニ受取"), ("post_office", "郵便局受取")])
def test_a_pickup_shows_where_with_the_store_name_code_and_address(staff_client, client, tenant, app, kind, label):
    order = create_order(client, tenant)
    set_order_fields(app, order["id"], pickup={"kind": kind, "store_code": "012345", "store_name": "渋谷道玄坂店",
                                               "address": "150-0043 東京都 渋谷区道玄坂2-10-12"})
    text = _text(re.search(r'<section[^>]*aria-labelledby="h-recipient".*?</section>', _page(staff_client, order["id"]),
                           re.S).group(0))
    assert f"受取場所 {label} 渋谷道玄坂店 （店舗コード 012345 ） 150-0043 東京都 渋谷区道玄坂2-10-12" in text


def test_drop_off_shows_the_place_and_an_order_without_either_shows_neither(staff_client, client, tenant, app):
    order = create_order(client, tenant)
    set_order_fields(app, order["id"], drop_off="玄関前")
    assert "置き配 玄関前" in _text(_page(staff_client, order["id"]))
    plain = _page(staff_client, create_order(client, tenant)["id"])
    assert "置き配" not in plain and "受取場所" not in plain


def test_the_amounts_read_in_english(staff_client, client, tenant, app):
    order = create_order(client, tenant, lines=LINES, payment_method="代金引換", discount=100)
    set_order_fields(app, order["id"], pickup={"kind": "post_office", "store_code": "1", "store_name": "渋谷郵便局",
                                               "address": "東京都"})
    staff_client.post("/lang/en", data={"csrf_token": staff_client.csrf})
    text = _text(_page(staff_client, order["id"]))
    assert "To collect on delivery ¥4,500" in text and "Coupons −¥100" in text and "Post office pickup" in text


def test_the_list_shows_a_rows_options_under_its_number_with_every_line_in_the_title(staff_client, client, tenant, app):
    order = create_order(client, tenant, number="OPT-1", lines=LINES)
    set_order_fields(app, order["id"], options=["熨斗:御歳暮\n名入れ:不要", "色:藍"])
    plain = create_order(client, tenant, number="OPT-NONE")
    page = staff_client.get("/orders").text
    row = re.search(rf'<tr id="order-{order["id"]}".*?</tr>', page, re.S).group(0)
    found = re.search(r'<span class="row-options" title="([^"]*)">([^<]*)</span>', row)
    assert found.group(2) == "熨斗:御歳暮 / 名入れ:不要"
    assert found.group(1) == "煎茶: 熨斗:御歳暮 / 名入れ:不要\n湯呑み: 色:藍"
    assert "row-options" not in re.search(rf'<tr id="order-{plain["id"]}".*?</tr>', page, re.S).group(0)
    # the row an inline action answers with shows them too
    cancelled = staff_client.post(f"/orders/{order['id']}/cancel", data={
        "csrf_token": staff_client.csrf, "version": order["version"], "reason_code": "10"}, headers=HTMX)
    assert cancelled.status_code == 200 and "熨斗:御歳暮 / 名入れ:不要" in cancelled.text


# ---------------------------------------------------------------- 手動注文登録


def _form(tenant, **more) -> dict:
    return {"shop_id": tenant.shop_id, "mall_order_number": "M-DELIVERY", "ordered_at": "2026-11-27T14:05",
            "buyer-name": "山田 花子", "recipient_same": "y", "lines-0-mall_item_id": "tea", "lines-0-name": "煎茶",
            "lines-0-quantity": "1", "lines-0-unit_price": "1200", **more}


def _registered(app) -> Order | None:
    with app.app_context():
        order = db.session.scalars(select(Order)).first()
        db.session.expunge_all()
        return order


def test_the_manual_form_offers_the_screens_time_slots(staff_client):
    page = staff_client.get("/orders/new").text
    select_html = re.search(r'<select[^>]*name="delivery_time_slot".*?</select>', page, re.S).group(0)
    assert re.findall(r">([^<]+)</option>", select_html) == ["指定なし", "午前中", "12-14", "14-16", "16-18", "18-20", "19-21"]
    assert re.search(r'<input[^>]*name="delivery_date"[^>]*type="date"|<input[^>]*type="date"[^>]*name="delivery_date"', page)


def test_a_manual_order_keeps_its_delivery_date_and_slot(staff_client, tenant, app):
    response = staff_client.post("/orders/new", data={"csrf_token": staff_client.csrf, **_form(
        tenant, delivery_date="2026-12-24", delivery_time_slot="18-20")})
    assert response.status_code == 303, response.text
    order = _registered(app)
    assert (order.delivery_date.isoformat(), order.delivery_time_slot) == ("2026-12-24", "18-20")
    assert "お届け時間帯 18-20" in _text(staff_client.get(response.headers["Location"]).text)


def test_a_manual_order_without_them_has_none(staff_client, tenant, app):
    response = staff_client.post("/orders/new", data={"csrf_token": staff_client.csrf, **_form(
        tenant, delivery_date="", delivery_time_slot="")})
    assert response.status_code == 303, response.text
    order = _registered(app)
    assert (order.delivery_date, order.delivery_time_slot) == (None, None)


@pytest.mark.parametrize("field, value, message", [
    ("delivery_time_slot", "14:00-16:00", "一覧から選んでください。"),
    ("delivery_date", "2026-13-01", "日付を正しく入力してください（例 2026/11/27）。"),
    ("delivery_date", "2101-01-01", "1900-01-01 から 2100-12-31 までの日付を入力してください。"),
])
def test_a_slot_not_offered_or_a_wrong_date_is_refused_next_to_the_field(staff_client, tenant, app, field, value, message):
    response = staff_client.post("/orders/new", data={"csrf_token": staff_client.csrf, **_form(tenant, **{field: value})})
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error"[^>]*>([^<]*)<', response.text).group(1) == message
    assert _registered(app) is None
