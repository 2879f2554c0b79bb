"""Long work in checkpointed chunks (bulk actions, CSV jobs): a job's items are carried out chunk by chunk,
and each chunk's results, the new checkpoint and the progress commit in one transaction.

The checkpoint is an index only; the items' results are rows of job_items. A killed worker's job resumes at
its last committed chunk: an item carried out after that commit is carried out again, so the work for one
item must recognise what it did before (bulk: `_already_done_by`).

The RMS import does not run here: it searches RMS afresh on every run, so an index into one run's list means
nothing to the next; its batches commit with their orders and R5 (a number the shop has had is skipped) is
its resume.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Optional

from sqlalchemy import insert, select

from .extensions import db
from .job_records import set_progress
from .models import JobItem, JobRecord
from .unit_of_work import unit_of_work


@dataclass(frozen=True)
class ItemResult:
    """What the work for one item answers: a job_items row without its job and position."""
    ref: int
    done: bool
    code: Optional[str]
    message: str
    mall_order_number: Optional[str] = None


def run_in_chunks(job: JobRecord, total: int, chunk_size: int,
                  do_chunk: Callable[[int, int], list[ItemResult]],
                  summarise: Callable[[list[JobItem]], dict]) -> None:
    """Carry out items [checkpoint, total) of the job, `do_chunk(start, end)` answering the results of items
    start..end-1 in order; then finish the job with `summarise(all its items in order)` as its result.

    The finish is left to the caller's commit (the outbox commits it with its message done)."""
    job_id = job.id
    index = (job.checkpoint or {}).get("index", 0)
    with unit_of_work() as uow:
        set_progress(job, _percent(index, total))
        uow.commit()
    while index < total:
        end = min(index + chunk_size, total)
        results = do_chunk(index, end)
        with unit_of_work() as uow:
            db.session.execute(insert(JobItem), [
                {"job_id": job_id, "position": position, **asdict(result)}
                for position, result in enumerate(results, start=index)])
            set_progress(db.session.get(JobRecord, job_id), _percent(end, total), checkpoint={"index": end})
            uow.commit()
        index = end
    items = list(db.session.scalars(select(JobItem).where(JobItem.job_id == job_id).order_by(JobItem.position)))
    set_progress(db.session.get(JobRecord, job_id), 100, state="finished", result=summarise(items))


def _percent(index: int, total: int) -> int:
    return int(index * 100 / total) if total else 100
