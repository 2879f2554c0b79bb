"""Notices to the warehouse (warehouse.md §4, R11): a withdrawal of a request (出荷取下げ) and a cancellation.

Both are outbox effects carried out by the account's notice lane (boss.lanes, kind `warehouse-notice`), one call per
step at the warehouse's rate (the client's pacer, shared with the sends). A notice needs the warehouse's shipment id:
while the request's send is still to come or under way the notice waits for it; a request the warehouse never took
(its send failed) needs no notice — a withdrawal of it is a withdrawal at once, a cancellation of it nothing at all.
Transient failures retry after WAREHOUSE_RETRY_BACKOFF (5 tries in all, scheduled, never slept); a final failure
raises 「倉庫連絡エラー」 with the warehouse's message and 「再送」 (retry_notice); 「倉庫連絡待ち」 stays until the
warehouse answers by an event (events.py). A cancellation supersedes a withdrawal not yet sent.
"""
from __future__ import annotations

import time
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from .. import effects, outbox
from ..extensions import db
from ..lanes import Lane, close, epoch, hand_over, set_values
from ..models import OutboxMessage, utcnow
from ..orders import frame, history, rules
from ..orders import shipping_rules as sr
from ..orders.actor import Actor
from ..orders.counters import counted
from ..orders.models import Order, Shipment
from ..reason import Reason
from ..unit_of_work import unit_of_work
from . import connection, stock
from .retrying import retry_or_fail
from .port import WarehouseAuthError, WarehouseConflict, WarehouseError, WarehousePacingDelay, WarehouseTransientError

KIND = "warehouse.notice"
READ_AT_ONCE = 100  # due notices a step reads: it sends the oldest wanted one and closes those no longer wanted
WITHDRAWAL, CANCELLATION = "withdrawal", "cancellation"
AUTH_WAIT_SECONDS = 300
WAIT_FOR_SEND_SECONDS = 1.0
SENDING = "sending"


# ---------------------------------------------------------------- recording (in the caller's unit of work)

def record(order: Order, shipment: Shipment, what: str, retrieve_parcel: bool = False, reason: str = "") -> None:
    outbox.record(KIND, {"shipment_id": shipment.id, "order_id": order.id, "account_id": order.account_id,
                         "what": what, "retrieve_parcel": retrieve_parcel, "reason": reason})


def tell_cancel(order: Order, actor: Actor, reason_code: int, retrieve_parcel: bool) -> None:
    """R11: the cancel of an order whose request the warehouse holds (or may hold) is told to it; the order
    carries 「倉庫連絡待ち」 until the warehouse answers. It supersedes a withdrawal not yet sent."""
    shipment = order.current_shipment
    shipment.notice = sr.NOTICE_PENDING
    shipment.notice_message = None
    shipment.pending_cancel = None
    db.session.execute(update(OutboxMessage).where(
        OutboxMessage.kind == KIND, OutboxMessage.state == "pending",
        OutboxMessage.payload["shipment_id"].as_integer() == shipment.id,
        OutboxMessage.payload["what"].as_string() == WITHDRAWAL).values(state="done", done_at=utcnow()))
    frame.clear_system_tag(order, "warehouse_notice_error", actor)
    frame.raise_system_tag(order, "warehouse_notice_pending", actor, history.NOTICE_TO_SEND.ja)
    record(order, shipment, CANCELLATION, retrieve_parcel, rules.CANCEL_REASONS[reason_code][0])


def retry_notice(actor: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    """「再送」 of a withdrawal or cancellation whose send failed finally (「倉庫連絡エラー」)."""
    def decide(order: Order) -> rules.Decision:
        if order.deleted:
            return rules.Decision(False, rules.DEFAULT_REFUSAL_CODE, rules.REASON_DELETED)
        if not order.has_tag("warehouse_notice_error") or order.current_shipment is None:
            return rules.Decision(False, rules.DEFAULT_REFUSAL_CODE, REASON_NOTHING_TO_RESEND)
        return rules.ALLOWED

    def apply(order: Order) -> None:
        shipment = order.current_shipment
        what = CANCELLATION if order.status == rules.CANCELLED else WITHDRAWAL
        frame.touch(order)
        frame.record_event(order, actor, "notice_sent", history.NOTICE_RESEND.ja, order.status, order.status)
        reason = rules.CANCEL_REASONS.get(order.cancel_reason_code or 0, ("", ""))[0]
        record(order, shipment, what, bool(order.retrieve_parcel), reason)

    return frame.act(actor, order_id, expected_version, decide, apply)


REASON_NOTHING_TO_RESEND = Reason("再送する倉庫への連絡はありません。", "There is no warehouse notice to resend.")


# ---------------------------------------------------------------- the lane

def lane(account_id: int) -> Lane:
    return Lane(LANE, account_id)


def hand_to_lanes(messages: list) -> None:
    """Each message goes to the lane of its account."""
    hand_over(messages, lambda message: lane(message.payload["account_id"]))


def step(account_id: int) -> Optional[float]:
    """One step of the account's notice lane: the oldest due notice, one call. Returns when to run next."""
    try:
        return _step(account_id)
    except StaleDataError:
        return time.time()


def _pending(account_id: int, now) -> list[tuple[OutboxMessage, Shipment]]:
    """The account's notices due `now`, oldest first (as the send lane reads its requests: a notice waiting for its
    retry never hides a due one)."""
    from .shipping import lane_messages

    return list(db.session.execute(
        lane_messages(KIND, account_id, select(OutboxMessage, Shipment), due_at=now)
        .options(contains_eager(Shipment.order)).order_by(OutboxMessage.id).limit(READ_AT_ONCE)).unique().all())


def _wanted(message: OutboxMessage, shipment: Shipment) -> bool:
    """A withdrawal while the shipment awaits its answer; a cancellation while its notice is pending."""
    if message.payload["what"] == WITHDRAWAL:
        return shipment.status == rules.WITHDRAWAL_REQUESTED and shipment.order.status != rules.CANCELLED
    return shipment.notice == sr.NOTICE_PENDING


def _step(account_id: int) -> Optional[float]:
    from .shipping import next_due

    with unit_of_work() as uow:
        pending = _pending(account_id, utcnow())
        due = []
        for message, shipment in pending:
            if _wanted(message, shipment):
                due.append((message, shipment))
            else:
                close(message)
        if not due:
            later = None if pending else next_due(KIND, account_id)
            uow.commit()
            if pending:  # all of them closed: the next due ones at once
                return time.time()
            return epoch(later) if later is not None else None
        message, shipment = due[0]
        if shipment.warehouse_id is None:
            never_sent = shipment.request_state == sr.PENDING and not _send_alive(shipment)
            if shipment.request_state == sr.FAILED or never_sent:
                _never_taken(message, shipment)
                uow.commit()
                return time.time()
            uow.commit()  # the send is still to come or under way: its answer brings the warehouse's id
            return time.time() + WAIT_FOR_SEND_SECONDS
        set_values(message, phase=SENDING)
        message_id, what, warehouse_id = message.id, message.payload["what"], shipment.warehouse_id
        retrieve, reason = bool(message.payload.get("retrieve_parcel")), message.payload.get("reason") or ""
        uow.commit()
    try:
        client = connection.client_for(account_id, max_pace_wait=0)
        if what == WITHDRAWAL:
            client.request_withdrawal(warehouse_id)
        else:
            client.request_cancellation(warehouse_id, retrieve, reason)
    except WarehousePacingDelay as exc:
        _after(message_id, lambda m, s: set_values(m, phase="pending"))
        return time.time() + (exc.retry_after or 0.2)
    except WarehouseAuthError as exc:
        _after(message_id, lambda m, s: set_values(m, phase="pending"))
        connection.mark_connection_failed(account_id, str(exc))
        return time.time() + AUTH_WAIT_SECONDS
    except WarehouseTransientError as exc:
        _after(message_id, lambda m, s, e=exc: _retry_later(m, s, e))
        return time.time()
    except WarehouseConflict as exc:  # a withdrawal of a parcel already shipped: its `shipped` event follows
        _after(message_id, lambda m, s, e=exc: _too_late(m, s, e))
        return time.time()
    except WarehouseError as exc:
        _after(message_id, lambda m, s, e=exc: _fail(m, s, history.NOTICE_REFUSED_AT_SEND(error=e)))
        return time.time()
    _after(message_id, _sent)
    return time.time()


def _send_alive(shipment: Shipment) -> bool:
    """A send of the request is still pending (to be sent, or under way)."""
    from .shipping import SEND_KIND

    return db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.kind == SEND_KIND, OutboxMessage.state == "pending",
        OutboxMessage.payload["shipment_id"].as_integer() == shipment.id).limit(1)) is not None


def _after(message_id: int, outcome) -> None:
    with unit_of_work() as uow:
        message = db.session.get(OutboxMessage, message_id)
        shipment = db.session.get(Shipment, message.payload["shipment_id"])
        with counted(shipment.order):
            outcome(message, shipment)
        uow.commit()


def _sent(message: OutboxMessage, shipment: Shipment) -> None:
    order = shipment.order
    actor = _actor(order)
    text = history.WITHDRAWAL_SENT if message.payload["what"] == WITHDRAWAL else history.CANCELLATION_SENT
    frame.touch(order)
    frame.record_event(order, actor, "notice_sent", text.ja, order.status, order.status)
    frame.clear_system_tag(order, "warehouse_notice_error", actor, history.NOTICE_RESENT_CLEARED.ja)
    connection.mark_connection_ok(order.account_id)
    close(message)


def _too_late(message: OutboxMessage, shipment: Shipment, error: WarehouseError) -> None:
    order = shipment.order
    frame.touch(order)
    frame.record_event(order, _actor(order), "notice_sent", history.WITHDRAWAL_TOO_LATE(error=error),
                       order.status, order.status)
    close(message)


def _never_taken(message: OutboxMessage, shipment: Shipment) -> None:
    """The warehouse never took the request: a withdrawal is one at once, a cancellation needs no notice."""
    order = shipment.order
    actor = _actor(order)
    if message.payload["what"] == WITHDRAWAL:
        withdraw_at_once(order, shipment, actor)
    else:
        shipment.notice = sr.NOTICE_NONE
        frame.touch(order)
        frame.clear_system_tag(order, "warehouse_notice_pending", actor, history.NOTICE_NOT_NEEDED.ja)
    close(message)


def withdraw_at_once(order: Order, shipment: Shipment, actor: Actor) -> None:
    """A request that never reached the warehouse is withdrawn without a call: 出荷不可, reservation released; a
    cancel that waited for the withdrawal is carried out."""
    before = order.status
    shipment.status = rules.NOT_SHIPPABLE
    shipment.status_before_withdrawal = None
    shipment.reason = history.WITHDRAWN_BEFORE_SEND.ja
    shipment.updated_at = utcnow()
    if order.status != rules.CANCELLED:
        order.status = rules.SHIPPING_IN_PROGRESS
        order.shipment_status = rules.NOT_SHIPPABLE
    stock.release(order, actor)
    frame.touch(order)
    frame.record_event(order, actor, "withdrawn", history.WITHDRAWN_BEFORE_SEND.ja, before, order.status)
    frame.clear_system_tag(order, "shipping_request_error", actor)
    pending, shipment.pending_cancel = shipment.pending_cancel, None
    if pending and order.status != rules.CANCELLED:
        cancel_after_withdrawal(order, pending, actor)


def cancel_after_withdrawal(order: Order, pending: dict, actor: Actor) -> None:
    """取下げ後にキャンセル: the withdrawal was accepted, so the order is cancelled by the system on behalf of the user
    who asked (R9 reflection and R12 history as a normal cancel)."""
    from ..orders.actions import cancel_now

    on_behalf = Actor.system(order.account_id, history.AFTER_WITHDRAWAL_ACTOR(name=pending.get("by") or "—"))
    cancel_now(order, on_behalf, int(pending.get("reason_code") or rules.DEFAULT_CANCEL_REASON))


def _retry_later(message: OutboxMessage, shipment: Shipment, error: WarehouseError) -> None:
    retry_or_fail(message, shipment, error, kind="notice_failed", retry_text=history.NOTICE_SEND_RETRY,
                  failed_text=history.NOTICE_SEND_FAILED, fail=_fail)


def _fail(message: OutboxMessage, shipment: Shipment, text: str) -> None:
    """A final failure: 「倉庫連絡エラー」 with the warehouse's message, and 「再送」 (retry_notice)."""
    order = shipment.order
    actor = _actor(order)
    frame.touch(order)
    frame.record_event(order, actor, "notice_failed", text, order.status, order.status)
    frame.raise_system_tag(order, "warehouse_notice_error", actor, text)
    close(message)


def _actor(order: Order) -> Actor:
    return Actor.job(order.account_id, history.WAREHOUSE_SEND_ACTOR.ja)



LANE = effects.declare_lane("warehouse-notice", step, step_timeout_setting="WAREHOUSE_TIMEOUT")
effects.declare(KIND, dispatcher=hand_to_lanes, timeout_setting="WAREHOUSE_REDISPATCH_SECONDS")
