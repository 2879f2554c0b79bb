"""Cancel reflection to Rakuten RMS (R9, rakuten-rms.md §Reflection).

A shop's reflections run in the shop's lane (boss.lanes): one RMS request per step, each step booked for
the shop's next request slot, so the shop's pending cancels go out at the rate limit without a worker
ever sleeping for it, and twenty shops' lanes share two workers.

Each try of a cancel begins with getOrder — asked for up to 100 of the shop's pending cancels at once,
when none checked waits to be sent — so a cancel RMS accepted is never sent again, whichever worker runs the step and however often:
800/900 is done; 100–300 is sent cancelOrder, 500–700 cancelOrderAfterShipping (one per step, in
order); 400 is transient. An INFO answer is done; an ERROR asks getOrder again in the next step
(800/900: done, else a final failure with RMS's message). Timeouts, 5xx and 429 are transient: 5 tries
in all, waiting RMS_RETRY_BACKOFF seconds between them — scheduled, never slept. A gateway auth error
marks the shop 「RMS接続エラー」 and the lane waits for the connection without using up anyone's tries.

The state of each reflection is its outbox message's payload: `phase` (check → cancel /
cancel_after_shipping → sending → done, or verify after an ERROR) and `tries`; `run_after` holds a
retry's time (lane_state.py). A step that died while sending starts over with getOrder: RMS may have taken the cancel.

The lane also carries the shop's 注文確認 (confirmation.py, kind actions.CONFIRM_KIND): a step does the next request
of the oldest due reflection, with every other that can share it — a cancel checked goes first (one per step);
else a confirmOrder for up to 100 confirms due to be sent, or a getOrder for up to 100 cancels and confirms
that need one. An order's newest reflection is the one that goes: a confirm still waiting when its order is
cancelled is dropped, and the cancel follows. `mall_reflection` (the order's reflection_state) is the order's
latest reflection: a cancelled order's is its cancel, another's its 注文確認.

The lane carries, too, the shipping info of the shop's orders that reached 完了 (shipping_info.py, kind
shipping_info.KIND, state in shipping_reflection_state): checked in the same getOrder batches, then sent by
updateOrderShipping, one per step like a checked cancel. A cancel of an order whose shipping info is pending waits
for it (_pending), so RMS learns of the parcel before of the cancel.
"""
from __future__ import annotations

import time
from typing import Optional, Union

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ... import effects
from ...extensions import db, get_redis
from ...lanes import Lane
from ...models import OutboxMessage, Shop, utcnow
from ...orders import actions, frame, history, rules
from ...orders.actor import Actor
from ...orders.models import Order
from ...orders.rules import ALLOWED, REASON_DELETED, Decision
from ...reason import Reason
from ...unit_of_work import UnitOfWork, unit_of_work
from . import confirmation, connection, shipping_info
from .client import RmsAuthError, RmsError, RmsPacingDelay, RmsProtocolError, RmsRequestError, RmsTransientError
from .lane_state import Verdict, actor, close, epoch, fail_finally, retry_later, set_values
from .reader import CANCELLED_PROGRESS, RmsOrder

AUTH_WAIT_SECONDS = 300
CHECK_BATCH = 100  # getOrder takes at most 100 numbers
KIND = actions.REFLECTION_KIND
KINDS = (KIND, confirmation.KIND, shipping_info.KIND)
SENDS = ("cancel", "cancel_after_shipping")
SINGLE_SENDS = ("cancel", shipping_info.SEND)  # the works of one order per request, one per step


def lane(shop_id: int) -> Lane:
    return Lane(LANE, shop_id)


def hand_to_lanes(messages: list[OutboxMessage]) -> None:
    """Reflections are carried out by their shop's lane: mark each message with it and wake the lanes.
    The payload names the shop (messages recorded before it did are looked up)."""
    unnamed = [m.payload["order_id"] for m in messages if "shop_id" not in m.payload]
    shop_of = dict(db.session.execute(select(Order.id, Order.shop_id).where(Order.id.in_(unnamed))).all()) if unnamed else {}
    shops = set()
    for message in messages:
        shop_id = message.payload.get("shop_id") or shop_of[message.payload["order_id"]]
        message.rq_job_id = lane(shop_id).marker
        shops.add(shop_id)
    for shop_id in shops:
        lane(shop_id).wake()


def step(shop_id: int) -> Optional[float]:
    """One step of the shop's lane: one cancel of those checked; else, as the oldest due reflection needs, a
    confirmOrder for up to 100 confirms, or a getOrder for up to 100 of the others (reflections that arrive
    meanwhile wait for the next request together, so a burst costs one request per 100).
    Returns when the lane should run next (epoch seconds), or None when nothing is pending."""
    try:
        return _step(shop_id)
    except StaleDataError:  # an order changed under the step (a cancel, say): nothing of it was kept; again
        return time.time()


def _step(shop_id: int) -> Optional[float]:
    with unit_of_work() as uow:
        pending = _pending(shop_id)
        if not pending:
            uow.commit()  # messages closed by _pending
            return None
        now = utcnow()
        due = [(m, o) for m, o in pending if m.run_after is None or m.run_after <= now]
        if not due:
            uow.commit()
            return epoch(min(m.run_after for m, _ in pending))
        shop = db.session.get(Shop, shop_id)
        if not shop.rms_connected:
            for message, order in due:
                _fail_of(message)(message, order, history.RMS_NO_CREDENTIALS.ja)
            uow.commit()
            return time.time()
        if shop.rms.error is not None and (waiting := _auth_wait(shop_id)) > 0:  # new cancels wait too
            uow.commit()
            return time.time() + waiting
        sends = [(m, o) for m, o in due if _work(m) in SINGLE_SENDS]
        work = _work(sends[0][0]) if sends else _work(due[0][0])
        try:
            client = connection.client_for(shop, max_pace_wait=0)
            if work == "cancel":
                _send(uow, client, *sends[0])
            elif work == shipping_info.SEND:
                shipping_info.send(uow, client, *sends[0])
            elif work == "confirm":
                confirmation.send(uow, client, [(m, o) for m, o in due if _work(m) == "confirm"][:confirmation.BATCH])
            else:
                _check(client, [(m, o) for m, o in due if _work(m) == "check"][:CHECK_BATCH])
        except RmsPacingDelay as exc:  # the shop's slot is taken (an import, say): nothing was sent
            uow.rollback()
            return time.time() + (exc.retry_after or 1.0)
        except RmsAuthError as exc:
            uow.rollback()
            connection.mark_connection_failed(shop_id, str(exc))
            get_redis().set(_auth_wait_key(shop_id), "1", ex=AUTH_WAIT_SECONDS)
            return time.time() + AUTH_WAIT_SECONDS
        connection.mark_connection_ok(shop_id)
        uow.commit()
    return time.time() + current_app.config["RMS_MIN_INTERVAL"]


# A step sends one RMS request (RMS_TIMEOUT at most), never waiting for the pace (max_pace_wait=0).
LANE = effects.declare_lane("rms-reflect", step, step_timeout_setting="RMS_TIMEOUT")
effects.declare(KIND, dispatcher=hand_to_lanes, timeout_setting="REFLECTION_REDISPATCH_SECONDS")
effects.declare(confirmation.KIND, dispatcher=hand_to_lanes, timeout_setting="REFLECTION_REDISPATCH_SECONDS")
effects.declare(shipping_info.KIND, dispatcher=hand_to_lanes, timeout_setting="REFLECTION_REDISPATCH_SECONDS")


def _auth_wait_key(shop_id: int) -> str:
    return lane(shop_id).marker + ":auth-wait"


def _auth_wait(shop_id: int) -> float:
    """Seconds left of the wait after a gateway auth error (0: none). Clearing 「RMS接続エラー」 — new
    credentials, or an import that RMS answers — ends it at once."""
    return max(get_redis().pttl(_auth_wait_key(shop_id)), 0) / 1000


def _pending(shop_id: int) -> list[tuple[OutboxMessage, Order]]:
    """The shop's pending reflections, oldest first: each order's newest of each strand — its cancel or 注文確認
    (reflection_state), its shipping info (shipping_reflection_state) — while that state is pending (and, for a
    confirm, still wanted). The others are closed here: ended by an earlier message of the same strand, or
    superseded by a newer one (a confirm by the order's cancel); a confirm no longer wanted is dropped. A cancel or
    confirm of an order whose shipping info is pending waits (left out, not closed): RMS learns of the parcel first."""
    rows = db.session.execute(
        select(OutboxMessage, Order).join(Order, Order.id == OutboxMessage.payload["order_id"].as_integer())
        .where(OutboxMessage.kind.in_(KINDS), OutboxMessage.state == "pending", Order.shop_id == shop_id)
        .order_by(OutboxMessage.id)).all()
    newest = {(order.id, _strand(message)): message for message, order in rows}
    live, shipping = [], set()
    for message, order in rows:
        if newest[order.id, _strand(message)] is not message or _strand_state(message, order) != "pending":
            close(message)
        elif message.kind == confirmation.KIND and not confirmation.wanted(order):
            if order.status != rules.CANCELLED:  # back in 確認待: a confirm of it starts anew when it is confirmed again
                order.reflection_state = "none"
            close(message)
        else:
            live.append((message, order))
            if message.kind == shipping_info.KIND:
                shipping.add(order.id)
    return [(m, o) for m, o in live if m.kind == shipping_info.KIND or o.id not in shipping]


def _strand(message: OutboxMessage) -> str:
    return "shipping" if message.kind == shipping_info.KIND else "order"


def _strand_state(message: OutboxMessage, order: Order) -> str:
    return order.shipping_reflection_state if message.kind == shipping_info.KIND else order.reflection_state


def _phase(message: OutboxMessage) -> str:
    phase = message.payload.get("phase") or (confirmation.SEND if message.kind == confirmation.KIND else "check")
    return "check" if phase == "sending" else phase


def _work(message: OutboxMessage) -> str:
    """The request a reflection's next try makes: `cancel` (a cancel checked), `confirm`, `ship` (shipping info
    checked) or `check` (getOrder)."""
    if message.kind == shipping_info.KIND:
        return shipping_info.work(message)
    phase = _phase(message)
    if message.kind == confirmation.KIND:
        return "confirm" if phase == confirmation.SEND else "check"
    return "cancel" if phase in SENDS else "check"


def _fail_of(message: OutboxMessage):
    return {confirmation.KIND: confirmation.fail, shipping_info.KIND: shipping_info.fail}.get(message.kind, _fail)


def after_check(answer: Union[int, None, RmsError], phase: str, refusal: Optional[str] = None) -> Verdict:
    """R9's decision for one order, given getOrder's answer: the order's progress at RMS (None: RMS does not
    know the order), or the error getOrder raised for the whole batch. `phase` is the reflection's: `verify`
    after RMS answered ERROR to its cancel, with `refusal`, RMS's message. Cancelled at RMS (800/900) is done
    whatever came before, so a cancel RMS took is never sent again. Pure (tests/unit/test_reflection_decision.py)."""
    if isinstance(answer, RmsTransientError):
        return Verdict("retry", str(answer))
    if isinstance(answer, (RmsRequestError, RmsProtocolError)):  # RMS refused the request, or broke the contract
        return Verdict("fail", history.RMS_ERROR(error=answer))
    if answer in CANCELLED_PROGRESS:
        return Verdict("done")
    if phase == "verify":  # RMS answered ERROR to the cancel and does not show it cancelled
        return Verdict("fail", refusal or history.RMS_REFUSED.ja)
    if answer is None:
        return Verdict("fail", history.RMS_NOT_FOUND.ja)
    if answer == 400:
        return Verdict("retry", history.RMS_AWAITING_CHANGE.ja)
    if 100 <= answer <= 300:
        return Verdict("send", phase="cancel")
    if 500 <= answer <= 700:
        return Verdict("send", phase="cancel_after_shipping")
    return Verdict("fail", history.RMS_PROGRESS(progress=answer))


def _check(client, batch: list[tuple[OutboxMessage, Order]]) -> None:
    """getOrder for the batch, cancels, confirms and shipping info together; each cancel is done (800/900), failed,
    retried later, or due for its cancel; each confirm and shipping info likewise (their after_check)."""
    try:
        answer = client.get_order([order.mall_order_number for _, order in batch])
    except RmsPacingDelay:
        raise
    except (RmsTransientError, RmsRequestError, RmsProtocolError) as exc:
        for message, order in batch:
            _decide(message, order, exc)
        return
    for message, order in batch:
        _decide(message, order, answer.order(order.mall_order_number))


def _decide(message: OutboxMessage, order: Order, answer: Union[RmsOrder, None, RmsError]) -> None:
    if message.kind == shipping_info.KIND:
        verdict = shipping_info.after_check(answer, message.payload["shippings"], shipping_info.phase(message),
                                            message.payload.get("error"))
        shipping_info.carry_out(message, order, verdict, answer if isinstance(answer, RmsOrder) else None)
        return
    answer = answer.progress if isinstance(answer, RmsOrder) else answer
    if message.kind == confirmation.KIND:
        confirmation.carry_out(message, order, confirmation.after_check(answer))
    else:
        _carry_out(message, order, after_check(answer, _phase(message), message.payload.get("error")))


def _carry_out(message: OutboxMessage, order: Order, verdict: Verdict) -> None:
    if verdict.action == "done":
        _done(message, order)
    elif verdict.action == "fail":
        _fail(message, order, verdict.text)
    elif verdict.action == "retry":
        _transient(message, order, verdict.text)
    else:
        _set(message, phase=verdict.phase)


def _send(uow: UnitOfWork, client, message: OutboxMessage, order: Order) -> None:
    """cancelOrder / cancelOrderAfterShipping. INFO: done; ERROR: verified by getOrder in the next step."""
    phase = _phase(message)
    _set(message, phase="sending")
    uow.commit()  # before the request: a step killed mid-send is followed by a getOrder
    try:
        result = client.cancel_order(order.mall_order_number, order.shop.rms.setting("inventory_restore_type"),
                                     order.cancel_reason_code or 10, after_shipping=phase == "cancel_after_shipping")
    except RmsPacingDelay:
        _set(message, phase=phase)
        uow.commit()
        raise
    except RmsTransientError as exc:
        _transient(message, order, exc)
        return
    except (RmsRequestError, RmsProtocolError) as exc:
        _fail(message, order, history.RMS_ERROR(error=exc))
        return
    if result.ok:
        _done(message, order)
    else:
        _set(message, phase="verify", error="; ".join(f"{m.code}: {m.message}" for m in result.errors))


_set = set_values


def _transient(message: OutboxMessage, order: Order, error) -> None:
    retry_later(message, order, error, _fail, "verify" if _phase(message) == "verify" else "check")


def _done(message: OutboxMessage, order: Order) -> None:
    by = actor(order)
    order.reflection_state = "done"
    order.reflection_message = None
    frame.record_event(order, by, "reflection_done", history.REFLECTED.ja)
    frame.clear_system_tag(order, "mall_reflection_error", by, history.REFLECTION_TAG_CLEARED.ja)
    close(message)


def _fail(message: OutboxMessage, order: Order, text: str) -> None:
    """Final failure of a cancel: `reflection_failed` (lane_state.fail_finally)."""
    fail_finally(message, order, text, "reflection_failed")


def retry(actor: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    """「再反映」: only a reflection that failed finally — a cancelled order's cancel, another order's 注文確認 —;
    its state goes back to pending. Like any order write, refused with `conflict` when the order changed since
    `expected_version` (If-Match, R13)."""
    def decide(order: Order) -> Decision:
        if order.deleted:
            return Decision(False, "invalid_transition", REASON_DELETED)
        if order.reflection_state != "failed":
            return Decision(False, "invalid_transition", Reason(
                "反映に失敗した注文のみ再反映できます。", "Only a reflection that failed can be retried."))
        return ALLOWED

    def apply(order: Order) -> None:
        order.reflection_state = "pending"
        order.reflection_message = None
        frame.record_event(order, actor, "reflection_pending", history.REFLECTION_RETRY_ASKED.ja)
        if order.status == rules.CANCELLED:
            actions.record_reflection(order)
        else:
            actions.record_confirm(order)

    return frame.act(actor, order_id, expected_version, decide, apply)
