"""The events sync (warehouse.md §4): every `sync_interval_seconds` and on demand, one run per account at a time.

A run reads the warehouse's events from the stored cursor, a page at a time, and hands each page to
events.apply_page, which applies it and stores the cursor after it in one transaction — so a run killed
half-way resumes where it stopped. It ends at a page with nothing new. Runs are job records (kind
`warehouse_sync`) carried out through the outbox; `request_sync` answers the run that waits to start if there
is one, else queues a new one (behind the running one, which it never joins: a run asked for now must read
events that arrived after the request). Two runs of one account never overlap: a run that finds the account's
lock taken is rescheduled a moment later.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Optional

from flask import current_app
from sqlalchemy import func, select

from .. import effects, outbox
from ..extensions import db, get_redis
from ..job_records import create_job, set_progress
from ..models import RSL, Connection, JobRecord, utcnow
from ..unit_of_work import unit_of_work
from . import connection, events
from .port import WarehouseAuthError, WarehouseError, WarehouseTransientError

log = logging.getLogger(__name__)

KIND = "warehouse_sync"
OUTBOX_KIND = "warehouse.sync"
PAGE = 500
MAX_PAGES = 400  # a run stops after 200,000 events; the next run goes on from its cursor
LOCK = "boss:warehouse-sync:{account}"
LOCKED_RETRY = timedelta(seconds=2)


def request_sync(account_id: int, created_by: str = "システム") -> str:
    """The id of a sync run that reads the events after this moment: the queued one, or a new one."""
    with unit_of_work() as uow:
        db.session.execute(select(Connection.id).where(  # requests of one account, one at a time (PostgreSQL)
            Connection.account_id == account_id, Connection.provider == RSL,
            Connection.shop_id.is_(None)).with_for_update())
        waiting = db.session.scalars(select(JobRecord).where(
            JobRecord.account_id == account_id, JobRecord.kind == KIND, JobRecord.state == "queued")).first()
        if waiting is not None:
            uow.rollback()
            return waiting.id
        job = create_job(account_id, KIND, {}, created_by=created_by)
        db.session.flush()
        outbox.record(OUTBOX_KIND, {"job_id": job.id, "account_id": account_id}, job_id=job.id)
        uow.commit()
        return job.id


@effects.handler(OUTBOX_KIND)
def run_sync(message) -> Optional[str]:
    job_id, account_id = message.payload["job_id"], message.payload["account_id"]
    job = db.session.get(JobRecord, job_id)
    if job is None or job.state in ("finished", "failed"):
        return None
    lock = get_redis().lock(LOCK.format(account=account_id), timeout=current_app.config["WAREHOUSE_SYNC_LOCK_SECONDS"])
    if not lock.acquire(blocking=False):
        message.run_after = utcnow() + LOCKED_RETRY  # another run of the account is under way: after it
        return outbox.RESCHEDULED
    try:
        with unit_of_work() as uow:
            set_progress(db.session.get(JobRecord, job_id), 1)
            uow.commit()
        state, result, error = "finished", None, None
        try:
            result = sync_account(account_id, lock)
        except WarehouseAuthError as exc:
            connection.mark_connection_failed(account_id, str(exc))
            state, error = "failed", f"倉庫接続エラー: {exc}"
        except WarehouseTransientError as exc:
            state, error = "failed", f"倉庫が一時的に応答しませんでした: {exc}"
        except WarehouseError as exc:
            state, error = "failed", f"倉庫の応答エラー: {exc}"
        with unit_of_work() as uow:
            job = db.session.get(JobRecord, job_id)
            set_progress(job, 100, state=state, result=result)
            job.error = error
            uow.commit()
    finally:
        try:
            lock.release()
        except Exception:  # expired under a very long run: nothing to release
            pass
    return None


def sync_account(account_id: int, lock=None) -> dict:
    """Read and apply the account's events until a page brings nothing new; returns the counts."""
    conn = connection.warehouse_for(account_id)
    if not conn.connected:
        return {"pages": 0, **events.PageResult().as_dict(), "connected": False}
    conn_id, was_failing = conn.id, conn.error is not None
    client = connection.client_for(account_id)
    total, pages = events.PageResult(), 0
    cursor = conn.cursor
    for _ in range(MAX_PAGES):
        page = client.events(after=cursor, limit=PAGE)
        with unit_of_work() as uow:
            result = events.apply_page(conn_id, page.events, page.next_cursor)
            if pages == 0:
                connection.mark_connection_ok(account_id)
            db.session.get(Connection, conn_id).last_run_at = utcnow()
            uow.commit()
        total.add(result)
        if pages == 0 and was_failing:  # 「倉庫接続エラー」 is gone: what waited for the connection goes now
            connection.wake_lanes(account_id)
        pages += 1
        if lock is not None:
            lock.extend(current_app.config["WAREHOUSE_SYNC_LOCK_SECONDS"], replace_ttl=True)
        if not page.events or page.next_cursor == cursor:
            break
        cursor = page.next_cursor
    return {"pages": pages, **total.as_dict(), "connected": True}


@effects.periodic("started %d warehouse sync(s)")
def start_due_syncs() -> int:
    """Every connected account's sync, once its interval has passed since its last run began (or ended) and no
    run of it waits or runs."""
    now = utcnow()
    busy = set(db.session.scalars(select(JobRecord.account_id).where(
        JobRecord.kind == KIND, JobRecord.state.in_(("queued", "started")))))
    last_jobs = dict(db.session.execute(select(JobRecord.account_id, func.max(JobRecord.created_at))
                                        .where(JobRecord.kind == KIND).group_by(JobRecord.account_id)).all())
    started = 0
    for conn in db.session.scalars(select(Connection).where(
            Connection.provider == RSL, Connection.shop_id.is_(None), Connection.secrets_enc.is_not(None))):
        if conn.account_id in busy:
            continue
        last = last_jobs.get(conn.account_id)
        if last is None or last <= now - timedelta(seconds=conn.interval_seconds):
            request_sync(conn.account_id, created_by="定期同期")
            started += 1
    return started
