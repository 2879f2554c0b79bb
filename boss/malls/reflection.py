"""Cancel reflection to Rakuten RMS (R9, rakuten-rms.md §Reflection).

Each try begins with getOrder, so a cancel RMS accepted is never sent again, whichever worker runs
the job and however often: 800/900 is done; 100–300 sends cancelOrder, 500–700 cancelOrderAfterShipping;
400 is transient. An INFO answer is done; an ERROR asks getOrder again (800/900: done, else a final
failure with RMS's message). Timeouts, 5xx and 429 are transient: 5 tries in all, waiting
RMS_RETRY_BACKOFF seconds between them — scheduled, never slept. A gateway auth error marks the shop
「RMS接続エラー」 and the reflection waits for the connection without using up its tries.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from flask import current_app
from sqlalchemy.orm.attributes import flag_modified

from .. import outbox
from ..errors import ServiceError
from ..extensions import db, get_queue
from ..models import OutboxMessage, utcnow
from ..orders import services
from ..orders.models import Order
from ..orders.rules import Reason
from ..orders.services import Actor
from . import connection
from .rakuten import RmsAuthError, RmsPacingDelay, RmsProtocolError, RmsRequestError, RmsTransientError

TRIES = 5
AUTH_WAIT_SECONDS = 300
FOLLOW_UP_PACE_WAIT = 3.0
ACTOR_NAME = "楽天RMS反映"


class _Transient(Exception):
    pass


def backoff() -> list[int]:
    return [int(x) for x in current_app.config["RMS_RETRY_BACKOFF"].split(",") if x.strip()]


@outbox.handler("rms.reflect_cancel")
def reflect_cancel(message: OutboxMessage) -> Optional[str]:
    """One step of a reflection. A step that needs a request slot books the shop's next one and, when it
    is not now, reschedules itself for it: workers never sit waiting for a shop's rate limit, and the
    shop's jobs line up one slot each instead of waking together."""
    order = db.session.get(Order, message.payload["order_id"])
    if order is None or order.reflection_state != "pending":
        return  # done already (idempotent), or retried into a new message
    shop = order.shop
    if not shop.rms_connected:
        _fail(order, "楽天RMSの接続情報がないため反映できません。")
        return
    # A step that died while sending its cancel starts over with getOrder: RMS may have taken it.
    phase = "check" if message.payload.get("phase") in (None, "sending") else message.payload["phase"]
    book = connection.slot_book(shop)
    if _book_slot(message, book, phase):
        return outbox.RESCHEDULED
    client = connection.client_for(shop, max_pace_wait=FOLLOW_UP_PACE_WAIT)
    try:
        if phase == "check":
            decision = _check(client, order)
            if decision != "cancel" and decision != "cancel_after_shipping":
                _finish(order, decision)
                return
            phase = decision
            if _book_slot(message, book, phase):
                return outbox.RESCHEDULED
        _set_phase(message, "sending")
        outcome = _send_cancel(client, order, after_shipping=phase == "cancel_after_shipping")
    except (RmsRequestError, RmsProtocolError) as exc:  # RMS refused the request itself, or broke the contract
        db.session.rollback()
        _fail(db.session.get(Order, message.payload["order_id"]), f"楽天RMSの応答エラー: {exc}")
        return
    except RmsAuthError as exc:
        db.session.rollback()
        connection.mark_connection_failed(shop.id, str(exc))
        return _reschedule(db.session.get(OutboxMessage, message.id), AUTH_WAIT_SECONDS, phase="check")
    except (RmsTransientError, _Transient) as exc:  # RmsPacingDelay included: try again later
        db.session.rollback()
        return _transient(db.session.get(OutboxMessage, message.id), exc)
    connection.mark_connection_ok(shop.id)
    _finish(order, outcome)


SLOT_SLACK = 0.5  # a booked slot this close is taken now (the client's pacer keeps the exact spacing)


def _book_slot(message: OutboxMessage, book, phase: str) -> bool:
    """Before a request: True when the step was rescheduled for a slot booked later. A run that is the
    one its slot was booked for goes ahead (it must not book again, or it would never get its turn)."""
    if message.payload.get("slot_booked"):
        message.payload = {**message.payload, "slot_booked": False}
        flag_modified(message, "payload")
        return False
    wait = book.reserve()
    if wait <= SLOT_SLACK:
        return False
    _reschedule(message, wait, phase=phase, slot_booked=True)
    return True
DONE = None


def _check(client, order: Order):
    """getOrder first: DONE (already cancelled at RMS), "cancel", "cancel_after_shipping", or a final failure's message."""
    progress = _progress(client, order.mall_order_number)
    if progress is None:
        return "楽天RMSにこの注文が見つかりません。"
    if progress in (800, 900):
        return DONE
    if progress == 400:
        raise _Transient("注文が変更確定待ち（400）です")
    if 100 <= progress <= 300:
        return "cancel"
    if 500 <= progress <= 700:
        return "cancel_after_shipping"
    return f"楽天RMSの注文ステータス（{progress}）ではキャンセルできません。"


def _send_cancel(client, order: Order, after_shipping: bool) -> Optional[str]:
    """cancelOrder / cancelOrderAfterShipping. INFO: DONE; ERROR: done if RMS now shows it cancelled (R9), else
    a final failure with RMS's message."""
    result = client.cancel_order(order.mall_order_number, order.shop.rms_inventory_restore_type,
                                 order.cancel_reason_code or 10, after_shipping=after_shipping)
    if result.ok:
        return DONE
    if _progress(client, order.mall_order_number) in (800, 900):
        return DONE
    return "; ".join(f"{m.code}: {m.message}" for m in result.errors)


def _progress(client, number: str) -> Optional[int]:
    found = client.get_order([number]).order(number)
    return found.progress if found else None


def _finish(order: Order, outcome: Optional[str]) -> None:
    if outcome is DONE:
        _done(order)
    else:
        _fail(order, outcome)


def _set_phase(message: OutboxMessage, phase: str) -> None:
    """Committed before the cancel is sent, so a worker killed mid-send is followed by a getOrder."""
    message.payload = {**message.payload, "phase": phase}
    flag_modified(message, "payload")
    db.session.commit()


def _transient(message: OutboxMessage, exc: Exception):
    order = db.session.get(Order, message.payload["order_id"])
    if isinstance(exc, RmsPacingDelay):  # our own pacer had no slot in time: not a failure of RMS
        return _reschedule(message, exc.retry_after or 1.0, phase="check")
    tries = int(message.payload.get("tries", 0)) + 1
    message.payload = {**message.payload, "tries": tries}
    if tries >= TRIES:
        _fail(order, f"楽天RMSが{TRIES}回続けて応答しませんでした: {exc}")
        return None
    delays = backoff()
    services.record_event(order, Actor.job(order.account_id, ACTOR_NAME), "reflection_retry",
                          f"一時的なエラーのため再試行します（{tries}/{TRIES}回目）: {exc}")
    return _reschedule(message, delays[min(tries - 1, len(delays) - 1)], phase="check")


def _done(order: Order) -> None:
    actor = Actor.job(order.account_id, ACTOR_NAME)
    order.reflection_state = "done"
    order.reflection_message = None
    services.record_event(order, actor, "reflection_done", "楽天RMSにキャンセルを反映しました。")
    services.clear_system_tag(order, "mall_reflection_error", actor, "再反映に成功したためタグを外しました。")


def _fail(order: Order, message: str) -> None:
    """Final failure: 「モール反映エラー」 with RMS's message in the history, and a retry button."""
    actor = Actor.job(order.account_id, ACTOR_NAME)
    order.reflection_state = "failed"
    order.reflection_message = message
    services.record_event(order, actor, "reflection_failed", message)
    services.raise_system_tag(order, "mall_reflection_error", actor, message)


def _reschedule(message: OutboxMessage, seconds: float, phase: str = "check", slot_booked: bool = False) -> str:
    """Keep the message pending and let RQ's scheduler run it again later (the sweeper is the safety net)."""
    message.payload = {**message.payload, "phase": phase, "slot_booked": slot_booked}
    flag_modified(message, "payload")
    message.run_after = utcnow() + timedelta(seconds=seconds)
    message.dispatches += 1
    message.rq_job_id = f"outbox-{message.id}-{message.dispatches}"
    message.dispatched_at = utcnow()
    db.session.commit()
    get_queue().enqueue_in(timedelta(seconds=seconds), "jobs.tasks.run_outbox_message", message.id,
                           job_id=message.rq_job_id, result_ttl=3600, failure_ttl=86400)
    return outbox.RESCHEDULED


def retry(actor: Actor, order_id: int) -> Order:
    """「再反映」: only a reflection that failed finally; its state goes back to pending."""
    order = services.get_order(actor.account_id, order_id)
    if order.reflection_state != "failed" or order.deleted:
        raise ServiceError("invalid_transition", Reason(
            "反映に失敗した注文のみ再反映できます。", "Only a reflection that failed can be retried."))
    order.reflection_state = "pending"
    order.reflection_message = None
    services.record_event(order, actor, "reflection_pending", "楽天RMSへの反映を再試行します。")
    outbox.record("rms.reflect_cancel", {"order_id": order.id})
    services.commit()
    return order
