"""The transactional outbox: side effects recorded with the change, dispatched to RQ after commit.

A row is the record of truth. `dispatch` enqueues rows right after their transaction commits (one job
each, or handed to a runner of their kind's own, a lane: boss.effects declares which); the sweeper (a
process beside every worker, see jobs/worker.py) enqueues rows a Redis outage kept back and re-enqueues
rows whose job or lane vanished (a killed worker) once their kind's timeout has passed. Handlers are
idempotent, so a second run of the same row changes nothing.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Iterable

from flask import current_app
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import or_, select

from . import effects, lanes
from .extensions import db, get_queue, get_redis
from .models import JobRecord, OutboxMessage, utcnow
from .orders.bulk_sql import insert_rows

log = logging.getLogger(__name__)

LIVE_STATES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def record(kind: str, payload: dict, job_id: str | None = None, run_after=None) -> OutboxMessage:
    """Add an effect to the current transaction; it is dispatched once the transaction commits."""
    message = OutboxMessage(kind=kind, payload=payload, job_id=job_id, state="pending", run_after=run_after)
    db.session.add(message)
    db.session.info.setdefault(_NEW, []).append(message)
    return message


_NEW = "boss_outbox_new"
_NEW_MANY = "boss_outbox_new_many"


@dataclass
class Recorded:
    """A message of `record_many` as its kind's dispatcher sees it after the commit (no ORM object)."""

    kind: str
    payload: dict
    rq_job_id: str | None = None


def record_many(kind: str, payloads: list[dict]) -> None:
    """Many messages of one kind in one INSERT (the mall import's batch), in the current transaction.

    Cheaper than `record` a message at a time: no ORM object, no flush of each, no UPDATE of each at
    dispatch. After the commit a kind with a dispatcher of its own (a lane) is handed the payloads, so the
    work starts at once; the rows stay undispatched until the sweeper's next round dispatches them as it
    dispatches any row that never reached Redis (for a lane: a wake-up, a no-op when one is booked). A
    kind carried out by a job of its own waits for that round."""
    if not payloads:
        return
    now = utcnow()
    insert_rows(OutboxMessage.__table__, [dict(kind=kind, payload=payload, state="pending", dispatches=0, created_at=now)
                                          for payload in payloads])
    db.session.info.setdefault(_NEW_MANY, []).extend(Recorded(kind, payload) for payload in payloads)


def commit_and_dispatch(keep: Iterable[object] = ()) -> None:
    """Commit the unit of work, then enqueue the effects it recorded (never before the commit).
    `keep`: objects that hold what was just committed and are to stay loaded (not expired by the commit)."""
    session = db.session()
    session.flush()
    new = [m for m in session.info.pop(_NEW, []) if m.run_after is None]
    many = session.info.pop(_NEW_MANY, [])
    # The new messages stay loaded through the commit: they hold what was just written, so dispatching them
    # needs no second read of them.
    with _keeping(session, [*keep, *new]):
        session.commit()
        _dispatch_loaded(new)
        _hand_over(many)


def _hand_over(recorded: list[Recorded]) -> None:
    """Hand what record_many recorded to its kinds' dispatchers; a Redis outage leaves it to the sweeper."""
    by_dispatcher: dict = {}
    for message in recorded:
        dispatcher = effects.kind(message.kind).dispatcher
        if dispatcher is not None:
            by_dispatcher.setdefault(dispatcher, []).append(message)
    try:
        for dispatcher, batch in by_dispatcher.items():
            dispatcher(batch)
    except RedisError as exc:
        log.warning("outbox: Redis unavailable, %d message(s) wait for the sweeper: %s", len(recorded), exc)


@contextmanager
def _keeping(session, keep: Iterable[object]):
    """Commits inside expire only what is not in `keep` (everything, when it is empty)."""
    kept = {id(obj) for obj in keep if obj is not None}
    if not kept:
        yield
        return
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True
        for obj in list(session.identity_map.values()):
            if id(obj) not in kept:
                session.expire(obj)


def rollback() -> None:
    db.session.rollback()
    db.session.info.pop(_NEW, None)
    db.session.info.pop(_NEW_MANY, None)


def timeout_for(kind: str) -> int:
    """Seconds after which a dispatched row that has not finished is dispatched again (architecture.md)."""
    return current_app.config[effects.kind(kind).timeout_setting]


def dispatch(ids: Iterable[int]) -> None:
    """Enqueue the given rows. A Redis outage only delays them: the sweeper tries again."""
    ids = list(ids)
    if not ids:
        return
    _dispatch_loaded(list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))))


def _dispatch_loaded(messages: list[OutboxMessage]) -> None:
    if not messages:
        return
    try:
        _enqueue(messages)
        db.session.commit()
    except RedisError as exc:
        db.session.rollback()
        log.warning("outbox: Redis unavailable, %d message(s) wait for the sweeper: %s", len(messages), exc)


def _enqueue(messages: list[OutboxMessage]) -> None:
    """One job per message, except for kinds with a dispatcher of their own (e.g. handed to a lane)."""
    queue = None
    by_dispatcher: dict = {}
    for message in messages:
        message.dispatches += 1
        message.dispatched_at = utcnow()
        dispatcher = effects.kind(message.kind).dispatcher
        if dispatcher is not None:
            by_dispatcher.setdefault(dispatcher, []).append(message)
            continue
        queue = queue or get_queue()
        message.rq_job_id = f"outbox-{message.id}-{message.dispatches}"
        queue.enqueue("jobs.tasks.run_outbox_message", message.id, job_id=message.rq_job_id,
                      job_timeout=max(timeout_for(message.kind) * 10, 300), result_ttl=3600, failure_ttl=86400)
    for dispatcher, batch in by_dispatcher.items():
        dispatcher(batch)


def due_messages(now=None) -> list[OutboxMessage]:
    now = now or utcnow()
    return list(db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == "pending",
               or_(OutboxMessage.run_after.is_(None), OutboxMessage.run_after <= now))
        .order_by(OutboxMessage.id).limit(1000)))


def sweep() -> int:
    """Dispatch what never reached Redis and re-dispatch what a dead worker dropped; returns how many."""
    now = utcnow()
    redis = get_redis()
    alive: dict = {}
    stale = []
    for message in due_messages(now):
        if message.dispatched_at is not None:
            if message.dispatched_at > now - timedelta(seconds=timeout_for(message.kind)):
                continue
            if message.rq_job_id not in alive:
                alive[message.rq_job_id] = _job_alive(redis, message.rq_job_id)
            if alive[message.rq_job_id]:
                continue
        stale.append(message)
    _enqueue(stale)
    db.session.commit()
    return len(stale)


def _job_alive(redis, rq_job_id: str | None) -> bool:
    """Waiting in its queue or scheduled, or started by a worker that still beats (a killed worker stops
    beating, and a job it had popped but not started is in no queue); for a message handed to a lane,
    a run of the lane booked or under way."""
    if not rq_job_id:
        return False
    if rq_job_id.startswith(lanes.PREFIX):
        return lanes.alive(redis, rq_job_id)
    try:
        job = Job.fetch(rq_job_id, connection=redis)
    except NoSuchJobError:
        return False
    status = job.get_status()
    if status == JobStatus.QUEUED:
        return job.get_position() is not None  # popped by a worker that died before starting it: gone
    if status != JobStatus.STARTED:
        return status in LIVE_STATES
    beat = job.last_heartbeat or job.started_at
    if beat is None:
        return True
    if beat.tzinfo is not None:
        beat = beat.astimezone(timezone.utc).replace(tzinfo=None)
    return utcnow() - beat < timedelta(seconds=3 * current_app.config["WORKER_HEARTBEAT_SECONDS"])


SWEEP_LOCK = "boss:outbox:sweep-lock"


def sweep_if_due() -> int | None:
    """Sweep unless another worker swept within the interval (a Redis lock that expires); None when not due."""
    interval = current_app.config["OUTBOX_SWEEP_SECONDS"]
    if not get_redis().set(SWEEP_LOCK, "1", nx=True, ex=interval):
        return None
    return sweep()


# ---------------------------------------------------------------- running a message

MAX_DISPATCHES = 5
RESCHEDULED = "rescheduled"  # what a handler returns when it scheduled itself again: the message stays pending


def run_message(message_id: int) -> None:
    """Carry out one message. An error propagates (RQ keeps the failed job); the sweeper tries again
    after the kind's timeout, and gives up after MAX_DISPATCHES with the message failed."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.state != "pending":
        return
    try:
        outcome = _handler(message.kind)(message)
    except Exception as exc:
        rollback()
        message = db.session.get(OutboxMessage, message_id)
        message.error = f"{exc.__class__.__name__}: {exc}"
        if message.dispatches >= MAX_DISPATCHES:
            message.state = "failed"
            _fail_job(message)
        db.session.commit()
        raise
    if outcome is not RESCHEDULED and message.state == "pending":
        message.state = "done"
        message.done_at = utcnow()
    commit_and_dispatch()


def _handler(kind: str):
    carry_out = effects.kind(kind).handler
    if carry_out is None:
        raise LookupError(f"no handler is declared for the outbox kind {kind!r}")
    return carry_out


def _fail_job(message: OutboxMessage) -> None:
    job = db.session.get(JobRecord, message.job_id) if message.job_id else None
    if job is not None:
        job.state, job.error, job.updated_at = "failed", message.error, utcnow()
