"""Applying the warehouse's events to orders (warehouse.md §4), a page at a time, exactly once.

The sync (sync.py) hands each page of events here with the cursor that follows it. One transaction applies
the page and stores that cursor, so a run killed half-way resumes after the last page it committed and does
nothing twice. Within the page:
- an event id the account has seen before is skipped (delivery is at least once: a redelivery, a cursor reset);
- events are applied per shipment in `seq` order, whatever order they came in; an event whose seq is not above
  the last one applied to its shipment is stale: recorded in the order's history, not applied;
- an event for a `client_reference` BOSS does not know is logged and skipped;
- every other event goes through the pure rules (orders/shipping_rules.on_event) and is carried out as they say,
  with the order's history (R12) and a new version (R13), or recorded as not applied when they say so.
"""
from __future__ import annotations

import logging
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from typing import Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..malls.rakuten import shipping_info
from ..models import Connection, Shop, WarehouseEvent, utcnow
from ..orders import counters, frame, history, rules
from ..orders import shipping_rules as sr
from ..orders.actor import Actor
from ..orders.bulk_sql import Row, flush_plain, flush_versioned, insert_rows, one_of, update_rows
from ..orders.counters import counted
from ..orders.models import Order, OrderLine, Shipment, Tag, order_tags
from ..reason import Reason
from . import returns, stock

log = logging.getLogger(__name__)

APPLIED, STALE, UNKNOWN, IGNORED = "applied", "stale", "unknown", "ignored"
CARRIER_WORDS = {"yamato": "ヤマト運輸", "sagawa": "佐川急便", "japanpost": "日本郵便", "other": "その他"}


@dataclass
class PageResult:
    applied: int = 0
    stale: int = 0
    duplicate: int = 0
    unknown: int = 0
    ignored: int = 0
    cancelled_ids: list[int] = field(default_factory=list)  # orders 取下げ後にキャンセル cancelled now

    def add(self, other: "PageResult") -> None:
        for name in ("applied", "stale", "duplicate", "unknown", "ignored"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cancelled_ids.extend(other.cancelled_ids)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in ("applied", "stale", "duplicate", "unknown", "ignored")}


def apply_page(connection_id: int, events: Sequence, next_cursor: Optional[str]) -> PageResult:
    """Apply one page of events and store `next_cursor`, in the caller's transaction (no commit)."""
    with frame.history_together():  # the page's history rows in one INSERT
        return _apply_page(connection_id, events, next_cursor)


def _apply_page(connection_id: int, events: Sequence, next_cursor: Optional[str]) -> PageResult:
    conn = db.session.get(Connection, connection_id)
    account_id = conn.account_id
    result = PageResult()
    fresh = _unseen(account_id, events, result)
    shipments, latest = _shipments(account_id, fresh)
    actor = Actor.system(account_id, history.WAREHOUSE_ACTOR.ja)
    seen_rows = []
    now = utcnow()
    by_shipment: dict = defaultdict(list)
    for event in fresh:
        shipment = shipments.get(_shipment_key(event.client_reference))
        if shipment is None:
            log.info("warehouse event %s for unknown client_reference %r skipped", event.id, event.client_reference)
            result.unknown += 1
            seen_rows.append(_seen(account_id, event, None, UNKNOWN, now))
            continue
        if not event.applicable:  # an unknown type, or an event without what its type needs: recorded, skipped
            _record_not_applied(shipment.order, actor, event, event.problem or sr.on_event(
                event.type, shipment.order.status, shipment.status).reason.ja)
            result.ignored += 1
            seen_rows.append(_seen(account_id, event, shipment.id, IGNORED, now))
            continue
        by_shipment[shipment.id].append(event)
    # The tab counters: one UPDATE per counter for the page, not two per event; stock's ships: one UPDATE per product
    # for the page and the ledger rows in one INSERT, not an UPDATE per product and an INSERT per order (both with
    # the outcome of one event after the other). No autoflush: the statements run meanwhile (stock's UPDATEs and
    # ledger rows, the counters) read nothing the page's pending changes would alter, so the orders, shipments and
    # history rows go in one flush at the commit instead of one per statement.
    with db.session.no_autoflush, counters.summed(), stock.ships_together():
        for shipment_id, its_events in by_shipment.items():
            shipment = shipments[str(shipment_id)]
            for event in sorted(its_events, key=lambda e: e.seq):
                outcome = _apply(shipment, latest[shipment.order_id] == shipment.id, event, actor, result)
                seen_rows.append(_seen(account_id, event, shipment.id, outcome, now))
    # The orders' UPDATEs (version-checked, R13) in one statement, not one round trip each at the commit's flush;
    # the shipments' too, not an UPDATE a row.
    models = [shipment for shipment in shipments.values() if isinstance(shipment, Shipment)]
    flush_versioned([shipment.order for shipment in models])
    flush_plain(models)
    rows = [shipment for shipment in shipments.values() if isinstance(shipment, Row)]
    update_rows(Order.__table__, [shipment.order for shipment in rows], version="version")
    update_rows(Shipment.__table__, rows)
    _expire_loaded(rows)
    if seen_rows:
        insert_rows(WarehouseEvent.__table__, seen_rows)
    conn.cursor = next_cursor
    return result


def _unseen(account_id: int, events: Sequence, result: PageResult) -> list:
    """The page's events the account has not seen (by id), each once."""
    ids = list({event.id for event in events})
    seen = set(db.session.scalars(select(WarehouseEvent.event_id).where(
        WarehouseEvent.account_id == account_id, one_of(WarehouseEvent.event_id, ids)))) if ids else set()
    fresh, taken = [], set()
    for event in events:
        if event.id in seen or event.id in taken:
            result.duplicate += 1
            continue
        taken.add(event.id)
        fresh.append(event)
    return fresh


def _shipment_key(client_reference) -> str:
    return str(client_reference or "").strip()


def _shipments(account_id: int, events: Sequence) -> tuple[dict, dict[int, int]]:
    """The account's shipments the events name (client_reference = BOSS's shipment id), with their orders —
    locked on PostgreSQL, so a staff action on the same order waits for the page (or the page for it) — and
    each of those orders' latest shipment id (its current one).

    A shipment whose events can only change statuses (shipping_rules.statuses_only: the `started` and `shipped`
    of a day's sync) comes as a Row, its order a Row with its tags' codes and its lines' products: hundreds of ORM
    objects a page cost more than the page's statements. Any other comes as the ORM's Shipment with its Order, for
    the tags, returns and cancels its events may bring."""
    ids = {int(key) for key in (_shipment_key(e.client_reference) for e in events) if key.isdigit() and len(key) < 12}
    if not ids:
        return {}, {}
    order_columns = [Order.__table__.c[name].label(f"order_{name}") for name in _ORDER_COLUMNS]
    # The orders are named by id too (those of the shipments): else SQLite's planner may scan every order of the
    # account for the join instead of looking up the page's.
    rows = db.session.execute(
        select(*Shipment.__table__.c, *order_columns).join(Order, Order.id == Shipment.order_id)
        .where(one_of(Shipment.id, ids), Order.id.in_(select(Shipment.order_id).where(one_of(Shipment.id, ids))),
               Order.account_id == account_id)
        .with_for_update(of=Order.__table__)).mappings().all()
    types: dict[str, set] = defaultdict(set)
    for event in events:
        types[_shipment_key(event.client_reference)].add(event.type)
    found: dict = {}
    as_models = []
    for row in rows:
        key = str(row["id"])
        if sr.statuses_only(row["order_status"], row["notice"], row["pending_cancel"] is not None, types[key]):
            order = Row({name: row[f"order_{name}"] for name in _ORDER_COLUMNS}, tags=(), lines=())
            found[key] = Row({name: row[name] for name in Shipment.__table__.c.keys()}, order=order)
        else:
            as_models.append(row["id"])
    _read_with(found, any(event.type != sr.STARTED for event in events))
    if as_models:
        found.update(_models(account_id, as_models))
    order_ids = {s.order_id for s in found.values()}
    latest = dict(db.session.execute(select(Shipment.order_id, func.max(Shipment.id))
                                     .where(one_of(Shipment.order_id, order_ids)).group_by(Shipment.order_id)).all())
    return found, latest


# What carrying out a step that changes only statuses reads and sets of an order (events._carry_out, counters,
# stock, the shipping info's reflection).
_ORDER_COLUMNS = ("id", "account_id", "shop_id", "status", "shipment_status", "mall_linked", "stock_reserved",
                  "shipping_reflection_state", "shipping_reflection_message", "deleted_at", "updated_at", "version")
_Tag = namedtuple("_Tag", "code")
_Line = namedtuple("_Line", "product_id quantity")
_Shop = namedtuple("_Shop", "rms_connected")


def _read_with(found: dict, with_lines: bool) -> None:
    """The Row orders' tags (the counters' attention key), shops (the shipping info's reflection) and, when an event
    of the page may move stock (a `started` moves none), lines: a query each for the page."""
    orders = {s.order.id: s.order for s in found.values()}
    if not orders:
        return
    tags = defaultdict(list)
    for order_id, code in db.session.execute(select(order_tags.c.order_id, Tag.code).join(
            Tag, Tag.id == order_tags.c.tag_id).where(one_of(order_tags.c.order_id, orders))):
        tags[order_id].append(_Tag(code))
    lines = defaultdict(list)
    if with_lines:
        for order_id, product_id, quantity in db.session.execute(select(OrderLine.order_id, OrderLine.product_id,
                                                                        OrderLine.quantity)
                                                                 .where(one_of(OrderLine.order_id, orders))):
            lines[order_id].append(_Line(product_id, quantity))
    shops = {shop_id: _Shop(db.session.get(Shop, shop_id).rms_connected)
             for shop_id in {order.shop_id for order in orders.values()}}
    for order_id, order in orders.items():
        order.__dict__.update(tags=tuple(tags[order_id]), lines=tuple(lines[order_id]), shop=shops[order.shop_id])


def _models(account_id: int, shipment_ids: list[int]) -> dict[str, Shipment]:
    """The shipments as the ORM's, with their orders (locked), tags and lines."""
    # The orders' tags (the counters' attention key, system tags) and lines (stock) are loaded with them: two
    # queries for the page instead of two per order.
    stmt = (select(Shipment).join(Shipment.order)
            .options(contains_eager(Shipment.order).selectinload(Order.tags),
                     contains_eager(Shipment.order).selectinload(Order.lines))
            .where(one_of(Shipment.id, shipment_ids), Order.account_id == account_id,
                   Order.id.in_(select(Shipment.order_id).where(one_of(Shipment.id, shipment_ids))))
            .with_for_update(of=Order).execution_options(populate_existing=True))
    return {str(s.id): s for s in db.session.scalars(stmt).unique()}


def _expire_loaded(rows: list) -> None:
    """An ORM copy of an order or shipment written as a Row that the session holds (loaded before the page, in the
    same transaction) is expired: read again when used, never written from what it held."""
    written = {(Order, (row.order.id,)) for row in rows} | {(Shipment, (row.id,)) for row in rows}
    for key, obj in list(db.session.identity_map.items()):  # by identity key: reading an expired object's id loads it
        if key[:2] in written:
            db.session.expire(obj)


def _seen(account_id: int, event, shipment_id: Optional[int], outcome: str, now) -> dict:
    return dict(account_id=account_id, event_id=str(event.id)[:100], shipment_id=shipment_id,
                type=str(event.type)[:40], seq=event.seq if isinstance(event.seq, int) else None,
                outcome=outcome, received_at=now)


def _apply(shipment: Shipment, current: bool, event, actor: Actor, result: PageResult) -> str:
    order = shipment.order
    if event.seq <= shipment.last_seq:
        frame.record_event(order, actor, "stale_event_ignored",
                           history.STALE_EVENT(type=event.type, seq=event.seq, last=shipment.last_seq),
                           order.status, order.status)
        frame.touch(order)
        result.stale += 1
        return STALE
    return_status, problem = (returns.problem_of(order, event.lines) if event.type == sr.RETURN_INSPECTED
                              else (None, None))
    outcome = (sr.on_event(event.type, order.status, shipment.status, notice=shipment.notice,
                           pending_cancel=shipment.pending_cancel is not None,
                           before_withdrawal=shipment.status_before_withdrawal,
                           return_status=return_status, inspection_problem=problem)
               if current else
               sr.Ignored(Reason("この注文の現在の出荷ではありません（再出荷依頼前の出荷です）。",
                                    "It is not the order's current shipment (one before a re-request).")))
    shipment.last_seq = event.seq
    if isinstance(outcome, sr.Ignored):
        _record_not_applied(order, actor, event, outcome.reason.ja)
        result.ignored += 1
        return IGNORED
    if isinstance(shipment, Row) and sr.touches_more_than_statuses(outcome):  # statuses_only admitted it
        raise RuntimeError(f"shipment {shipment.id}: {event.type} needs the order's models ({outcome})")
    _carry_out(order, shipment, event, outcome, actor, result)
    result.applied += 1
    return APPLIED


def _record_not_applied(order: Order, actor: Actor, event, why: str) -> None:
    frame.record_event(order, actor, "stale_event_ignored", history.EVENT_NOT_APPLIED(type=event.type, reason=why),
                       order.status, order.status)
    frame.touch(order)


def _carry_out(order: Order, shipment: Shipment, event, step: sr.Transition, actor: Actor, result: PageResult) -> None:
    before = order.status
    with counted(order):
        order.status = step.order_status
        order.shipment_status = step.shipment_status
        shipment.status = step.shipment_status
        shipment.updated_at = utcnow()
        if step.before_withdrawal is not None:
            shipment.status_before_withdrawal = step.before_withdrawal
        if step.shipment_status != rules.WITHDRAWAL_REQUESTED:
            shipment.status_before_withdrawal = None
        _event_fields(shipment, event)
        if step.notice is not None:
            shipment.notice = step.notice
            if step.notice == sr.NOTICE_REFUSED:
                shipment.notice_message = event.reason or ""
        if step.release:
            stock.release(order, actor)
        if step.ship:
            stock.ship(order, actor)
        frame.touch(order)
        if step.open_return or step.inspect_return:  # R10: a return opened, inspected (restocking the sellable)
            returns.carry_out(order, shipment, step, event.lines, actor)
        frame.record_event(order, actor, step.history, _history_text(step.history, shipment, event), before,
                           order.status)
        if step.ship and order.status == rules.COMPLETED:  # the mall learns the tracking number (R7: mall-linked only)
            shipping_info.record(order, shipment, actor)
        for code in step.clear_tags:
            frame.clear_system_tag(order, code, actor)
        for code in step.raise_tags:
            frame.raise_system_tag(order, code, actor, _tag_text(code, event))
        if step.drop_pending_cancel or step.cancel_now:
            pending, shipment.pending_cancel = shipment.pending_cancel, None
            if step.cancel_now and pending:
                from . import notices  # 取下げ後にキャンセル: slice (c)

                notices.cancel_after_withdrawal(order, pending, actor)
                result.cancelled_ids.append(order.id)


def _event_fields(shipment: Shipment, event) -> None:
    if event.type == sr.EV_SHIPPED:
        shipment.carrier = event.carrier
        shipment.tracking_number = event.tracking_number
        shipment.shipped_on = event.shipped_on
        shipment.parcels = [{"carrier": p.carrier, "tracking_number": p.tracking_number} for p in event.parcels] or None
    elif event.type == sr.REFUSED:
        shipment.reason = event.reason or ""
        shipment.reason_code = event.reason_code
        shipment.short_lines = [{"sku": line.sku, "short": line.short} for line in event.lines] or None
    elif event.type == sr.WITHDRAWN:
        shipment.reason = history.WITHDRAWN.ja
        shipment.reason_code = None


def _history_text(kind: str, shipment: Shipment, event) -> str:
    if kind == "shipped":
        return history.SHIPPED(carrier=CARRIER_WORDS.get(event.carrier or "", event.carrier or "—"),
                               tracking=event.tracking_number or "—",
                               shipped_on=event.shipped_on.isoformat() if event.shipped_on else "—")
    if kind == "shipment_refused":
        short = "、".join(f"{line.sku}: {line.short}点不足" for line in event.lines if line.short)
        return history.SHIPMENT_REFUSED(code=event.reason_code or "—",
                                        reason=(event.reason or "") + (f"（{short}）" if short else ""))
    if kind == "return_inspected":
        return returns.inspection_text(returns.latest(shipment.order_id))
    return {
        "shipment_started": history.SHIPMENT_STARTED.ja,
        "withdrawn": history.WITHDRAWN.ja,
        "withdrawal_refused": history.WITHDRAWAL_REFUSED(reason=event.reason or "—"),
        "notice_acknowledged": history.NOTICE_ACKNOWLEDGED.ja,
        "notice_refused": history.NOTICE_REFUSED(reason=event.reason or "—"),
    }.get(kind, "")


def _tag_text(code: str, event) -> str:
    if code == "warehouse_cancel_refused":
        return history.NOTICE_REFUSED(reason=event.reason or history.SHIPPED(
            carrier=CARRIER_WORDS.get(event.carrier or "", "—"), tracking=event.tracking_number or "—",
            shipped_on=event.shipped_on.isoformat() if event.shipped_on else "—"))
    return ""
