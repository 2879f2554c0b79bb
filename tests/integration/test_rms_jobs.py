"""The Rakuten connection end to end: the real client over HTTP against the sandbox served here, real
Redis and real rq workers — imports (R5, R7, mall-side cancels) and cancel reflection (R9)."""
from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import func, select

from boss.extensions import db
from boss.malls.rakuten import reflection
from boss.models import JobRecord, Shop, utcnow
from tests.conftest import wait_for
from tests.factories import create_order
from tests.integration.rms_sandbox import RmsSandbox
from tests.processes import kill_crashed


class Rakuten(RmsSandbox):
    """The tenant's Rakuten shop connected to the sandbox, and the sandbox's control API."""

    def __init__(self, app, client, tenant, base_url):
        super().__init__(base_url)
        self.app, self.client, self.tenant = app, client, tenant

    def generate(self, count: int, progress: int = 100) -> list[str]:
        return self.control("orders", {"generate": count, "order_progress": progress, "mix": "plain"})["order_numbers"]

    def calls(self, function: str) -> list[dict]:
        items = requests.get(f"{self.rms_url}/_control/calls", params={"license_key": self.license_key}, timeout=30).json()["items"]
        return [call for call in items if call["function"] == function]

    def progress_of(self, number: str) -> int:
        answer = requests.post(f"{self.rms_url}/es/2.0/order/getOrder/", json={"orderNumberList": [number], "version": 7},
                               headers={"Authorization": self._esa()}, timeout=30).json()
        return answer["OrderModelList"][0]["orderProgress"]

    def _esa(self) -> str:
        import base64
        return "ESA " + base64.b64encode(f"secret:{self.license_key}".encode()).decode()

    def connect(self, reflect: bool = True) -> None:
        response = self.client.patch(f"/api/v1/shops/{self.tenant.shop_id}", headers=self.tenant.headers("admin"), json={
            "reflect_cancel_to_rms": reflect,
            "rms": {"service_secret": "secret", "license_key": self.license_key, "base_url": self.rms_url}})
        assert response.status_code == 200, response.json
        assert response.json["rms_connected"] is True and response.json["license_key_last4"] == self.license_key[-4:]

    def job(self, job_id: str) -> dict:
        return self.client.get(f"/api/v1/jobs/{job_id}", headers=self.tenant.headers()).json

    def finished(self, job_id: str, timeout: float = 60) -> dict:
        return wait_for(lambda: (j := self.job(job_id))["state"] in ("finished", "failed") and j, timeout=timeout,
                        message=f"job {job_id}")

    def first_import(self) -> dict:
        with self.app.app_context():
            job_id = db.session.scalar(select(JobRecord.id).where(JobRecord.shop_id == self.tenant.shop_id)
                                       .order_by(JobRecord.created_at).limit(1))
            db.session.remove()
        return self.finished(job_id)

    def import_now(self) -> dict:
        response = self.client.post(f"/api/v1/shops/{self.tenant.shop_id}/import", headers=self.tenant.headers())
        assert response.status_code == 202, response.json
        return self.finished(response.json["job_id"])

    def orders(self, **query) -> list[dict]:
        return self.client.get("/api/v1/orders", query_string={"limit": 200, **query}, headers=self.tenant.headers()).json["items"]

    def order(self, order_id: int) -> dict:
        return self.client.get(f"/api/v1/orders/{order_id}", headers=self.tenant.headers()).json

    def cancel(self, order_id: int) -> dict:
        response = self.client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason_code": 8}, headers=self.tenant.headers())
        assert response.status_code == 200, response.json
        return response.json

    def reflected(self, order_id: int, timeout: float = 60) -> dict:
        return wait_for(lambda: (o := self.order(order_id))["mall_reflection"]["state"] in ("done", "failed") and o,
                        timeout=timeout, message="the reflection to end")


@pytest.fixture
def rakuten(app, client, tenant, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 1000)
    return Rakuten(app, client, tenant, live_server)


def _imported(rakuten, numbers):
    by_number = {o["mall_order_number"]: o for o in rakuten.orders()}
    return [by_number[n] for n in numbers if n in by_number]


def test_r7_a_full_import_creates_mall_linked_orders_awaiting_confirmation(rakuten, worker):
    numbers = rakuten.generate(3)
    several = rakuten.add({"PackageModelList": [
        {"basketId": 1, "SenderModel": {"familyName": "送付", "firstName": "一", "zipCode1": "100", "zipCode2": "0001",
                                        "prefecture": "東京都", "city": "千代田区", "subAddress": "1-1"},
         "ItemModelList": [{"manageNumber": "tea-004", "itemName": "静岡茶", "price": 1080, "units": 1, "SkuModelList": []}]},
        {"basketId": 2, "SenderModel": {"familyName": "送付", "firstName": "二", "zipCode1": "530", "zipCode2": "0001",
                                        "prefecture": "大阪府", "city": "大阪市", "subAddress": "2-2"},
         "ItemModelList": [{"manageNumber": "mug-002", "itemName": "マグ", "price": 2200, "units": 2, "SkuModelList": []}]},
    ]})
    shipped = rakuten.generate(1, progress=500)
    rakuten.connect()
    job = rakuten.first_import()
    assert job["state"] == "finished", job
    assert job["result"] | {"errors": []} == {"fetched": 4, "created": 4, "skipped": 0, "failed": 0, "errors": []}
    orders = _imported(rakuten, numbers + several)
    assert len(orders) == 4
    assert all(o["status"] == "awaiting_confirmation" and o["mall_linked"] and o["source"] == "mall_import" for o in orders)
    assert not _imported(rakuten, shipped), "orders at 500 and later are not imported"
    multi = _imported(rakuten, several)[0]
    assert "multiple_destinations" in [t["code"] for t in multi["tags"]]
    assert [line["mall_item_id"] for line in multi["lines"]] == ["tea-004", "mug-002"]
    assert multi["recipient"]["name"] == "送付 一"


def test_r5_a_reimport_never_brings_back_cancelled_or_deleted_numbers(rakuten, worker, app):
    numbers = rakuten.generate(3)
    rakuten.connect(reflect=False)
    assert rakuten.first_import()["result"]["created"] == 3
    cancelled, deleted, kept = _imported(rakuten, numbers)
    rakuten.cancel(cancelled["id"])
    assert rakuten.client.delete(f"/api/v1/orders/{deleted['id']}", headers=rakuten.tenant.headers()).status_code == 200
    with app.app_context():  # search the whole window again
        db.session.get(Shop, rakuten.tenant.shop_id).rms_connection.cursor = None
        db.session.commit()
        db.session.remove()
    job = rakuten.import_now()
    assert job["result"]["created"] == 0 and job["result"]["skipped"] == 3 and job["result"]["fetched"] == 3
    holders = [o for o in rakuten.orders(include_deleted="true") if o["mall_order_number"] == deleted["mall_order_number"]]
    assert len(holders) == 1 and holders[0]["deleted"] is True


def test_a_buyers_cancel_at_rakuten_raises_the_holding_tag_mall_cancelled(rakuten, worker):
    numbers = rakuten.generate(2)
    rakuten.connect()
    rakuten.first_import()
    rakuten.control("progress", {"order_number": numbers[0], "order_progress": 900})
    rakuten.import_now()
    flagged, untouched = _imported(rakuten, numbers)
    assert "mall_cancelled" in [t["code"] for t in flagged["tags"]]
    assert "mall_cancelled" not in [t["code"] for t in untouched["tags"]]
    assert [t["holds"] for t in flagged["tags"] if t["code"] == "mall_cancelled"] == [True]
    cancelled = rakuten.cancel(flagged["id"])  # cleared when the order is cancelled here
    assert "mall_cancelled" not in [t["code"] for t in cancelled["tags"]]


def test_r9_a_reflected_cancel_reaches_rms_once(rakuten, worker):
    number = rakuten.generate(1)[0]
    rakuten.connect()
    rakuten.first_import()
    order = _imported(rakuten, [number])[0]
    assert rakuten.cancel(order["id"])["mall_reflection"]["state"] == "pending"
    assert rakuten.reflected(order["id"])["mall_reflection"] == {"state": "done", "message": None}
    assert rakuten.progress_of(number) == 900
    assert len(rakuten.calls("cancelOrder")) == 1
    assert rakuten.calls("cancelOrder")[0]["body"]["changeReasonDetailApply"] == 8


def test_r9_a_cancel_with_the_setting_off_is_never_reflected(rakuten, worker):
    number = rakuten.generate(1)[0]
    rakuten.connect(reflect=False)
    rakuten.first_import()
    order = _imported(rakuten, [number])[0]
    assert rakuten.cancel(order["id"])["mall_reflection"]["state"] == "none"
    assert rakuten.progress_of(number) == 100 and rakuten.calls("cancelOrder") == []


def test_r9_two_transient_failures_are_retried_on_schedule_and_the_third_try_succeeds(rakuten, worker):
    number = rakuten.generate(1)[0]
    rakuten.connect()
    rakuten.first_import()
    rakuten.control("faults", {"function": "cancelOrder", "order_number": number, "times": 2, "http_status": 503})
    order = _imported(rakuten, [number])[0]
    rakuten.cancel(order["id"])
    assert rakuten.reflected(order["id"])["mall_reflection"]["state"] == "done"
    assert [c["http_status"] for c in rakuten.calls("cancelOrder")] == [503, 503, 200]
    kinds = [e["kind"] for e in rakuten.client.get(f"/api/v1/orders/{order['id']}/events", headers=rakuten.tenant.headers()).json["items"]]
    assert kinds.count("reflection_retry") == 2 and kinds[-1] == "reflection_done"


def test_r9_a_final_error_raises_mall_reflection_error_and_a_retry_clears_it(rakuten, worker):
    number = rakuten.generate(1)[0]
    rakuten.connect()
    rakuten.first_import()
    rakuten.control("faults", {"function": "cancelOrder", "order_number": number, "times": 1,
                               "message_code": "ORDER_EXT_API_CANCEL_ORDER_ERROR_102"})
    order = _imported(rakuten, [number])[0]
    rakuten.cancel(order["id"])
    failed = rakuten.reflected(order["id"])
    assert failed["mall_reflection"]["state"] == "failed"
    assert "ORDER_EXT_API_CANCEL_ORDER_ERROR_102" in failed["mall_reflection"]["message"]
    assert "mall_reflection_error" in [t["code"] for t in failed["tags"]]
    events = rakuten.client.get(f"/api/v1/orders/{order['id']}/events", headers=rakuten.tenant.headers()).json["items"]
    assert any(e["kind"] == "reflection_failed" and "ERROR_102" in e["message"] for e in events)
    error_listed = rakuten.orders(tag="mall_reflection_error")
    assert [o["id"] for o in error_listed] == [order["id"]]

    retried = rakuten.client.post(f"/api/v1/orders/{order['id']}/retry-reflection", headers=rakuten.tenant.headers())
    assert retried.status_code == 200 and retried.json["mall_reflection"]["state"] == "pending"
    done = rakuten.reflected(order["id"])
    assert done["mall_reflection"]["state"] == "done"
    assert "mall_reflection_error" not in [t["code"] for t in done["tags"]]
    again = rakuten.client.post(f"/api/v1/orders/{order['id']}/retry-reflection", headers=rakuten.tenant.headers())
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_transition"


def test_r9_an_error_after_which_rms_shows_the_order_cancelled_counts_as_done_without_a_second_cancel(rakuten, worker):
    number = rakuten.generate(1)[0]
    rakuten.connect()
    rakuten.first_import()
    order = _imported(rakuten, [number])[0]
    # RMS has it cancelled already, but the first getOrder still answers 100 (a stale read at Rakuten).
    stale = requests.post(f"{rakuten.rms_url}/es/2.0/order/getOrder/", json={"orderNumberList": [number], "version": 7},
                          headers={"Authorization": rakuten._esa()}, timeout=30).json()
    rakuten.control("progress", {"order_number": number, "order_progress": 900})
    rakuten.control("faults", {"function": "getOrder", "order_number": number, "times": 1, "body": json.dumps(stale)})
    rakuten.cancel(order["id"])
    assert rakuten.reflected(order["id"])["mall_reflection"]["state"] == "done"
    assert len(rakuten.calls("cancelOrder")) == 1


def test_r9_no_cancel_is_sent_for_an_order_rms_already_shows_cancelled(rakuten, worker):
    number = rakuten.generate(1)[0]
    rakuten.connect()
    rakuten.first_import()
    order = _imported(rakuten, [number])[0]
    rakuten.control("progress", {"order_number": number, "order_progress": 900})
    rakuten.cancel(order["id"])
    assert rakuten.reflected(order["id"])["mall_reflection"]["state"] == "done"
    assert rakuten.calls("cancelOrder") == []


def test_an_auth_failure_marks_the_shop_and_the_reflection_waits_for_the_connection_then_resumes_at_once(rakuten, worker):
    number = rakuten.generate(1)[0]
    rakuten.connect()
    rakuten.first_import()
    order = _imported(rakuten, [number])[0]
    rakuten.control("faults", {"function": "getOrder", "times": 1, "http_status": 401})
    rakuten.cancel(order["id"])
    shop = wait_for(lambda: (s := rakuten.client.get("/api/v1/shops", headers=rakuten.tenant.headers()).json["items"][0])
                    ["rms_connection_error"] and s, message="the shop to be marked")
    assert "ES04" in shop["rms_connection_error"]
    assert rakuten.order(order["id"])["mall_reflection"]["state"] == "pending"  # waits, not failed order by order
    counts = rakuten.client.get("/api/v1/orders/counts", headers=rakuten.tenant.headers()).json
    assert counts["attention"] >= 1

    rakuten.connect()  # the staff enter the credentials again: the import that follows works, and so the cancel goes
    assert rakuten.reflected(order["id"], timeout=60)["mall_reflection"]["state"] == "done"  # not after the 300 s wait
    assert rakuten.client.get("/api/v1/shops", headers=rakuten.tenant.headers()).json["items"][0]["rms_connection_error"] is None


def test_es01_01_with_http_200_marks_the_shop_and_the_reflection_waits_instead_of_failing(rakuten, worker):
    """rakuten-rms.md §Errors: 「Un-Authorised」 is the shop's connection failing whatever the HTTP status — the
    cancel waits for the connection (no 「モール反映エラー」), the shop shows 「RMS接続エラー」."""
    number = rakuten.generate(1)[0]
    rakuten.connect()
    rakuten.first_import()
    order = _imported(rakuten, [number])[0]
    rakuten.control("faults", {"function": "getOrder", "times": 1, "http_status": 200,
                               "body": json.dumps({"Results": {"errorCode": "ES01-01", "message": "Un-Authorised"}})})
    rakuten.cancel(order["id"])
    shop = wait_for(lambda: (s := rakuten.client.get("/api/v1/shops", headers=rakuten.tenant.headers()).json["items"][0])
                    ["rms_connection_error"] and s, message="the shop to be marked")
    assert "ES01-01" in shop["rms_connection_error"]
    answer = rakuten.order(order["id"])
    assert answer["mall_reflection"]["state"] == "pending"
    assert "モール反映エラー" not in [tag["name"] for tag in answer["tags"]]


def test_an_import_of_a_shop_without_an_rms_connection_is_refused(client, tenant):
    response = client.post(f"/api/v1/shops/{tenant.shop_id}/import", headers=tenant.headers())
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_transition"


def test_r9_redis_stopped_during_cancels_loses_nothing_and_doubles_nothing(rakuten, worker, own_redis, app, database_url):
    from boss import create_app

    numbers = rakuten.generate(3)
    rakuten.connect()
    rakuten.first_import()
    orders = _imported(rakuten, numbers)
    outage = create_app({"TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"], "SQLALCHEMY_DATABASE_URI": database_url,
                         "REDIS_URL": own_redis.url, "BOSS_QUEUE": app.config["BOSS_QUEUE"]})
    outage_client = outage.test_client()
    own_redis.stop()
    for order in orders:
        response = outage_client.post(f"/api/v1/orders/{order['id']}/cancel", json={}, headers=rakuten.tenant.headers())
        assert response.status_code == 200 and response.json["mall_reflection"]["state"] == "pending"
    own_redis.start()
    worker(own_redis.url)
    for order in orders:
        assert rakuten.reflected(order["id"])["mall_reflection"]["state"] == "done"
    assert sorted(c["body"]["orderNumber"] for c in rakuten.calls("cancelOrder")) == sorted(numbers)


def test_r9_a_worker_killed_during_a_reflection_is_redispatched_and_rms_gets_one_cancel(rakuten, worker, app):
    number = rakuten.generate(1)[0]
    rakuten.connect()
    rakuten.first_import()
    order = _imported(rakuten, [number])[0]
    # The getOrder answer takes a while: the worker is killed while it waits for it.
    rakuten.control("faults", {"function": "getOrder", "order_number": number, "times": 1, "delay_ms": 1500})
    rakuten.cancel(order["id"])
    wait_for(lambda: _busy(app), timeout=30, interval=0.02, message="a worker to be running the reflection")
    kill_workers(app)
    worker()
    assert rakuten.reflected(order["id"], timeout=90)["mall_reflection"]["state"] == "done"
    assert len(rakuten.calls("cancelOrder")) == 1
    assert rakuten.progress_of(number) == 900


def kill_workers(app) -> None:
    """SIGKILL every RQ worker, its sweeper and the job it runs (its work horse), as a crash would."""
    from rq import Worker

    from boss.extensions import redis_connection
    with app.app_context():
        pids = {w.pid for w in Worker.all(connection=redis_connection(app.config["REDIS_URL"]))}
        db.session.remove()
    kill_crashed(pids)


def _busy(app) -> bool:
    """A worker is running a job right now."""
    from rq import Worker

    from boss.extensions import redis_connection
    with app.app_context():
        workers = Worker.all(connection=redis_connection(app.config["REDIS_URL"]))
    return any(w.get_current_job_id() for w in workers)


def test_two_imports_of_one_shop_never_run_at_once(rakuten, app):
    rakuten.generate(1)
    rakuten.connect()
    first = rakuten.client.post(f"/api/v1/shops/{rakuten.tenant.shop_id}/import", headers=rakuten.tenant.headers()).json
    second = rakuten.client.post(f"/api/v1/shops/{rakuten.tenant.shop_id}/import", headers=rakuten.tenant.headers()).json
    assert first["job_id"] == second["job_id"]
    with app.app_context():
        running = db.session.scalar(select(func.count()).select_from(JobRecord).where(
            JobRecord.shop_id == rakuten.tenant.shop_id, JobRecord.state.in_(("queued", "started"))))
        db.session.remove()
    assert running == 1


def test_r5_an_import_that_fails_is_run_again_and_makes_no_duplicate(rakuten, worker):
    numbers = rakuten.generate(3)
    rakuten.control("faults", {"function": "getOrder", "times": 1, "http_status": 500})
    rakuten.connect(reflect=False)
    first = rakuten.first_import()  # the 500 fails the first run; the outbox runs the job again
    assert first["state"] == "finished" and first["result"]["created"] == 3, first
    again = rakuten.import_now()
    assert again["result"]["created"] == 0 and again["result"]["skipped"] == again["result"]["fetched"]
    orders = [o for o in rakuten.orders() if o["mall_order_number"] in numbers]
    assert sorted(o["mall_order_number"] for o in orders) == sorted(numbers)  # each number once
    assert [c["http_status"] for c in rakuten.calls("getOrder")][:1] == [500]


def test_r9_cancels_of_one_shop_are_checked_together_and_each_is_sent_once(rakuten, worker, app):
    from boss.malls.rakuten.reflection import lane

    numbers = rakuten.generate(6)
    rakuten.connect()
    rakuten.first_import()
    orders = _imported(rakuten, numbers)
    rakuten.control("progress", {"order_number": numbers[0], "order_progress": 900})
    with app.app_context():  # the shop's lane is busy (a step under way) while the six cancels come in
        busy = lane(rakuten.tenant.shop_id)
        wait_for(lambda: busy.lock("a-step-under-way"), message="the lane's lock (the import's wake-up may hold it)")
        for order in orders:
            rakuten.cancel(order["id"])
        busy.unlock("a-step-under-way")
    for order in orders:
        assert rakuten.reflected(order["id"])["mall_reflection"]["state"] == "done"
    checks = [c for c in rakuten.calls("getOrder") if set(c["body"]["orderNumberList"]) & set(numbers)]
    assert sorted(checks[-1]["body"]["orderNumberList"]) == sorted(numbers)  # one getOrder for all six
    assert len(checks) == 3  # the import's two (its orders, then the mall-side-cancel check) and the lane's one
    assert sorted(c["body"]["orderNumber"] for c in rakuten.calls("cancelOrder")) == sorted(numbers[1:])


def test_r9_a_reflection_whose_order_an_earlier_message_settled_is_closed_for_good(app, client, tenant):
    """A lane step that finds only messages whose order's reflection is no longer pending closes them, and that
    close is kept: the sweeper does not hand them to the lane again after every timeout."""
    from boss import outbox
    from boss.models import OutboxMessage
    from boss.orders.models import Order

    created = create_order(client, tenant, number="SETTLED-1")
    with app.app_context():
        order = db.session.get(Order, created["id"])
        order.reflection_state = "done"
        message = outbox.record(reflection.KIND, {"order_id": order.id, "shop_id": order.shop_id}, run_after=utcnow())
        db.session.commit()
        message_id = message.id
        assert reflection.step(tenant.shop_id) is None
        db.session.remove()
        assert db.session.get(OutboxMessage, message_id).state == "done"
        db.session.remove()


def test_after_an_import_the_next_is_scheduled_and_runs_as_the_shops_scheduled_import(rakuten, worker, app):
    """The importer schedules its next run through the generic job (jobs.tasks.call names no integration);
    what that job calls starts the shop's import as 「定期取込」."""
    import importlib

    from rq.job import Job

    from boss.extensions import get_redis

    rakuten.connect()
    rakuten.first_import()
    shop_id = rakuten.tenant.shop_id
    with app.app_context():
        scheduled = Job.fetch(f"import-schedule-{shop_id}", connection=get_redis())
        assert scheduled.func_name == "jobs.tasks.call"
        function, *args = scheduled.args
        assert (function, args) == ("boss.malls.rakuten.importer.scheduled_import", [shop_id])
        module, _, name = function.rpartition(".")
        getattr(importlib.import_module(module), name)(*args)
        assert db.session.scalar(select(func.count()).select_from(JobRecord).where(
            JobRecord.shop_id == shop_id, JobRecord.created_by == "定期取込")) == 1
        db.session.remove()
