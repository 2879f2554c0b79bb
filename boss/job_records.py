"""Job records: the state and progress of long work, behind GET /api/v1/jobs/{id}."""
from __future__ import annotations

import uuid
from typing import Optional

from sqlalchemy import update

from .errors import not_found
from .extensions import db
from .models import JobRecord, utcnow
from .unit_of_work import unit_of_work


def create_job(account_id: int, kind: str, params: dict, created_by: str) -> JobRecord:
    job = JobRecord(id=str(uuid.uuid4()), account_id=account_id, kind=kind, state="queued", progress=0,
                    params=params, created_by=created_by)
    db.session.add(job)
    return job


def get_job(account_id: int, job_id: str) -> JobRecord:
    job = db.session.get(JobRecord, job_id)
    if job is None or job.account_id != account_id:
        raise not_found("ジョブ", "Job")
    return job


def set_progress(job: JobRecord, progress: int, state: str = "started", checkpoint=None,
                 result: Optional[dict] = None) -> None:
    job.state = state
    job.progress = max(0, min(100, progress))
    if checkpoint is not None:
        job.checkpoint = checkpoint
    if result is not None:
        job.result = result
    job.updated_at = utcnow()


def set_progress_of(job_id: str, progress: int) -> None:
    """set_progress(job, progress) of a started job by its id, without loading it: one UPDATE in the caller's
    transaction. For work that commits chunk by chunk (the import's batches), where the job object would
    be read again after every commit only to be written."""
    jobs = JobRecord.__table__
    db.session.connection().execute(update(jobs).where(jobs.c.id == job_id).values(
        state="started", progress=max(0, min(100, progress)), updated_at=utcnow()))


def finish_job(job_id: str, state: str, result: Optional[dict] = None, error: Optional[str] = None) -> None:
    """End a job, finished with its result or failed with its error, in a unit of work of its own."""
    with unit_of_work() as uow:
        job = db.session.get(JobRecord, job_id)
        set_progress(job, 100, state=state, result=result)
        job.error = error
        uow.commit()
