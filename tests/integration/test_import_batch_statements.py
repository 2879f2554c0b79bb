"""The import's batch statements that skip the ORM objects: the job's progress written by its id, and the
tab counters raised by plain UPDATEs (a missing counter row made as _apply_count_deltas makes it)."""
from __future__ import annotations

from sqlalchemy import delete, select

from boss.extensions import db
from boss.jobs import create_job, set_progress, set_progress_of
from boss.models import JobRecord, OrderCount
from boss.orders import rules, services
from boss.orders.search import status_counts
from boss.orders.services import Actor, MallOrder, NewOrder


def _mall_order(shop_id: int, number: str) -> MallOrder:
    return MallOrder(NewOrder(shop_id=shop_id, mall_order_number=number, buyer={"name": "取込 太郎"},
                              lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1200}]))


def test_progress_by_id_is_what_set_progress_writes_and_commits_with_the_callers_transaction(ctx, tenant):
    job = create_job(tenant.account_id, "import", {}, created_by="test")
    set_progress(job, 1)
    services.commit()
    before = job.updated_at
    set_progress_of(job.id, 140)
    db.session.rollback()
    assert db.session.get(JobRecord, job.id).progress == 1  # nothing without the caller's commit
    set_progress_of(job.id, 40)
    services.commit()
    job = db.session.get(JobRecord, job.id)
    assert (job.state, job.progress) == ("started", 40) and job.updated_at >= before
    set_progress_of(job.id, 140)
    services.commit()
    assert db.session.get(JobRecord, job.id).progress == 100


def test_an_imported_batch_raises_the_counters_and_makes_a_missing_one(ctx, tenant):
    actor = Actor.job(tenant.account_id, "楽天RMS取込")
    services.import_mall_orders(actor, tenant.shop_id, [_mall_order(tenant.shop_id, f"IMP-{i}") for i in range(3)], "取込")
    db.session.execute(delete(OrderCount).where(OrderCount.shop_id == tenant.shop_id,
                                                OrderCount.status == rules.AWAITING_CONFIRMATION))
    services.commit()
    services.import_mall_orders(actor, tenant.shop_id, [_mall_order(tenant.shop_id, f"IMP-{i}") for i in range(3, 5)], "取込")
    made = db.session.scalar(select(OrderCount.n).where(OrderCount.shop_id == tenant.shop_id,
                                                        OrderCount.status == rules.AWAITING_CONFIRMATION))
    assert made == 2
    services.recount(tenant.account_id)
    assert status_counts(tenant.account_id)[rules.AWAITING_CONFIRMATION] == 5
