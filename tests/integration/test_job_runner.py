"""The chunk runner (boss/job_runner.py): a job's items commit chunk by chunk with a checkpoint that is an index;
a job stopped part-way resumes at its last committed chunk, writes no item twice and loses none."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from boss import outbox
from boss.extensions import db
from boss.job_records import create_job
from boss.job_runner import ItemResult, run_in_chunks
from boss.models import JobItem, JobRecord, OutboxMessage
from boss.orders import bulk
from boss.orders.models import OrderEvent
from tests.factories import create_order, set_state


class Killed(Exception):
    """Stands for a worker killed in the middle of a chunk."""


def _job(app, tenant) -> str:
    with app.app_context():
        job = create_job(tenant.account_id, "test", {}, created_by="test")
        db.session.commit()
        job_id = job.id
        db.session.remove()
    return job_id


def _run(app, job_id: str, total: int, calls: list, fail_at: int | None = None, finish=None) -> None:
    def do_chunk(start: int, end: int) -> list[ItemResult]:
        calls.append((start, end))
        if fail_at is not None and start <= fail_at < end:
            raise Killed
        return [ItemResult(ref=100 + position, done=position % 3 != 0, code=None if position % 3 else "refused",
                           message=f"item {position}") for position in range(start, end)]

    with app.app_context():
        run_in_chunks(db.session.get(JobRecord, job_id), total, 4, do_chunk,
                      finish or (lambda items: {"refs": [item.ref for item in items]}))
        db.session.commit()
        db.session.remove()


def _stored(app, job_id: str) -> tuple:
    """The job's state, progress, checkpoint and result, and its items' rows."""
    with app.app_context():
        job = db.session.get(JobRecord, job_id)
        items = db.session.execute(select(JobItem.position, JobItem.ref, JobItem.done, JobItem.message)
                                   .where(JobItem.job_id == job_id).order_by(JobItem.position)).all()
        stored = (job.state, job.progress, job.checkpoint, job.result, [tuple(item) for item in items])
        db.session.remove()
    return stored


def _rows(positions) -> list[tuple]:
    return [(p, 100 + p, p % 3 != 0, f"item {p}") for p in positions]


def test_each_chunk_commits_its_items_and_an_index_as_the_checkpoint(app, tenant):
    job_id = _job(app, tenant)
    calls = []
    with pytest.raises(Killed):
        _run(app, job_id, 10, calls, fail_at=9)
    assert calls == [(0, 4), (4, 8), (8, 10)]
    assert _stored(app, job_id) == ("started", 80, {"index": 8}, None, _rows(range(8)))


def test_a_job_stopped_in_a_chunk_resumes_at_its_last_committed_chunk_and_writes_no_item_twice(app, tenant):
    job_id = _job(app, tenant)
    calls = []
    with pytest.raises(Killed):
        _run(app, job_id, 10, calls, fail_at=5)
    _run(app, job_id, 10, calls)
    assert calls == [(0, 4), (4, 8), (4, 8), (8, 10)]
    assert _stored(app, job_id) == ("finished", 100, {"index": 10}, {"refs": [100 + p for p in range(10)]},
                                    _rows(range(10)))


def test_a_job_stopped_after_its_last_chunk_finishes_from_its_rows_without_carrying_out_an_item_again(app, tenant):
    job_id = _job(app, tenant)
    calls = []

    def killed(items):
        raise Killed

    with pytest.raises(Killed):
        _run(app, job_id, 6, calls, finish=killed)
    _run(app, job_id, 6, calls)
    assert calls == [(0, 4), (4, 6)]
    assert _stored(app, job_id) == ("finished", 100, {"index": 6}, {"refs": list(range(100, 106))}, _rows(range(6)))


def test_a_bulk_job_killed_after_some_orders_of_a_chunk_resumes_and_answers_exactly_as_one_uninterrupted_run(
        app, client, tenant, monkeypatch):
    """The orders done after the last committed chunk are found done (`_already_done_by`), each order is
    cancelled once, and the job's result is the JSON the API answered before job_items."""
    monkeypatch.setitem(app.config, "BULK_JOB_THRESHOLD", 3)
    monkeypatch.setitem(app.config, "BULK_CHUNK", 5)
    orders = [create_order(client, tenant, number=f"R-{n}") for n in range(12)]
    shipping = orders[9]
    set_state(app, shipping["id"], "shipping_in_progress", "shipping")
    ids = [order["id"] for order in orders]
    response = client.post("/api/v1/orders/bulk", json={"action": "cancel", "order_ids": ids}, headers=tenant.headers())
    assert response.status_code == 202, response.json
    job_id = response.json["job_id"]

    run_one = bulk.run_one

    def killed_after_the_eighth_order(actor, action, order_id, params):
        item = run_one(actor, action, order_id, params)
        if order_id == ids[7]:
            raise Killed
        return item

    with app.app_context():
        message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.job_id == job_id))
        monkeypatch.setattr(bulk, "run_one", killed_after_the_eighth_order)
        with pytest.raises(Killed):
            outbox.run_message(message_id)
        job = db.session.get(JobRecord, job_id)
        assert (job.state, job.checkpoint) == ("started", {"index": 5})
        assert db.session.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job_id)) == 5
        monkeypatch.setattr(bulk, "run_one", run_one)
        outbox.run_message(message_id)
        cancels = dict(db.session.execute(select(OrderEvent.order_id, func.count()).where(
            OrderEvent.order_id.in_(ids), OrderEvent.kind == "cancelled").group_by(OrderEvent.order_id)).all())
        positions = list(db.session.scalars(select(JobItem.position).where(JobItem.job_id == job_id)
                                            .order_by(JobItem.position)))
        db.session.remove()
    assert cancels == {order_id: 1 for order_id in ids if order_id != shipping["id"]}
    assert positions == list(range(12))

    job = client.get(f"/api/v1/jobs/{job_id}", headers=tenant.headers()).json
    refusal = ("出荷作業中のためキャンセルできません。倉庫へ出荷取下げを依頼し、出荷不可になってからキャンセルしてください。")
    assert (job["state"], job["progress"], job["error"]) == ("finished", 100, None)
    assert job["result"] == {"total": 12, "done": 11, "refused": 1, "items": [
        {"order_id": order["id"], "mall_order_number": order["mall_order_number"], "shop_id": tenant.shop_id,
         "shop_name": "テスト商店の楽天店", "done": order is not shipping, "code": None if order is not shipping else "cannot_cancel",
         "message": "キャンセルしました" if order is not shipping else refusal} for order in orders]}
