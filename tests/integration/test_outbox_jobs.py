"""The outbox and jobs with real rq workers: an effect is delayed by a Redis outage or a killed
worker, never lost and never done twice."""
from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import func, select

from boss import create_app
from boss.extensions import db
from boss.models import JobRecord, OutboxMessage
from boss.orders.models import Order, OrderEvent
from tests.conftest import wait_for
from tests.factories import create_order, set_state


def _job(client, tenant, job_id):
    response = client.get(f"/api/v1/jobs/{job_id}", headers=tenant.headers())
    assert response.status_code == 200
    return response.json


def _cancelled_events_per_order(app, ids):
    with app.app_context():
        rows = db.session.execute(select(OrderEvent.order_id, func.count()).where(
            OrderEvent.order_id.in_(ids), OrderEvent.kind == "cancelled").group_by(OrderEvent.order_id)).all()
        db.session.remove()
    return dict(rows)


def _bulk_cancel(client, tenant, ids):
    response = client.post("/api/v1/orders/bulk", json={"action": "cancel", "order_ids": ids}, headers=tenant.headers())
    assert response.status_code == 202, response.json
    return response.json["job_id"]


def test_a_bulk_cancel_over_the_threshold_runs_as_a_job_with_progress_and_a_per_order_result(app, client, tenant, worker, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 3)
    ids = [create_order(client, tenant)["id"] for _ in range(6)]
    shipping = create_order(client, tenant)["id"]
    set_state(app, shipping, "shipping_in_progress", "shipping")

    job_id = _bulk_cancel(client, tenant, ids + [shipping])
    assert _job(client, tenant, job_id)["state"] in ("queued", "started", "finished")

    job = wait_for(lambda: (j := _job(client, tenant, job_id))["state"] == "finished" and j, message="the bulk job")
    assert job["progress"] == 100
    assert job["result"]["done"] == 6 and job["result"]["refused"] == 1
    refused = [item for item in job["result"]["items"] if not item["done"]]
    assert refused[0]["order_id"] == shipping and refused[0]["code"] == "cannot_cancel"
    assert "出荷取下げ" in refused[0]["message"]
    assert _cancelled_events_per_order(app, ids) == {i: 1 for i in ids}


def test_an_effect_committed_while_redis_is_down_runs_once_redis_is_back(app, client, tenant, worker, own_redis, database_url):
    """Redis stops: the cancel job is recorded in the outbox with the change and waits; nothing lost."""
    outage_app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                             "REDIS_URL": own_redis.url, "BOSS_QUEUE": app.config["BOSS_QUEUE"],
                             "BULK_JOB_THRESHOLD": 3})
    outage_client = outage_app.test_client()
    ids = [create_order(outage_client, tenant)["id"] for _ in range(5)]

    own_redis.stop()
    job_id = _bulk_cancel(outage_client, tenant, ids)
    with app.app_context():
        message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.job_id == job_id)).one()
        assert (message.state, message.dispatched_at) == ("pending", None)
        db.session.remove()
    assert _job(outage_client, tenant, job_id)["state"] == "queued"

    own_redis.start()
    worker(own_redis.url)
    wait_for(lambda: _job(outage_client, tenant, job_id)["state"] == "finished", timeout=30,
             message="the job held back by the outage to finish")
    assert _cancelled_events_per_order(app, ids) == {i: 1 for i in ids}


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_job_is_replaced_and_the_job_resumes_without_doing_anything_twice(
        app, client, tenant, worker, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 3)
    ids = [create_order(client, tenant)["id"] for _ in range(300)]
    job_id = _bulk_cancel(client, tenant, ids)
    # The fixture's first worker is running; wait until it is part-way, then kill it hard.
    wait_for(lambda: _job(client, tenant, job_id)["progress"] > 0, interval=0.01, message="the job to start")
    with app.app_context():
        from rq import Worker

        from boss.extensions import redis_connection
        workers = Worker.all(connection=redis_connection(app.config["REDIS_URL"]))
        pids = {w.pid for w in workers}
        db.session.remove()
    for pid in pids:
        os.killpg(pid, signal.SIGKILL)
    progress_at_kill = _job(client, tenant, job_id)
    assert progress_at_kill["state"] != "finished", "the job finished before it could be killed"

    worker()
    job = wait_for(lambda: (j := _job(client, tenant, job_id))["state"] == "finished" and j, timeout=60,
                   message="the job to finish on the new worker")
    assert job["result"]["done"] == 300
    assert _cancelled_events_per_order(app, ids) == {i: 1 for i in ids}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order).where(Order.status == "cancelled")) == 300
        record = db.session.get(JobRecord, job_id)
        assert record.progress == 100
        db.session.remove()
