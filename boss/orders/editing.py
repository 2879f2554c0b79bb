"""Editing an order (api.md "Editing an order", orders.md §3 編集): the fields staff correct by hand.

Allowed in 確認待 and 確認済; in 出荷待ち only the recipient, the delivery date and slot and the remarks, and only
when the shipping request failed (warehouse.md §4: fix the address the warehouse refused, then 「出荷依頼を再送」).
One `edited` event lists each change as `項目: 旧 → 新` (R12). A mall-linked Rakuten order keeps its last RMS read
apart first (reread.keep_last_read), so a later change at Rakuten is compared with Rakuten's last version and a
field staff changed is held, not overwritten (rakuten-rms.md "Changes after import"). The mall is not changed.
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from ..errors import validation_error
from ..reason import Reason
from . import frame, rules
from . import shipping_rules as sr
from .actor import Actor
from .models import Order
from .rules import Decision
from .search import search_text_for

PARTY_FIELDS = ("name", "name_kana", "email", "phone", "postal_code", "address")
PARTY_WORDS = {"name": "氏名", "name_kana": "フリガナ", "email": "メール", "phone": "電話番号", "postal_code": "郵便番号",
               "address": "住所"}
WHO = {"buyer": "購入者", "recipient": "送付先"}
FIELD_WORDS = {"delivery_date": "お届け希望日", "delivery_time_slot": "お届け時間帯", "postage": "送料", "remarks": "備考"}
ALL_FIELDS = ("buyer", "recipient", "delivery_date", "delivery_time_slot", "postage", "remarks")
AFTER_A_FAILED_REQUEST = ("recipient", "delivery_date", "delivery_time_slot", "remarks")


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
                "出荷依頼が失敗した出荷待ちの注文で修正できるのは、送付先・お届け希望日・時間帯・備考です"
                f"（{', '.join(others)} は修正できません）。",
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
    delivery_time_slot, postage, remarks. `lines` (issue 18) are refused here."""
    if "lines" in changes:
        raise validation_error({"lines": "明細の編集はまだできません。明細を変えるには注文をキャンセルして登録し直してください"})
    unknown = set(changes) - set(ALL_FIELDS)
    if unknown:
        raise validation_error({name: "編集できない項目です" for name in sorted(unknown)})

    def apply(order: Order) -> None:
        _apply(order, actor, changes)

    return frame.act(actor, order_id, expected_version, lambda order: can_edit(order, set(changes)), apply)


def _apply(order: Order, actor: Actor, changes: dict) -> None:
    if order.rms_read_hash is not None:
        from ..malls.rakuten.reread import keep_last_read

        keep_last_read(order)
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
    if not lines:
        return
    if "postage" in changes:
        before_total = order.total
        order.recompute_total()
        if order.billed is not None and order.source != "mall_import":  # the 請求金額 follows the total it was made of
            order.billed = order.billed + order.total - before_total
    if "buyer" in changes or "recipient" in changes:
        order.search_text = search_text_for(order)
    frame.touch(order)
    frame.record_event(order, actor, "edited", "\n".join(lines), order.status, order.status)


def _shown(value) -> str:
    if value is None or value == "":
        return "（なし）"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)

