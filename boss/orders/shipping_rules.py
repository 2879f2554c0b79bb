"""The warehouse's part of the order rules (orders.md §3, warehouse.md §4), pure: no Flask, no SQLAlchemy.

Two questions are answered here, each with the reason in Japanese and English:
- may staff (or the auto-request) do this shipping action to this order? (`can_request_shipment`, …);
- what does an event of the warehouse do to an order in this status with this shipment status?
  (`on_event`: a `Transition` to carry out, or an `Ignored` to record in the history without applying).
The services carry out exactly what the answer names. Table-tested in tests/unit/test_shipping_rules.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence, Union

from ..reason import Reason
from .rules import (ALLOWED, AWAITING_SHIPMENT, CANCELLED, COMPLETED, CONFIRMED, DEFAULT_REFUSAL_CODE, NOT_SHIPPABLE,
                    REQUESTED, SHIPPED, SHIPPING, SHIPPING_IN_PROGRESS, STATUS_LABELS, STATUS_LABELS_EN,
                    WITHDRAWAL_REQUESTED, Decision, OrderState, _deleted, _held)

REQUEST_SHIPMENT = "request_shipment"
REQUEST_WITHDRAWAL = "request_withdrawal"
RE_REQUEST = "re_request_shipment"
RETRY_REQUEST = "retry_shipping_request"

# Request states of a shipment (api.md): its send job has it, the warehouse took it, or it was refused/failed.
PENDING, SENT, FAILED = "pending", "sent", "failed"

# Event types (warehouse.md §2).
STARTED = "started"
EV_SHIPPED = "shipped"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
WITHDRAWAL_REFUSED = "withdrawal_refused"
CANCELLATION_ACKNOWLEDGED = "cancellation_acknowledged"
CANCELLATION_REFUSED = "cancellation_refused"
RETURN_INSPECTED = "return_inspected"
EVENT_TYPES = (STARTED, EV_SHIPPED, REFUSED, WITHDRAWN, WITHDRAWAL_REFUSED, CANCELLATION_ACKNOWLEDGED,
               CANCELLATION_REFUSED, RETURN_INSPECTED)

# The warehouse's notice of a cancel (R11), on the shipment: none, pending (「倉庫連絡待ち」), acknowledged, refused.
NOTICE_NONE, NOTICE_PENDING, NOTICE_ACKNOWLEDGED, NOTICE_REFUSED = "none", "pending", "acknowledged", "refused"

LIVE_AT_THE_WAREHOUSE = (REQUESTED, SHIPPING, WITHDRAWAL_REQUESTED)

# A return's status (warehouse.md §4 Return): 返品待ち until what came back is reported, then 検品済.
AWAITING_RETURN, INSPECTED = "awaiting_return", "inspected"
RETURN_LABELS = {AWAITING_RETURN: "返品待ち", INSPECTED: "検品済"}


# ---------------------------------------------------------------- staff's actions

REASON_NO_WAREHOUSE = Reason(
    "倉庫が接続されていないため出荷依頼できません。設定 → 倉庫 でAPIキーを登録してください。",
    "No warehouse is connected. Set its API key in Settings → Warehouse.")
REASON_NO_RECIPIENT = Reason(
    "送付先の氏名・住所がないため出荷依頼できません。送付先を入力してから出荷依頼してください。",
    "The recipient has no name or address. Enter them, then request the shipment.")


def can_request_shipment(order: OrderState, warehouse_connected: bool, has_recipient: bool) -> Decision:
    """確認済, nothing holding it, a recipient to ship to, a warehouse to ask (stock is checked by the service:
    `insufficient_stock` names each SKU short)."""
    if order.deleted:
        return _deleted(REQUEST_SHIPMENT)
    if order.status != CONFIRMED:
        return _not_in(order.status, "出荷依頼", "requested for shipment", "確認済", "confirmed")
    return _can_send(order, warehouse_connected, has_recipient, "出荷依頼", "requested for shipment")


def can_re_request(order: OrderState, warehouse_connected: bool, has_recipient: bool) -> Decision:
    """再出荷依頼: 出荷作業中 whose shipment came back 出荷不可 (refused or withdrawn)."""
    if order.deleted:
        return _deleted(RE_REQUEST)
    if order.status != SHIPPING_IN_PROGRESS or order.shipment_status != NOT_SHIPPABLE:
        return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
            "再出荷依頼できるのは、出荷作業中で出荷不可になった注文です。",
            "Only an order in progress whose shipment is not shippable can be requested again."))
    return _can_send(order, warehouse_connected, has_recipient, "再出荷依頼", "requested again")


def _can_send(order: OrderState, warehouse_connected: bool, has_recipient: bool, verb_ja: str,
              verb_en: str) -> Decision:
    """What a request (first or again) needs beyond its status: nothing holding it, a recipient, a warehouse."""
    if order.holding_tags:
        return _held(order.holding_tags, verb_ja, verb_en)
    if not has_recipient:
        return Decision(False, DEFAULT_REFUSAL_CODE, REASON_NO_RECIPIENT)
    if not warehouse_connected:
        return Decision(False, DEFAULT_REFUSAL_CODE, REASON_NO_WAREHOUSE)
    return ALLOWED


def can_request_withdrawal(order: OrderState) -> Decision:
    """出荷取下げ: 出荷作業中 with 出荷中, or 出荷待ち with 出荷依頼済."""
    if order.deleted:
        return _deleted(REQUEST_WITHDRAWAL)
    if (order.status, order.shipment_status) in ((SHIPPING_IN_PROGRESS, SHIPPING), (AWAITING_SHIPMENT, REQUESTED)):
        return ALLOWED
    if order.shipment_status == WITHDRAWAL_REQUESTED:
        return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
            "既に出荷取下げを依頼しています。倉庫の回答をお待ちください。",
            "A withdrawal has been requested already. Wait for the warehouse's answer."))
    if order.shipment_status == SHIPPED:
        return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
            "出荷完了のため取り下げできません。キャンセルすると返品を受け付けます。",
            "The parcel has shipped and cannot be withdrawn. Cancel the order to open a return."))
    return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
        "出荷取下げできるのは、出荷依頼済または出荷中の注文です。",
        "Only a requested or shipping order can be withdrawn."))


def can_retry_request(order: OrderState) -> Decision:
    """出荷依頼を再送: 出荷待ち whose request failed (the warehouse refused it, or its send failed finally)."""
    if order.deleted:
        return _deleted(RETRY_REQUEST)
    if order.status != AWAITING_SHIPMENT or order.request_state != FAILED:
        return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
            "再送できるのは、出荷依頼が失敗した出荷待ちの注文です。",
            "Only an order awaiting shipment whose request failed can be resent."))
    if order.holding_tags:
        return _held(order.holding_tags, "出荷依頼を再送", "resent")
    return ALLOWED


def _not_in(status: str, verb_ja: str, verb_en: str, wanted_ja: str, wanted_en: str) -> Decision:
    return Decision(False, DEFAULT_REFUSAL_CODE, Reason(
        f"この注文は{STATUS_LABELS[status]}のため{verb_ja}できません。{verb_ja}できるのは{wanted_ja}の注文です。",
        f"This order is {STATUS_LABELS_EN[status].lower()}; only {wanted_en} orders can be {verb_en}."))


# ---------------------------------------------------------------- the warehouse's events

@dataclass(frozen=True)
class Transition:
    """What an event does: the order's and the shipment's new status; stock released or shipped; the
    history kind; tags raised and cleared; the notice's new state; a cancel waiting for the withdrawal
    carried out (`cancel_now`) or dropped; `before_withdrawal` updated (a `started` during a withdrawal)."""

    order_status: str
    shipment_status: str
    history: str
    release: bool = False
    ship: bool = False
    raise_tags: tuple[str, ...] = ()
    clear_tags: tuple[str, ...] = ()
    notice: Optional[str] = None
    cancel_now: bool = False
    drop_pending_cancel: bool = False
    before_withdrawal: Optional[str] = None
    open_return: bool = False  # a return opens (返品待ち): `shipped` on an order cancelled here
    inspect_return: bool = False  # the order's return is inspected (opened first when `open_return` too)


@dataclass(frozen=True)
class Ignored:
    """An event the rules do not apply to the order as it is (recorded in the history, never applied)."""

    reason: Reason


Outcome = Union[Transition, Ignored]


def on_event(event_type: str, status: str, shipment_status: Optional[str], *, notice: str = NOTICE_NONE,
             pending_cancel: bool = False, before_withdrawal: Optional[str] = None,
             return_status: Optional[str] = None, inspection_problem: Optional[Reason] = None) -> Outcome:
    """warehouse.md §4's table: the event `event_type` on an order in `status` whose shipment is in
    `shipment_status`. A cancelled order keeps its status: only its shipment changes (orders.md §3).
    For `return_inspected`: `return_status` is the order's latest return's (None: it has none), and
    `inspection_problem` why the reported lines do not fit what was shipped (check_inspection)."""
    cancelled = status == CANCELLED
    live = shipment_status in LIVE_AT_THE_WAREHOUSE

    def keep_or(new_status: str) -> str:
        return status if cancelled else new_status

    if event_type == STARTED:
        if shipment_status == REQUESTED:
            return Transition(keep_or(SHIPPING_IN_PROGRESS), SHIPPING, "shipment_started")
        if shipment_status == WITHDRAWAL_REQUESTED:
            new_status = SHIPPING_IN_PROGRESS if status == AWAITING_SHIPMENT else status
            return Transition(new_status, WITHDRAWAL_REQUESTED, "shipment_started", before_withdrawal=SHIPPING)
        return _ignored(event_type, shipment_status)
    if event_type in (WITHDRAWN, REFUSED):
        if not live:
            return _ignored(event_type, shipment_status)
        kind = "withdrawn" if event_type == WITHDRAWN else "shipment_refused"
        return Transition(keep_or(SHIPPING_IN_PROGRESS), NOT_SHIPPABLE, kind, release=True,
                          cancel_now=pending_cancel and not cancelled)
    if event_type == WITHDRAWAL_REFUSED:
        if shipment_status != WITHDRAWAL_REQUESTED:
            return _ignored(event_type, shipment_status)
        back = before_withdrawal or REQUESTED
        new_status = SHIPPING_IN_PROGRESS if back == SHIPPING and status == AWAITING_SHIPMENT else status
        return Transition(new_status, back, "withdrawal_refused", drop_pending_cancel=pending_cancel,
                          raise_tags=("warehouse_cancel_refused",) if pending_cancel else ())
    if event_type == EV_SHIPPED:
        if not live:
            return _ignored(event_type, shipment_status)
        refused_cancel = cancelled or pending_cancel
        return Transition(keep_or(COMPLETED), SHIPPED, "shipped", ship=True, drop_pending_cancel=pending_cancel,
                          raise_tags=("warehouse_cancel_refused",) if refused_cancel else (), open_return=cancelled)
    if event_type == CANCELLATION_ACKNOWLEDGED:
        if notice != NOTICE_PENDING:
            return _ignored(event_type, shipment_status)
        return Transition(status, shipment_status, "notice_acknowledged", notice=NOTICE_ACKNOWLEDGED,
                          clear_tags=("warehouse_notice_pending",))
    if event_type == CANCELLATION_REFUSED:
        if notice != NOTICE_PENDING:
            return _ignored(event_type, shipment_status)
        return Transition(status, shipment_status, "notice_refused", notice=NOTICE_REFUSED,
                          clear_tags=("warehouse_notice_pending",), raise_tags=("warehouse_cancel_refused",))
    if event_type == RETURN_INSPECTED:
        if shipment_status != SHIPPED:
            return _ignored(event_type, shipment_status)
        if return_status == INSPECTED:
            return Ignored(Reason("この注文の返品は検品済です。検品結果を二重に在庫へ戻さないため適用しません。",
                                  "The order's return is inspected already; a second report would restock twice."))
        if inspection_problem is not None:
            return Ignored(inspection_problem)
        return Transition(status, shipment_status, "return_inspected", inspect_return=True,
                          open_return=return_status is None)
    return Ignored(Reason(f"不明なイベント種別「{event_type}」は適用しません。",
                          f"An event of unknown type {event_type!r} is not applied."))


def touches_more_than_statuses(step: Outcome) -> bool:
    """Whether carrying out `step` touches the order's tags, a return or a cancel — beyond the order's and the
    shipment's statuses, stock, the notice and the shipment's own fields."""
    return isinstance(step, Transition) and bool(step.raise_tags or step.clear_tags or step.open_return
                                                 or step.inspect_return or step.cancel_now)


def statuses_only(status: str, notice: str, pending_cancel: bool, event_types) -> bool:
    """Whether events of `event_types`, in any number and order, can only bring steps that touch no more than
    statuses (`touches_more_than_statuses` false) to a shipment in any shipment status whose order is in `status`,
    with the notice and the pending cancel given. Every step that touches more needs a cancelled order, a pending
    cancel, a pending notice or a `return_inspected`, and no such step's absence brings one: no event cancels an
    order, asks for a notice or leaves a cancel pending except by a step that touches more itself. Checked against
    every sequence of events in tests/unit/test_shipping_rules.py."""
    return (status != CANCELLED and not pending_cancel and notice != NOTICE_PENDING
            and RETURN_INSPECTED not in event_types)


def check_inspection(shipped: Mapping[str, int], lines: Sequence[tuple[str, int, int]]) -> dict[str, Reason]:
    """What is wrong with an inspection (`lines`: sku, returned, sellable) of a return whose SKUs were shipped in
    `shipped` quantities, by the field it names (`lines[i].sku`, `.returned`, `.sellable`); empty: it adds up.
    A SKU not reported came back with nothing."""
    problems: dict[str, Reason] = {}
    seen: set[str] = set()
    for i, (sku, returned, sellable) in enumerate(lines):
        at = f"lines[{i}]"
        if sku not in shipped:
            problems[f"{at}.sku"] = Reason(f"SKU「{sku}」はこの返品にありません", f"SKU {sku!r} is not in this return")
        elif sku in seen:
            problems[f"{at}.sku"] = Reason(f"SKU「{sku}」が2回あります", f"SKU {sku!r} is given twice")
        elif returned < 0 or returned > shipped[sku]:
            problems[f"{at}.returned"] = Reason(f"返品数は0〜出荷数（{shipped[sku]}）で指定してください",
                                                f"Returned must be 0 to the quantity shipped ({shipped[sku]})")
        elif sellable < 0 or sellable > returned:
            problems[f"{at}.sellable"] = Reason(f"販売可能数は0〜返品数（{returned}）で指定してください",
                                                f"Sellable must be 0 to the quantity returned ({returned})")
        seen.add(sku)
    return problems


SHIPMENT_WORDS = {REQUESTED: ("出荷依頼済", "requested"), SHIPPING: ("出荷中", "shipping"),
                  WITHDRAWAL_REQUESTED: ("取下げ依頼中", "withdrawal requested"),
                  NOT_SHIPPABLE: ("出荷不可", "not shippable"), SHIPPED: ("出荷完了", "shipped"),
                  None: ("出荷依頼なし", "no request")}


def _ignored(event_type: str, shipment_status: Optional[str]) -> Ignored:
    ja, en = SHIPMENT_WORDS.get(shipment_status, (str(shipment_status), str(shipment_status)))
    return Ignored(Reason(f"出荷ステータスが{ja}のため、倉庫のイベント「{event_type}」は適用しませんでした。",
                          f"The warehouse's {event_type} event was not applied: the shipment is {en}."))
