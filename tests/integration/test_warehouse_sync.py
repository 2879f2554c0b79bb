"""The events sync's schedule (warehouse.md §4): the sweeper's start_due_syncs starts a run for each connected account
whose interval has passed and for none other; one run per account at a time (the account's lock); and
`POST /api/v1/warehouse/sync` (§1) answers the run that waits, else a new one queued behind the running one — real
workers, the simulator over HTTP."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from boss.extensions import db
from boss.models import JobRecord, OutboxMessage, utcnow
from tests.conftest import make_tenant, wait_for
from tests.integration import test_warehouse_flow

KIND = "warehouse_sync"

warehouse = test_warehouse_flow.warehouse  # the fixture


def _connect(client, tenant, interval: int) -> None:
    response = client.patch("/api/v1/warehouse", json={"api_key": f"key-{tenant.account_id}",
                                                       "sync_interval_seconds": interval},
                            headers=tenant.headers("admin"))
    assert response.status_code == 200, response.json


def _runs(app, account_id: int) -> list[JobRecord]:
    with app.app_context():
        jobs = list(db.session.scalars(select(JobRecord).where(JobRecord.account_id == account_id,
                                                               JobRecord.kind == KIND).order_by(JobRecord.created_at)))
        db.session.expunge_all()
        db.session.remove()
    return jobs


def _ran(app, account_id: int, seconds_ago: int, state: str = "finished") -> None:
    """A run of the account, begun `seconds_ago`, in `state`."""
    from boss.warehouse import sync

    with app.app_context():
        job = db.session.get(JobRecord, sync.request_sync(account_id))
        job.state, job.created_at = state, utcnow() - timedelta(seconds=seconds_ago)
        db.session.commit()
        db.session.remove()


def _start_due_syncs(app) -> int:
    from boss.warehouse import sync

    with app.app_context():
        started = sync.start_due_syncs()
        db.session.remove()
    return started


def test_start_due_syncs_starts_each_account_whose_interval_has_passed_and_no_other(app, client):
    due = make_tenant(app, "間隔を過ぎた商店")  # every 60 s, last run 90 s ago
    early = make_tenant(app, "まだの商店")  # every 120 s, last run 90 s ago
    never = make_tenant(app, "初めての商店")  # connected, never synced
    busy = make_tenant(app, "同期待ちの商店")  # a run waits since long ago
    unplugged = make_tenant(app, "未接続の商店")
    _connect(client, due, 60)
    _connect(client, early, 120)
    _connect(client, never, 60)
    _connect(client, busy, 30)
    _ran(app, due.account_id, 90)
    _ran(app, early.account_id, 90)
    _ran(app, busy.account_id, 600, state="queued")

    assert _start_due_syncs(app) == 2
    assert [(job.state, job.created_by) for job in _runs(app, due.account_id)] == [
        ("finished", "システム"), ("queued", "定期同期")]
    assert [job.created_by for job in _runs(app, never.account_id)] == ["定期同期"]
    assert len(_runs(app, early.account_id)) == 1 and len(_runs(app, busy.account_id)) == 1
    assert _runs(app, unplugged.account_id) == []
    assert _start_due_syncs(app) == 0, "the runs just started wait: none is started twice"


def _job(warehouse, job_id: str) -> dict:
    response = warehouse.client.get(f"/api/v1/jobs/{job_id}", headers=warehouse.tenant.headers())
    assert response.status_code == 200
    return response.json


def _post_sync(warehouse) -> str:
    response = warehouse.client.post("/api/v1/warehouse/sync", headers=warehouse.tenant.headers())
    assert response.status_code == 202, response.json
    return response.json["job_id"]


def _waits_for_the_lock(app, job_id: str) -> bool:
    """A worker took the run and found the account's lock taken: it rescheduled the run (run_after) and the run is
    still queued."""
    with app.app_context():
        message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.job_id == job_id)).one()
        waiting = message.state == "pending" and message.run_after is not None
        state = db.session.get(JobRecord, job_id).state
        db.session.remove()
    return waiting and state == "queued"


def _periodic_run_ended(app, account_id: int) -> bool:
    """The run the worker's sweeper starts as soon as an account is connected has ended (the next one is due after
    the interval, 60 s: none starts during the test)."""
    return any(job.created_by == "定期同期" and job.state == "finished" for job in _runs(app, account_id))


def test_one_run_per_account_at_a_time_and_sync_answers_the_waiting_run_or_queues_one_behind_the_running_one(
        warehouse, worker, app):
    worker()  # two workers: the second run could start beside the first but for the lock
    order = warehouse.confirmed_order()
    warehouse.act(order["id"], "request-shipment")
    reference = str(warehouse.wait_sent(order["id"])["shipment"]["id"])
    wait_for(lambda: _periodic_run_ended(app, warehouse.tenant.account_id), timeout=20,
             message="the first periodic run to end")
    warehouse.advance(reference, "started")
    warehouse.control("faults", {"function": "events", "times": 1, "http_status": None, "delay_ms": 4000})

    first = _post_sync(warehouse)
    wait_for(lambda: _job(warehouse, first)["state"] == "started", timeout=20, message="the first run to start")
    second = _post_sync(warehouse)
    assert second != first, "a run asked for while one runs must read the events after the request: a new one"
    wait_for(lambda: _waits_for_the_lock(app, second), timeout=20,
             message="the other worker to take the second run and find the account's lock taken")
    assert _job(warehouse, first)["state"] == "started"
    assert _post_sync(warehouse) == second, "the run that waits is the answer"

    wait_for(lambda: _job(warehouse, second)["state"] == "finished", timeout=30, message="the second run to end")
    assert _job(warehouse, first)["result"]["applied"] == 1 and _job(warehouse, second)["result"]["applied"] == 0
    assert warehouse.order(order["id"])["shipment_status"] == "shipping"
    assert len(warehouse.events_of(order["id"], "shipment_started")) == 1
