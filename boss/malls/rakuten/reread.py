"""Re-reading the shop's open mall-linked orders at each import (rakuten-rms.md §Reading an order): mall-side
cancels, the holds only a read raises and clears, and changes made at Rakuten after import.

Each import asks getOrder for the shop's open mall-linked orders (確認待, 確認済, 出荷待ち) and, order by order:
- RMS shows it at 800/900: 「モール側キャンセル」 (staff cancel it here);
- the holds this read calls for (「楽天処理中」 at 200/400, 「金額未確定」 while an amount is -9999, 「送付先入力待ち」
  while a gift's recipient has not entered an address) are raised, and those it no longer calls for cleared —
  nothing else clears them, and a user cannot (rules.can_change_tag);
- a change is a difference between two RMS reads (the order's last_read), never between RMS and BOSS's own
  fields: a 確認待 or 確認済 order takes it (one `mall_change_applied` event, `項目: 旧 → 新` per line, lines
  mapped again), a 出荷待ち order holds it (`mall_change_held` and 「モール側変更あり」); either way the read
  is stored, so a change is taken or held once. Fields staff changed by hand (`staff_fields`: what
  order editing changed) are held the same way while the others are taken.
An order imported before BOSS kept its RMS version (`rms_read_hash` null) has its new fields filled in quietly at
its first re-read, unless its lines or recipient differ (then one 「取込内容を更新」 event lists them).

Reading costs one query up front (each open order's read hash and read holds); a batch of 100 in which
nothing differs (nearly all) costs no further query and no commit; one that differs loads just those orders.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy import select

from ...extensions import db
from ...models import Shop
from ...orders import frame, history, rules
from ...orders.actions import auto_confirm
from ...orders.actor import Actor
from ...orders.counters import counted
from ...orders.import_batch import MallOrder
from ...orders.models import Order, OrderLine, Tag, order_tags
from ...orders.numbers import number_key
from ...orders.registration import PARTY_FIELDS, NewOrder, line_columns, line_keys, mappings_for
from ...orders.search import search_text_for
from ...unit_of_work import unit_of_work
from .reader import RmsOrder

BATCH = 100
OPEN_STATUSES = (rules.AWAITING_CONFIRMATION, rules.CONFIRMED, rules.AWAITING_SHIPMENT)
READ_HOLDS = ("mall_processing", "amount_unfixed", "recipient_pending")
TAKES_CHANGES = (rules.AWAITING_CONFIRMATION, rules.CONFIRMED)  # not yet requested from the warehouse


@dataclass
class Reread:
    """What a re-read did, for the import's result."""

    cancelled: int = 0
    held: int = 0  # changes held (「モール側変更あり」)
    applied: int = 0  # changes taken
    holds_raised: int = 0
    holds_cleared: int = 0


@dataclass(frozen=True)
class _Known:
    order_id: int
    read_hash: Optional[str]


def reread_open_orders(shop: Shop, client, read) -> Reread:
    """getOrder for the shop's open mall-linked orders, batch by batch; what each read calls for. `read` is the
    import's reading of an RmsOrder (importer.new_order, raising importer.BadOrderModel for one it cannot take)."""
    with unit_of_work() as uow:
        known, holds = _open_orders(shop.id)
        shop_id, account_id = shop.id, shop.account_id
        uow.commit()  # no transaction stays open across the getOrder calls
    done = Reread()
    numbers = list(known)
    for index in range(0, len(numbers), BATCH):
        due = []
        for rms in client.read_orders([known[key][0] for key in numbers[index:index + BATCH]]):
            entry = known.get(number_key(rms.number)) if rms is not None and rms.number else None
            if entry is None:
                continue
            entry = entry[1]
            if rms.is_cancelled:
                due.append((entry.order_id, rms, None))
                continue
            try:
                mall = read(shop_id, rms)
            except ValueError:  # an order the import cannot read: nothing to compare (its cancel is caught above)
                continue
            if mall.rms_read_hash != entry.read_hash or set(mall.holds) != holds[entry.order_id]:
                due.append((entry.order_id, rms, mall))
        if due:
            _apply(account_id, shop_id, due, done)
    return done


def _open_orders(shop_id: int) -> tuple[dict, dict]:
    """{number key: (number, _Known)} of the shop's open mall-linked orders, and the read holds each has."""
    rows = db.session.execute(select(Order.id, Order.mall_order_number, Order.rms_read_hash).where(
        Order.shop_id == shop_id, Order.mall_linked.is_(True), Order.deleted_at.is_(None),
        Order.status.in_(OPEN_STATUSES))).all()
    known = {number_key(number): (number, _Known(order_id, read_hash)) for order_id, number, read_hash in rows}
    holds: dict[int, set] = defaultdict(set)
    for order_id, code in db.session.execute(
            select(order_tags.c.order_id, Tag.code).join(Tag, Tag.id == order_tags.c.tag_id)
            .join(Order, Order.id == order_tags.c.order_id).where(
                Order.shop_id == shop_id, Order.mall_linked.is_(True), Order.deleted_at.is_(None),
                Order.status.in_(OPEN_STATUSES), Tag.code.in_(READ_HOLDS))):
        holds[order_id].add(code)
    return known, holds


def _apply(account_id: int, shop_id: int, due: list, done: Reread) -> None:
    actor = Actor.job(account_id, history.IMPORT_ACTOR.ja)
    with unit_of_work() as uow:
        orders = {order.id: order for order in db.session.scalars(
            select(Order).where(Order.id.in_([order_id for order_id, _, _ in due]), Order.shop_id == shop_id)
            .with_for_update(of=Order).execution_options(populate_existing=True))}
        for order_id, rms, mall in due:
            order = orders.get(order_id)
            if order is None or order.deleted or order.status not in OPEN_STATUSES:  # moved on meanwhile
                continue
            if mall is None:
                done.cancelled += frame.raise_system_tag(order, "mall_cancelled", actor, history.MALL_CANCELLED.ja)
            else:
                _take_read(order, rms, mall, actor, done)
        uow.commit()


def _take_read(order: Order, rms: RmsOrder, mall: MallOrder, actor: Actor, done: Reread) -> None:
    new_read = mall.rms_read
    if order.rms_read_hash is None:
        _first_read(order, mall, actor, done)
    elif mall.rms_read_hash != order.rms_read_hash:
        changes = differences(last_read(order), new_read)
        held = changes if order.status not in TAKES_CHANGES else [c for c in changes if c.field in staff_fields(order)]
        taken = [change for change in changes if change not in held]
        if taken:
            _take(order, taken, new_read, actor)
            done.applied += 1
        if held:
            frame.record_event(order, actor, "mall_change_held", _lines(held), order.status, order.status)
            frame.raise_system_tag(order, "mall_changed", actor, history.MALL_CHANGE_HELD.ja)
            done.held += 1
    order.rms_read = None if columns_read(order) == new_read else new_read  # kept only where the order differs
    order.rms_read_hash = mall.rms_read_hash
    frame.touch(order)
    for code in READ_HOLDS:
        if code in mall.holds:
            done.holds_raised += frame.raise_system_tag(order, code, actor)
        else:
            done.holds_cleared += frame.clear_system_tag(order, code, actor, history.READ_HOLD_CLEARED.ja)
    if order.status == rules.AWAITING_CONFIRMATION:
        auto_confirm(order)  # a hold gone, lines mapped again: as at import


FIRST_READ_LINE_KEYS = ("mall_item_id", "sub_code", "name", "quantity", "unit_price")  # what the import always read


def _first_read(order: Order, mall: MallOrder, actor: Actor, done: Reread) -> None:
    """An order imported before BOSS kept its RMS version: the fields it did not read then are filled in
    quietly; lines or a recipient that differ from BOSS's are taken (確認待・確認済) or held (出荷待ち) as a change."""
    read = mall.rms_read
    for name in ("wrapping", "charges", "discount", "points_used", "billed", "pickup", "drop_off"):
        setattr(order, name, read[name])
    if order.delivery_date is None and order.delivery_time_slot is None:
        order.delivery_date = _date(read["delivery_date"])
        order.delivery_time_slot = read["delivery_time_slot"]
    ours = {"recipient": {name: getattr(order, f"recipient_{name}") for name in PARTY_FIELDS},
            "lines": [{key: getattr(line, key) for key in FIRST_READ_LINE_KEYS} for line in order.lines]}
    theirs = {"recipient": read["recipient"],
              "lines": [{key: line[key] for key in FIRST_READ_LINE_KEYS} for line in read["lines"]]}
    changes = differences(ours, theirs)
    if not changes:
        for line, options in zip(order.lines, (line["options"] for line in read["lines"])):
            line.options = options
        order.recompute_total()
        return
    if order.status in TAKES_CHANGES:
        _take(order, changes, read, actor, history.MALL_CHANGE_REFRESHED.ja)
        done.applied += 1
    else:
        frame.record_event(order, actor, "mall_change_held",
                           "\n".join([history.MALL_CHANGE_REFRESHED.ja, _lines(changes)]), order.status, order.status)
        frame.raise_system_tag(order, "mall_changed", actor, history.MALL_CHANGE_HELD.ja)
        done.held += 1


# ---------------------------------------------------------------- differences

@dataclass(frozen=True)
class Change:
    field: str  # the read's key: "recipient", "lines", "postage"…
    label: str  # 項目, as the history shows it
    old: str
    new: str


SCALARS = {"payment_method": "支払方法", "remarks": "備考", "delivery_date": "お届け希望日", "delivery_time_slot": "時間帯",
           "postage": "送料", "wrapping": "ラッピング料", "charges": "手数料", "discount": "クーポン",
           "points_used": "ポイント利用", "billed": "請求額", "pickup": "受取場所", "drop_off": "置き配"}
PARTY_LABELS = {"name": "氏名", "name_kana": "フリガナ", "email": "メール", "phone": "電話番号", "postal_code": "郵便番号",
                "address": "住所"}
LINE_LABELS = {"name": "商品名", "quantity": "数量", "unit_price": "単価", "options": "項目選択肢"}


def differences(old: dict, new: dict) -> list[Change]:
    """What differs between two reads (or BOSS's fields and a read), field by field, in the history's words."""
    changes = []
    for key, who in (("buyer", "購入者"), ("recipient", "送付先")):
        if key in old and key in new and old[key] != new[key]:
            changes.extend(Change(key, f"{who} {PARTY_LABELS[name]}", _shown(old[key].get(name)), _shown(new[key].get(name)))
                           for name in PARTY_FIELDS if (old[key].get(name) or "") != (new[key].get(name) or ""))
    for key, label in SCALARS.items():
        if key in old and key in new and old[key] != new[key]:
            none = "未確定" if key in UNFIXED_WHEN_NONE else "なし"
            changes.append(Change(key, label, _shown(old[key], none), _shown(new[key], none)))
    if "lines" in old and "lines" in new and old["lines"] != new["lines"]:
        changes.extend(_line_changes(old["lines"], new["lines"]))
    return changes


def _line_changes(old: list[dict], new: list[dict]) -> list[Change]:
    """Lines compared by their mall item (モール商品ID and サブコード): changed, added, removed."""
    def key(line: dict) -> tuple:
        return line["mall_item_id"], line.get("sub_code") or ""

    before, after = {key(line): line for line in old}, {key(line): line for line in new}
    changes = []
    for item, line in after.items():
        label = "/".join(filter(None, item))
        if item not in before:
            changes.append(Change("lines", f"明細 {label}", "なし", f"{line['name']} ×{line['quantity']}"))
            continue
        changes.extend(Change("lines", f"明細 {label} {text}", _shown(before[item].get(name)), _shown(line.get(name)))
                       for name, text in LINE_LABELS.items() if before[item].get(name) != line.get(name))
    changes.extend(Change("lines", f"明細 {'/'.join(filter(None, item))}", f"{line['name']} ×{line['quantity']}", "なし")
                   for item, line in before.items() if item not in after)
    if not changes:  # the same lines in another order
        changes.append(Change("lines", "明細の並び", "", ""))
    return changes


UNFIXED_WHEN_NONE = ("postage", "billed")  # None: RMS has not fixed it yet (-9999)


def _shown(value, none: str = "なし") -> str:
    if value is None or value == "":
        return none
    if isinstance(value, dict):  # a pickup
        return " ".join(str(v) for k, v in value.items() if k != "kind" and v)
    return str(value).replace("\n", " / ")


def _lines(changes: list[Change]) -> str:
    return "\n".join(f"{c.label}: {c.old} → {c.new}" if c.old or c.new else c.label for c in changes)


def rms_version(new: NewOrder) -> dict:
    """The fields BOSS reads of an RMS order, as JSON: what two reads are compared by (Changes after import)."""
    return {"buyer": new.buyer, "recipient": new.recipient, "payment_method": new.payment_method,
            "remarks": new.remarks, "delivery_date": new.delivery_date.isoformat() if new.delivery_date else None,
            "delivery_time_slot": new.delivery_time_slot, "postage": new.postage, "wrapping": new.wrapping,
            "charges": new.charges, "discount": new.discount, "points_used": new.points_used, "billed": new.billed,
            "pickup": new.pickup, "drop_off": new.drop_off,
            "lines": [{key: line[key] for key in LINE_KEYS} for line in new.lines]}


LINE_KEYS = ("mall_item_id", "sub_code", "name", "quantity", "unit_price", "options")


def columns_read(order: Order) -> dict:
    """The order's columns as rms_version writes a read: what the order holds of the mall's fields."""
    def party(prefix: str) -> dict:
        return {name: getattr(order, f"{prefix}_{name}") or "" for name in PARTY_FIELDS}

    return {"buyer": party("buyer"), "recipient": party("recipient"), "payment_method": order.payment_method,
            "remarks": order.remarks, "delivery_date": order.delivery_date.isoformat() if order.delivery_date else None,
            "delivery_time_slot": order.delivery_time_slot, "postage": order.postage, "wrapping": order.wrapping,
            "charges": order.charges, "discount": order.discount, "points_used": order.points_used,
            "billed": order.billed, "pickup": order.pickup, "drop_off": order.drop_off,
            "lines": [{key: getattr(line, key) for key in LINE_KEYS} for line in order.lines]}


def last_read(order: Order) -> dict:
    """The last RMS version read of the order: kept in rms_read where the order differs from it (a held change),
    else what its columns hold (the import keeps only the read's hash)."""
    return order.rms_read if order.rms_read is not None else columns_read(order)


def keep_last_read(order: Order) -> None:
    """Before staff change a field of a mall order (order editing): keep the last read apart from the columns, so
    the next read is still compared with the mall's last version, never with BOSS's own fields."""
    if order.rms_read_hash is not None and order.rms_read is None:
        order.rms_read = columns_read(order)


def staff_fields(order: Order) -> set[str]:
    """The fields staff changed by hand (editing.py keeps the last read apart first), which a mall change does
    not overwrite (held instead): the read's keys whose value the order's columns no longer hold."""
    if order.rms_read is None:
        return set()
    now = columns_read(order)
    return {key for key, value in order.rms_read.items() if key in now and now[key] != value}


# ---------------------------------------------------------------- taking a change

def _take(order: Order, changes: list[Change], read: dict, actor: Actor, heading: str = "") -> None:
    """Apply the read's value of each changed field: one mall_change_applied event; lines mapped again (an
    unmapped line sends a 確認済 order back to 確認待)."""
    fields = {change.field for change in changes}
    before = order.status
    with counted(order):
        for party in ("buyer", "recipient"):
            if party in fields:
                for name in PARTY_FIELDS:
                    setattr(order, f"{party}_{name}", read[party].get(name) or "")
        for name in SCALARS:
            if name in fields:
                setattr(order, name, _date(read[name]) if name == "delivery_date" else read[name])
        if "lines" in fields:
            _replace_lines(order, read["lines"])
        order.recompute_total()
        order.search_text = search_text_for(order)
        frame.follow_lines(order)
    frame.record_event(order, actor, "mall_change_applied", "\n".join(filter(None, [heading, _lines(changes)])),
                       before, order.status)


def _replace_lines(order: Order, lines: list[dict]) -> None:
    new = NewOrder(shop_id=order.shop_id, mall_order_number=order.mall_order_number, buyer={}, lines=lines)
    mappings = mappings_for(order.shop_id, line_keys(new))
    order.lines.clear()
    db.session.flush()
    order.lines.extend(OrderLine(**columns) for columns in line_columns(new, mappings))


def _date(value) -> Optional[date]:
    return date.fromisoformat(value) if value else None
