"""設定 › 倉庫 (warehouse.md §1): the connection's state, its form (admins), the key never shown back, staff
refused, 「倉庫接続エラー」 in the 要対応 count, and the shop's 出荷依頼 settings."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.models import RSL, Connection, Shop
from boss.warehouse import connection
from tests.conftest import login, wait_for
from tests.integration import test_warehouse_flow

KEY = "rsl_web_key_77Ab"
HTMX = {"HX-Request": "true"}

warehouse = test_warehouse_flow.warehouse  # the fixture


def _post(client, path, data=None, headers=None):
    return client.post(path, data={"csrf_token": client.csrf, **(data or {})}, headers=headers or {})


def _conn(app, account_id):
    with app.app_context():
        row = db.session.scalars(select(Connection).where(Connection.account_id == account_id,
                                                          Connection.provider == RSL)).first()
        db.session.expunge_all()
        return row


def test_the_page_shows_not_connected_and_the_settings_navigation_leads_there(admin_client):
    page = admin_client.get("/settings/warehouse")
    assert page.status_code == 200
    assert "未接続" in page.text and "/sandbox/warehouse" in page.text
    assert 'href="/settings/warehouse"' in admin_client.get("/settings").text


def test_an_admin_saves_a_key_and_sees_only_its_last_4(admin_client, app, tenant):
    response = _post(admin_client, "/settings/warehouse",
                     {"api_key": KEY, "base_url": "", "sync_interval_seconds": "90"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/settings/warehouse")
    row = _conn(app, tenant.account_id)
    assert row.key_last4 == "77Ab" and row.interval_seconds == 90 and row.base_url is None
    page = admin_client.get("/settings/warehouse").text
    assert "接続中" in page and "末尾 77Ab" in page and KEY not in page


def test_a_blank_key_keeps_the_stored_one(admin_client, app, tenant):
    _post(admin_client, "/settings/warehouse", {"api_key": KEY, "sync_interval_seconds": "60"})
    _post(admin_client, "/settings/warehouse", {"api_key": "", "sync_interval_seconds": "120"})
    row = _conn(app, tenant.account_id)
    assert row.key_last4 == "77Ab" and row.interval_seconds == 120


@pytest.mark.parametrize("data,shown", [
    ({"api_key": "two words", "sync_interval_seconds": "60"}, "半角の英数字と記号"),
    ({"api_key": KEY, "sync_interval_seconds": "10"}, "30〜3600"),
    ({"api_key": KEY, "base_url": "https://api.rsl.example", "sync_interval_seconds": "60"}, "このマシン上のURL"),
])
def test_a_wrong_value_is_shown_next_to_its_field_and_nothing_is_saved(admin_client, app, tenant, data, shown):
    response = _post(admin_client, "/settings/warehouse", data)
    assert response.status_code == 422 and shown in response.text
    assert _conn(app, tenant.account_id) is None or not _conn(app, tenant.account_id).connected


def test_disconnect_removes_the_key(admin_client, app, tenant):
    _post(admin_client, "/settings/warehouse", {"api_key": KEY, "sync_interval_seconds": "60"})
    assert _post(admin_client, "/settings/warehouse/disconnect").status_code == 303
    assert not _conn(app, tenant.account_id).connected
    assert "未接続" in admin_client.get("/settings/warehouse").text


def test_staff_see_the_state_but_get_the_settings_refusal_when_changing_it(staff_client, app, tenant):
    page = staff_client.get("/settings/warehouse")
    assert page.status_code == 200 and 'name="api_key"' not in page.text
    refused = _post(staff_client, "/settings/warehouse", {"api_key": KEY, "sync_interval_seconds": "60"})
    assert refused.status_code == 403
    assert _post(staff_client, "/settings/warehouse/disconnect").status_code == 403
    assert _conn(app, tenant.account_id) is None


def test_a_connection_error_is_shown_with_its_text_and_counts_as_attention(admin_client, app, tenant):
    _post(admin_client, "/settings/warehouse", {"api_key": KEY, "sync_interval_seconds": "60"})
    before = admin_client.get("/api/v1/orders/counts", headers=tenant.headers()).json["attention"]
    with app.app_context():
        connection.mark_connection_failed(tenant.account_id, "APIキーが無効です（401）")
        db.session.remove()
    page = admin_client.get("/settings/warehouse").text
    assert "倉庫接続エラー" in page and "APIキーが無効です（401）" in page
    assert admin_client.get("/api/v1/orders/counts", headers=tenant.headers()).json["attention"] == before + 1


def test_the_page_speaks_english_when_asked(admin_client):
    _post(admin_client, "/lang/en")
    page = admin_client.get("/settings/warehouse").text
    assert "Not connected" in page and "Warehouse connection" in page and "Sync now" not in page  # no key: no sync


def test_the_shop_form_saves_auto_request_and_the_sender(admin_client, app, tenant):
    form = admin_client.get(f"/settings/shops/{tenant.shop_id}/edit").text
    assert "確認済の注文を自動で出荷依頼する" in form and 'name="sender_postal_code"' in form
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}", {
        "name": "テスト商店の楽天店", "auto_request_shipment": "y", "sender_postal_code": "1000001",
        "sender_address": "東京都千代田区1-1", "sender_phone": "03-1111-2222", "import_interval_minutes": "10",
        "initial_lookback_days": "30", "inventory_restore_type": "0"})
    assert response.status_code == 303, response.text
    with app.app_context():
        shop = db.session.get(Shop, tenant.shop_id)
        assert shop.auto_request_shipment is True
        assert shop.sender == {"postal_code": "1000001", "address": "東京都千代田区1-1", "phone": "03-1111-2222"}
    assert 'value="東京都千代田区1-1"' in admin_client.get(f"/settings/shops/{tenant.shop_id}/edit").text


def test_login_is_needed(client, app, tenant):
    response = client.get("/settings/warehouse")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(app.test_client(), tenant.staff_email).get("/settings/warehouse").status_code == 200


# ---------------------------------------------------------------- 今すぐ同期 (a real worker, the simulator over HTTP)

def _progress_url(html: str) -> str:
    found = re.search(r'hx-get="([^"]+/progress)"', html)
    assert found, html
    return found.group(1)


def _ended(web, url: str) -> str:
    """Poll the progress partial as htmx does until the run has ended; returns what it shows then."""
    return wait_for(lambda: (part := web.get(url, headers=HTMX).text) and "hx-get" not in part and part,
                    timeout=30, message="the sync to end")


def test_sync_now_starts_a_run_shows_its_progress_then_that_it_finished_and_the_order_moved(
        staff_client, warehouse, worker):
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    warehouse.advance(str(warehouse.wait_sent(order["id"])["shipment"]["id"]), "started")
    page = staff_client.get("/settings/warehouse").text
    assert "今すぐ同期" in page and 'id="warehouse-sync"' in page

    started = _post(staff_client, "/settings/warehouse/sync", headers=HTMX)
    assert started.status_code == 202
    assert "同期を待機中" in started.text or "同期中" in started.text
    assert "<progress" in started.text and "このページを離れても同期は続きます。" in started.text
    ended = _ended(staff_client, _progress_url(started.text))
    assert "同期が完了しました" in ended and "同期に失敗しました" not in ended
    assert warehouse.order(order["id"])["status"] == "shipping_in_progress"
    # 最終同期 and the state on the page follow without a reload (htmx swaps them in out of band)
    last_sync = re.search(r'<dd id="warehouse-last-sync" hx-swap-oob="true"><time datetime="([^"]+)">', ended)
    assert last_sync and f'<time datetime="{last_sync.group(1)}">' in staff_client.get("/settings/warehouse").text
    assert '<dd id="warehouse-status" hx-swap-oob="true">' in ended and "接続中" in ended
    assert "hx-swap-oob" not in staff_client.get("/settings/warehouse").text

    plain = _post(staff_client, "/settings/warehouse/sync")
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/settings/warehouse")
    assert "倉庫との同期を開始しました。" in staff_client.get("/settings/warehouse").text


def test_sync_now_shows_why_a_run_failed(staff_client, warehouse, worker):
    warehouse.control("faults", {"function": "events", "times": 5, "http_status": 503})
    started = _post(staff_client, "/settings/warehouse/sync", headers=HTMX)
    assert started.status_code == 202
    ended = _ended(staff_client, _progress_url(started.text))
    assert "同期に失敗しました" in ended and "倉庫が一時的に応答しませんでした" in ended and 'role="alert"' in ended
    assert '<dd id="warehouse-status" hx-swap-oob="true">' in ended
