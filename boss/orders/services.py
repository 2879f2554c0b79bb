"""Order services: the only code that commits. Views, the API and jobs call these.

Each action loads the order under a row lock (PostgreSQL) and the optimistic version check
(both databases), asks the pure rules, changes the order, keeps the tab counters, writes the
history event and the outbox rows, and commits once.
"""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Callable, Iterable, Optional

import orjson
from sqlalchemy import Text, bindparam, cast, func, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import outbox
from ..errors import REASON_CONFLICT, ServiceError, not_found, validation_error
from ..extensions import db
from ..models import ItemMapping, OrderCount, Product, Shop, utcnow
from ..parsing import MAX_ID
from . import history, rules
from .models import Order, OrderEvent, OrderLine, Tag, order_tags
from .numbers import InvalidNumber, MallNumber, manual_number, number_key
from .rules import Reason
from .search import ATTENTION, search_text_for


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, an API token, a job or the system (R12)."""

    type: str
    name: str
    account_id: int
    user_id: Optional[int] = None

    @classmethod
    def system(cls, account_id: int, name: str = "システム") -> "Actor":
        return cls("system", name, account_id)

    @classmethod
    def job(cls, account_id: int, name: str) -> "Actor":
        return cls("job", name, account_id)


commit = outbox.commit_and_dispatch


# ---------------------------------------------------------------- counters

def _count_key(order: Order):
    if order.deleted_at is not None:
        return None
    return order.shop_id, order.status, any(rules.attention_tag(t.code) for t in order.tags)


def _bump_counts(before, after) -> None:
    deltas: Counter = Counter()
    for key, sign in ((before, -1), (after, 1)):
        if key is None:
            continue
        shop_id, status, attention = key
        deltas[(shop_id, status)] += sign
        if attention:
            deltas[(shop_id, ATTENTION)] += sign
    _apply_count_deltas(deltas)


def _apply_count_deltas(deltas: Counter) -> None:
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


@contextmanager
def counted(order: Optional[Order]):
    """Keep order_counts right across a change of status, deletion or attention tags."""
    before = _count_key(order) if order is not None and order.id is not None else None
    holder = {"order": order}
    yield holder
    _bump_counts(before, _count_key(holder["order"]))


def create_count_rows(shop_id: int) -> None:
    for status in (*rules.STATUSES, ATTENTION):
        db.session.add(OrderCount(shop_id=shop_id, status=status, n=0))


def recount(account_id: Optional[int] = None) -> None:
    """Rebuild the counters from the orders (after a bulk load that bypassed the services)."""
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
    db.session.commit()


# ---------------------------------------------------------------- lookups

def valid_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID <= value <= MAX_ID


def get_shop(account_id: int, shop_id) -> Shop:
    shop = db.session.get(Shop, shop_id) if valid_id(shop_id) else None
    if shop is None or shop.account_id != account_id:
        raise not_found("ショップ", "Shop")
    return shop


def get_order(account_id: int, order_id: int) -> Order:
    order = db.session.get(Order, order_id) if valid_id(order_id) else None
    if order is None or order.account_id != account_id:
        raise not_found("注文", "Order")
    return order


def _lock_order(account_id: int, order_id: int) -> Order:
    if not valid_id(order_id):
        raise not_found("注文", "Order")
    stmt = (select(Order).where(Order.id == order_id, Order.account_id == account_id)
            .with_for_update(of=Order).execution_options(populate_existing=True))
    order = db.session.scalars(stmt).unique().one_or_none()
    if order is None:
        raise not_found("注文", "Order")
    return order


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


# ---------------------------------------------------------------- events

def record_event(order: Order, actor: Actor, kind: str, message: str = "",
                 from_status: Optional[str] = None, to_status: Optional[str] = None) -> OrderEvent:
    event = OrderEvent(order=order, at=utcnow(), actor_type=actor.type, actor_name=actor.name, kind=kind,
                       from_status=from_status, to_status=to_status, message=message)
    db.session.add(event)
    return event


def _touch(order: Order) -> None:
    """Any change to an order bumps its version (R13), lines and tags included."""
    order.updated_at = utcnow()


def _add_tag(order: Order, tag: Tag) -> bool:
    if any(t.id == tag.id for t in order.tags):
        return False
    order.tags.append(tag)
    _touch(order)
    return True


def _remove_tag(order: Order, code_or_tag) -> bool:
    for tag in list(order.tags):
        if tag is code_or_tag or (isinstance(code_or_tag, str) and tag.code == code_or_tag):
            order.tags.remove(tag)
            _touch(order)
            return True
    return False


def raise_system_tag(order: Order, code: str, actor: Actor, message: str = "") -> bool:
    """Add a system tag (no commit: part of the caller's unit of work)."""
    with counted(order):
        added = _add_tag(order, system_tag(order.account_id, code))
    if added:
        record_event(order, actor, "tag_added", message or rules.SYSTEM_TAGS_BY_CODE[code].name, order.status, order.status)
    return added


def clear_system_tag(order: Order, code: str, actor: Actor, message: str = "") -> bool:
    with counted(order):
        removed = _remove_tag(order, code)
    if removed:
        record_event(order, actor, "tag_removed", message or rules.SYSTEM_TAGS_BY_CODE[code].name, order.status, order.status)
    return removed


# ---------------------------------------------------------------- the action frame

def act(actor: Actor, order_id: int, expected_version: Optional[int],
        decide: Callable[[Order], rules.Decision], apply: Callable[[Order], None]) -> Order:
    """Lock, check the version, ask the rule, apply, commit; a lost race is refused, never applied twice."""
    for _ in range(3):
        order = _lock_order(actor.account_id, order_id)
        if expected_version is not None and order.version != expected_version:
            refuse_conflict(order, actor)
        decision = decide(order)
        if not decision:
            db.session.rollback()
            raise ServiceError(decision.code, decision.reason)
        try:
            with counted(order):
                apply(order)  # the counters' UPDATE autoflushes the order: a lost race shows here too
            commit(keep=_loaded_with(order))
            return order
        except StaleDataError:
            # SQLite has no row lock: the version check at UPDATE tells the loser. Try again, so
            # that without If-Match the loser gets the rule's own refusal (R13).
            outbox.rollback()
            if expected_version is not None:
                refuse_conflict(_lock_order(actor.account_id, order_id), actor)
    raise ServiceError("conflict", REASON_CONFLICT)


def _loaded_with(order: Order) -> list:
    """The order and what the action read and wrote of it: they hold what was just committed (the row was
    locked), so the caller's answer (the list row, the API's JSON) needs no second load of them."""
    return [order, order.shop, *order.lines, *order.tags]


def refuse_conflict(order: Order, actor: Actor) -> None:
    record_event(order, actor, "conflict_refused", history.CONFLICT_REFUSED.ja)
    commit()
    raise ServiceError("conflict", REASON_CONFLICT)


# ---------------------------------------------------------------- actions

def confirm(actor: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    def apply(order: Order) -> None:
        _confirm(order, actor)

    return act(actor, order_id, expected_version, lambda o: o.decide(rules.CONFIRM), apply)


def _confirm(order: Order, actor: Actor, message: str = "") -> None:
    before = order.status
    order.status = rules.CONFIRMED
    order.confirmed_at = utcnow()
    _touch(order)
    record_event(order, actor, "confirmed", message, before, rules.CONFIRMED)


def cancel(actor: Actor, order_id: int, reason_code: int = rules.DEFAULT_CANCEL_REASON,
           retrieve_parcel: bool = False, expected_version: Optional[int] = None) -> Order:
    if reason_code not in rules.CANCEL_REASONS:
        raise validation_error({"reason_code": "RMSのキャンセル理由コード（1–6, 8, 10, 13–15）で指定してください"})

    def apply(order: Order) -> None:
        before = order.status
        effects = order.cancel_effects(bool(retrieve_parcel))
        order.status = rules.CANCELLED
        order.cancelled_at = utcnow()
        order.cancelled_by = actor.name
        order.cancel_reason_code = reason_code
        order.retrieve_parcel = bool(retrieve_parcel) if before == rules.COMPLETED else None
        _touch(order)
        if effects.release_stock:
            _release_reservation(order)
        # R9: the setting is captured now; later changes of it never touch this cancel.
        order.reflect_cancel_to_rms = effects.reflect_to_rms
        text = history.CANCELLED_RETRIEVE if order.retrieve_parcel else history.CANCELLED
        record_event(order, actor, "cancelled", text(reason=rules.CANCEL_REASONS[reason_code][0]), before, rules.CANCELLED)
        _remove_tag(order, "mall_cancelled")
        if order.reflect_cancel_to_rms:
            order.reflection_state = "pending"
            record_event(order, actor, "reflection_pending", history.REFLECTING.ja)
            record_reflection(order)

    return act(actor, order_id, expected_version, lambda o: o.decide(rules.CANCEL), apply)


REFLECTION_KIND = "rms.reflect_cancel"


def record_reflection(order: Order) -> None:
    """R9: the cancel goes to RMS once this transaction commits (its shop's lane carries it out)."""
    outbox.record(REFLECTION_KIND, {"order_id": order.id, "shop_id": order.shop_id})


def _release_reservation(order: Order) -> None:
    for line in order.lines:
        if line.product_id is not None:
            db.session.execute(update(Product).where(Product.id == line.product_id)
                               .values(reserved=Product.reserved - line.quantity))
    order.stock_reserved = False


def delete(actor: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    def apply(order: Order) -> None:
        order.deleted_at = utcnow()
        order.deleted_by = actor.name
        _touch(order)
        record_event(order, actor, "deleted", history.DELETED.ja,
                     order.status, order.status)

    return act(actor, order_id, expected_version, lambda o: o.decide(rules.DELETE), apply)


def get_tag(account_id: int, tag_id) -> Tag:
    tag = db.session.get(Tag, tag_id) if valid_id(tag_id) else None
    if tag is None or tag.account_id != account_id:
        raise not_found("タグ", "Tag")
    return tag


def add_tag(actor: Actor, order_id: int, tag_id: int, expected_version: Optional[int] = None) -> Order:
    tag = get_tag(actor.account_id, tag_id)

    def apply(order: Order) -> None:
        if _add_tag(order, tag):
            record_event(order, actor, "tag_added", tag.name, order.status, order.status)

    return act(actor, order_id, expected_version,
                lambda o: rules.can_change_tag(o.state(), tag.code, tag.system, adding=True), apply)


def remove_tag(actor: Actor, order_id: int, tag_id: int, expected_version: Optional[int] = None) -> Order:
    tag = get_tag(actor.account_id, tag_id)

    def apply(order: Order) -> None:
        if _remove_tag(order, tag):
            record_event(order, actor, "tag_removed", tag.name, order.status, order.status)

    return act(actor, order_id, expected_version,
                lambda o: rules.can_change_tag(o.state(), tag.code, tag.system, adding=False), apply)


# ---------------------------------------------------------------- registration

REASON_TAKEN_ACTIVE = Reason(
    "このモール注文番号は既に登録されています。",
    "This mall order number is already registered in this shop.",
)
REASON_TAKEN_CANCELLED = Reason(
    "このモール注文番号はキャンセル済みの注文で使用されているため登録できません。別の番号で登録してください。",
    "This mall order number belongs to a cancelled order and cannot be registered again. Use a different number.",
)


def number_holder(shop_id: int, key: str) -> Optional[Order]:
    """The not-deleted order holding a number (R4), by the number's key (orders.md §1), if any."""
    return db.session.scalars(select(Order).where(
        Order.shop_id == shop_id, Order.mall_order_number_key == key, Order.deleted_at.is_(None))).first()


def read_manual_number(raw: str) -> MallNumber:
    """A manual number normalised and keyed, or a validation_error naming what is wrong with it (§1)."""
    try:
        return manual_number(raw)
    except InvalidNumber as exc:
        raise ServiceError("validation_error", exc.reason, {"mall_order_number": exc.reason.ja}) from None


def _refuse_taken(holder: Order) -> ServiceError:
    reason = REASON_TAKEN_CANCELLED if holder.status == rules.CANCELLED else REASON_TAKEN_ACTIVE
    return ServiceError("mall_order_number_taken", reason)


@dataclass
class NewOrder:
    """A validated order to register (from the API, a form, a CSV row or the mall import)."""

    shop_id: int
    mall_order_number: str
    buyer: dict
    lines: list[dict]
    ordered_at: Optional[datetime] = None
    recipient: Optional[dict] = None
    payment_method: str = ""
    remarks: str = ""
    delivery_date: Optional[object] = None
    delivery_time_slot: Optional[str] = None
    postage: Optional[int] = None


PARTY_FIELDS = ("name", "name_kana", "email", "phone", "postal_code", "address")


def register(actor: Actor, new: NewOrder, source: str = "manual") -> Order:
    """R6, R7: a manual (screen, CSV, API) registration; 確認待, or 確認済 by auto_confirm."""
    shop = get_shop(actor.account_id, new.shop_id)
    number = read_manual_number(new.mall_order_number)
    holder = number_holder(shop.id, number.key)
    if holder is not None:
        raise _refuse_taken(holder)
    order = build_order(shop, replace(new, mall_order_number=number.number), source=source, mall_linked=False)
    raise_tag_now = [system_tag(shop.account_id, "not_mall_linked")]
    try:
        finish_registration(order, actor, "registered", _registration_message(source), raise_tag_now)
        commit()
    except IntegrityError:
        # R4 by the database: another registration or the import took the number meanwhile.
        outbox.rollback()
        holder = number_holder(shop.id, number.key)
        if holder is None:
            raise
        raise _refuse_taken(holder) from None
    return order


def _registration_message(source: str) -> str:
    return history.REGISTERED.get(source, history.REGISTERED_OTHER).ja


def build_order(shop: Shop, new: NewOrder, source: str, mall_linked: bool) -> Order:
    order = Order(shop=shop, **_order_columns(shop, new, source, mall_linked))
    mappings = _mappings_for(shop.id, _line_keys(new))
    order.lines.extend(OrderLine(**columns) for columns in _line_columns(new, mappings))
    order.recompute_total()
    order.search_text = search_text_for(order)
    return order


def _order_columns(shop: Shop, new: NewOrder, source: str, mall_linked: bool) -> dict:
    """The columns a new order starts with, for build_order and the batch import alike."""
    recipient = new.recipient or new.buyer
    number = new.mall_order_number.strip()
    columns = dict(
        account_id=shop.account_id, shop_id=shop.id, mall_order_number=number, mall_order_number_key=number_key(number),
        source=source, mall_linked=mall_linked, status=rules.AWAITING_CONFIRMATION,
        ordered_at=new.ordered_at or utcnow(), payment_method=new.payment_method or "",
        remarks=new.remarks or "", delivery_date=new.delivery_date, delivery_time_slot=new.delivery_time_slot,
        postage=new.postage,
    )
    for name in PARTY_FIELDS:
        columns[f"buyer_{name}"] = new.buyer.get(name) or ""
        columns[f"recipient_{name}"] = recipient.get(name) or ""
    return columns


def _line_keys(new: NewOrder) -> list[tuple[str, str]]:
    return [(line["mall_item_id"], line.get("sub_code") or "") for line in new.lines]


def _line_columns(new: NewOrder, mappings: dict[tuple[str, str], int]) -> list[dict]:
    """The order's lines, each mapped when the shop maps its mall item (§1)."""
    return [dict(position=position, mall_item_id=key[0], sub_code=key[1], name=data["name"], quantity=data["quantity"],
                 unit_price=data["unit_price"], product_id=mappings.get(key))
            for position, (key, data) in enumerate(zip(_line_keys(new), new.lines))]


def finish_registration(order: Order, actor: Actor, kind: str, message: str, tags: Iterable[Tag] = ()) -> None:
    """Add a built order with its tags, counters and event; confirm it when the shop auto-confirms."""
    db.session.add(order)
    for tag in tags:
        order.tags.append(tag)
    if any(not line.mapped for line in order.lines):
        order.tags.append(system_tag(order.account_id, "unmapped_items"))
    db.session.flush()
    _bump_counts(None, _count_key(order))
    record_event(order, actor, kind, message, None, order.status)
    _auto_confirm(order)


def _auto_confirm(order: Order) -> None:
    if order.shop.auto_confirm and order.decide(rules.CONFIRM):
        with counted(order):
            _confirm(order, Actor.system(order.account_id, history.AUTO_CONFIRM_ACTOR.ja), history.AUTO_CONFIRMED.ja)


def _mappings_for(shop_id: int, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    item_ids = {k[0] for k in keys}
    if not item_ids:
        return {}
    rows = db.session.execute(select(ItemMapping.mall_item_id, ItemMapping.sub_code, ItemMapping.product_id)
                              .where(ItemMapping.shop_id == shop_id, ItemMapping.mall_item_id.in_(item_ids)))
    return {(m, s): p for m, s, p in rows}


# ---------------------------------------------------------------- the mall import, a batch at a time

@dataclass(frozen=True)
class MallOrder:
    """An order read from the mall, to import (R7), and whether it has several shipping destinations."""

    new: NewOrder
    several_destinations: bool = False


@dataclass(frozen=True)
class ImportedBatch:
    created: list[str]  # mall order numbers
    skipped: list[str]  # numbers a registration took meanwhile (R4, R13), or twice in the batch


def numbers_ever_held(shop_id: int, numbers: list[str]) -> set[str]:
    """R5: those of `numbers` that the shop has ever had — active, cancelled or deleted — compared by key
    (orders.md §1: `ＣＸＬ－７７７` is the number `CXL-777`)."""
    keys = {number_key(number) for number in numbers}
    held: set[str] = set()
    ordered = sorted(keys)
    for index in range(0, len(ordered), 500):
        chunk = ordered[index:index + 500]
        held.update(db.session.scalars(select(Order.mall_order_number_key).where(
            Order.shop_id == shop_id, Order.mall_order_number_key.in_(chunk))))
    return {number for number in numbers if number_key(number) in held}


def import_mall_orders(actor: Actor, shop_id: int, orders: list[MallOrder], message: str) -> ImportedBatch:
    """R4, R7: create one getOrder batch of mall orders together and commit.

    Each order comes out as build_order + finish_registration would make it — mall-linked 確認待 (確認済
    when the shop auto-confirms and nothing holds it), lines mapped by the shop's mappings, 「複数送付先」
    for several destinations, 「商品未マッピング」, the tab counters, the history event — but with a few
    statements for the whole batch instead of a savepoint, flush and counter UPDATE per order: one
    mappings query, one INSERT each of orders (RETURNING their ids), lines, tags and events, one
    counter UPDATE per tab. The database's own triggers and indexes see ordinary INSERTs (on SQLite the
    orders_fts tables index each new order as they would the ORM's).

    R5 is the caller's: it leaves out the numbers the shop has ever had (numbers_ever_held) before it
    asks the mall for them. A number that a manual registration took since is left out by the database
    (ON CONFLICT on R4's unique index) and counted as skipped: the race ends with one order (R13). Numbers
    are compared by key (orders.md §1); the mall's own are never refused, whatever characters they hold.
    """
    shop = _shop_for_import(actor.account_id, shop_id)
    fresh: dict[str, MallOrder] = {}
    keys: set[str] = set()
    skipped: list[str] = []
    for mall_order in orders:
        number = mall_order.new.mall_order_number.strip()
        if number_key(number) in keys:
            skipped.append(number)
        else:
            keys.add(number_key(number))
            fresh[number] = mall_order
    if not fresh:
        commit()
        return ImportedBatch([], skipped)

    now = utcnow()
    mappings = _mappings_for(shop.id, [key for o in fresh.values() for key in _line_keys(o.new)])
    order_rows, lines, codes, confirmed = [], {}, {}, set()
    for number, mall_order in fresh.items():
        row = _order_columns(shop, mall_order.new, "mall_import", mall_linked=True)
        lines[number] = _line_columns(mall_order.new, mappings)
        row["total"] = sum(line["quantity"] * line["unit_price"] for line in lines[number]) + (row["postage"] or 0)
        row["search_text"] = search_text_for(SimpleNamespace(**row))
        row.update(created_at=now, updated_at=now, confirmed_at=None, version=1)
        codes[number] = (["multiple_destinations"] if mall_order.several_destinations else []) + \
            (["unmapped_items"] if any(line["product_id"] is None for line in lines[number]) else [])
        if shop.auto_confirm and _confirmable(lines[number], codes[number]):
            # As _auto_confirm right after the INSERT: 確認済, and the version its UPDATE would give.
            row.update(status=rules.CONFIRMED, confirmed_at=now, version=2)
            confirmed.add(number)
        order_rows.append(row)

    table = Order.__table__
    ids = {number: order_id for order_id, number in
           _insert_rows(table, order_rows, unless_held=True, returning=(table.c.id, table.c.mall_order_number))}
    skipped.extend(number for number in fresh if number not in ids)
    created = [number for number in fresh if number in ids]
    if not created:
        commit()
        return ImportedBatch([], skipped)

    tag_ids = _system_tag_ids(shop.account_id, sorted({code for n in created for code in codes[n]}))
    auto = Actor.system(shop.account_id, history.AUTO_CONFIRM_ACTOR.ja)
    line_rows, tag_rows, event_rows, deltas = [], [], [], Counter()
    for number in created:
        order_id = ids[number]
        line_rows.extend({**line, "order_id": order_id} for line in lines[number])
        tag_rows.extend({"order_id": order_id, "tag_id": tag_ids[code]} for code in codes[number])
        event_rows.append(_event_row(order_id, now, actor, "imported", message, None, rules.AWAITING_CONFIRMATION))
        if number in confirmed:
            event_rows.append(_event_row(order_id, now, auto, "confirmed", history.AUTO_CONFIRMED.ja,
                                         rules.AWAITING_CONFIRMATION, rules.CONFIRMED))
        status = rules.CONFIRMED if number in confirmed else rules.AWAITING_CONFIRMATION
        deltas[(shop.id, status)] += 1
        if any(rules.attention_tag(code) for code in codes[number]):
            deltas[(shop.id, ATTENTION)] += 1
    _insert_rows(OrderLine.__table__, line_rows)
    _insert_rows(order_tags, tag_rows)
    _insert_rows(OrderEvent.__table__, event_rows)
    _add_to_counters(deltas)
    commit()
    return ImportedBatch(created, skipped)


def _shop_for_import(account_id: int, shop_id):
    """What a batch needs of its shop (id, account, auto_confirm), checked as get_shop checks it. A plain row:
    each batch commits, so the Shop object would be read again, column by column, for every batch."""
    row = db.session.execute(select(Shop.id, Shop.account_id, Shop.auto_confirm)
                             .where(Shop.id == shop_id)).first() if valid_id(shop_id) else None
    if row is None or row.account_id != account_id:
        raise not_found("ショップ", "Shop")
    return row


def _add_to_counters(deltas: Counter) -> None:
    """_apply_count_deltas for the import: the same UPDATEs, sent as plain statements (no ORM objects of
    counters to keep in step); a counter row that is missing is made by _apply_count_deltas."""
    counts = OrderCount.__table__
    connection = db.session.connection()
    for (shop_id, status), delta in sorted(deltas.items()):  # the same fixed order as _apply_count_deltas
        if delta and not connection.execute(update(counts).where(counts.c.shop_id == shop_id, counts.c.status == status)
                                            .values(n=counts.c.n + delta)).rowcount:
            _apply_count_deltas(Counter({(shop_id, status): delta}))


def _confirmable(lines: list[dict], codes: list[str]) -> bool:
    """The rule's own answer (rules.decide) for a new 確認待 order with these lines and system tags."""
    state = rules.OrderState(
        status=rules.AWAITING_CONFIRMATION,
        holding_tags=tuple(rules.SYSTEM_TAGS_BY_CODE[c].name for c in codes if rules.SYSTEM_TAGS_BY_CODE[c].holds),
        mapped_lines=tuple(line["mall_item_id"] for line in lines if line["product_id"] is not None),
        unmapped_lines=tuple(line["mall_item_id"] for line in lines if line["product_id"] is None))
    return bool(rules.decide(rules.CONFIRM, state))


def _insert_rows(table, rows: list[dict], unless_held: bool = False, returning: tuple = ()) -> list:
    """One INSERT of `rows` (dicts with the same keys); the RETURNING rows.

    unless_held: ON CONFLICT (shop_id, mall_order_number_key) WHERE deleted_at IS NULL DO NOTHING — a row whose
    number has an active holder (R4's partial unique index) is left out, and only that case.

    PostgreSQL gets the rows as one JSON parameter (INSERT … SELECT FROM json_populate_recordset): a short
    statement, the same whatever the number of rows, which the server parses in C. A multi-row VALUES
    list instead (SQLAlchemy's insertmanyvalues) is a text of thousands of placeholders that psycopg
    parses anew at every execution, and an array per column is escaped element by element in Python:
    ~15 and ~8 ms of CPU for 100 orders, against ~2 ms. orjson writes the JSON (~0.3 ms for 100 orders
    against ~1.5 ms with the json module; its naive datetimes and dates are isoformat()'s text). SQLite runs
    in-process: executemany (with insertmanyvalues for RETURNING). The same JSON through json_each and a
    json_extract per column costs SQLite more than SQLAlchemy's per-row handling does (~28 against ~21 ms
    of CPU for 100 orders with their triggers, measured on the bench machine).
    """
    if not rows:
        return []
    names = tuple(rows[0])
    if db.session.get_bind().dialect.name == "postgresql":
        statement = _json_insert(table, names, unless_held, tuple(returning))
        result = db.session.connection().execute(statement, {"rows": orjson.dumps(rows).decode()})
    else:
        statement = sqlite.insert(table)
        if unless_held:
            statement = _unless_held(statement, table)
        if returning:
            statement = statement.returning(*returning)
        result = db.session.connection().execute(statement, rows)
    return result.all() if returning else []


@lru_cache(maxsize=32)
def _json_insert(table, names: tuple, unless_held: bool, returning: tuple):
    """INSERT INTO table (names) SELECT names FROM json_populate_recordset(NULL::table, :rows) [ON CONFLICT …] [RETURNING …]."""
    source = func.json_populate_recordset(literal_column(f"NULL::{table.name}"),
                                          cast(bindparam("rows", type_=Text), postgresql.JSON)).table_valued(*names)
    statement = postgresql.insert(table).from_select(list(names), select(*(source.c[name] for name in names)))
    if unless_held:
        statement = _unless_held(statement, table)
    return statement.returning(*returning) if returning else statement


def _unless_held(statement, table):
    return statement.on_conflict_do_nothing(
        index_elements=[table.c.shop_id, table.c.mall_order_number_key], index_where=table.c.deleted_at.is_(None))


def _system_tag_ids(account_id: int, codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    found = dict(db.session.execute(select(Tag.code, Tag.id).where(Tag.account_id == account_id, Tag.code.in_(codes))).all())
    for code in codes:
        if code not in found:
            found[code] = system_tag(account_id, code).id
    return found


def _event_row(order_id: int, at: datetime, actor: Actor, kind: str, message: str,
               from_status: Optional[str], to_status: Optional[str]) -> dict:
    """An OrderEvent row, as record_event writes it."""
    return dict(order_id=order_id, at=at, actor_type=actor.type, actor_name=actor.name, kind=kind,
                from_status=from_status, to_status=to_status, message=message)


# ---------------------------------------------------------------- mapping

def map_item(actor: Actor, shop_id: int, mall_item_id: str, sub_code: str, sku: str) -> tuple[ItemMapping, int]:
    """Create a mapping and map the matching lines of not-deleted 確認待 orders; returns (mapping, orders)."""
    shop = get_shop(actor.account_id, shop_id)
    product = db.session.scalars(select(Product).where(Product.account_id == actor.account_id, Product.sku == sku)).first()
    if product is None:
        raise validation_error({"sku": f"SKU「{sku}」の商品が登録されていません"})
    sub_code = sub_code or ""
    exists = db.session.scalars(select(ItemMapping).where(
        ItemMapping.shop_id == shop.id, ItemMapping.mall_item_id == mall_item_id, ItemMapping.sub_code == sub_code)).first()
    if exists is not None:
        raise ServiceError("already_exists", Reason(
            f"このモール商品（{mall_item_id}{'/' + sub_code if sub_code else ''}）は既にマッピングされています。",
            "This mall item is already mapped."))
    mapping = ItemMapping(shop_id=shop.id, mall_item_id=mall_item_id, sub_code=sub_code, product_id=product.id)
    db.session.add(mapping)
    try:
        db.session.flush()
    except IntegrityError:
        outbox.rollback()
        raise ServiceError("already_exists", Reason("このモール商品は既にマッピングされています。",
                                                     "This mall item is already mapped.")) from None
    affected = apply_mapping(mapping, product, actor)
    commit()
    return mapping, affected


def apply_mapping(mapping: ItemMapping, product: Product, actor: Actor) -> int:
    lines = db.session.scalars(
        select(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.product_id.is_(None), OrderLine.mall_item_id == mapping.mall_item_id,
               OrderLine.sub_code == mapping.sub_code, Order.shop_id == mapping.shop_id,
               Order.status == rules.AWAITING_CONFIRMATION, Order.deleted_at.is_(None))).all()
    orders: dict[int, Order] = {}
    for line in lines:
        line.product_id = product.id
        orders[line.order_id] = line.order
    for order in orders.values():
        _touch(order)
        record_event(order, actor, "mapped", f"{mapping.mall_item_id}{'/' + mapping.sub_code if mapping.sub_code else ''} → {product.sku}")
        if all(line.mapped for line in order.lines):
            with counted(order):
                _remove_tag(order, "unmapped_items")
        _auto_confirm(order)
    return len(orders)


def delete_mapping(actor: Actor, mapping_id: int) -> None:
    mapping = db.session.get(ItemMapping, mapping_id) if valid_id(mapping_id) else None
    if mapping is None or mapping.shop.account_id != actor.account_id:
        raise not_found("マッピング", "Mapping")
    db.session.delete(mapping)
    commit()


# ---------------------------------------------------------------- catalogue

def create_shop(actor: Actor, name: str, mall: str, auto_confirm: bool = False,
                reflect_cancel_to_rms: bool = False, **settings) -> Shop:
    if db.session.scalars(select(Shop).where(Shop.account_id == actor.account_id, Shop.name == name)).first():
        raise ServiceError("already_exists", Reason(f"ショップ「{name}」は既にあります。", f"Shop {name} exists already."))
    shop = Shop(account_id=actor.account_id, name=name, mall=mall, auto_confirm=auto_confirm,
                reflect_cancel_to_rms=reflect_cancel_to_rms)
    db.session.add(shop)
    db.session.flush()
    create_count_rows(shop.id)
    connected = _apply_shop_settings(shop, settings)
    commit()
    if connected:
        _first_import(actor, shop)
    return shop


SHOP_SETTINGS = {"import_interval_minutes": "rms_import_interval_minutes",
                 "initial_lookback_days": "rms_initial_lookback_days",
                 "inventory_restore_type": "rms_inventory_restore_type"}


def _apply_shop_settings(shop: Shop, settings: dict) -> bool:
    """Import settings and RMS credentials; True when credentials were (re)set."""
    for name, column in SHOP_SETTINGS.items():
        if settings.get(name) is not None:
            setattr(shop, column, settings[name])
    rms = settings.get("rms")
    if not rms:
        return False
    from ..malls.connection import set_credentials

    set_credentials(shop, rms["service_secret"], rms["license_key"], rms.get("license_key_expires_on"),
                    rms.get("base_url"))
    return True


def _first_import(actor: Actor, shop: Shop) -> None:
    """A shop just connected to RMS imports at once, then every N minutes."""
    from ..malls.importer import start_import

    start_import(actor, shop.id)


def update_shop(actor: Actor, shop_id: int, changes: dict) -> Shop:
    """Settings take effect at once (R9: the next cancel captures the new value)."""
    shop = get_shop(actor.account_id, shop_id)
    if "name" in changes and changes["name"] != shop.name:
        if db.session.scalars(select(Shop).where(Shop.account_id == actor.account_id, Shop.name == changes["name"])).first():
            raise ServiceError("already_exists", Reason(f"ショップ「{changes['name']}」は既にあります。",
                                                        f"Shop {changes['name']} exists already."))
    for field in ("name", "mall", "auto_confirm", "reflect_cancel_to_rms"):
        if field in changes:
            setattr(shop, field, changes[field])
    connected = _apply_shop_settings(shop, changes)
    commit()
    if connected:
        _first_import(actor, shop)
    return shop


def create_product(actor: Actor, sku: str, name: str, code: str = "", stock: int = 0) -> Product:
    if db.session.scalars(select(Product).where(Product.account_id == actor.account_id, Product.sku == sku)).first():
        raise ServiceError("already_exists", Reason(f"SKU「{sku}」は既に登録されています。", f"SKU {sku} exists already."))
    product = Product(account_id=actor.account_id, sku=sku, name=name, code=code or sku, stock=stock, reserved=0)
    db.session.add(product)
    commit()
    return product


def create_tag(actor: Actor, name: str, color: str = "#5b6b7f", holds: bool = False) -> Tag:
    _check_tag_name(actor.account_id, name)
    tag = Tag(account_id=actor.account_id, name=name, color=color, holds=holds, system=False)
    db.session.add(tag)
    commit()
    return tag


def _check_tag_name(account_id: int, name: str, tag_id: Optional[int] = None) -> None:
    if any(spec.name == name for spec in rules.SYSTEM_TAGS):  # system tags are created lazily under these names
        raise ServiceError("already_exists", Reason(f"「{name}」はシステムタグの名前です。別の名前にしてください。",
                                                    f"{name} is the name of a system tag. Choose another name."))
    same = select(Tag.id).where(Tag.account_id == account_id, Tag.name == name)
    if db.session.scalars(same if tag_id is None else same.where(Tag.id != tag_id)).first():
        raise ServiceError("already_exists", Reason(f"タグ「{name}」は既にあります。", f"Tag {name} exists already."))


REASON_SYSTEM_TAG_FIXED = Reason("システムタグは変更・削除できません。", "A system tag cannot be changed or deleted.")


def _custom_tag(actor: Actor, tag_id: int) -> Tag:
    tag = get_tag(actor.account_id, tag_id)
    if tag.system:
        raise ServiceError("invalid_transition", REASON_SYSTEM_TAG_FIXED)
    return tag


def update_tag(actor: Actor, tag_id: int, name: str, color: str, holds: bool) -> Tag:
    """A custom tag's name, colour and hold. The orders carrying it keep it: what they may do next is
    decided, as always, from their tags at the time of the action (a new hold blocks their confirm)."""
    tag = _custom_tag(actor, tag_id)
    if name != tag.name:
        _check_tag_name(actor.account_id, name, tag.id)
    tag.name, tag.color, tag.holds = name, color, holds
    commit()
    return tag


def delete_tag(actor: Actor, tag_id: int) -> int:
    """Delete a custom tag: it comes off every order that carries it, each with a history event (R12) and a new
    version (R13: a row showing it is stale), in one transaction. Returns how many orders it came off."""
    tag = _custom_tag(actor, tag_id)
    carrying = select(order_tags.c.order_id).where(order_tags.c.tag_id == tag.id)
    ids = list(db.session.scalars(carrying.order_by(order_tags.c.order_id).with_for_update()))
    now = utcnow()
    message = history.TAG_DELETED(name=tag.name)
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        statuses = db.session.execute(select(Order.id, Order.status).where(Order.id.in_(chunk))).all()
        db.session.execute(OrderEvent.__table__.insert(), [
            _event_row(order_id, now, actor, "tag_removed", message, status, status) for order_id, status in statuses])
        db.session.execute(update(Order).where(Order.id.in_(chunk))
                           .values(version=Order.version + 1, updated_at=now).execution_options(synchronize_session=False))
    db.session.execute(order_tags.delete().where(order_tags.c.tag_id == tag.id))
    db.session.delete(tag)
    commit()
    return len(ids)
