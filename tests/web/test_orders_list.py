"""注文一覧 in the browser app: tabs, rows, inline cancel/delete over htmx, bulk, and the guards."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from boss.extensions import db
from boss.orders.models import Order
from tests.conftest import login
from tests.factories import (bulk_dialog, create_order, create_product, fail_reflection, map_item, set_request_state,
                             set_rms_connection, set_state)

HTMX = {"HX-Request": "true"}


def _post(client, path, data=None, htmx=True, **headers):
    data = {"csrf_token": client.csrf, **(data or {})}
    return client.post(path, data=data, headers={**(HTMX if htmx else {}), **headers})


def test_signed_out_visitors_are_sent_to_the_login_form(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    form = client.get("/login").text
    assert 'name="email"' in form and 'name="password"' in form and 'type="submit"' in form


def test_the_list_is_a_full_page_and_its_partial_for_htmx_from_one_url(staff_client, client, tenant):
    create_order(client, tenant, number="LIST-1")
    page = staff_client.get("/orders")
    fragment = staff_client.get("/orders", headers=HTMX)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.text and "LIST-1" in page.text
    assert "<html" not in fragment.text and "LIST-1" in fragment.text and 'id="status-tabs"' in fragment.text
    rows = staff_client.get("/orders", headers={**HTMX, "HX-Target": "order-rows"})
    assert rows.text.lstrip().startswith("<tr") and "LIST-1" in rows.text


def test_tabs_show_counts_per_status_and_the_list_filters_by_tab(staff_client, client, tenant, app):
    waiting = create_order(client, tenant, number="TAB-WAIT")
    done = create_order(client, tenant, number="TAB-DONE")
    set_state(app, done["id"], "completed", "shipped")
    page = staff_client.get("/orders?status=completed").text
    assert "TAB-DONE" in page and "TAB-WAIT" not in page
    assert 'aria-current="page"' in page
    assert "確認待 <span class=\"count\">1</span>" in " ".join(page.split())
    assert waiting["status"] == "awaiting_confirmation"


def test_r8_deleted_orders_never_appear_in_the_list_or_its_counts(staff_client, client, tenant):
    order = create_order(client, tenant, number="GONE-1")
    client.delete(f"/api/v1/orders/{order['id']}", headers=tenant.headers())
    page = staff_client.get("/orders").text
    assert "GONE-1" not in page
    assert "すべて <span class=\"count\">0</span>" in " ".join(page.split())


def test_r1_inline_cancel_swaps_the_row_with_its_new_state_and_a_message(staff_client, client, tenant):
    order = create_order(client, tenant, number="INLINE-C")
    dialog = staff_client.get(f"/orders/{order['id']}/cancel?version={order['version']}", headers=HTMX).text
    assert "キャンセルは取り消せません" in dialog and "INLINE-C" in dialog and "キャンセルする" in dialog
    assert 'value="10" selected' in dialog
    response = _post(staff_client, f"/orders/{order['id']}/cancel", {"version": order["version"], "reason_code": "8"})
    assert response.status_code == 200
    assert f'id="order-{order["id"]}"' in response.text and "キャンセル</span>" in response.text
    assert "注文「INLINE-C」をキャンセルしました。" in response.text
    assert 'hx-swap-oob="true"' in response.text  # tabs and 要対応 refreshed out of band
    fresh = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert fresh["status"] == "cancelled" and fresh["cancel_reason_code"] == 8


def test_r2_inline_delete_replaces_the_row_with_a_notice(staff_client, client, tenant):
    order = create_order(client, tenant, number="INLINE-D")
    dialog = staff_client.get(f"/orders/{order['id']}/delete?version={order['version']}", headers=HTMX).text
    assert "詳細検索（削除済みを含む）で確認できます" in dialog and "削除する" in dialog
    response = _post(staff_client, f"/orders/{order['id']}/delete", {"version": order["version"]})
    assert response.status_code == 200 and 'class="gone"' in response.text and "INLINE-D" in response.text
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["deleted"] is True


def test_r2_a_refused_delete_is_shown_disabled_with_its_reason_never_hidden(staff_client, client, tenant):
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    order = create_order(client, tenant, number="MAPPED-1")
    row = staff_client.get("/orders", headers={**HTMX, "HX-Target": "order-rows"}).text
    reason = "商品がマッピングされているため削除できません（item-1）。キャンセルをご利用ください。"
    assert f'disabled title="{reason}" aria-describedby="delete-why-{order["id"]}"' in row
    assert f'<span id="delete-why-{order["id"]}" class="sr-only">{reason}</span>' in row


def _statements_of(app, client, path) -> tuple[int, str]:
    with app.app_context():
        engine = db.engine
    seen = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731 — (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        text = client.get(path).text
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(seen), text


def test_a_list_page_costs_the_same_statements_however_many_rows_lines_and_tags_it_shows(staff_client, client, tenant, app):
    create_product(client, tenant, "SKU-1")
    map_item(client, tenant, "item-1", "SKU-1")
    tag = client.post("/api/v1/tags", json={"name": "要確認", "color": "#aa3300", "holds": True}, headers=tenant.headers()).json
    first = create_order(client, tenant, number="ROWS-1")
    client.post(f"/api/v1/orders/{first['id']}/tags/{tag['id']}", headers=tenant.headers())
    one, _page = _statements_of(app, staff_client, "/orders")
    for n in range(2, 13):
        order = create_order(client, tenant, number=f"ROWS-{n}", lines=[
            {"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1200},
            {"mall_item_id": f"free-{n}", "name": "番茶", "quantity": 1, "unit_price": 800}])
        client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())
    twelve, page = _statements_of(app, staff_client, "/orders")
    assert twelve == one
    # the rows still show each order's tags and decide with its lines (R2: mapped lines refuse a delete)
    assert page.count('title="要確認 (保留)"') == 12
    assert "商品がマッピングされているため削除できません（item-1）" in page


WAREHOUSE_NOTICE = "倉庫へキャンセル連絡を自動で送ります。"
RELEASE = "引当済みの在庫を解放します。"
NO_STOCK_BACK = "在庫は自動では戻りません。"


@pytest.mark.parametrize("status, shipment_status, reserve, promised, not_promised", [
    ("confirmed", None, False, (), (WAREHOUSE_NOTICE, RELEASE, NO_STOCK_BACK)),
    # no warehouse connection (warehouse.md §1): the notice has nowhere to go, none is promised
    ("awaiting_shipment", "requested", True, (RELEASE,), (WAREHOUSE_NOTICE, NO_STOCK_BACK)),
    # R11: 出荷不可 leaves the warehouse nothing to withdraw; a 完了 order's notice is the parcel checkbox's
    ("shipping_in_progress", "not_shippable", False, (), (WAREHOUSE_NOTICE, RELEASE, NO_STOCK_BACK)),
    ("completed", "shipped", False, (NO_STOCK_BACK,), (WAREHOUSE_NOTICE, RELEASE)),
])
def test_r10_r11_the_cancel_dialog_promises_what_the_cancel_sets_off_and_nothing_else(
        staff_client, client, tenant, app, status, shipment_status, reserve, promised, not_promised):
    create_product(client, tenant)
    map_item(client, tenant)
    order = create_order(client, tenant)
    set_state(app, order["id"], status, shipment_status, reserve=reserve)
    dialog = staff_client.get(f"/orders/{order['id']}/cancel", headers=HTMX).text
    assert "キャンセルする" in dialog
    assert all(text in dialog for text in promised) and not any(text in dialog for text in not_promised)


STOP_SEND = "出荷依頼はまだ倉庫へ送信されていないため、送信を取りやめます"
NO_CONNECTION = "倉庫が接続されていないため、キャンセルを倉庫へ連絡できません。"


@pytest.mark.parametrize("connected, request_state, promised, not_promised", [
    (True, "sent", (WAREHOUSE_NOTICE, RELEASE), (STOP_SEND, NO_CONNECTION)),
    (True, "pending", (STOP_SEND, RELEASE), (WAREHOUSE_NOTICE, NO_CONNECTION)),
    (True, "failed", (STOP_SEND, RELEASE), (WAREHOUSE_NOTICE, NO_CONNECTION)),
    (False, "sent", (NO_CONNECTION, RELEASE), (WAREHOUSE_NOTICE, STOP_SEND)),
])
def test_r11_the_cancel_dialog_of_an_awaiting_shipment_order_says_whether_the_warehouse_is_told(
        staff_client, client, tenant, app, connected, request_state, promised, not_promised):
    create_product(client, tenant)
    map_item(client, tenant)
    order = create_order(client, tenant)
    set_state(app, order["id"], "awaiting_shipment", "requested", reserve=True)
    set_request_state(app, order["id"], request_state)
    if connected:
        response = client.patch("/api/v1/warehouse", json={"api_key": "wk-dialog"}, headers=tenant.headers("admin"))
        assert response.status_code == 200
    dialog = staff_client.get(f"/orders/{order['id']}/cancel", headers=HTMX).text
    assert all(text in dialog for text in promised) and not any(text in dialog for text in not_promised)


@pytest.mark.parametrize("shipment_status, reason", [
    ("shipping", "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。"),
    ("withdrawal_requested", "出荷取下げの回答待ちです。出荷不可になるとキャンセルできます。"),
])
def test_r1_cancel_in_shipping_in_progress_is_disabled_with_the_reason(staff_client, client, tenant, app, shipment_status, reason):
    order = create_order(client, tenant)
    set_state(app, order["id"], "shipping_in_progress", shipment_status)
    row = staff_client.get("/orders", headers={**HTMX, "HX-Target": "order-rows"}).text
    assert f'disabled title="{reason}"' in row
    refused = _post(staff_client, f"/orders/{order['id']}/cancel", {"version": "2"})
    assert refused.status_code == 409 and reason in refused.text


def test_r13_a_stale_row_gets_the_conflict_message_and_its_fresh_state(staff_client, client, tenant):
    order = create_order(client, tenant, number="STALE-1")
    tag = client.post("/api/v1/tags", json={"name": "確認中"}, headers=tenant.headers()).json
    client.post(f"/api/v1/orders/{order['id']}/tags/{tag['id']}", headers=tenant.headers())  # someone else acts
    response = _post(staff_client, f"/orders/{order['id']}/cancel", {"version": order["version"]})
    assert response.status_code == 409
    assert "注文「STALE-1」は他の操作で更新されました。最新の状態を表示しています。もう一度操作してください。" in response.text
    assert "確認中" in response.text  # the fresh row shows the other change
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["status"] == "awaiting_confirmation"


def test_r3_a_second_cancel_of_the_same_row_is_refused_with_the_reason(staff_client, client, tenant):
    order = create_order(client, tenant)
    assert _post(staff_client, f"/orders/{order['id']}/cancel", {}).status_code == 200
    again = _post(staff_client, f"/orders/{order['id']}/cancel", {})
    assert again.status_code == 409 and "キャンセル済みの注文です。キャンセルは取り消せません。" in again.text


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(staff_client, client, tenant):
    order = create_order(client, tenant)
    response = staff_client.post(f"/orders/{order['id']}/cancel", data={"version": order["version"]}, headers=HTMX)
    assert response.status_code == 400
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["status"] == "awaiting_confirmation"


def test_r14_an_order_of_another_account_answers_404_on_every_page_and_action(app, client, tenant, other_tenant):
    theirs = create_order(client, other_tenant, number="THEIRS-1")
    mine = login(app.test_client(), tenant.staff_email)
    assert "THEIRS-1" not in mine.get("/orders").text
    assert mine.get(f"/orders/{theirs['id']}/cancel", headers=HTMX).status_code == 404
    assert mine.get(f"/orders/{theirs['id']}/delete", headers=HTMX).status_code == 404
    assert _post(mine, f"/orders/{theirs['id']}/cancel").status_code == 404
    assert _post(mine, f"/orders/{theirs['id']}/delete").status_code == 404
    assert client.get(f"/api/v1/orders/{theirs['id']}", headers=other_tenant.headers()).json["status"] == "awaiting_confirmation"


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_both_roles_may_cancel_and_delete_orders(app, client, tenant, role):
    user = login(app.test_client(), tenant.staff_email if role == "staff" else tenant.admin_email)
    order = create_order(client, tenant)
    assert _post(user, f"/orders/{order['id']}/delete", {"version": order["version"]}).status_code == 200


def test_user_supplied_text_is_escaped(staff_client, client, tenant):
    create_order(client, tenant, number="<b>N</b>", buyer={"name": "<script>alert(1)</script>"})
    page = staff_client.get("/orders").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>N</b>" not in page


def test_bulk_cancel_reports_per_order_what_was_done_and_what_was_refused(staff_client, client, tenant, app):
    ok = [create_order(client, tenant, number=f"BULK-{i}") for i in range(3)]
    busy = create_order(client, tenant, number="BULK-BUSY")
    set_state(app, busy["id"], "shipping_in_progress", "shipping")
    ids = [o["id"] for o in ok] + [busy["id"]]
    dialog, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "cancel", "order_ids": ids})
    assert "4 件の注文" in dialog.text and "キャンセルする" in dialog.text
    result = _post(staff_client, "/orders/bulk", {"action": "cancel", "selection": chosen, "reason_code": "10"})
    text = " ".join(result.text.split())
    assert "完了 3 件" in text and "できなかった注文 1 件" in text
    assert "BULK-BUSY" in text and "出荷作業中のためキャンセルできません" in text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order).where(Order.status == "cancelled")) == 3
        db.session.remove()


def test_bulk_over_the_threshold_answers_a_self_polling_progress_bar(staff_client, client, tenant, app, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 2)
    ids = [create_order(client, tenant)["id"] for _ in range(3)]
    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "delete", "order_ids": ids})
    response = _post(staff_client, "/orders/bulk", {"action": "delete", "selection": chosen})
    assert "<progress" in response.text and 'hx-trigger="load delay:500ms"' in response.text
    job_url = response.text.split('hx-get="')[1].split('"')[0]
    assert staff_client.get(job_url, headers=HTMX).status_code == 200


def test_select_all_matching_counts_the_tab_and_bulk_acts_on_the_whole_filter(staff_client, client, tenant, app):
    for i in range(4):
        create_order(client, tenant, number=f"ALL-{i}")
    kept = create_order(client, tenant, number="ALL-KEPT")
    set_state(app, kept["id"], "confirmed")
    assert staff_client.get("/orders/matching-count?status=awaiting_confirmation").json == {"count": 4, "over_limit": False}
    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm",
                            {"action": "delete", "all_matching": "1", "status": "awaiting_confirmation"})
    result = _post(staff_client, "/orders/bulk", {"action": "delete", "selection": chosen})
    assert "完了 4 件" in " ".join(result.text.split())
    assert client.get(f"/api/v1/orders/{kept['id']}", headers=tenant.headers()).json["deleted"] is False


def test_r9_the_list_filters_on_mall_reflection_error_and_offers_a_bulk_retry(staff_client, client, tenant, app):
    failed = create_order(client, tenant, number="RF-FAILED")
    create_order(client, tenant, number="RF-OTHER")
    client.post(f"/api/v1/orders/{failed['id']}/cancel", json={}, headers=tenant.headers())
    fail_reflection(app, failed["id"])
    page = staff_client.get("/orders?tag=mall_reflection_error").text
    assert "RF-FAILED" in page and "RF-OTHER" not in page and "件を再反映" in page
    _, chosen = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "retry_reflection", "order_ids": [failed["id"]]})
    result = _post(staff_client, "/orders/bulk", {"action": "retry_reflection", "selection": chosen})
    assert "完了 1 件" in " ".join(result.text.split())
    assert client.get(f"/api/v1/orders/{failed['id']}", headers=tenant.headers()).json["mall_reflection"]["state"] == "pending"


def test_r9_the_order_page_offers_a_retry_of_a_failed_reflection(staff_client, client, tenant, app):
    order = create_order(client, tenant, number="RF-DETAIL")
    client.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
    fail_reflection(app, order["id"])
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "ERROR_102" in page and "再反映" in page
    response = staff_client.post(f"/orders/{order['id']}/retry-reflection", data={"csrf_token": staff_client.csrf})
    assert response.status_code == 303
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["mall_reflection"]["state"] == "pending"
    again = staff_client.post(f"/orders/{order['id']}/retry-reflection", data={"csrf_token": staff_client.csrf},
                              follow_redirects=True)
    assert "反映に失敗した注文のみ再反映できます。" in again.text


def test_the_attention_badge_counts_a_shop_whose_connection_fails_on_pages_and_after_an_action(staff_client, client, tenant, app):
    order = create_order(client, tenant, number="BADGE-1")
    with app.app_context():
        set_rms_connection(tenant.shop_id, error="ES04-01")
        db.session.commit()
        db.session.remove()
    assert '要対応 <b>1</b>' in staff_client.get("/orders").text
    response = _post(staff_client, f"/orders/{order['id']}/cancel", {"version": order["version"]})
    assert response.status_code == 200 and '要対応 <b>1</b>' in response.text
    other = client.post("/api/v1/shops", json={"name": "二号店", "mall": "yahoo"}, headers=tenant.headers("admin")).json
    staff_client.post("/shop-filter", data={"shop_id": other["id"], "csrf_token": staff_client.csrf})
    assert '要対応 <b>0</b>' in staff_client.get("/orders").text


@pytest.mark.parametrize("how", ["list cancel", "list delete", "detail confirm", "detail add tag", "detail retry"])
def test_r13_a_form_version_that_is_not_a_number_is_refused_and_changes_nothing(how, staff_client, client, tenant, app):
    """Issue 11 item 11: `version=abc` was ignored (the action went through unchecked); it is refused now."""
    order = create_order(client, tenant, number="VERSION-ABC")
    tag = client.post("/api/v1/tags", json={"name": "要確認"}, headers=tenant.headers()).json
    if how == "detail retry":
        client.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=tenant.headers())
        fail_reflection(app, order["id"])
    before = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    path, data = {
        "list cancel": (f"/orders/{order['id']}/cancel", {"reason_code": "10"}),
        "list delete": (f"/orders/{order['id']}/delete", {}),
        "detail confirm": (f"/orders/{order['id']}/confirm", {}),
        "detail add tag": (f"/orders/{order['id']}/tags", {"tag_id": tag["id"]}),
        "detail retry": (f"/orders/{order['id']}/retry-reflection", {}),
    }[how]
    response = _post(staff_client, path, {**data, "version": "abc"})
    assert response.status_code in (303, 422)
    shown = staff_client.get(f"/orders/{order['id']}").text if response.status_code == 303 else response.text
    assert "画面の版数（version）が正しくありません" in shown
    after = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert {k: after[k] for k in ("status", "deleted", "tags", "version", "mall_reflection")} == {
        k: before[k] for k in ("status", "deleted", "tags", "version", "mall_reflection")}
