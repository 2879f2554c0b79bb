"""The Rakuten re-import (rakuten-rms.md §How our client uses it, R5, R7): searchOrder windows,
getOrder in batches of ≤100, mall-linked 確認待 orders, never a number the shop has ever had, and
mall-side cancels raised as 「モール側キャンセル」.

A run commits batch by batch: a failure part-way keeps what was created, and the next run skips those
numbers (R5), so nothing is lost and nothing is created twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, select

from ... import effects, outbox
from ...errors import ServiceError, not_found
from ...extensions import db, get_queue
from ...job_records import create_job, finish_job, set_progress, set_progress_of
from ...models import RAKUTEN_RMS, Connection, JobRecord, Shop, utcnow
from ...orders import history, import_batch, rules
from ...orders.actor import Actor
from ...orders.registration import NewOrder
from ...reason import Reason
from ...unit_of_work import UnitOfWork, unit_of_work
from . import connection, reflection, reread
from .client import RmsAuthError
from .reader import OPEN_PROGRESS, RmsItem, RmsOrder, RmsPerson

OPEN_STATUSES = (rules.AWAITING_CONFIRMATION, rules.CONFIRMED, rules.AWAITING_SHIPMENT)
PROCESSING_PROGRESS = (200, 400)  # 楽天処理中, 変更確定待ち: Rakuten is still at it
OVERLAP = timedelta(hours=1)
BATCH = 100
ACTOR_NAME = history.IMPORT_ACTOR.ja
IMPORTED_MESSAGE = history.IMPORTED.ja


class BadOrderModel(ValueError):
    """The mall sent an order we cannot read; it is counted as failed and nothing is created."""


# ---------------------------------------------------------------- starting

def start_import(actor: Actor, shop_id: int) -> JobRecord:
    """Queue an import of the shop, or answer the one already queued or running (never two at once)."""
    with unit_of_work() as uow:
        shop = db.session.scalars(select(Shop).where(Shop.id == shop_id, Shop.account_id == actor.account_id)
                                  .with_for_update()).first()
        if shop is None:
            raise not_found("ショップ", "Shop")
        if not shop.rms_connected:
            raise ServiceError("invalid_transition", Reason(
                "このショップは楽天RMSとAPI接続されていないため取り込めません。設定でRMSの認証情報を登録してください。",
                "This shop is not connected to Rakuten RMS; set its RMS credentials first."))
        running = db.session.scalars(select(JobRecord).where(
            JobRecord.shop_id == shop.id, JobRecord.kind == "import",
            JobRecord.state.in_(("queued", "started")))).first()
        if running is not None:
            uow.rollback()  # the shop's lock, nothing else
            return running
        job = create_job(shop.account_id, "import", {"shop_id": shop.id}, created_by=actor.name)
        job.shop_id = shop.id
        db.session.flush()
        outbox.record("rms.import", {"job_id": job.id}, job_id=job.id)
        uow.commit()
    return job


# ---------------------------------------------------------------- running

@effects.handler("rms.import")
def run_import(message) -> None:
    job = db.session.get(JobRecord, message.payload["job_id"])
    if job is None or job.state in ("finished", "failed"):
        return
    shop = db.session.get(Shop, job.shop_id)
    with unit_of_work() as uow:
        set_progress(job, 1)
        uow.commit()
    try:
        result = import_shop(shop, job)
    except RmsAuthError as exc:
        UnitOfWork.rollback()
        connection.mark_connection_failed(shop.id, str(exc))
        finish_job(job.id, "failed", error=f"RMS接続エラー: {exc}")
        return
    finally:
        schedule_next_import(shop.id)
    finish_job(job.id, "finished", result=result)


def import_shop(shop: Shop, job: Optional[JobRecord] = None) -> dict:
    """One import run: returns {fetched, created, skipped, failed, errors}."""
    client = connection.client_for(shop)
    job_id = job.id if job is not None else None
    now = utcnow()
    rms = shop.rms
    start = (datetime.fromisoformat(rms.cursor) - OVERLAP) if rms.cursor else \
        now - timedelta(days=rms.setting("initial_lookback_days"))
    numbers = list(dict.fromkeys(_search_all(client, start, now)))
    with unit_of_work() as uow:
        connection.mark_connection_ok(shop.id)
        counts = {"fetched": len(numbers), "created": 0, "skipped": 0, "failed": 0, "errors": []}
        known = import_batch.numbers_ever_held(shop.id, numbers)  # by key: a look-alike of one it had is skipped too
        counts["skipped"] = len(known)
        fresh = [n for n in numbers if n not in known]
        actor = Actor.job(shop.account_id, ACTOR_NAME)
        uow.commit()  # no transaction (on SQLite: no write lock) stays open across the getOrder calls
    reflection.lane(shop.id).wake()  # RMS answers (committed just now): cancels that waited for the connection go
    for index in range(0, len(fresh), BATCH):
        batch = fresh[index:index + BATCH]
        orders = client.read_orders(batch)
        if job_id is not None:  # committed with the batch's orders
            set_progress_of(job_id, 5 + int(85 * (index + len(batch)) / max(len(fresh), 1)))
        _create_batch(shop.id, orders, actor, counts)
    reread_open_orders(db.session.get(Shop, shop.id), client)
    with unit_of_work() as uow:
        rms = db.session.get(Shop, shop.id).rms_connection
        rms.cursor = now.isoformat()
        rms.last_run_at = utcnow()
        uow.commit()
    counts["errors"] = counts["errors"][:50]
    return counts


def _search_all(client, start: datetime, end: datetime) -> Iterable[str]:
    """searchOrder over windows of ≤63 days, split while a window holds 15,000 or more (the client walks them)."""
    for window in client.search_all(start, end, progress=OPEN_PROGRESS):
        yield from window.order_numbers


def _create_batch(shop_id: int, orders: list[Optional[RmsOrder]], actor: Actor, counts: dict) -> None:
    """One getOrder answer: each order is taken alone (an unreadable one fails alone and is counted with
    its message), the readable ones are created together (import_batch.import_mall_orders commits)."""
    readable = []
    for order in orders:
        try:
            readable.append(new_order(shop_id, order))
        except BadOrderModel as exc:
            counts["failed"] += 1
            counts["errors"].append({"order_number": (order.number or None) if order else None, "message": str(exc)})
    batch = import_batch.import_mall_orders(actor, shop_id, readable, IMPORTED_MESSAGE)
    counts["created"] += len(batch.created)
    counts["skipped"] += len(batch.skipped)


# ---------------------------------------------------------------- an RMS order as a NewOrder

def _party(person: Optional[RmsPerson]) -> dict:
    if person is None:
        raise BadOrderModel("住所情報がありません")
    if not person.name:
        raise BadOrderModel("氏名がありません")
    return {"name": person.name[:255], "name_kana": person.kana[:255], "email": (person.email or "")[:254],
            "phone": person.phone[:40], "postal_code": person.zip_code[:16], "address": person.address[:500]}


def _line(number: str, item: RmsItem) -> dict:
    price = item.unit_price
    if item.units is None or price is None:
        raise BadOrderModel(f"{number}: 商品の数量または価格が不正です")
    mall_item_id = item.manage_number or item.item_number or item.item_id
    if not mall_item_id or not (1 <= item.units <= 9999) or not (0 <= price <= 10_000_000):
        raise BadOrderModel(f"{number}: 商品明細が不正です")
    return {"mall_item_id": mall_item_id[:255], "sub_code": item.sub_code[:255],
            "name": (item.item_name or mall_item_id)[:255], "quantity": item.units, "unit_price": price,
            "options": item.options}


EMPTY_PARTY = dict.fromkeys(("name", "name_kana", "email", "phone", "postal_code", "address"), "")


def read_holds(order: RmsOrder) -> tuple[str, ...]:
    """The holding system tags this read of the order calls for (rakuten-rms.md: holds that only a read removes)."""
    return tuple(code for code, holds in (
        ("mall_processing", order.progress in PROCESSING_PROGRESS),
        ("amount_unfixed", not order.amounts_fixed),
        ("recipient_pending", order.recipient_pending)) if holds)


def new_order(shop_id: int, order: Optional[RmsOrder]) -> import_batch.MallOrder:
    """An RMS order (as the reader read it; None: not an object) as the import creates it: the NewOrder, the
    holds its read calls for, whether it has several destinations, and the RMS version read. BadOrderModel,
    with the reason, for an order the import does not take."""
    if order is None:
        raise BadOrderModel("OrderModel がオブジェクトではありません")
    number = order.number
    if not number or len(number) > 64:
        raise BadOrderModel("orderNumber がありません")
    if order.ordered_at is None:
        raise BadOrderModel(f"{number}: orderDatetime の形式が不正です")
    if not order.packages:
        raise BadOrderModel(f"{number}: PackageModelList がありません")
    lines = [_line(number, item) for item in order.items]
    if not lines:
        raise BadOrderModel(f"{number}: 商品明細がありません")
    package = order.packages[0]
    new = NewOrder(
        shop_id=shop_id, mall_order_number=number, buyer=_party(order.orderer),
        # A gift whose recipient has not entered an address: empty, never the placeholders nor the buyer.
        recipient=dict(EMPTY_PARTY) if order.recipient_pending else _party(order.recipient),
        lines=lines, ordered_at=order.ordered_at.astimezone(timezone.utc).replace(tzinfo=None),
        payment_method=order.settlement_method[:120], remarks=order.remarks,
        delivery_date=order.delivery_date, delivery_time_slot=order.time_slot,
        pickup=package.pickup, drop_off=package.drop_off, **_amounts(order, lines))
    version = reread.rms_version(new)
    return import_batch.MallOrder(new, several_destinations=len(order.packages) > 1, holds=read_holds(order),
                                  rms_read=version, rms_read_hash=import_batch.version_hash(version))


def _amounts(order: RmsOrder, lines: list[dict]) -> dict:
    """The order's money as rakuten-rms.md's table reads it: postage; wrapping = totalPrice − lines − postage;
    the charges on top; coupons; points; billed = requestPrice. While RMS shows any amount at -9999, billed and
    postage are unknown (None) and the rest 0."""
    if not order.amounts_fixed:
        return {"postage": None, "wrapping": 0, "charges": 0, "discount": 0, "points_used": 0, "billed": None}
    postage = order.postage_price if order.postage_price is not None and order.postage_price >= 0 else None
    goods = sum(line["quantity"] * line["unit_price"] for line in lines)
    wrapping = max(order.total_price - goods - (postage or 0), 0) if order.total_price else 0
    billed = order.request_price
    if billed is None:  # RMS gave no 請求金額: api.md's formula
        billed = goods + (postage or 0) + wrapping + order.charges - order.coupon - order.used_point
    return {"postage": postage, "wrapping": wrapping, "charges": order.charges, "discount": order.coupon,
            "points_used": order.used_point, "billed": billed}




# ---------------------------------------------------------------- open orders re-read

def reread_open_orders(shop: Shop, client) -> reread.Reread:
    """Each import re-reads the shop's open mall-linked orders: mall-side cancels, holds, changes (reread.py)."""
    return reread.reread_open_orders(shop, client, new_order)


# ---------------------------------------------------------------- schedule

@effects.periodic("started %d overdue import(s)")
def start_due_imports() -> int:
    """The safety net under RQ's schedule (a Redis flush loses scheduled jobs): start the import of any
    connected shop whose last import began more than twice its interval ago."""
    now = utcnow()
    started = 0
    last_jobs = dict(db.session.execute(select(JobRecord.shop_id, func.max(JobRecord.created_at))
                                        .where(JobRecord.kind == "import").group_by(JobRecord.shop_id)).all())
    for rms in db.session.scalars(select(Connection).join(Shop, Shop.id == Connection.shop_id).where(
            Shop.mall == "rakuten", Connection.provider == RAKUTEN_RMS, Connection.secrets_enc.is_not(None))):
        last = last_jobs.get(rms.shop_id)
        if last is None or last < now - timedelta(seconds=2 * rms.interval_seconds):
            start_import(Actor.system(rms.account_id, history.SCHEDULED_IMPORT_ACTOR.ja), rms.shop_id)
            started += 1
    return started


def schedule_next_import(shop_id: int) -> None:
    """RQ's scheduler starts the shop's next import after its interval (setting, default 10 minutes)."""
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.rms_connected:
        return
    try:
        get_queue().enqueue_in(timedelta(seconds=shop.rms.interval_seconds), "jobs.tasks.call",
                               f"{__name__}.scheduled_import", shop_id, job_id=f"import-schedule-{shop_id}",
                               result_ttl=60)
    except RedisError as exc:
        current_app.logger.warning("could not schedule the next import of shop %s: %s", shop_id, exc)


def scheduled_import(shop_id: int) -> None:
    """What RQ's scheduler runs every N minutes per connected shop: the shop's import, if it is still connected."""
    shop = db.session.get(Shop, shop_id)
    if shop is not None and shop.rms_connected:
        start_import(Actor.job(shop.account_id, history.SCHEDULED_IMPORT_ACTOR.ja), shop.id)
