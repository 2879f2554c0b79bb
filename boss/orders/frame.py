"""The action frame and what every order service shares: lookups, the history event, the version, system tags.

An action (`act`) locks its order (a row lock on PostgreSQL; the optimistic version check on both
databases), asks the pure rules, applies its change with the tab counters kept, and commits once, in one
unit of work.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from ..errors import REASON_CONFLICT, ServiceError, not_found
from ..extensions import db
from ..models import Shop, utcnow
from ..parsing import MAX_ID
from ..unit_of_work import unit_of_work, written
from . import history, rules
from .actor import Actor
from .bulk_sql import insert_rows
from .counters import counted
from .models import Order, OrderEvent, Tag

# ---------------------------------------------------------------- lookups


def valid_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID <= value <= MAX_ID


def owned(model, account_id: int, object_id, what: str, what_en: str):
    """The account's `model` with this id; another account's, or none, is not found (R14), as is an id no row
    can have (a bool, a float, a number past the column's range)."""
    found = db.session.get(model, object_id) if valid_id(object_id) else None
    if found is None or found.account_id != account_id:
        raise not_found(what, what_en)
    return found


def get_shop(account_id: int, shop_id) -> Shop:
    return owned(Shop, account_id, shop_id, "ショップ", "Shop")


def get_order(account_id: int, order_id: int) -> Order:
    return owned(Order, account_id, order_id, "注文", "Order")


def get_tag(account_id: int, tag_id) -> Tag:
    return owned(Tag, account_id, tag_id, "タグ", "Tag")


def _lock_order(account_id: int, order_id: int) -> Order:
    if not valid_id(order_id):
        raise not_found("注文", "Order")
    # The shop comes joined with its RMS connection: what a cancel sets off depends on it (R9), one query.
    stmt = (select(Order).where(Order.id == order_id, Order.account_id == account_id)
            .options(joinedload(Order.shop).joinedload(Shop.rms_connection), joinedload(Order.lines),
                     joinedload(Order.tags), joinedload(Order.shipments))
            .with_for_update(of=Order).execution_options(populate_existing=True))
    order = db.session.scalars(stmt).unique().one_or_none()
    if order is None:
        raise not_found("注文", "Order")
    return order


# ---------------------------------------------------------------- events, versions, tags

def record_event(order: Order, actor: Actor, kind: str, message: str = "",
                 from_status: Optional[str] = None, to_status: Optional[str] = None) -> None:
    collected = db.session.info.get(_HISTORY_ROWS)
    if collected is not None and order.id is not None:
        collected.append(event_row(order.id, utcnow(), actor, kind, message, from_status, to_status))
        return
    db.session.add(OrderEvent(order=order, at=utcnow(), actor_type=actor.type, actor_name=actor.name, kind=kind,
                              from_status=from_status, to_status=to_status, message=message))


_HISTORY_ROWS = "boss.history_rows"  # session.info key while `history_together` collects the history rows


@contextmanager
def history_together():
    """Within: the history rows recorded are collected and written in one INSERT when the block ends (no commit),
    in the order they were recorded — a page of warehouse events writes hundreds, which as ORM objects cost a
    flush of each and a statement of thousands of placeholders. Nothing within may read an order's history."""
    if db.session.info.get(_HISTORY_ROWS) is not None:  # nested: the outer block writes them
        yield
        return
    rows = db.session.info[_HISTORY_ROWS] = []
    try:
        yield
        insert_rows(OrderEvent.__table__, rows)
    finally:
        db.session.info.pop(_HISTORY_ROWS, None)


def event_row(order_id: int, at: datetime, actor: Actor, kind: str, message: str,
              from_status: Optional[str], to_status: Optional[str]) -> dict:
    """An OrderEvent row, as record_event writes it, for an INSERT of many."""
    return dict(order_id=order_id, at=at, actor_type=actor.type, actor_name=actor.name, kind=kind,
                from_status=from_status, to_status=to_status, message=message)


def touch(order: Order) -> None:
    """Any change to an order bumps its version (R13), lines and tags included."""
    order.updated_at = utcnow()


def attach_tag(order: Order, tag: Tag) -> bool:
    if any(t.id == tag.id for t in order.tags):
        return False
    order.tags.append(tag)
    touch(order)
    return True


def detach_tag(order: Order, code_or_tag) -> bool:
    for tag in list(order.tags):
        if tag is code_or_tag or (isinstance(code_or_tag, str) and tag.code == code_or_tag):
            order.tags.remove(tag)
            touch(order)
            return True
    return False


def system_tag(account_id: int, code: str) -> Tag:
    tag = db.session.scalars(select(Tag).where(Tag.account_id == account_id, Tag.code == code)).first()
    if tag is None:
        spec = rules.SYSTEM_TAGS_BY_CODE[code]
        tag = Tag(account_id=account_id, code=code, name=spec.name, color=spec.color, system=True, holds=spec.holds)
        db.session.add(tag)
        db.session.flush()
    return tag


def ensure_system_tags(account_id: int) -> None:
    for spec in rules.SYSTEM_TAGS:
        system_tag(account_id, spec.code)


def follow_lines(order: Order) -> None:
    """After an order's lines changed (a mall change taken, an edit): 「商品未マッピング」 is raised while a line is
    unmapped — a 確認済 order goes back to 確認待, as its lines must all be mapped — and cleared once none is."""
    if any(not line.mapped for line in order.lines):
        attach_tag(order, system_tag(order.account_id, "unmapped_items"))
        if order.status == rules.CONFIRMED:
            order.status = rules.AWAITING_CONFIRMATION
            order.confirmed_at = None
    else:
        detach_tag(order, "unmapped_items")


def raise_system_tag(order: Order, code: str, actor: Actor, message: str = "") -> bool:
    """Add a system tag (no commit: part of the caller's unit of work)."""
    with counted(order):
        added = attach_tag(order, system_tag(order.account_id, code))
    if added:
        record_event(order, actor, "tag_added", message or rules.SYSTEM_TAGS_BY_CODE[code].name, order.status, order.status)
    return added


def clear_system_tag(order: Order, code: str, actor: Actor, message: str = "") -> bool:
    with counted(order):
        removed = detach_tag(order, code)
    if removed:
        record_event(order, actor, "tag_removed", message or rules.SYSTEM_TAGS_BY_CODE[code].name, order.status, order.status)
    return removed


# ---------------------------------------------------------------- the action frame

def act(actor: Actor, order_id: int, expected_version: Optional[int],
        decide: Callable[[Order], rules.Decision], apply: Callable[[Order], None]) -> Order:
    """Lock, check the version, ask the rule, apply, commit; a lost race is refused, never applied twice."""
    for _ in range(3):
        with unit_of_work() as uow:
            order = _lock_order(actor.account_id, order_id)
            if expected_version is not None and order.version != expected_version:
                refuse_conflict(order, actor)
            decision = decide(order)
            if not decision:
                raise ServiceError(decision.code, decision.reason)
            try:
                with counted(order):
                    apply(order)  # the counters' UPDATE autoflushes the order: a lost race shows here too
                uow.commit(keep=_loaded_with(order))
                return order
            except StaleDataError:
                # SQLite has no row lock: the version check at UPDATE tells the loser. Try again, so
                # that without If-Match the loser gets the rule's own refusal (R13).
                uow.rollback()
        if expected_version is not None:
            refuse_conflict(_lock_order(actor.account_id, order_id), actor)
    raise ServiceError("conflict", REASON_CONFLICT)


def _loaded_with(order: Order) -> list:
    """The order and what the action read and wrote of it: they hold what was just committed (the row was
    locked), so the caller's answer (the list row, the API's JSON) needs no second load of them — its lines'
    products and its shipments too when the action loaded them, and the rows the action inserted (a return it
    opened, the outbox message it recorded)."""
    kept = [order, order.shop, *order.lines, *order.tags, *written(db.session)]
    kept += [line.product for line in order.lines if "product" in line.__dict__ and line.product is not None]
    if "shipments" in order.__dict__:
        kept += order.shipments
    return kept


def refuse_conflict(order: Order, actor: Actor) -> None:
    """R13: a write against a version that is not the order's is refused, and the refusal is in its history."""
    with unit_of_work() as uow:
        record_event(order, actor, "conflict_refused", history.CONFLICT_REFUSED.ja)
        uow.commit()
    raise ServiceError("conflict", REASON_CONFLICT)
