"""Editing an order (api.md "Editing an order", orders.md §3 編集): the fields and lines staff correct by hand.

Allowed in 確認待 and 確認済; in 出荷待ち only the recipient, the delivery date and slot and the remarks, and only
when the shipping request failed (warehouse.md §4: fix the address the warehouse refused, then 「出荷依頼を再送」).
Lines (quantity, unit price, name, mall item; added, removed) change in 確認待 and 確認済 only: a line whose mall
item changed, or a new one, is mapped again as registration maps it, the total is recomputed as registration
computes it, and a 確認済 order left with an unmapped line goes back to 確認待 (「商品未マッピング」).
One `edited` event lists each change as `項目: 旧 → 新` (R12). A mall-linked Rakuten order keeps its last RMS read
apart first (reread.keep_last_read), so a later change at Rakuten is compared with Rakuten's last version and a
field staff changed (its lines too) is held, not overwritten (rakuten-rms.md "Changes after import"). The mall is
not changed.
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from ..errors import not_found, validation_error
from ..extensions import db
from ..models import Product
from ..reason import Reason
from . import frame, rules
from . import shipping_rules as sr
from .actions import auto_confirm
from .actor import Actor
from .models import Order, OrderLine
from .registration import MAX_LINES, NewOrder, line_columns, line_keys, mappings_for
from .rules import Decision
from .search import search_text_for

PARTY_FIELDS = ("name", "name_kana", "email", "phone", "postal_code", "address")
PARTY_WORDS = {"name": "氏名", "name_kana": "フリガナ", "email": "メール", "phone": "電話番号", "postal_code": "郵便番号",
               "address": "住所"}
WHO = {"buyer": "購入者", "recipient": "送付先"}
FIELD_WORDS = {"delivery_date": "お届け希望日", "delivery_time_slot": "お届け時間帯", "postage": "送料", "remarks": "備考"}
ALL_FIELDS = ("buyer", "recipient", "delivery_date", "delivery_time_slot", "postage", "remarks", "lines")
AFTER_A_FAILED_REQUEST = ("recipient", "delivery_date", "delivery_time_slot", "remarks")
LINE_FIELDS = ("mall_item_id", "sub_code", "name", "quantity", "unit_price")
LINE_WORDS = {"mall_item_id": "モール商品ID", "sub_code": "サブコード", "name": "商品名", "quantity": "数量", "unit_price": "単価"}
FIELD_NAMES = {**WHO, **FIELD_WORDS, "lines": "明細"}  # a refusal's words for the fields it names


def can_edit(order: Order, fields: set[str]) -> Decision:
    state = order.state()
    if order.deleted:
        return Decision(False, rules.DEFAULT_REFUSAL_CODE, rules.REASON_DELETED)
    if state.status in (rules.AWAITING_CONFIRMATION, rules.CONFIRMED):
        return rules.ALLOWED
    if state.status == rules.AWAITING_SHIPMENT and state.request_state == sr.FAILED:
        others = sorted(fields - set(AFTER_A_FAILED_REQUEST))
        if others:
            return Decision(False, rules.DEFAULT_REFUSAL_CODE, Reason(
                "出荷依頼が失敗した出荷待ちの注文で修正できるのは、送付先・お届け希望日・時間帯・備考です。"
                f"{'・'.join(f'{FIELD_NAMES.get(name, name)}（{name}）' for name in others)}は修正できません。",
                f"Of an order whose shipping request failed only the recipient, delivery date and slot and remarks "
                f"can be edited (not {', '.join(others)})."))
        return rules.ALLOWED
    label = rules.STATUS_LABELS[state.status]
    return Decision(False, rules.DEFAULT_REFUSAL_CODE, Reason(
        f"この注文は{label}のため編集できません。編集できるのは確認待・確認済の注文と、出荷依頼が失敗した出荷待ちの注文です。",
        f"This order is {rules.STATUS_LABELS_EN[state.status].lower()} and cannot be edited. Orders awaiting or past "
        "confirmation can be, and those awaiting shipment whose request failed."))


def edit(actor: Actor, order_id: int, changes: dict, expected_version: Optional[int] = None) -> Order:
    """`changes` names only what changes: buyer/recipient (dicts of the fields to change), delivery_date,
    delivery_time_slot, postage, remarks, and `lines`: [{"id", the fields of LINE_FIELDS to change} |
    {"id", "remove": True} | {a new line: every field of LINE_FIELDS}], read as POST /orders reads a line."""
    unknown = set(changes) - set(ALL_FIELDS)
    if unknown:
        raise validation_error({name: "編集できない項目です" for name in sorted(unknown)})

    def apply(order: Order) -> None:
        with db.session.no_autoflush:  # one UPDATE of the order at the end: the version goes up by one (R13)
            _apply(order, actor, changes)

    return frame.act(actor, order_id, expected_version, lambda order: can_edit(order, set(changes)), apply)


def _apply(order: Order, actor: Actor, changes: dict) -> None:
    if order.rms_read_hash is not None:
        from ..malls.rakuten.reread import keep_last_read

        keep_last_read(order)
    before = order.status
    lines = []
    for who in ("buyer", "recipient"):
        for name, value in (changes.get(who) or {}).items():
            old = getattr(order, f"{who}_{name}")
            if value != old:
                lines.append(f"{WHO[who]} {PARTY_WORDS[name]}: {_shown(old)} → {_shown(value)}")
                setattr(order, f"{who}_{name}", value)
    for name in ("delivery_date", "delivery_time_slot", "postage", "remarks"):
        if name in changes and changes[name] != getattr(order, name):
            lines.append(f"{FIELD_WORDS[name]}: {_shown(getattr(order, name))} → {_shown(changes[name])}")
            setattr(order, name, changes[name])
    line_changes = _edit_lines(order, changes["lines"]) if "lines" in changes else []
    lines.extend(line_changes)
    if not lines:
        return
    if "postage" in changes or line_changes:
        before_total = order.total
        order.recompute_total()
        if order.billed is not None and order.source != "mall_import":  # the 請求金額 follows the total it was made of
            order.billed = order.billed + order.total - before_total
    if "buyer" in changes or "recipient" in changes:
        order.search_text = search_text_for(order)
    if line_changes:
        frame.follow_lines(order)
    frame.touch(order)
    frame.record_event(order, actor, "edited", "\n".join(lines), before, order.status)
    if line_changes and order.status == rules.AWAITING_CONFIRMATION:
        auto_confirm(order)  # every line mapped now, in a shop that confirms on its own: as after a mapping


def _edit_lines(order: Order, edits: list[dict]) -> list[str]:
    """Change, remove and add the lines `edits` names; the history's words for each change. Lines are numbered as
    the order showed them before the edit (明細2); a line whose mall item changed, or a new one, is mapped again."""
    current = list(order.lines)
    by_id = {line.id: line for line in current}
    number = {line.id: index for index, line in enumerate(current, start=1)}
    errors, named = {}, set()
    for index, item in enumerate(edits):
        if "id" not in item:
            continue
        if item["id"] not in by_id:
            raise not_found(f"明細（id {item['id']}）", f"Line {item['id']} of this order")
        if item["id"] in named:
            errors[f"lines[{index}].id"] = "同じ明細を二度指定しています"
        named.add(item["id"])
    removed = [by_id[item["id"]] for item in edits if "id" in item and item.get("remove")]
    added = NewOrder(shop_id=order.shop_id, mall_order_number=order.mall_order_number, buyer={},
                     lines=[item for item in edits if "id" not in item])
    left = len(current) - len(removed) + len(added.lines)
    if left == 0:
        errors["lines"] = "明細がなくなります。注文には明細が1件以上必要です（注文をやめるときはキャンセルしてください）"
    elif left > MAX_LINES:
        errors["lines"] = f"明細は{MAX_LINES}件までです"
    if errors:
        raise validation_error(errors)
    changed = [(by_id[item["id"]], item) for item in edits if "id" in item and not item.get("remove")]
    mappings = mappings_for(order.shop_id, [(item.get("mall_item_id", line.mall_item_id),
                                             item.get("sub_code", line.sub_code) or "") for line, item in changed]
                            + line_keys(added))
    words = []
    for line, item in changed:
        words.extend(_change_line(line, item, number[line.id], mappings))
    for line in removed:
        words.append(f"明細削除: {_line_text(line)} → （なし）")
        order.lines.remove(line)
    position = max((line.position for line in current), default=-1) + 1
    for offset, columns in enumerate(line_columns(added, mappings)):
        line = OrderLine(**{**columns, "position": position + offset}, product=_product(columns["product_id"]))
        order.lines.append(line)
        words.append(f"明細追加: （なし） → {_line_text(line)}")
    return words


def _change_line(line: OrderLine, item: dict, number: int, mappings: dict) -> list[str]:
    words = []
    key = (line.mall_item_id, line.sub_code)
    for name in LINE_FIELDS:
        value = (item[name] or "") if name == "sub_code" and name in item else item.get(name, getattr(line, name))
        if value != getattr(line, name):
            words.append(f"明細{number} {LINE_WORDS[name]}: {_shown(getattr(line, name))} → {_shown(value)}")
            setattr(line, name, value)
    if (line.mall_item_id, line.sub_code) != key or line.product_id is None:  # mapped again
        product_id = mappings.get((line.mall_item_id, line.sub_code))
        if product_id != line.product_id:
            product = _product(product_id)
            words.append(f"明細{number} 商品: {line.product.sku if line.product else '未マッピング'} → "
                         f"{product.sku if product else '未マッピング'}")
            line.product_id, line.product = product_id, product  # the id for the rules now, the object for the answer
    return words


def _line_text(line: OrderLine) -> str:
    return f"{line.name}（{line.label}）×{line.quantity} 単価{line.unit_price}"


def _product(product_id: Optional[int]) -> Optional[Product]:
    return db.session.get(Product, product_id) if product_id is not None else None


def _shown(value) -> str:
    if value is None or value == "":
        return "（なし）"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)

