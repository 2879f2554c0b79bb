"""The import's batch statements that skip the ORM objects: the job's progress written by its id, the tab
counters raised by plain UPDATEs (a missing counter row made as _apply_count_deltas makes it), and the rows
of the batch INSERTs stored as executemany stores them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, insert, select, text

from boss.extensions import db
from boss.job_records import create_job, set_progress, set_progress_of
from boss.models import JobRecord, OrderCount
from boss.orders import bulk_sql, counters, frame, import_batch, registration, rules
from boss.orders.actor import Actor
from boss.orders.import_batch import MallOrder
from boss.orders.models import Order, OrderEvent
from boss.orders.registration import NewOrder
from boss.orders.search import status_counts
from boss.outbox import commit_and_dispatch


def _mall_order(shop_id: int, number: str) -> MallOrder:
    return MallOrder(NewOrder(shop_id=shop_id, mall_order_number=number, buyer={"name": "取込 太郎"},
                              lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1200}]))


def test_progress_by_id_is_what_set_progress_writes_and_commits_with_the_callers_transaction(ctx, tenant):
    job = create_job(tenant.account_id, "import", {}, created_by="test")
    set_progress(job, 1)
    commit_and_dispatch()
    before = job.updated_at
    set_progress_of(job.id, 140)
    db.session.rollback()
    assert db.session.get(JobRecord, job.id).progress == 1  # nothing without the caller's commit
    set_progress_of(job.id, 40)
    commit_and_dispatch()
    job = db.session.get(JobRecord, job.id)
    assert (job.state, job.progress) == ("started", 40) and job.updated_at >= before
    set_progress_of(job.id, 140)
    commit_and_dispatch()
    assert db.session.get(JobRecord, job.id).progress == 100


def test_an_imported_batch_raises_the_counters_and_makes_a_missing_one(ctx, tenant):
    actor = Actor.job(tenant.account_id, "楽天RMS取込")
    import_batch.import_mall_orders(actor, tenant.shop_id, [_mall_order(tenant.shop_id, f"IMP-{i}") for i in range(3)], "取込")
    db.session.execute(delete(OrderCount).where(OrderCount.shop_id == tenant.shop_id,
                                                OrderCount.status == rules.AWAITING_CONFIRMATION))
    commit_and_dispatch()
    import_batch.import_mall_orders(actor, tenant.shop_id, [_mall_order(tenant.shop_id, f"IMP-{i}") for i in range(3, 5)], "取込")
    made = db.session.scalar(select(OrderCount.n).where(OrderCount.shop_id == tenant.shop_id,
                                                        OrderCount.status == rules.AWAITING_CONFIRMATION))
    assert made == 2
    counters.recount(tenant.account_id)
    assert status_counts(tenant.account_id)[rules.AWAITING_CONFIRMATION] == 5


def _raw(table_name: str, ids: list[int]) -> list[tuple]:
    """Every column of the rows as the database holds it (SQLite: with its storage class), id and number (and its
    key) left out."""
    columns = [c for c in db.metadata.tables[table_name].columns.keys()
               if c not in ("id", "mall_order_number", "mall_order_number_key", "order_id")]
    if db.engine.dialect.name == "sqlite":
        exprs = ", ".join(f"typeof({c}), {c}" for c in columns)
    else:
        exprs = ", ".join(f"{c}::text" for c in columns)
    return [tuple(row) for row in db.session.execute(text(f"SELECT {exprs} FROM {table_name} WHERE id IN ({', '.join(map(str, ids))}) ORDER BY id"))]


def test_the_json_insert_stores_what_executemany_stores(ctx, tenant):
    """bulk_sql.insert_rows sends a batch to PostgreSQL as one JSON parameter: the rows must come out as
    SQLAlchemy's executemany of the same dicts writes them (datetimes, dates, booleans, NULLs, big totals)."""
    now = datetime(2026, 11, 28, 0, 0, 4, 302443)
    def order(number: str, at: datetime) -> dict:
        columns = registration.order_columns(frame.get_shop(tenant.account_id, tenant.shop_id), NewOrder(
            shop_id=tenant.shop_id, mall_order_number=number, buyer={"name": "山田 花子", "phone": "03-1234-5678"},
            lines=[], ordered_at=at, remarks="[配送日時指定:]\n午前中 \"x\" \\ \u3000", postage=None,
            delivery_date=date(2026, 12, 1), delivery_time_slot="14:00～16:00"), "mall_import", mall_linked=True)
        return {**columns, "total": 2 ** 40, "search_text": "山田花子|0312345678", "created_at": now, "updated_at": now,
                "confirmed_at": None, "version": 1}

    times = [datetime(2026, 11, 27, 23, 59, 59), now]
    table = Order.__table__
    ours = [order_id for order_id, _ in bulk_sql.insert_rows(
        table, [order(f"JSON-{i}", at) for i, at in enumerate(times)], unless_held=True, returning=(table.c.id, table.c.mall_order_number))]
    theirs = [db.session.execute(insert(table).returning(table.c.id), order(f"MANY-{i}", at)).scalar_one()
              for i, at in enumerate(times)]
    assert _raw("orders", ours) == _raw("orders", theirs)

    events = [frame.event_row(ours[0], now, Actor.job(tenant.account_id, "取込"), "imported", "取り込みました。", None, "x"),
              frame.event_row(ours[1], times[0], Actor.job(tenant.account_id, "取込"), "confirmed", "", "x", "y")]
    bulk_sql.insert_rows(OrderEvent.__table__, events)
    event_ids = list(db.session.scalars(select(OrderEvent.id).order_by(OrderEvent.id)))
    db.session.execute(insert(OrderEvent.__table__), events)
    all_ids = list(db.session.scalars(select(OrderEvent.id).order_by(OrderEvent.id)))
    assert _raw("order_events", event_ids) == _raw("order_events", [i for i in all_ids if i not in event_ids])
    db.session.rollback()
