"""詳細検索: a GET form whose URL is the query; each field finds, deleted orders only on request (R8)."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from boss.extensions import db
from boss.orders import frame
from boss.orders.actor import Actor
from boss.orders.models import Order
from boss.outbox import commit_and_dispatch
from boss.web import search as search_view
from tests.factories import create_order, create_product, map_item, set_state

HTMX = {"HX-Request": "true"}


def _numbers(html: str) -> list[str]:
    """The mall order numbers of the result rows, in the order shown."""
    rows = html[html.index('id="order-rows"'):] if 'id="order-rows"' in html else ""
    return re.findall(r'<td class="number"><a [^>]*>([^<]+)</a>', rows)


def _found(client, **query) -> list[str]:
    response = client.get("/search", query_string=query)
    assert response.status_code == 200
    return _numbers(response.text)


def _buyer(name="山田 花子", kana="ヤマダ ハナコ", phone="03-1234-5678", email="hanako@example.jp"):
    return {"name": name, "name_kana": kana, "phone": phone, "email": email}


def test_the_empty_form_shows_the_form_only(staff_client, client, tenant):
    create_order(client, tenant, number="S-ANY")
    page = staff_client.get("/search").text
    assert 'method="get"' in page and 'name="mall_order_number"' in page and 'name="include_deleted"' in page
    assert 'id="order-rows"' not in page and "S-ANY" not in page
    submitted_empty = staff_client.get("/search?mall_order_number=&status=&name=").text
    assert 'id="order-rows"' not in submitted_empty and "条件を入力して「検索」を押してください。" in submitted_empty


def test_the_form_has_every_field_and_is_a_bookmarkable_get(staff_client, client, tenant):
    page = staff_client.get("/search?name=ヤマダ&status=awaiting_confirmation&include_deleted=1").text
    start = page.index('<form class="panel search-form"')
    form = page[start:page.index("</form>", start)]
    assert 'method="get"' in form and 'action="/search"' in form
    for name in ("mall_order_number", "shop_id", "status", "shipment_status", "tag", "ordered_from", "ordered_to",
                 "name", "phone", "email", "sku", "include_deleted", "attention"):
        assert f'name="{name}"' in form, name
    # the query comes back into the form, so the page of a shared URL shows what was asked
    assert 'value="ヤマダ"' in form and re.search(r'<option selected value="awaiting_confirmation">|'
                                                  r'<option value="awaiting_confirmation" selected', form)
    assert re.search(r'name="include_deleted" value="1" checked', form)


def test_finds_by_exact_mall_order_number(staff_client, client, tenant):
    create_order(client, tenant, number="S-NUM-1")
    create_order(client, tenant, number="S-NUM-10")
    assert _found(staff_client, mall_order_number="S-NUM-1") == ["S-NUM-1"]
    assert _found(staff_client, mall_order_number="  S-NUM-10 ") == ["S-NUM-10"]


def test_finds_by_shop(staff_client, admin_client, client, tenant):
    other = client.post("/api/v1/shops", json={"name": "二号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    create_order(client, tenant, number="S-SHOP-A")
    client.post("/api/v1/orders", json={"shop_id": other["id"], "mall_order_number": "S-SHOP-B", "buyer": _buyer(),
                                        "lines": [{"mall_item_id": "i", "name": "n", "quantity": 1, "unit_price": 1}]},
                headers=tenant.headers())
    assert _found(staff_client, shop_id=other["id"]) == ["S-SHOP-B"]
    assert _found(staff_client, shop_id=tenant.shop_id) == ["S-SHOP-A"]


def test_finds_by_status_and_by_shipment_status(staff_client, client, tenant, app):
    create_order(client, tenant, number="S-ST-WAIT")
    shipping = create_order(client, tenant, number="S-ST-SHIP")
    set_state(app, shipping["id"], "shipping_in_progress", "shipping")
    done = create_order(client, tenant, number="S-ST-DONE")
    set_state(app, done["id"], "completed", "shipped")
    assert _found(staff_client, status="awaiting_confirmation") == ["S-ST-WAIT"]
    assert _found(staff_client, shipment_status="shipping") == ["S-ST-SHIP"]
    assert _found(staff_client, status="completed", shipment_status="shipped") == ["S-ST-DONE"]


def test_finds_by_tag(staff_client, client, tenant):
    tag = client.post("/api/v1/tags", json={"name": "ギフト"}, headers=tenant.headers()).json
    gift = create_order(client, tenant, number="S-TAG-GIFT")
    create_order(client, tenant, number="S-TAG-NONE")
    client.post(f"/api/v1/orders/{gift['id']}/tags/{tag['id']}", headers=tenant.headers())
    assert _found(staff_client, tag=tag["id"]) == ["S-TAG-GIFT"]


def test_finds_by_order_date_range_in_japan_time(staff_client, client, tenant):
    # 2026-11-01 00:30 in Japan is still 10-31 in UTC: the day is Japan's.
    create_order(client, tenant, number="S-DAY-1101", ordered_at="2026-11-01T00:30:00+09:00")
    create_order(client, tenant, number="S-DAY-1031", ordered_at="2026-10-31T23:30:00+09:00")
    create_order(client, tenant, number="S-DAY-1102", ordered_at="2026-11-02T23:59:00+09:00")
    assert _found(staff_client, ordered_from="2026-11-01", ordered_to="2026-11-01") == ["S-DAY-1101"]
    assert _found(staff_client, ordered_from="2026-11-01") == ["S-DAY-1102", "S-DAY-1101"]
    assert _found(staff_client, ordered_to="2026/10/31") == ["S-DAY-1031"]


def test_finds_by_buyer_or_recipient_name_and_kana_as_a_normalised_substring(staff_client, client, tenant):
    create_order(client, tenant, number="S-NAME-Y", buyer=_buyer())
    create_order(client, tenant, number="S-NAME-S", buyer=_buyer("佐藤 次郎", "サトウ ジロウ", "06-0000-1111", "jiro@example.jp"),
                 recipient={"name": "田中 三郎", "name_kana": "タナカ サブロウ"})
    assert _found(staff_client, name="ﾔﾏﾀﾞ") == ["S-NAME-Y"]          # half-width kana
    assert _found(staff_client, name="やまだ") == ["S-NAME-Y"]         # hiragana
    assert _found(staff_client, name="山田　花子") == ["S-NAME-Y"]     # full-width space
    assert _found(staff_client, name="タナカ") == ["S-NAME-S"]         # the recipient
    assert _found(staff_client, name="花") == ["S-NAME-Y"]             # one character
    assert _found(staff_client, name="田中") == ["S-NAME-S"]           # two: the bigram index (migration 0006)
    assert _found(staff_client, name="ﾀﾞﾊ") == ["S-NAME-Y"]           # two once normalised (ダハ)
    digits_only = staff_client.get("/search?name=0000").text             # names only: phones have their field
    assert "電話番号は「電話番号」欄で検索してください。" in digits_only and 'id="order-rows"' not in digits_only


def test_finds_by_phone_digits_and_by_email(staff_client, client, tenant):
    create_order(client, tenant, number="S-TEL-1", buyer=_buyer(phone="090-1111-2222", email="A.Buyer@Example.jp"))
    create_order(client, tenant, number="S-TEL-2", buyer=_buyer(phone="03-3333-4444", email="other@example.jp"))
    assert _found(staff_client, phone="09011112222") == ["S-TEL-1"]
    assert _found(staff_client, phone="０９０－１１１１") == ["S-TEL-1"]
    assert _found(staff_client, email="a.buyer@example.jp") == ["S-TEL-1"]
    assert _found(staff_client, email="example.jp") == []  # the whole address


def test_finds_by_sku_of_a_mapped_line(staff_client, client, tenant):
    create_product(client, tenant, "SKU-SEARCH")
    map_item(client, tenant, "item-mapped", "SKU-SEARCH")
    create_order(client, tenant, number="S-SKU-YES", lines=[{"mall_item_id": "item-mapped", "name": "煎茶", "quantity": 1, "unit_price": 100}])
    create_order(client, tenant, number="S-SKU-NO")
    assert _found(staff_client, sku="SKU-SEARCH") == ["S-SKU-YES"]
    unknown = staff_client.get("/search?sku=NO-SUCH-SKU").text
    assert "SKUコード「NO-SUCH-SKU」の商品はありません。" in unknown and 'id="order-rows"' not in unknown


def test_r8_deleted_orders_are_found_only_with_include_deleted_marked_and_without_actions(staff_client, client, tenant):
    order = create_order(client, tenant, number="S-DEL")
    client.delete(f"/api/v1/orders/{order['id']}", headers=tenant.headers())
    assert _found(staff_client, mall_order_number="S-DEL") == []
    page = staff_client.get("/search?mall_order_number=S-DEL&include_deleted=1").text
    assert _numbers(page) == ["S-DEL"]
    row = re.search(rf'<tr id="order-{order["id"]}"[^>]*class="is-deleted">.*?</tr>', page, re.S).group(0)
    assert "削除済" in row and "削除済みの注文は操作できません。" in row
    assert "/cancel" not in row and "/delete" not in row and 'type="checkbox"' not in row


def test_attention_finds_orders_with_an_error_or_holding_system_tag_not_deleted(staff_client, client, tenant, app):
    held = create_order(client, tenant, number="S-ATT-HOLD")
    error = create_order(client, tenant, number="S-ATT-ERR")
    gone = create_order(client, tenant, number="S-ATT-GONE")
    create_order(client, tenant, number="S-ATT-PLAIN")  # only 「モール出荷連携なし」: not an attention tag
    custom = client.post("/api/v1/tags", json={"name": "自前の保留", "holds": True}, headers=tenant.headers()).json
    other = create_order(client, tenant, number="S-ATT-CUSTOM")
    client.post(f"/api/v1/orders/{other['id']}/tags/{custom['id']}", headers=tenant.headers())
    with app.app_context():
        system = Actor.system(tenant.account_id)
        for order_id, code in ((held["id"], "multiple_destinations"), (error["id"], "mall_reflection_error"),
                               (gone["id"], "mall_cancelled")):
            frame.raise_system_tag(db.session.get(Order, order_id), code, system)
        commit_and_dispatch()
        db.session.remove()
    client.delete(f"/api/v1/orders/{gone['id']}", headers=tenant.headers())
    page = staff_client.get("/search?attention=1").text
    assert sorted(_numbers(page)) == ["S-ATT-ERR", "S-ATT-HOLD"]
    assert "2 件が見つかりました" in page
    assert sorted(_found(staff_client, attention=1, include_deleted=1)) == ["S-ATT-ERR", "S-ATT-HOLD"]
    # the header's 要対応 badge links here and counts the same orders
    assert re.search(r'<a id="attention"[^>]*href="/search\?attention=1"', page)
    assert re.search(r'要対応 <b>2</b>', page)


def test_the_next_page_link_keeps_the_query_and_pages_do_not_overlap(staff_client, client, tenant, monkeypatch):
    monkeypatch.setattr(search_view, "PAGE_SIZE", 2)
    for i in range(5):
        create_order(client, tenant, number=f"S-PAGE-{i}", ordered_at=f"2026-11-0{i + 1}T10:00:00+09:00")
    create_order(client, tenant, number="S-OTHER", buyer=_buyer("佐藤 次郎", "サトウ ジロウ"))
    first = staff_client.get("/search?name=ヤマダ&ordered_from=2026-11-01").text
    assert _numbers(first) == ["S-PAGE-4", "S-PAGE-3"] and "5 件が見つかりました" in first
    seen = _numbers(first)
    page = first
    while "次の50件" in page:
        link = re.search(r'<a href="([^"]+)">次の50件', page).group(1).replace("&amp;", "&")
        query = parse_qs(urlparse(link).query)
        assert query["name"] == ["ヤマダ"] and query["ordered_from"] == ["2026-11-01"] and "cursor" in query
        page = staff_client.get(link).text
        seen += _numbers(page)
    assert seen == [f"S-PAGE-{i}" for i in (4, 3, 2, 1, 0)]


def test_past_the_count_cap_the_hint_says_so_instead_of_counting_everything(staff_client, client, tenant, monkeypatch):
    monkeypatch.setattr(search_view, "PAGE_SIZE", 2)
    monkeypatch.setattr(search_view, "COUNT_CAP", 3)
    for i in range(5):
        create_order(client, tenant, number=f"S-CAP-{i}")
    page = staff_client.get("/search?name=ヤマダ").text
    assert "3 件以上が見つかりました" in page and len(_numbers(page)) == 2
    monkeypatch.setattr(search_view, "COUNT_CAP", 5)
    assert "5 件が見つかりました" in staff_client.get("/search?name=ヤマダ").text


def test_invalid_values_show_a_field_error_not_a_500(staff_client, client, tenant):
    create_order(client, tenant, number="S-BAD")
    for query, message in (("ordered_from=2026-13-45", "日付は 2026-11-01 の形式で入力してください。"),
                           ("ordered_from=2026-11-05&ordered_to=2026-11-01", "開始日より後の日付を指定してください。"),
                           ("status=shipped_to_mars", "選択肢から選んでください。"),
                           ("shop_id=abc", "選択肢から選んでください。"),
                           ("phone=abc", "電話番号は数字で入力してください"),
                           ("mall_order_number=" + "9" * 65, "64 文字以内で入力してください。")):
        response = staff_client.get(f"/search?{query}")
        assert response.status_code == 200, query
        assert message in response.text and 'aria-invalid="true"' in response.text, query
        assert 'id="order-rows"' not in response.text
    assert staff_client.get("/search?name=x&cursor=garbage").status_code == 302


def test_r14_another_accounts_orders_shops_and_tags_are_never_found(staff_client, client, tenant, other_tenant):
    create_order(client, other_tenant, number="S-THEIRS")
    their_tag = client.post("/api/v1/tags", json={"name": "よそ"}, headers=other_tenant.headers()).json
    assert _found(staff_client, mall_order_number="S-THEIRS", include_deleted=1) == []
    assert _found(staff_client, name="ヤマダ") == []
    assert "選択肢から選んでください。" in staff_client.get(f"/search?shop_id={other_tenant.shop_id}").text
    assert "選択肢から選んでください。" in staff_client.get(f"/search?tag={their_tag['id']}").text


def test_results_reuse_the_list_rows_with_inline_actions_and_htmx_gets_the_results_only(staff_client, client, tenant):
    order = create_order(client, tenant, number="S-ROW")
    page = staff_client.get("/search?mall_order_number=S-ROW").text
    row = re.search(rf'<tr id="order-{order["id"]}".*?</tr>', page, re.S).group(0)
    assert f"/orders/{order['id']}/cancel?version=" in row and f"/orders/{order['id']}/delete?version=" in row
    assert f'href="/orders/{order["id"]}"' in row
    fragment = staff_client.get("/search?mall_order_number=S-ROW", headers=HTMX)
    assert "HX-Request" in fragment.headers["Vary"]
    assert "<html" not in fragment.text and 'id="order-rows"' in fragment.text and "search-form" not in fragment.text


def test_a_buyer_named_like_a_script_stays_text(staff_client, client, tenant):
    create_order(client, tenant, number="S-XSS", buyer=_buyer(name="<script>alert(1)</script>"))
    page = staff_client.get("/search?mall_order_number=S-XSS").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    echoed = staff_client.get("/search", query_string={"name": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in echoed


def test_with_a_shop_chosen_in_the_header_the_attention_badge_searches_that_shop(staff_client, client, tenant):
    staff_client.post("/shop-filter", data={"shop_id": tenant.shop_id, "csrf_token": staff_client.csrf})
    page = staff_client.get("/search").text
    assert re.search(rf'<a id="attention"[^>]*href="/search\?attention=1&amp;shop_id={tenant.shop_id}"', page)
    chosen = staff_client.get(f"/search?attention=1&shop_id={tenant.shop_id}").text
    assert re.search(rf'<option selected value="{tenant.shop_id}"|<option value="{tenant.shop_id}" selected', chosen)


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_both_roles_may_search(app, client, tenant, role):
    from tests.conftest import login

    signed_in = login(app.test_client(), tenant.staff_email if role == "staff" else tenant.admin_email)
    create_order(client, tenant, number=f"S-ROLE-{role}")
    assert _numbers(signed_in.get(f"/search?mall_order_number=S-ROLE-{role}").text) == [f"S-ROLE-{role}"]


def test_in_english_the_status_choices_are_english(staff_client):
    staff_client.post("/lang/en", data={"csrf_token": staff_client.csrf})
    page = staff_client.get("/search?status=completed").text
    assert re.search(r'<option selected value="completed">Completed|<option value="completed" selected>Completed', page)


def test_a_bad_date_is_refused_with_its_message_and_its_input_keeps_what_was_typed(staff_client, client, tenant):
    create_order(client, tenant, number="S-TYPED")
    page = staff_client.get("/search?ordered_from=2026-13-45&ordered_to=2026/11/30").text
    assert re.search(r'<input type="text" id="ordered_from" name="ordered_from" value="2026-13-45" aria-label="[^"]+"\s*'
                     r'aria-invalid="true" aria-describedby="ordered_from-error">', page)
    assert '<span id="ordered_from-error" class="field-error">開始日: 日付は 2026-11-01 の形式で入力してください。</span>' in page
    assert re.search(r'<input type="date" id="ordered_to" name="ordered_to" value="2026-11-30"', page)  # as it reads it
    assert 'id="order-rows"' not in page
