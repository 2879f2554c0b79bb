"""Orders created a batch at a time: the mall import, a getOrder batch at a time (R4, R5, R7), and a CSV
registration, a chunk of its file at a time (R4, R6, R7): the orders of one batch created together."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Optional

import orjson
from sqlalchemy import and_, select, update

from .. import outbox
from ..errors import not_found
from ..extensions import db
from ..models import RAKUTEN_RMS, Connection, OrderCount, Shop, utcnow
from ..unit_of_work import unit_of_work
from . import consequences, history, rules
from .actions import CONFIRM_KIND
from .actor import Actor
from .bulk_sql import insert_rows
from .counters import apply_count_deltas, counted
from .frame import event_row, system_tag, valid_id
from .models import Order, OrderEvent, OrderLine, Tag, order_tags
from .numbers import number_key
from .registration import NewOrder, billed_for, line_columns, line_keys, mappings_for, order_columns
from .search import ATTENTION, search_text_for


@dataclass(frozen=True)
class MallOrder:
    """An order read from the mall, to import (R7): whether it has several shipping destinations, the holds its
    read calls for, and the version read."""

    new: NewOrder
    several_destinations: bool = False
    holds: tuple[str, ...] = ()  # holding system tags the mall's read calls for (「楽天処理中」…)
    rms_read: Optional[dict] = None  # the mall's version read (rakuten-rms.md §Changes after import)
    rms_read_hash: Optional[str] = None  # version_hash(rms_read): what the created order keeps of the read


@dataclass(frozen=True)
class ImportedBatch:
    created: list[str]  # mall order numbers
    skipped: list[str]  # numbers a registration took meanwhile (R4, R13), or twice in the batch
    ids: dict[str, int] = field(default_factory=dict)  # the created orders' ids by number


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
    with unit_of_work() as uow:
        batch = create_orders(actor, shop_id, orders, message)
        uow.commit()
    return batch


def create_orders(actor: Actor, shop_id: int, orders: list[MallOrder], message: str,
                  source: str = "mall_import") -> ImportedBatch:
    """The batch's orders created in the caller's unit of work (no commit). `source` "mall_import": mall-linked,
    history 「取り込みました」 (imported); "csv": not mall-linked with 「モール出荷連携なし」 (R7), history
    「登録しました」 (registered) — as registration.register would make each of them."""
    mall_linked = source == "mall_import"
    kind = "imported" if mall_linked else "registered"
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
        return ImportedBatch([], skipped)

    now = utcnow()
    mappings = mappings_for(shop.id, [key for o in fresh.values() for key in line_keys(o.new)])
    confirms_at_rms = consequences.confirms_at_rms(mall_linked, bool(shop.rms_connected), shop.confirm_at_rms)
    order_rows, lines, codes, confirmed = [], {}, {}, set()
    for number, mall_order in fresh.items():
        row = order_columns(shop, mall_order.new, source, mall_linked=mall_linked)
        lines[number] = line_columns(mall_order.new, mappings)
        row["total"] = sum(line["quantity"] * line["unit_price"] for line in lines[number]) + (row["postage"] or 0) + \
            row["wrapping"]
        if row["billed"] is None and "amount_unfixed" not in mall_order.holds:  # as build_order: the formula
            row["billed"] = billed_for(row["total"], mall_order.new)
        row["search_text"] = search_text_for(SimpleNamespace(**row))
        # The read is what the order's columns hold: only its hash is kept (rms_read null), until they differ.
        row.update(created_at=now, updated_at=now, confirmed_at=None, version=1, rms_read=None,
                   rms_read_hash=mall_order.rms_read_hash, reflection_state="none")
        codes[number] = ([] if mall_linked else ["not_mall_linked"]) + \
            (["multiple_destinations"] if mall_order.several_destinations else []) + \
            list(mall_order.holds) + (["unmapped_items"] if any(line["product_id"] is None for line in lines[number]) else [])
        if shop.auto_confirm and _confirmable(lines[number], codes[number]):
            # As auto_confirm right after the INSERT: 確認済, and the version its UPDATE would give.
            row.update(status=rules.CONFIRMED, confirmed_at=now, version=2)
            confirmed.add(number)
            if confirms_at_rms:  # as confirm_now: its 注文確認 at RMS is pending
                row["reflection_state"] = "pending"
        order_rows.append(row)

    table = Order.__table__
    ids = {number: order_id for order_id, number in
           insert_rows(table, order_rows, unless_held=True, returning=(table.c.id, table.c.mall_order_number))}
    skipped.extend(number for number in fresh if number not in ids)
    created = [number for number in fresh if number in ids]
    if not created:
        return ImportedBatch([], skipped)

    tag_ids = _system_tag_ids(shop.account_id, sorted({code for n in created for code in codes[n]}))
    auto = Actor.system(shop.account_id, history.AUTO_CONFIRM_ACTOR.ja)
    line_rows, tag_rows, event_rows, deltas = [], [], [], Counter()
    for number in created:
        order_id = ids[number]
        line_rows.extend({**line, "order_id": order_id} for line in lines[number])
        tag_rows.extend({"order_id": order_id, "tag_id": tag_ids[code]} for code in codes[number])
        event_rows.append(event_row(order_id, now, actor, kind, message, None, rules.AWAITING_CONFIRMATION))
        if number in confirmed:
            event_rows.append(event_row(order_id, now, auto, "confirmed", history.AUTO_CONFIRMED.ja,
                                        rules.AWAITING_CONFIRMATION, rules.CONFIRMED))
            if confirms_at_rms:
                event_rows.append(event_row(order_id, now, auto, "reflection_pending", history.CONFIRMING.ja, None, None))
        status = rules.CONFIRMED if number in confirmed else rules.AWAITING_CONFIRMATION
        deltas[(shop.id, status)] += 1
        if any(rules.attention_tag(code) for code in codes[number]):
            deltas[(shop.id, ATTENTION)] += 1
    insert_rows(OrderLine.__table__, line_rows)
    insert_rows(order_tags, tag_rows)
    insert_rows(OrderEvent.__table__, event_rows)
    if confirms_at_rms:  # confirmOrder in the shop's lane, as record_confirm records it for one order
        outbox.record_many(CONFIRM_KIND, [{"order_id": ids[n], "shop_id": shop.id} for n in created if n in confirmed])
    _add_to_counters(deltas)
    if shop.auto_request_shipment and confirmed:  # as confirm_now: each is requested from the warehouse at once
        from ..warehouse.shipping import auto_request

        for order in db.session.scalars(select(Order).where(Order.id.in_([ids[n] for n in created if n in confirmed]))):
            with counted(order):
                auto_request(order)
    return ImportedBatch(created, skipped, {number: ids[number] for number in created})


def version_hash(version: Optional[dict]) -> Optional[str]:
    """A hash of a mall version read (its canonical JSON): two reads with the same hash are the same."""
    if version is None:
        return None
    return hashlib.sha256(orjson.dumps(version, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _shop_for_import(account_id: int, shop_id):
    """What a batch needs of its shop (id, account, auto_confirm, and whether it confirms at RMS), checked as
    get_shop checks it. A plain row: each batch commits, so the Shop object would be read again, column by
    column, for every batch."""
    connected = and_(Shop.mall == "rakuten", Connection.secrets_enc.is_not(None))
    row = db.session.execute(
        select(Shop.id, Shop.account_id, Shop.auto_confirm, Shop.confirm_at_rms, Shop.auto_request_shipment,
               connected.label("rms_connected"))
        .outerjoin(Connection, and_(Connection.shop_id == Shop.id, Connection.provider == RAKUTEN_RMS))
        .where(Shop.id == shop_id)).first() if valid_id(shop_id) else None
    if row is None or row.account_id != account_id:
        raise not_found("ショップ", "Shop")
    return row


def _add_to_counters(deltas: Counter) -> None:
    """apply_count_deltas for the import: the same UPDATEs, sent as plain statements (no ORM objects of
    counters to keep in step); a counter row that is missing is made by apply_count_deltas."""
    counts = OrderCount.__table__
    connection = db.session.connection()
    for (shop_id, status), delta in sorted(deltas.items()):  # the same fixed order as apply_count_deltas
        if delta and not connection.execute(update(counts).where(counts.c.shop_id == shop_id, counts.c.status == status)
                                            .values(n=counts.c.n + delta)).rowcount:
            apply_count_deltas(Counter({(shop_id, status): delta}))


def _confirmable(lines: list[dict], codes: list[str]) -> bool:
    """The rule's own answer (rules.decide) for a new 確認待 order with these lines and system tags."""
    state = rules.OrderState(
        status=rules.AWAITING_CONFIRMATION,
        holding_tags=tuple(rules.SYSTEM_TAGS_BY_CODE[c].name for c in codes if rules.SYSTEM_TAGS_BY_CODE[c].holds),
        mapped_lines=tuple(line["mall_item_id"] for line in lines if line["product_id"] is not None),
        unmapped_lines=tuple(line["mall_item_id"] for line in lines if line["product_id"] is None))
    return bool(rules.decide(rules.CONFIRM, state))


def _system_tag_ids(account_id: int, codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    found = dict(db.session.execute(select(Tag.code, Tag.id).where(Tag.account_id == account_id, Tag.code.in_(codes))).all())
    for code in codes:
        if code not in found:
            found[code] = system_tag(account_id, code).id
    return found
