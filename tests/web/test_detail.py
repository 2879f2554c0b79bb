"""注文詳細: what the page shows, its history (R12), tags, and the actions allowed now, with their guards."""
from __future__ import annotations

import re

import pytest

from boss.extensions import db
from boss.orders import frame
from boss.orders.actor import Actor
from boss.orders.models import Order
from boss.outbox import commit_and_dispatch
from tests.conftest import login
from tests.factories import create_order, create_product, map_item, set_state

HTMX = {"HX-Request": "true"}


def _post(client, path, data=None, htmx=False):
    return client.post(path, data={"csrf_token": client.csrf, **(data or {})}, headers=HTMX if htmx else {})


def _api_order(client, tenant, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers()).json


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _create_tag(client, tenant, name, holds=False):
    response = client.post("/api/v1/tags", json={"name": name, "holds": holds, "color": "#16a085"}, headers=tenant.headers())
    assert response.status_code == 201, response.json
    return response.json


def _raise_system_tag(app, order_id, code):
    with app.app_context():
        order = db.session.get(Order, order_id)
        frame.raise_system_tag(order, code, Actor.system(order.account_id, "楽天RMS取込"))
        commit_and_dispatch()
        db.session.remove()


def test_the_detail_is_a_full_page_and_its_partial_for_htmx_from_one_url(staff_client, client, tenant):
    order = create_order(client, tenant, number="DET-1")
    page = staff_client.get(f"/orders/{order['id']}")
    fragment = staff_client.get(f"/orders/{order['id']}", headers=HTMX)
    assert page.status_code == fragment.status_code == 200
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.text and "DET-1" in page.text and 'id="order-detail"' in page.text
    assert "<html" not in fragment.text and "DET-1" in fragment.text and "履歴" in fragment.text


def test_the_page_shows_buyer_recipient_payment_remarks_delivery_and_lines(staff_client, client, tenant):
    create_product(client, tenant, "SKU-TEA")
    map_item(client, tenant, "item-tea", "SKU-TEA")
    order = create_order(
        client, tenant, number="DET-ALL",
        recipient={"name": "鈴木 一郎", "name_kana": "スズキ イチロウ", "postal_code": "100-0001", "address": "東京都千代田区千代田1-1"},
        payment_method="クレジットカード", remarks="のし紙をお願いします",
        lines=[{"mall_item_id": "item-tea", "name": "煎茶", "quantity": 2, "unit_price": 1200},
               {"mall_item_id": "item-cup", "sub_code": "blue", "name": "湯呑み", "quantity": 1, "unit_price": 3300}])
    text = _text(staff_client.get(f"/orders/{order['id']}").text)
    for expected in ("山田 花子", "ヤマダ ハナコ", "03-1234-5678", "hanako@example.jp",
                     "鈴木 一郎", "スズキ イチロウ", "100-0001", "東京都千代田区千代田1-1",
                     "クレジットカード", "のし紙をお願いします", "お届け希望日", "お届け時間帯",
                     "SKU-TEA", "item-cup / blue", "未マッピング", "¥2,400", "¥5,700", "確認待"):
        assert expected in text, expected


def test_an_unmapped_line_links_to_the_mapping_page_and_confirm_is_disabled_with_the_reason(staff_client, client, tenant):
    order = create_order(client, tenant, number="DET-UNMAPPED")
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "未マッピング" in page and 'href="/mapping"' in page
    button = re.search(r'<button[^>]*disabled[^>]*>確認</button>', page).group(0)
    assert "商品がマッピングされていない明細があるため確認できません（item-1）" in button
    assert 'aria-describedby="confirm-why"' in button and 'id="confirm-why"' in page


def test_confirm_from_the_detail_page_redirects_back_with_the_new_status(staff_client, client, tenant):
    create_product(client, tenant)
    map_item(client, tenant)
    order = create_order(client, tenant, number="DET-CONF")
    response = _post(staff_client, f"/orders/{order['id']}/confirm", {"version": order["version"]})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order['id']}")
    page = _text(staff_client.get(f"/orders/{order['id']}").text)
    assert "注文「DET-CONF」を確認済にしました。" in page and "確認 確認待 → 確認済" in page
    assert _api_order(client, tenant, order["id"])["status"] == "confirmed"


def test_r13_a_stale_confirm_is_refused_with_the_conflict_message(staff_client, client, tenant):
    create_product(client, tenant)
    map_item(client, tenant)
    order = create_order(client, tenant, number="DET-STALE")
    _post(staff_client, f"/orders/{order['id']}/confirm", {"version": order["version"] - 1})
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "注文「DET-STALE」は他の操作で更新されました。最新の状態を表示しています。もう一度操作してください。" in page
    assert _api_order(client, tenant, order["id"])["status"] == "awaiting_confirmation"


def test_cancel_and_delete_open_the_list_dialogs_in_detail_mode(staff_client, client, tenant):
    order = create_order(client, tenant, number="DET-DLG")
    page = staff_client.get(f"/orders/{order['id']}").text
    assert f"/orders/{order['id']}/cancel?version={order['version']}&amp;target=detail" in page
    assert f"/orders/{order['id']}/delete?version={order['version']}&amp;target=detail" in page
    dialog = staff_client.get(f"/orders/{order['id']}/delete?version={order['version']}&target=detail", headers=HTMX).text
    assert 'name="target" value="detail"' in dialog and "hx-post" not in dialog


def test_r2_delete_from_the_detail_page_redirects_303_to_the_list_with_a_message(staff_client, client, tenant):
    order = create_order(client, tenant, number="DET-DEL")
    response = _post(staff_client, f"/orders/{order['id']}/delete", {"version": order["version"], "target": "detail"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/orders")
    listing = staff_client.get("/orders").text
    assert "注文「DET-DEL」を削除しました。詳細検索（削除済みを含む）で確認できます。" in listing
    assert _api_order(client, tenant, order["id"])["deleted"] is True


def test_r1_cancel_from_the_detail_page_comes_back_to_it_showing_the_cancel(staff_client, client, tenant):
    order = create_order(client, tenant, number="DET-CAN")
    response = _post(staff_client, f"/orders/{order['id']}/cancel",
                     {"version": order["version"], "target": "detail", "reason_code": "8"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order['id']}")
    text = _text(staff_client.get(f"/orders/{order['id']}").text)
    assert "注文「DET-CAN」をキャンセルしました。" in text and "キャンセル済" in text and "ショップ都合（欠品）" in text


@pytest.mark.parametrize("shipment_status, reason", [
    ("shipping", "出荷作業中のためキャンセルできません。"),
    ("withdrawal_requested", "出荷取下げの回答待ちです。"),
])
def test_r1_a_refused_cancel_is_disabled_with_its_reason(staff_client, client, tenant, app, shipment_status, reason):
    order = create_order(client, tenant, number="DET-SHIP")
    set_state(app, order["id"], "shipping_in_progress", shipment_status)
    page = staff_client.get(f"/orders/{order['id']}").text
    button = re.search(r'<button[^>]*act-cancel[^>]*>', page).group(0)
    assert "disabled" in button and reason in button and 'aria-describedby="cancel-why"' in button
    assert re.search(r'<span id="cancel-why">' + reason, page)  # written under the buttons or in the notice below
    assert "出荷中" in page or "取下げ依頼中" in page  # the shipment is listed


def test_r8_a_deleted_order_is_read_only_and_marked_deleted(staff_client, client, tenant):
    tag = _create_tag(client, tenant, "ギフト")
    order = create_order(client, tenant, number="DET-GONE")
    client.delete(f"/api/v1/orders/{order['id']}", headers=tenant.headers())
    page = staff_client.get(f"/orders/{order['id']}").text
    text = _text(page)
    assert "削除済" in text and "この注文は削除されています。" in text and "が削除しました。" in text
    assert "/cancel?" not in page and "/delete?" not in page and "/confirm" not in page
    assert f"/orders/{order['id']}/tags" not in page and ">外す<" not in page
    assert tag["name"] not in page  # nothing to pick for adding


def test_r8_every_action_on_a_deleted_order_is_refused_with_the_reason(staff_client, client, tenant):
    tag = _create_tag(client, tenant, "ギフト")
    order = create_order(client, tenant, number="DET-GONE2")
    version = client.delete(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["version"]
    for path, data in ((f"/orders/{order['id']}/cancel", {"target": "detail"}),
                       (f"/orders/{order['id']}/confirm", {}),
                       (f"/orders/{order['id']}/tags", {"tag_id": tag["id"]})):
        response = _post(staff_client, path, {"version": version, **data})
        assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order['id']}")
        assert "削除済みの注文は操作できません。" in staff_client.get(f"/orders/{order['id']}").text
    refused = _post(staff_client, f"/orders/{order['id']}/tags", {"version": version, "tag_id": tag["id"]}, htmx=True)
    assert refused.status_code == 409 and "削除済みの注文は操作できません。" in refused.text
    fresh = _api_order(client, tenant, order["id"])
    assert fresh["status"] == "awaiting_confirmation" and fresh["version"] == version
    assert "ギフト" not in [t["name"] for t in fresh["tags"]]


def test_r12_the_history_lists_every_event_oldest_first_in_japan_time(staff_client, client, tenant, app):
    tag = _create_tag(client, tenant, "電話確認", holds=True)
    order = create_order(client, tenant, number="DET-HIST")
    client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    client.delete(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason_code": 1}, headers=tenant.headers())
    events = client.get(f"/api/v1/orders/{order['id']}/events", headers=tenant.headers()).json["items"]
    assert len(events) >= 4
    page = staff_client.get(f"/orders/{order['id']}").text
    history = page[page.index('id="h-history"'):]
    rows = re.findall(r'<tr class="ev-([a-z_]+)">(.*?)</tr>', history, re.S)
    assert [kind for kind, _ in rows] == [e["kind"] for e in events]
    for (kind, row), event in zip(rows, events):
        shown = _text(row)
        assert event["at"][:16].replace("-", "/").replace("T", " ") in shown  # 2026/11/27 14:05, +09:00
        assert event["actor"]["name"] in shown and event["message"] in shown
    cancelled = _text(rows[-1][1])
    assert "キャンセル" in cancelled and "確認待 → キャンセル" in cancelled and "購入者都合（キャンセル）" in cancelled


def test_adding_and_removing_a_custom_tag_swaps_the_order_part_with_a_message(staff_client, client, tenant):
    tag = _create_tag(client, tenant, "要確認", holds=True)
    order = create_order(client, tenant, number="DET-TAG")
    page = staff_client.get(f"/orders/{order['id']}").text
    assert f'<option value="{tag["id"]}">要確認' in page
    added = _post(staff_client, f"/orders/{order['id']}/tags", {"tag_id": tag["id"], "version": order["version"]}, htmx=True)
    assert added.status_code == 200 and "<html" not in added.text
    assert "タグ「要確認」を追加しました。" in added.text and 'hx-swap-oob="true"' in added.text
    assert "保留タグ" in added.text and "タグ追加" in added.text  # its meaning, and the history row
    fresh = _api_order(client, tenant, order["id"])
    assert "要確認" in [t["name"] for t in fresh["tags"]]
    removed = _post(staff_client, f"/orders/{order['id']}/tags/{tag['id']}/remove", {"version": fresh["version"]}, htmx=True)
    assert removed.status_code == 200 and "タグ「要確認」を外しました。" in removed.text
    assert "要確認" not in [t["name"] for t in _api_order(client, tenant, order["id"])["tags"]]


def test_without_htmx_a_tag_change_redirects_back_to_the_page(staff_client, client, tenant):
    tag = _create_tag(client, tenant, "ギフト")
    order = create_order(client, tenant, number="DET-TAG-PLAIN")
    response = _post(staff_client, f"/orders/{order['id']}/tags", {"tag_id": tag["id"], "version": order["version"]})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order['id']}")
    assert "タグ「ギフト」を追加しました。" in staff_client.get(f"/orders/{order['id']}").text


def test_a_user_removable_system_tag_can_be_removed_and_the_others_cannot(staff_client, client, tenant, app):
    order = create_order(client, tenant, number="DET-SYS")  # manual: 「モール出荷連携なし」
    _raise_system_tag(app, order["id"], "multiple_destinations")
    fresh = _api_order(client, tenant, order["id"])
    tags = {t["code"]: t for t in fresh["tags"]}
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "送付先が複数あります。確認後にタグを外してください。" in page  # the meaning
    assert f"/tags/{tags['multiple_destinations']['id']}/remove" in page
    assert f"/tags/{tags['not_mall_linked']['id']}/remove" not in page
    refused = _post(staff_client, f"/orders/{order['id']}/tags/{tags['not_mall_linked']['id']}/remove",
                    {"version": fresh["version"]}, htmx=True)
    assert refused.status_code == 409 and "手動で外せません" in refused.text
    removed = _post(staff_client, f"/orders/{order['id']}/tags/{tags['multiple_destinations']['id']}/remove",
                    {"version": fresh["version"]}, htmx=True)
    assert removed.status_code == 200
    codes = [t["code"] for t in _api_order(client, tenant, order["id"])["tags"]]
    assert "multiple_destinations" not in codes and "not_mall_linked" in codes


def test_r13_a_stale_tag_change_shows_the_conflict_and_the_fresh_state(staff_client, client, tenant):
    tag = _create_tag(client, tenant, "ギフト")
    order = create_order(client, tenant, number="DET-TAG-STALE")
    response = _post(staff_client, f"/orders/{order['id']}/tags", {"tag_id": tag["id"], "version": order["version"] - 1}, htmx=True)
    assert response.status_code == 409
    assert "注文「DET-TAG-STALE」は他の操作で更新されました。最新の状態を表示しています。もう一度操作してください。" in response.text
    assert _api_order(client, tenant, order["id"])["tags"] == [t for t in order["tags"]]


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(staff_client, client, tenant):
    tag = _create_tag(client, tenant, "ギフト")
    order = create_order(client, tenant, number="DET-CSRF")
    for path, data in ((f"/orders/{order['id']}/tags", {"tag_id": tag["id"]}), (f"/orders/{order['id']}/confirm", {})):
        response = staff_client.post(path, data={"version": order["version"], **data}, headers=HTMX)
        assert response.status_code == 400
    assert _api_order(client, tenant, order["id"])["version"] == order["version"]


def test_r14_another_accounts_order_or_tag_answers_404(staff_client, client, tenant, other_tenant):
    theirs = create_order(client, other_tenant, number="THEIRS-DET")
    their_tag = _create_tag(client, other_tenant, "よそのタグ")
    mine = create_order(client, tenant, number="MINE-DET")
    assert staff_client.get(f"/orders/{theirs['id']}").status_code == 404
    assert staff_client.get(f"/orders/{theirs['id']}", headers=HTMX).status_code == 404
    assert _post(staff_client, f"/orders/{theirs['id']}/confirm", {"version": theirs["version"]}).status_code == 404
    assert _post(staff_client, f"/orders/{mine['id']}/tags", {"tag_id": their_tag["id"]}).status_code == 404
    assert _post(staff_client, f"/orders/{theirs['id']}/tags/{their_tag['id']}/remove").status_code == 404
    assert staff_client.get("/orders/99999999999").status_code == 404
    assert _api_order(client, other_tenant, theirs["id"])["version"] == theirs["version"]


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_both_roles_see_the_page_and_its_actions(app, client, tenant, role):
    signed_in = login(app.test_client(), tenant.staff_email if role == "staff" else tenant.admin_email)
    order = create_order(client, tenant, number=f"DET-{role}")
    page = signed_in.get(f"/orders/{order['id']}").text
    assert f"DET-{role}" in page and "/cancel?" in page and "/delete?" in page


def test_user_supplied_text_is_escaped(staff_client, client, tenant):
    order = create_order(client, tenant, number="DET-XSS", remarks="<b>bold</b>",
                         buyer={"name": "<script>alert(1)</script>", "phone": "03-1234-5678"})
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
