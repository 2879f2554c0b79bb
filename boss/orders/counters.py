"""The tab counters (order_counts): kept in step with every change of status, deletion or attention tags."""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import Optional

from sqlalchemy import func, select, update

from ..extensions import db
from ..models import OrderCount, Shop
from ..unit_of_work import unit_of_work
from . import rules
from .models import Order, Tag, order_tags
from .search import ATTENTION


def count_key(order: Order):
    if order.deleted_at is not None:
        return None
    return order.shop_id, order.status, any(rules.attention_tag(t.code) for t in order.tags)


PAGE_DELTAS = "boss.count_deltas"  # session.info key while `summed()` holds the counters' deltas


def bump_counts(before, after) -> None:
    deltas: Counter = db.session.info.get(PAGE_DELTAS)
    if deltas is None:
        deltas = Counter()
        _add_deltas(deltas, before, after)
        apply_count_deltas(deltas)
    else:
        _add_deltas(deltas, before, after)


@contextmanager
def summed():
    """Within: the counters' deltas are summed and applied once, when the block ends (no commit). A page of
    warehouse events moves hundreds of orders: a few UPDATEs instead of two per order, in the same transaction."""
    if db.session.info.get(PAGE_DELTAS) is not None:  # nested: the outer block applies them
        yield
        return
    deltas = db.session.info[PAGE_DELTAS] = Counter()
    try:
        yield
    finally:
        db.session.info.pop(PAGE_DELTAS, None)
    apply_count_deltas(deltas)


def _add_deltas(deltas: Counter, before, after) -> None:
    for key, sign in ((before, -1), (after, 1)):
        if key is None:
            continue
        shop_id, status, attention = key
        deltas[(shop_id, status)] += sign
        if attention:
            deltas[(shop_id, ATTENTION)] += sign


def apply_count_deltas(deltas: Counter) -> None:
    """Add {(shop_id, status): delta} to the counters, one UPDATE per counter."""
    for (shop_id, status), delta in sorted(deltas.items()):  # a fixed order: no deadlock between writers
        if not delta:
            continue
        result = db.session.execute(
            update(OrderCount).where(OrderCount.shop_id == shop_id, OrderCount.status == status)
            .values(n=OrderCount.n + delta))
        if result.rowcount == 0:
            db.session.add(OrderCount(shop_id=shop_id, status=status, n=delta))
            db.session.flush()


OPEN = "boss.counted_open"  # session.info key: ids of the orders a `counted` block is open for


@contextmanager
def counted(order: Optional[Order]):
    """Keep order_counts right across a change of status, deletion or attention tags.

    A block for an order already inside one for the same order (a system tag raised or cleared within an action
    that frame.act counts) counts nothing itself: the outer block's before and after include its change, which
    would otherwise be counted twice."""
    holder = {"order": order}
    opened = db.session.info.setdefault(OPEN, set())
    if order is not None and id(order) in opened:
        yield holder
        return
    before = count_key(order) if order is not None and order.id is not None else None
    if order is not None:
        opened.add(id(order))
    try:
        yield holder
    finally:
        opened.discard(id(order))
    bump_counts(before, count_key(holder["order"]))


def create_count_rows(shop_id: int) -> None:
    for status in (*rules.STATUSES, ATTENTION):
        db.session.add(OrderCount(shop_id=shop_id, status=status, n=0))


def recount(account_id: Optional[int] = None) -> None:
    """Rebuild the counters from the orders (after a bulk load that bypassed the services)."""
    with unit_of_work() as uow:
        _recount(account_id)
        uow.commit()


def _recount(account_id: Optional[int]) -> None:
    shops = select(Shop.id)
    if account_id is not None:
        shops = shops.where(Shop.account_id == account_id)
    shop_ids = list(db.session.scalars(shops))
    db.session.execute(update(OrderCount).where(OrderCount.shop_id.in_(shop_ids)).values(n=0))
    rows = db.session.execute(
        select(Order.shop_id, Order.status, func.count()).where(Order.shop_id.in_(shop_ids), Order.deleted_at.is_(None))
        .group_by(Order.shop_id, Order.status)).all()
    attention = db.session.execute(
        select(Order.shop_id, func.count(func.distinct(Order.id)))
        .join(order_tags, order_tags.c.order_id == Order.id).join(Tag, Tag.id == order_tags.c.tag_id)
        .where(Order.shop_id.in_(shop_ids), Order.deleted_at.is_(None), Tag.code.in_(rules.ATTENTION_TAG_CODES))
        .group_by(Order.shop_id)).all()
    for shop_id, status, n in [*rows, *[(s, ATTENTION, n) for s, n in attention]]:
        result = db.session.execute(update(OrderCount).where(OrderCount.shop_id == shop_id, OrderCount.status == status).values(n=n))
        if result.rowcount == 0:
            db.session.add(OrderCount(shop_id=shop_id, status=status, n=n))
