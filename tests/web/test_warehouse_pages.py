"""The warehouse's screens (warehouse.md §5): the order page's shipment panel and its buttons, 出荷一覧's columns,
filters and row actions, and the order list's bulk 出荷依頼. Through the test client; no redirect is followed.

The states the warehouse brings (sent, started, refused, shipped) are set on the shipment as its events would
leave it: the events themselves are tested end to end in tests/integration/test_warehouse_flow.py."""
from __future__ import annotations

import re
from datetime import date

import pytest

from boss.extensions import db
from boss.orders import frame
from boss.orders.actor import Actor
from boss.orders.models import Order
from tests.factories import bulk_dialog, create_order, create_product, map_item, set_state

HTMX = {"HX-Request": "true"}
RECIPIENT = {"name": "佐藤 一郎", "postal_code": "150-0001", "address": "東京都渋谷区神宮前1-1-1", "phone": "0312345678"}


@pytest.fixture
def house(client, tenant):
    """The account connected to a warehouse (the simulator's URL by default under BOSS_SANDBOX; no send is made
    here: there is no worker) with SKU-1 in stock, mapped from item-1."""
    response = client.patch("/api/v1/warehouse", json={"api_key": "key-screens-1234"}, headers=tenant.headers("admin"))
    assert response.status_code == 200, response.json
    create_product(client, tenant, "SKU-1", stock=10)
    map_item(client, tenant, "item-1", "SKU-1")


def confirmed(client, tenant, number=None, quantity=2, recipient=RECIPIENT) -> dict:
    order = create_order(client, tenant, number=number, recipient=recipient, lines=[
        {"mall_item_id": "item-1", "name": "煎茶", "quantity": quantity, "unit_price": 1200}])
    response = client.post(f"/api/v1/orders/{order['id']}/confirm", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def requested(client, tenant, **kwargs) -> dict:
    order = confirmed(client, tenant, **kwargs)
    response = client.post(f"/api/v1/orders/{order['id']}/request-shipment", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def warehouse_did(app, order_id: int, status=None, shipment_status=None, **shipment_fields) -> None:
    """Leave the order and its current shipment as the warehouse's events would."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        shipment = order.shipments[-1]
        if status:
            order.status = status
        if shipment_status:
            order.shipment_status = shipment.status = shipment_status
        for name, value in shipment_fields.items():
            setattr(shipment, name, value)
        db.session.commit()
        db.session.remove()


def post(web, path: str, **data):
    return web.post(path, data={"csrf_token": web.csrf, **data})


def panel(html: str) -> str:
    start = html.index('id="shipment-panel"')
    return html[start:html.index("</section>", start)]


def flashes(web) -> str:
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)<', web.get("/orders").text, re.S))


# ---------------------------------------------------------------- the order page

def test_a_confirmed_order_offers_shipping_request_and_the_post_requests_it(staff_client, client, tenant, house):
    order = confirmed(client, tenant)
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "出荷依頼はまだありません" in panel(page)
    assert f'action="/orders/{order["id"]}/request-shipment"' in panel(page)

    answer = post(staff_client, f"/orders/{order['id']}/request-shipment", version=order["version"])

    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/orders/{order['id']}")
    shown = staff_client.get(f"/orders/{order['id']}").text
    assert "出荷依頼しました" in shown
    assert "出荷依頼済" in panel(shown) and "送信待ち" in panel(shown)
    after = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert (after["status"], after["shipment_status"]) == ("awaiting_shipment", "requested")


def test_a_request_short_of_stock_is_refused_naming_each_sku(staff_client, client, tenant, house):
    order = confirmed(client, tenant, quantity=12)
    answer = post(staff_client, f"/orders/{order['id']}/request-shipment", version=order["version"])
    assert answer.status_code == 303
    shown = staff_client.get(f"/orders/{order['id']}").text
    assert "在庫が足りないため出荷依頼できません（SKU-1: 2点不足）" in shown
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["status"] == "confirmed"


def test_r13_a_stale_request_is_refused_with_the_conflict_message(staff_client, client, tenant, house):
    order = confirmed(client, tenant, number="SH-STALE")
    post(staff_client, f"/orders/{order['id']}/request-shipment", version=order["version"] - 1)
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "注文「SH-STALE」は他の操作で更新されました。最新の状態を表示しています。もう一度操作してください。" in page
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["status"] == "confirmed"


def test_without_a_warehouse_the_request_button_is_disabled_with_the_reason_under_it(staff_client, client, tenant):
    create_product(client, tenant, "SKU-1", stock=10)
    map_item(client, tenant, "item-1", "SKU-1")
    order = confirmed(client, tenant)
    shown = panel(staff_client.get(f"/orders/{order['id']}").text)
    assert re.search(r'<button type="button" class="primary" disabled aria-describedby="why-request">出荷依頼</button>', shown)
    assert '<p id="why-request" class="why">倉庫が接続されていないため出荷依頼できません' in shown


def test_an_order_awaiting_confirmation_shows_the_request_disabled_with_why(staff_client, client, tenant, house):
    order = create_order(client, tenant, lines=[{"mall_item_id": "nope", "name": "x", "quantity": 1,
                                                 "unit_price": 100}])
    shown = panel(staff_client.get(f"/orders/{order['id']}").text)
    assert 'disabled aria-describedby="why-request"' in shown and "確認済の注文です" in shown


def test_a_sent_request_shows_its_state_and_warehouse_id_and_offers_withdrawal(staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], request_state="sent", warehouse_id="WS-000123")
    shown = panel(staff_client.get(f"/orders/{order['id']}").text)
    assert "送信済み" in shown and "WS-000123" in shown
    assert f'action="/orders/{order["id"]}/request-withdrawal"' in shown
    # 出荷待ち can be cancelled directly: 取下げ後にキャンセル says so instead
    assert 'disabled aria-describedby="why-withdraw-then-cancel"' in shown
    assert "出荷待ちの注文はそのままキャンセルできます" in shown  # the rule of withdrawal.decide


def test_a_failed_request_shows_the_error_and_the_resend_resends_it(staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], request_state="failed", request_error="E102 郵便番号または住所が配送できません")
    page = staff_client.get(f"/orders/{order['id']}").text
    shown = panel(page)
    assert "送信エラー" in shown and "E102 郵便番号または住所が配送できません" in shown
    version = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["version"]

    answer = post(staff_client, f"/orders/{order['id']}/retry-shipping-request", version=version)

    assert answer.status_code == 303
    after = staff_client.get(f"/orders/{order['id']}").text
    assert "出荷依頼を再送しています" in after and "送信待ち" in panel(after)


def test_in_shipping_the_refused_cancel_offers_withdrawal_and_withdraw_then_cancel_right_there(
        staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "shipping_in_progress", "shipping", request_state="sent", warehouse_id="WS-9")
    page = staff_client.get(f"/orders/{order['id']}").text
    refused = page[page.index('id="cancel-refused"'):]
    refused = refused[:refused.index("</div>\n</div>") if "</div>\n</div>" in refused else 4000]
    assert "出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し" in refused
    assert f'action="/orders/{order["id"]}/request-withdrawal"' in refused
    assert f'hx-get="/orders/{order["id"]}/withdraw-then-cancel' in refused
    assert 'class="act-cancel" disabled' in page  # the direct cancel stays refused (R1)


def test_the_withdraw_then_cancel_dialog_asks_the_cancel_reason(staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "shipping_in_progress", "shipping", request_state="sent")
    dialog = staff_client.get(f"/orders/{order['id']}/withdraw-then-cancel", headers=HTMX).text
    assert f'action="/orders/{order["id"]}/request-withdrawal"' in dialog
    assert 'name="then_cancel" value="1"' in dialog and 'name="reason_code"' in dialog
    assert '<option value="10" selected>' in dialog and "購入者都合（キャンセル）" in dialog
    assert re.search(r"data-close-dialog autofocus>戻る", dialog)  # a destructive dialog opens on 戻る


def test_a_refused_shipment_shows_its_reason_and_each_short_line_and_offers_re_request(
        staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "shipping_in_progress", "not_shippable", request_state="sent",
                  reason="倉庫の在庫が不足しています", reason_code="R01",
                  short_lines=[{"sku": "SKU-1", "short": 2}, {"sku": "SKU-9", "short": 1}])
    shown = panel(staff_client.get(f"/orders/{order['id']}").text)
    assert "出荷不可" in shown and "R01" in shown and "倉庫の在庫が不足しています" in shown
    assert "SKU-1: 2点不足" in shown and "SKU-9: 1点不足" in shown
    assert "再出荷依頼" in shown and "出荷取下げ" not in shown
    with app.app_context():
        db.session.get(Order, order["id"]).stock_reserved = False  # the refusal released the reservation
        product = db.session.get(Order, order["id"]).lines[0].product
        product.reserved = 0
        db.session.commit()
        db.session.remove()
    version = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["version"]

    answer = post(staff_client, f"/orders/{order['id']}/request-shipment", version=version)

    assert answer.status_code == 303
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "再出荷依頼しました" in page
    shown = panel(page)
    assert "出荷依頼済" in shown and "以前の出荷" in shown and "倉庫の在庫が不足しています" in shown


def test_a_shipped_order_shows_carrier_every_parcel_and_ship_date(staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "completed", "shipped", request_state="sent", carrier="yamato",
                  tracking_number="1111-2222-3333", shipped_on=date(2026, 12, 5),
                  parcels=[{"carrier": "yamato", "tracking_number": "1111-2222-3333"},
                           {"carrier": "yamato", "tracking_number": "1111-2222-4444"}])
    shown = panel(staff_client.get(f"/orders/{order['id']}").text)
    assert "出荷完了" in shown and "ヤマト運輸" in shown
    assert "1111-2222-3333" in shown and "1111-2222-4444" in shown and "2026/12/05" in shown
    assert "<button" not in shown  # nothing left to do here


@pytest.mark.parametrize("notice,label", [("pending", "倉庫連絡待ち"), ("acknowledged", "受付済み"),
                                          ("refused", "キャンセル不可")])
def test_the_cancel_notice_state_is_shown(staff_client, client, tenant, house, app, notice, label):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "cancelled", request_state="sent", notice=notice)
    shown = panel(staff_client.get(f"/orders/{order['id']}").text)
    assert "キャンセル連絡" in shown and label in shown


def test_a_withdrawal_requested_shows_both_withdrawals_disabled_with_the_reason(
        staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "shipping_in_progress", "withdrawal_requested", request_state="sent")
    page = staff_client.get(f"/orders/{order['id']}").text
    shown = panel(page)
    assert 'disabled aria-describedby="why-withdraw"' in shown
    assert "既に出荷取下げを依頼しています" in shown
    assert "出荷取下げの回答待ちです" in page  # and the cancel says why it waits


def test_r14_shipping_actions_on_another_accounts_order_answer_404(staff_client, client, other_tenant):
    other = create_order(client, other_tenant)
    for path in ("request-shipment", "retry-shipping-request", "request-withdrawal", "retry-warehouse-notice"):
        assert post(staff_client, f"/orders/{other['id']}/{path}").status_code == 404
    assert staff_client.get(f"/orders/{other['id']}/withdraw-then-cancel").status_code == 404


def test_a_shipping_post_without_the_csrf_token_is_refused(staff_client, client, tenant, house):
    order = confirmed(client, tenant)
    assert staff_client.post(f"/orders/{order['id']}/request-shipment").status_code == 400
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["status"] == "confirmed"


# ---------------------------------------------------------------- 出荷一覧

def shipment_row(html: str, number: str) -> str:
    return next(row for row in re.findall(r'<tr id="shipment-\d+".*?</tr>', html, re.S) if f">{number}</a>" in row)


def tab_count(html: str, label: str) -> str:
    return re.search(label + r' <span class="count">([^<]+)</span>', " ".join(html.split())).group(1)


def shipped(app, client, tenant, number, carrier, on, tracking):
    order = requested(client, tenant, number=number, quantity=1)
    warehouse_did(app, order["id"], "completed", "shipped", request_state="sent", carrier=carrier,
                  tracking_number=tracking, shipped_on=on)
    return order


def test_a_row_shows_request_state_carrier_tracking_ship_date_and_the_refusal(staff_client, client, tenant, house, app):
    shipped(app, client, tenant, "SH-SHIPPED", "sagawa", date(2026, 12, 5), "4000-1111-2222")
    refused = requested(client, tenant, number="SH-REFUSED", quantity=1)
    warehouse_did(app, refused["id"], "shipping_in_progress", "not_shippable", request_state="sent",
                  reason="倉庫の在庫が不足しています", reason_code="R01", short_lines=[{"sku": "SKU-1", "short": 2}])
    page = staff_client.get("/shipments").text

    done = shipment_row(page, "SH-SHIPPED")
    assert "佐川急便" in done and "4000-1111-2222" in done and "2026/12/05" in done and "送信済み" in done
    assert f'href="/orders/{refused["id"]}"' in shipment_row(page, "SH-REFUSED")
    row = shipment_row(page, "SH-REFUSED")
    assert "R01" in row and "倉庫の在庫が不足しています" in row and "SKU-1: 2点不足" in row
    assert "再出荷依頼" in row and "出荷取下げ" not in row
    assert "再出荷依頼" not in done and "出荷取下げ" not in done


def test_the_list_filters_by_carrier_and_ship_date_and_the_tabs_count_under_the_filters(
        staff_client, client, tenant, house, app):
    shipped(app, client, tenant, "SH-YAMATO-1", "yamato", date(2026, 12, 1), "1")
    shipped(app, client, tenant, "SH-YAMATO-5", "yamato", date(2026, 12, 5), "2")
    shipped(app, client, tenant, "SH-SAGAWA-3", "sagawa", date(2026, 12, 3), "3")
    requested(client, tenant, number="SH-WAITING", quantity=1)

    def numbers(**query):
        html = staff_client.get("/shipments", query_string=query, headers=HTMX).text
        return sorted(re.findall(r'<td class="number"[^>]*><a [^>]*>([^<]+)</a>', html)), html

    assert numbers(carrier="yamato")[0] == ["SH-YAMATO-1", "SH-YAMATO-5"]
    assert numbers(shipped_from="2026-12-02", shipped_to="2026-12-05")[0] == ["SH-SAGAWA-3", "SH-YAMATO-5"]
    found, html = numbers(carrier="yamato", shipped_from="2026-12-02")
    assert found == ["SH-YAMATO-5"]
    assert tab_count(html, "すべて") == "1" and tab_count(html, "出荷依頼済") == "0"
    assert "carrier=yamato" in html.split('id="shipment-tabs"')[1].split("</nav>")[0]  # the tabs keep the filters
    found, html = numbers(shipped_from="12/02")
    assert len(found) == 4 and "日付は 2026-11-01 の形式で入力してください。" in html  # left out, and said
    assert re.search(r'<input type="text" name="shipped_from" value="12/02"[^>]*aria-invalid="true"', html)
    assert 'id="shipped_from-error"' in html  # the input keeps what was typed, with why next to it
    assert numbers(shipped_from="2026/12/02", shipped_to="2026/12/05")[0] == ["SH-SAGAWA-3", "SH-YAMATO-5"]
    assert numbers(carrier="nonsense")[0] == ["SH-SAGAWA-3", "SH-WAITING", "SH-YAMATO-1", "SH-YAMATO-5"]


def test_a_rows_re_request_answers_the_row_in_its_new_state_in_place(staff_client, client, tenant, house, app):
    order = requested(client, tenant, number="SH-AGAIN", quantity=1)
    warehouse_did(app, order["id"], "shipping_in_progress", "not_shippable", request_state="sent", reason="住所不明")
    with app.app_context():
        found = db.session.get(Order, order["id"])
        found.stock_reserved = False
        found.lines[0].product.reserved = 0
        db.session.commit()
        old_id = found.shipments[-1].id
        db.session.remove()
    row = shipment_row(staff_client.get("/shipments").text, "SH-AGAIN")
    version = re.search(r'name="version" value="(\d+)"', row).group(1)

    answer = staff_client.post(f"/shipments/{old_id}/re-request", data={"csrf_token": staff_client.csrf,
                                                                        "version": version}, headers=HTMX)

    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<tr id="shipment-') and f'id="shipment-{old_id}"' not in answer.text
    assert "再出荷依頼しました" in answer.text and "出荷依頼済" in answer.text and "送信待ち" in answer.text
    assert "出荷取下げ" in answer.text  # the new request can be withdrawn
    again = staff_client.post(f"/shipments/{old_id}/re-request", data={"csrf_token": staff_client.csrf,
                                                                       "version": version}, headers=HTMX)
    assert again.status_code == 409 and "<tr" in again.text
    assert "注文「SH-AGAIN」は他の操作で更新されました。最新の状態を表示しています。もう一度操作してください。" in again.text


def test_a_rows_refused_re_request_says_why_in_the_row(staff_client, client, tenant, house, app):
    order = requested(client, tenant, number="SH-SHORT", quantity=10)
    warehouse_did(app, order["id"], "shipping_in_progress", "not_shippable", request_state="sent", reason="欠品")
    with app.app_context():
        found = db.session.get(Order, order["id"])
        found.lines[0].product.stock = 3  # 10 asked, 3 on hand (the refusal released the reservation)
        found.lines[0].product.reserved = 0
        found.stock_reserved = False
        db.session.commit()
        shipment_id = found.shipments[-1].id
        version = found.version
        db.session.remove()

    answer = staff_client.post(f"/shipments/{shipment_id}/re-request",
                               data={"csrf_token": staff_client.csrf, "version": version}, headers=HTMX)

    assert answer.status_code == 409
    assert f'id="shipment-{shipment_id}"' in answer.text and "SKU-1: 7点不足" in answer.text
    assert 'class="row-message error"' in answer.text


def test_a_row_action_without_htmx_redirects_back_to_the_list(staff_client, client, tenant, house, app):
    order = requested(client, tenant, number="SH-PLAIN", quantity=1)
    shipment_id = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["shipment"]["id"]
    answer = staff_client.post(f"/shipments/{shipment_id}/re-request", data={"csrf_token": staff_client.csrf})
    assert answer.status_code == 303 and "/shipments" in answer.headers["Location"]


def test_r14_row_actions_on_another_accounts_shipment_answer_404(staff_client, client, other_tenant, app):
    other = create_order(client, other_tenant)
    set_state(app, other["id"], "shipping_in_progress", "not_shippable")
    with app.app_context():
        shipment_id = db.session.get(Order, other["id"]).shipments[0].id
        db.session.remove()
    for path in ("re-request", "request-withdrawal"):
        assert staff_client.post(f"/shipments/{shipment_id}/{path}",
                                 data={"csrf_token": staff_client.csrf}).status_code == 404


# ---------------------------------------------------------------- 注文一覧's bulk 出荷依頼

def test_the_bulk_bar_offers_shipping_requests_and_the_dialog_says_what_happens(staff_client, client, tenant, house):
    a = confirmed(client, tenant, number="BULK-A")
    assert 'name="action" value="request_shipment"' in staff_client.get("/orders").text
    answer, frozen = bulk_dialog(staff_client, "/orders/bulk/confirm", {"action": "request_shipment",
                                                                        "order_ids": [a["id"]]})
    assert answer.status_code == 200 and frozen
    assert "一括出荷依頼" in answer.text and "倉庫へ出荷依頼" in answer.text and "出荷依頼する" in answer.text
    assert "ほかの注文の出荷依頼には影響しません" in answer.text


def test_bulk_request_does_each_order_on_its_own_and_says_why_one_was_refused(staff_client, client, tenant, house):
    fine = confirmed(client, tenant, number="BULK-OK", quantity=4)
    short = confirmed(client, tenant, number="BULK-SHORT", quantity=9)  # 6 left after BULK-OK: 3 short
    waiting = create_order(client, tenant, number="BULK-WAIT")
    _, frozen = bulk_dialog(staff_client, "/orders/bulk/confirm", {
        "action": "request_shipment", "order_ids": [fine["id"], short["id"], waiting["id"]]})

    result = staff_client.post("/orders/bulk", data={"csrf_token": staff_client.csrf, "action": "request_shipment",
                                                     "selection": frozen}, headers=HTMX)

    assert result.status_code == 200
    text = " ".join(result.text.split())
    assert "完了 1 件" in text and "できなかった注文 2 件" in text
    assert re.search(r"BULK-SHORT</td><td>テスト商店の楽天店</td><td>できませんでした</td><td>[^<]*SKU-1: 3点不足", text)
    assert re.search(r"BULK-WAIT</td><td>テスト商店の楽天店</td><td>できませんでした</td><td>[^<]*確認済の注文です", text)
    assert re.search(r"BULK-OK</td><td>テスト商店の楽天店</td><td>完了</td><td>出荷依頼しました", text)
    statuses = {n: client.get(f"/api/v1/orders/{o['id']}", headers=tenant.headers()).json["status"]
                for n, o in (("ok", fine), ("short", short), ("wait", waiting))}
    assert statuses == {"ok": "awaiting_shipment", "short": "confirmed", "wait": "awaiting_confirmation"}


def test_bulk_request_over_the_threshold_runs_as_a_job_with_progress(staff_client, client, tenant, house, app,
                                                                       monkeypatch):
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 1)
    orders = [confirmed(client, tenant, number=f"BULK-JOB-{i}", quantity=1) for i in range(2)]
    _, frozen = bulk_dialog(staff_client, "/orders/bulk/confirm", {
        "action": "request_shipment", "order_ids": [o["id"] for o in orders]})
    result = staff_client.post("/orders/bulk", data={"csrf_token": staff_client.csrf, "action": "request_shipment",
                                                     "selection": frozen}, headers=HTMX)
    assert result.status_code == 200 and "/progress" in result.text


# ---------------------------------------------------------------- withdrawals

def version_of(client, tenant, order_id: int) -> int:
    return client.get(f"/api/v1/orders/{order_id}", headers=tenant.headers()).json["version"]


def test_withdrawing_a_request_not_yet_sent_is_done_at_once(staff_client, client, tenant, house):
    order = requested(client, tenant)
    answer = post(staff_client, f"/orders/{order['id']}/request-withdrawal", version=order["version"])
    assert answer.status_code == 303
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "倉庫に届く前だったため、すぐに取り下げました" in page
    after = client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json
    assert (after["status"], after["shipment_status"]) == ("shipping_in_progress", "not_shippable")
    assert "再出荷依頼" in panel(page)


def test_withdrawing_a_sent_request_asks_the_warehouse_and_waits(staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "shipping_in_progress", "shipping", request_state="sent", warehouse_id="WS-7")
    answer = post(staff_client, f"/orders/{order['id']}/request-withdrawal",
                  version=version_of(client, tenant, order["id"]))
    assert answer.status_code == 303
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "出荷取下げを倉庫へ依頼しました" in page and "取下げ依頼中" in panel(page)
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["shipment_status"] == \
        "withdrawal_requested"


def test_withdraw_then_cancel_keeps_the_cancel_reason_and_the_panel_says_it_will_cancel(
        staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "shipping_in_progress", "shipping", request_state="sent", warehouse_id="WS-8")
    answer = post(staff_client, f"/orders/{order['id']}/request-withdrawal", then_cancel="1", reason_code="8",
                  version=version_of(client, tenant, order["id"]))
    assert answer.status_code == 303
    page = staff_client.get(f"/orders/{order['id']}").text
    assert "取り下げられるとキャンセルします" in page
    shown = panel(page)
    assert "取下げ依頼中" in shown and "取り下げられたらキャンセルします（ショップ都合（欠品））" in shown


def test_withdraw_then_cancel_with_an_unknown_reason_changes_nothing(staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    warehouse_did(app, order["id"], "shipping_in_progress", "shipping", request_state="sent")
    post(staff_client, f"/orders/{order['id']}/request-withdrawal", then_cancel="1", reason_code="99",
         version=version_of(client, tenant, order["id"]))
    assert "キャンセル理由が正しくありません" in staff_client.get(f"/orders/{order['id']}").text
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant.headers()).json["shipment_status"] == "shipping"


def test_a_rows_withdrawal_answers_the_row_in_place(staff_client, client, tenant, house, app):
    order = requested(client, tenant, number="SH-WD", quantity=1)
    warehouse_did(app, order["id"], "shipping_in_progress", "shipping", request_state="sent", warehouse_id="WS-9")
    row = shipment_row(staff_client.get("/shipments").text, "SH-WD")
    shipment_id = re.search(r'<tr id="shipment-(\d+)"', row).group(1)
    version = re.search(r'name="version" value="(\d+)"', row).group(1)

    answer = staff_client.post(f"/shipments/{shipment_id}/request-withdrawal",
                               data={"csrf_token": staff_client.csrf, "version": version}, headers=HTMX)

    assert answer.status_code == 200 and f'<tr id="shipment-{shipment_id}"' in answer.text
    assert "取下げ依頼中" in answer.text and "出荷取下げを倉庫へ依頼しました" in answer.text
    assert "既に出荷取下げを依頼しています" in answer.text  # the button stays, disabled, saying why


def test_a_failed_notice_offers_resend_and_a_resend_without_a_failure_is_refused(
        staff_client, client, tenant, house, app):
    order = requested(client, tenant)
    assert "retry-warehouse-notice" not in panel(staff_client.get(f"/orders/{order['id']}").text)
    post(staff_client, f"/orders/{order['id']}/retry-warehouse-notice", version=order["version"])
    assert "再送する倉庫への連絡はありません" in staff_client.get(f"/orders/{order['id']}").text

    with app.app_context():
        found = db.session.get(Order, order["id"])
        frame.raise_system_tag(found, "warehouse_notice_error", Actor("system", "倉庫", tenant.account_id), "E500")
        found.status, found.shipment_status = "cancelled", "requested"
        found.shipments[-1].notice = "pending"
        db.session.commit()
        db.session.remove()
    version = version_of(client, tenant, order["id"])
    shown = panel(staff_client.get(f"/orders/{order['id']}").text)
    assert "倉庫への連絡（出荷取下げ・キャンセル）を送れませんでした" in shown and "retry-warehouse-notice" in shown

    answer = post(staff_client, f"/orders/{order['id']}/retry-warehouse-notice", version=version)

    assert answer.status_code == 303
    assert "倉庫への連絡を再送しています" in staff_client.get(f"/orders/{order['id']}").text
