"""出荷取下げ and 取下げ後にキャンセル (warehouse.md §4).

A withdrawal asks the warehouse to give a request back: allowed for 出荷中 and 出荷依頼済 (shipping_rules). A
request the warehouse holds (sent, or its send under way) is asked by a notice (notices.py) and the shipment
waits 取下げ依頼中 for the answer (`withdrawn`, `withdrawal_refused`, or a `shipped` that overtook it); one that
never reached the warehouse is withdrawn at once, with no call. 「取下げ後にキャンセル」 is one step for the shop:
the withdrawal is requested with the cancel's reason kept, and the order is cancelled once the warehouse accepts.
"""
from __future__ import annotations

from typing import Optional

from ..errors import validation_error
from ..models import utcnow
from ..orders import frame, history, rules
from ..orders import shipping_rules as sr
from ..orders.actor import Actor
from ..orders.models import Order
from ..reason import Reason
from . import notices
from .shipping import request_sent

REASON_THEN_CANCEL_ONLY_IN_SHIPPING = Reason(
    "取下げ後にキャンセルは出荷作業中（出荷中）の注文に使います。出荷待ちの注文はそのままキャンセルできます。",
    "Cancel after withdrawal is for orders the warehouse is working on. An order awaiting shipment can be cancelled "
    "directly.")


def decide(order: Order, then_cancel: bool) -> rules.Decision:
    state = order.state()
    decision = sr.can_request_withdrawal(state)
    shipping = (state.status, state.shipment_status) == (rules.SHIPPING_IN_PROGRESS, rules.SHIPPING)
    if decision and then_cancel and not shipping:
        return rules.Decision(False, rules.DEFAULT_REFUSAL_CODE, REASON_THEN_CANCEL_ONLY_IN_SHIPPING)
    return decision


def request_withdrawal(actor: Actor, order_id: int, then_cancel: bool = False, reason_code: Optional[int] = None,
                       expected_version: Optional[int] = None) -> Order:
    if reason_code is None:
        reason_code = rules.DEFAULT_CANCEL_REASON
    if reason_code not in rules.CANCEL_REASONS:
        raise validation_error({"reason_code": "RMSのキャンセル理由コード（1–6, 8, 10, 13–15）で指定してください"})

    def apply(order: Order) -> None:
        shipment = order.current_shipment
        if not request_sent(shipment):
            notices.withdraw_at_once(order, shipment, actor)
            return
        shipment.status_before_withdrawal = shipment.status
        shipment.status = rules.WITHDRAWAL_REQUESTED
        shipment.updated_at = utcnow()
        order.shipment_status = rules.WITHDRAWAL_REQUESTED
        frame.touch(order)
        if then_cancel:
            shipment.pending_cancel = {"reason_code": reason_code, "by": actor.name, "actor_type": actor.type}
            text = history.WITHDRAWAL_THEN_CANCEL(reason=rules.CANCEL_REASONS[reason_code][0])
        else:
            text = history.WITHDRAWAL_REQUESTED.ja
        frame.record_event(order, actor, "withdrawal_requested", text, order.status, order.status)
        notices.record(order, shipment, notices.WITHDRAWAL)

    return frame.act(actor, order_id, expected_version, lambda order: decide(order, then_cancel), apply)
