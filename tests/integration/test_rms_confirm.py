"""注文確認 at RMS end to end (rakuten-rms.md §注文確認 at RMS): the real client over HTTP against the sandbox,
real Redis and real rq workers. confirmOrder goes through the shop's RMS lane, beside its cancels."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.malls.rakuten.reflection import lane
from boss.models import OutboxMessage
from boss.orders.actions import CONFIRM_KIND
from tests.conftest import login, wait_for
from tests.factories import create_order, create_product, map_item
from tests.integration.test_rms_jobs import Rakuten, _busy, _imported, kill_workers

SANDBOX_TEXT = "サンドボックスが注入したエラーです。"
TEA = {"PackageModelList": [{
    "basketId": 1, "SenderModel": {"familyName": "送付", "firstName": "一", "zipCode1": "100", "zipCode2": "0001",
                                   "prefecture": "東京都", "city": "千代田区", "subAddress": "1-1"},
    "ItemModelList": [{"manageNumber": "tea-004", "itemName": "静岡茶", "price": 1080, "units": 1, "SkuModelList": []}]}]}


@pytest.fixture
def rakuten(app, client, tenant, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 1000)
    return Rakuten(app, client, tenant, live_server)


def _setup(rakuten, count: int, auto_confirm: bool = False, confirm_at_rms: bool = True) -> list[dict]:
    """`count` Rakuten orders of a mapped item, imported into a shop connected to the sandbox."""
    create_product(rakuten.client, rakuten.tenant, "SKU-TEA")
    map_item(rakuten.client, rakuten.tenant, "tea-004", "SKU-TEA")
    numbers = rakuten.add(*[TEA] * count)
    settings = rakuten.client.patch(f"/api/v1/shops/{rakuten.tenant.shop_id}", headers=rakuten.tenant.headers("admin"),
                                    json={"auto_confirm": auto_confirm, "confirm_at_rms": confirm_at_rms})
    assert settings.status_code == 200 and settings.json["confirm_at_rms"] is confirm_at_rms
    rakuten.connect()
    assert rakuten.first_import()["result"]["created"] == count
    return _imported(rakuten, numbers)


def _confirm(rakuten, order: dict) -> dict:
    response = rakuten.client.post(f"/api/v1/orders/{order['id']}/confirm", headers=rakuten.tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def _events(rakuten, order_id: int) -> list[dict]:
    return rakuten.client.get(f"/api/v1/orders/{order_id}/events", headers=rakuten.tenant.headers()).json["items"]


def _tags(order: dict) -> list[str]:
    return [tag["code"] for tag in order["tags"]]


def _confirmed_numbers(rakuten) -> list[str]:
    return [number for call in rakuten.calls("confirmOrder") for number in call["body"]["orderNumberList"]]


def _confirm_messages(app) -> list[tuple[str, dict]]:
    with app.app_context():
        rows = [(m.state, m.payload) for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == CONFIRM_KIND))]
        db.session.remove()
    return rows


def test_a_confirmed_order_is_confirmed_at_rms_once_with_two_workers_and_holds_as_rakuten_processing(rakuten, worker):
    worker()  # two workers
    orders = _setup(rakuten, 3)
    for order in orders:
        assert _confirm(rakuten, order)["mall_reflection"] == {"state": "pending", "message": None}
    for order in orders:
        done = rakuten.reflected(order["id"])
        assert done["mall_reflection"] == {"state": "done", "message": None}
        assert "mall_processing" in _tags(done) and done["status"] == "confirmed"
        assert [e["kind"] for e in _events(rakuten, order["id"])].count("rms_confirm_done") == 1
        assert rakuten.progress_of(order["mall_order_number"]) in (200, 300)  # the sandbox moves 100 to one of them
    assert sorted(_confirmed_numbers(rakuten)) == sorted(o["mall_order_number"] for o in orders)  # each once


def test_the_shops_pending_confirms_go_in_one_confirm_order(rakuten, worker, app):
    orders = _setup(rakuten, 5)
    with app.app_context():  # the shop's lane is busy (a step under way) while the five are confirmed
        busy = lane(rakuten.tenant.shop_id)
        wait_for(lambda: busy.lock("a-step-under-way"), message="the lane's lock (the import's wake-up may hold it)")
        for order in orders:
            _confirm(rakuten, order)
        busy.unlock("a-step-under-way")
    for order in orders:
        assert rakuten.reflected(order["id"])["mall_reflection"]["state"] == "done"
    calls = rakuten.calls("confirmOrder")
    assert len(calls) == 1 and sorted(calls[0]["body"]["orderNumberList"]) == sorted(o["mall_order_number"] for o in orders)


def test_the_imports_auto_confirmed_orders_are_confirmed_at_rms(rakuten, worker):
    orders = _setup(rakuten, 4, auto_confirm=True)
    assert all(o["status"] == "confirmed" for o in orders)
    for order in orders:
        done = rakuten.reflected(order["id"])
        assert done["mall_reflection"]["state"] == "done" and "mall_processing" in _tags(done)
        kinds = [e["kind"] for e in _events(rakuten, order["id"])]
        assert kinds[:3] == ["imported", "confirmed", "reflection_pending"] and "rms_confirm_done" in kinds
    assert sorted(_confirmed_numbers(rakuten)) == sorted(o["mall_order_number"] for o in orders)
    assert len(rakuten.calls("confirmOrder")) == 1  # the import's batch went in one request


def test_error_102_cancelled_at_rakuten_holds_the_order_as_mall_cancelled(rakuten, worker):
    order = _setup(rakuten, 1)[0]
    rakuten.control("faults", {"function": "confirmOrder", "order_number": order["mall_order_number"], "times": 1,
                               "message_code": "ORDER_EXT_API_CONFIRM_ORDER_ERROR_102"})
    _confirm(rakuten, order)
    ended = rakuten.reflected(order["id"])
    assert ended["mall_reflection"]["state"] == "done"
    assert "mall_cancelled" in _tags(ended) and "mall_reflection_error" not in _tags(ended)
    assert "mall_processing" not in _tags(ended)


def test_error_103_status_moved_on_is_done(rakuten, worker):
    order = _setup(rakuten, 1)[0]
    rakuten.control("faults", {"function": "confirmOrder", "order_number": order["mall_order_number"], "times": 1,
                               "message_code": "ORDER_EXT_API_CONFIRM_ORDER_ERROR_103"})
    _confirm(rakuten, order)
    ended = rakuten.reflected(order["id"])
    assert ended["mall_reflection"] == {"state": "done", "message": None}
    assert "mall_reflection_error" not in _tags(ended)
    done = [e for e in _events(rakuten, order["id"]) if e["kind"] == "rms_confirm_done"]
    assert len(done) == 1 and "ERROR_103" in done[0]["message"]


def test_error_105_is_a_final_failure_with_rms_message_and_a_retry_resends_the_confirm(rakuten, worker, app):
    first, second = _setup(rakuten, 2)
    rakuten.control("faults", {"function": "confirmOrder", "times": 1, "message_code": "ORDER_EXT_API_CONFIRM_ORDER_ERROR_105"})
    with app.app_context():  # both in one confirmOrder, which the fault answers with ERROR_105 for each
        busy = lane(rakuten.tenant.shop_id)
        wait_for(lambda: busy.lock("a-step-under-way"), message="the lane's lock")
        for order in (first, second):
            _confirm(rakuten, order)
        busy.unlock("a-step-under-way")
    for order in (first, second):
        failed = rakuten.reflected(order["id"])
        assert failed["mall_reflection"]["state"] == "failed"
        assert "ORDER_EXT_API_CONFIRM_ORDER_ERROR_105" in failed["mall_reflection"]["message"]
        assert SANDBOX_TEXT in failed["mall_reflection"]["message"]
        assert "mall_reflection_error" in _tags(failed) and "mall_processing" not in _tags(failed)
        assert any(e["kind"] == "rms_confirm_failed" and SANDBOX_TEXT in e["message"] for e in _events(rakuten, order["id"]))

    retried = rakuten.client.post(f"/api/v1/orders/{first['id']}/retry-reflection", headers=rakuten.tenant.headers())
    assert retried.status_code == 200 and retried.json["mall_reflection"]["state"] == "pending"
    web = login(app.test_client(), rakuten.tenant.staff_email)
    answer = web.post(f"/orders/{second['id']}/retry-reflection", data={"csrf_token": web.csrf}, follow_redirects=True)
    assert "の注文確認を楽天RMSへ再反映しています。" in answer.text
    for order in (first, second):
        done = rakuten.reflected(order["id"])
        assert done["mall_reflection"] == {"state": "done", "message": None}
        assert "mall_reflection_error" not in _tags(done) and "mall_processing" in _tags(done)
        assert _confirmed_numbers(rakuten).count(order["mall_order_number"]) == 2  # the failed one and the retry


def test_transient_faults_are_retried_on_schedule_and_the_third_try_succeeds(rakuten, worker):
    order = _setup(rakuten, 1)[0]
    rakuten.control("faults", {"function": "confirmOrder", "times": 2, "http_status": 503})
    _confirm(rakuten, order)
    assert rakuten.reflected(order["id"])["mall_reflection"]["state"] == "done"
    assert [c["http_status"] for c in rakuten.calls("confirmOrder")] == [503, 503, 200]
    kinds = [e["kind"] for e in _events(rakuten, order["id"])]
    assert kinds.count("reflection_retry") == 2 and "rms_confirm_done" in kinds


def test_five_transient_faults_make_a_final_failure(rakuten, worker):
    order = _setup(rakuten, 1)[0]
    rakuten.control("faults", {"function": "confirmOrder", "times": 5, "http_status": 503})
    _confirm(rakuten, order)
    failed = rakuten.reflected(order["id"], timeout=90)
    assert failed["mall_reflection"]["state"] == "failed" and "5回続けて" in failed["mall_reflection"]["message"]
    assert "mall_reflection_error" in _tags(failed)
    assert [c["http_status"] for c in rakuten.calls("confirmOrder")] == [503] * 5
    assert rakuten.progress_of(order["mall_order_number"]) == 100


def test_with_the_setting_off_nothing_is_sent(rakuten, worker, app):
    order = _setup(rakuten, 1, confirm_at_rms=False)[0]
    assert _confirm(rakuten, order)["mall_reflection"] == {"state": "none", "message": None}
    assert _confirm_messages(app) == [] and rakuten.calls("confirmOrder") == []


def test_a_manual_order_of_a_connected_rakuten_shop_is_never_confirmed_at_rms(rakuten, worker, app):
    _setup(rakuten, 0)
    manual = create_order(rakuten.client, rakuten.tenant, number="MANUAL-1",
                          lines=[{"mall_item_id": "tea-004", "name": "静岡茶", "quantity": 1, "unit_price": 1080}])
    assert _confirm(rakuten, manual)["mall_reflection"] == {"state": "none", "message": None}
    assert _confirm_messages(app) == []


def test_a_confirm_pending_when_the_order_is_cancelled_is_dropped_and_the_cancel_goes(rakuten, worker, app):
    order = _setup(rakuten, 1)[0]
    with app.app_context():
        busy = lane(rakuten.tenant.shop_id)
        wait_for(lambda: busy.lock("a-step-under-way"), message="the lane's lock")
        _confirm(rakuten, order)
        assert rakuten.cancel(order["id"])["mall_reflection"]["state"] == "pending"  # now the cancel's
        busy.unlock("a-step-under-way")
    done = rakuten.reflected(order["id"])
    assert done["mall_reflection"]["state"] == "done" and done["status"] == "cancelled"
    assert rakuten.calls("confirmOrder") == [] and len(rakuten.calls("cancelOrder")) == 1
    assert rakuten.progress_of(order["mall_order_number"]) == 900
    assert [state for state, _ in _confirm_messages(app)] == ["done"]


def test_a_confirm_pending_when_the_order_is_cancelled_without_reflection_is_dropped(rakuten, worker, app):
    order = _setup(rakuten, 1)[0]
    rakuten.client.patch(f"/api/v1/shops/{rakuten.tenant.shop_id}", headers=rakuten.tenant.headers("admin"),
                         json={"reflect_cancel_to_rms": False})
    with app.app_context():
        busy = lane(rakuten.tenant.shop_id)
        wait_for(lambda: busy.lock("a-step-under-way"), message="the lane's lock")
        _confirm(rakuten, order)
        assert rakuten.cancel(order["id"])["mall_reflection"]["state"] == "none"
        busy.unlock("a-step-under-way")
    wait_for(lambda: [state for state, _ in _confirm_messages(app)] == ["done"], message="the confirm to be dropped")
    assert rakuten.calls("confirmOrder") == [] and rakuten.calls("cancelOrder") == []
    assert rakuten.progress_of(order["mall_order_number"]) == 100


@pytest.mark.slow
def test_a_worker_killed_while_confirm_order_is_under_way_never_sends_it_twice(rakuten, worker, app):
    order = _setup(rakuten, 1)[0]
    rakuten.control("faults", {"function": "confirmOrder", "times": 1, "delay_ms": 1500})
    _confirm(rakuten, order)
    wait_for(lambda: _busy(app), timeout=30, interval=0.02, message="a worker to be running the confirm")
    kill_workers(app)
    worker()
    assert rakuten.reflected(order["id"], timeout=90)["mall_reflection"]["state"] == "done"
    assert len(rakuten.calls("confirmOrder")) == 1
    assert rakuten.progress_of(order["mall_order_number"]) in (200, 300)


def test_the_setting_on_the_settings_page_and_in_the_api(app, client, tenant):
    admin = login(app.test_client(), tenant.admin_email)
    dialog = admin.get(f"/settings/shops/{tenant.shop_id}/edit").text
    assert "確認済にしたら楽天RMSでも注文確認する" in dialog
    assert 'name="confirm_at_rms" value="y"' in dialog and 'aria-describedby="help-confirm-at-rms"\n           checked' in dialog
    shop = client.get("/api/v1/shops", headers=tenant.headers()).json["items"][0]
    assert shop["confirm_at_rms"] is True  # on by default
    saved = admin.post(f"/settings/shops/{tenant.shop_id}", data={
        "csrf_token": admin.csrf, "name": "テスト商店の楽天店", "import_interval_minutes": "10", "initial_lookback_days": "30",
        "inventory_restore_type": "0"})
    assert saved.status_code == 303
    assert client.get("/api/v1/shops", headers=tenant.headers()).json["items"][0]["confirm_at_rms"] is False
    assert 'aria-describedby="help-confirm-at-rms"\n           checked' not in admin.get(f"/settings/shops/{tenant.shop_id}/edit").text
    patched = client.patch(f"/api/v1/shops/{tenant.shop_id}", json={"confirm_at_rms": True}, headers=tenant.headers("admin"))
    assert patched.status_code == 200 and patched.json["confirm_at_rms"] is True
    created = client.post("/api/v1/shops", json={"name": "二号店", "mall": "rakuten", "confirm_at_rms": False},
                          headers=tenant.headers("admin"))
    assert created.status_code == 201 and created.json["confirm_at_rms"] is False
    default = client.post("/api/v1/shops", json={"name": "三号店", "mall": "rakuten"}, headers=tenant.headers("admin"))
    assert default.json["confirm_at_rms"] is True
    refused = client.patch(f"/api/v1/shops/{tenant.shop_id}", json={"confirm_at_rms": "yes"}, headers=tenant.headers("admin"))
    assert refused.status_code == 422
