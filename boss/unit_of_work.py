"""The unit of work: one transaction, its effects dispatched only once it has committed.

What a service may do: open `with unit_of_work() as uow:`, read and change the session, record effects
(`outbox.record`), and `uow.commit()` — the transaction commits, then its effects are enqueued, never
before. Leaving the block by an exception rolls everything back, the effects recorded with it included.
What a view, an API handler or a job wrapper may not do: commit or roll back. They parse, call a service
and render its answer (or its refusal).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

from sqlalchemy import event
from sqlalchemy.orm import Session

from . import outbox

WRITTEN = "boss.written"  # session.info key: the objects the current transaction inserted


def written(session) -> list:
    """What the current transaction inserted so far, and what it is about to (its new objects): they hold what
    it writes, so an answer rendered after the commit may keep them loaded."""
    return [*session.info.get(WRITTEN, ()), *session.new]


@event.listens_for(Session, "pending_to_persistent")
def _note_written(session, instance) -> None:
    session.info.setdefault(WRITTEN, []).append(instance)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_written(session, *_) -> None:
    session.info.pop(WRITTEN, None)


class UnitOfWork:
    def commit(self, keep: Iterable[object] = ()) -> None:
        """Commit, then dispatch the effects recorded in it. `keep`: objects that hold what was just committed
        and are to stay loaded (the caller's answer reads them with no second load)."""
        outbox.commit_and_dispatch(keep)

    @staticmethod
    def rollback() -> None:
        outbox.rollback()


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    uow = UnitOfWork()
    try:
        yield uow
    except BaseException:
        uow.rollback()
        raise


def read_snapshot() -> None:
    """What the request reads from here on, it reads as of one moment. For an answer put together from several
    SELECTs — an order, then its shipment, its tags — while a worker commits: PostgreSQL's READ COMMITTED lets
    each statement see what was committed since the one before (a new shipment state beside the old version),
    and SQLite's driver opens no transaction for a SELECT (each statement reads the latest). A read-only
    request calls it once authenticated (what it wrote so far is committed); it ends a read transaction only.

    PostgreSQL: a REPEATABLE READ transaction; SQLite: BEGIN, a snapshot from its first read (WAL)."""
    from .extensions import db

    session = db.session
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        session.connection().exec_driver_sql("BEGIN")
