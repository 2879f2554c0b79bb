"""注文確認 at RMS (rakuten-rms.md §注文確認 at RMS): confirmOrder for the mall-linked orders of a shop that become
確認済 while its setting 「確認済にしたら楽天RMSでも注文確認する」 is on (orders.actions.confirm_now, and the
import's batch).

A confirm runs in the shop's RMS lane beside its cancels (reflection.step: one RMS request per step, at the
shop's pace): a step sends one confirmOrder for up to 100 of the shop's confirms that are due to be sent. A
confirm's first try is that send; a try that did not end — a timeout, a 5xx or 429, a step killed while
sending — leaves the confirm to `check`: its next try begins with getOrder (asked together with the shop's
cancels that need one), so a confirm RMS took is never sent again: at 100 it is sent, at 200 and later it is
done, at 800/900 the order is cancelled at Rakuten.

RMS's answer for each order (pure: after_confirm, after_check; tests/unit/test_confirm_decision.py): INFO is
done, and RMS has moved the order to 200 — it gets 「楽天処理中」 at once, which a later read clears; ERROR_102
(cancelled at Rakuten) raises 「モール側キャンセル」; ERROR_103 (status moved on) is done; ERROR_105 (postage not
set) and any other ERROR are a final failure: RMS's message in the history (`rms_confirm_failed`),
「モール反映エラー」, and 「再反映」 (reflection.retry) sends it again.

A confirm still waiting when its order is cancelled, or back in 確認待, is dropped (reflection._pending): a
cancelled order's reflection is its cancel, which follows in the same lane.
"""
from __future__ import annotations

from typing import Optional, Union

from ...models import OutboxMessage
from ...orders import actions, frame, history, rules
from ...orders.models import Order
from ...unit_of_work import UnitOfWork
from .client import RmsError, RmsMessage, RmsPacingDelay, RmsProtocolError, RmsRequestError, RmsTransientError
from .lane_state import Verdict, actor, close, fail_finally, retry_later, set_values
from .reader import CANCELLED_PROGRESS

KIND = actions.CONFIRM_KIND
BATCH = 100  # confirmOrder takes at most 100 numbers
SEND = "confirm"  # the phase of a confirm due to be sent (its first try's)
PROCESSING = (200, 400)  # 楽天処理中, 変更確定待ち: the order holds with 「楽天処理中」 until a read shows 100 or 300


def wanted(order: Order) -> bool:
    """A pending confirm still goes: its order is 確認済 or later, and neither cancelled nor deleted."""
    return order.status not in (rules.CANCELLED, rules.AWAITING_CONFIRMATION) and not order.deleted


def after_confirm(error: Optional[RmsMessage]) -> Verdict:
    """The decision for one order from confirmOrder's answer: `error`, RMS's ERROR about it (None: INFO)."""
    if error is None:
        return Verdict("processing", history.RMS_CONFIRMED.ja)
    if error.code.endswith("_ERROR_102"):
        return Verdict("mall_cancelled")
    if error.code.endswith("_ERROR_103"):
        return Verdict("done", history.RMS_CONFIRMED_ALREADY(detail=f"{error.code}: {error.message}"))
    return Verdict("fail", f"{error.code}: {error.message}")


def after_check(answer: Union[int, None, RmsError]) -> Verdict:
    """The decision for one confirm from getOrder's answer: the order's progress at RMS (None: RMS does not know
    the order), or the error getOrder raised for the whole batch. At 100 the confirm is (still) to be sent;
    at 200 and later RMS has it confirmed (a confirm it took before a step died, or a confirm at RMS itself)."""
    if isinstance(answer, RmsTransientError):
        return Verdict("retry", str(answer))
    if isinstance(answer, (RmsRequestError, RmsProtocolError)):
        return Verdict("fail", history.RMS_ERROR(error=answer))
    if answer is None:
        return Verdict("fail", history.RMS_NOT_FOUND.ja)
    if answer in CANCELLED_PROGRESS:
        return Verdict("mall_cancelled")
    if answer == 100:
        return Verdict("send", phase=SEND)
    if 200 <= answer <= 700:
        already = history.RMS_CONFIRMED_ALREADY(detail=history.RMS_STATUS(progress=answer))
        return Verdict("processing" if answer in PROCESSING else "done", already)
    return Verdict("fail", history.RMS_CONFIRM_PROGRESS(progress=answer))


def send(uow: UnitOfWork, client, batch: list[tuple[OutboxMessage, Order]]) -> None:
    """One confirmOrder for the batch (≤ 100 of one shop). The phase `sending` is committed before the request:
    a step killed while it waits for RMS is followed by a getOrder, never by a second confirmOrder."""
    numbers = [order.mall_order_number for _, order in batch]
    for message, _ in batch:
        set_values(message, phase="sending")
    uow.commit(keep=[obj for message, order in batch for obj in (message, order, order.shop, *order.tags)])
    try:
        result = client.confirm_orders(numbers)
    except RmsPacingDelay:  # nothing was sent
        for message, _ in batch:
            set_values(message, phase=SEND)
        uow.commit()
        raise
    except RmsTransientError as exc:
        for message, order in batch:
            carry_out(message, order, Verdict("retry", str(exc)))
        return
    except (RmsRequestError, RmsProtocolError) as exc:
        for message, order in batch:
            fail(message, order, history.RMS_ERROR(error=exc))
        return
    for message, order in batch:
        carry_out(message, order, after_confirm(result.error_for(order.mall_order_number)))


def carry_out(message: OutboxMessage, order: Order, verdict: Verdict) -> None:
    if verdict.action in ("done", "processing"):
        _done(message, order, verdict.text, processing=verdict.action == "processing")
    elif verdict.action == "mall_cancelled":
        _mall_cancelled(message, order)
    elif verdict.action == "fail":
        fail(message, order, verdict.text)
    elif verdict.action == "retry":
        retry_later(message, order, verdict.text, fail, "check")
    else:
        set_values(message, phase=verdict.phase)


def _done(message: OutboxMessage, order: Order, text: str, processing: bool) -> None:
    """Confirmed at RMS. When RMS shows the order at 200 (INFO: it moved it there) it gets 「楽天処理中」 now."""
    by = actor(order)
    order.reflection_state = "done"
    order.reflection_message = None
    frame.record_event(order, by, "rms_confirm_done", text)
    frame.clear_system_tag(order, "mall_reflection_error", by, history.REFLECTION_TAG_CLEARED.ja)
    if processing:
        frame.raise_system_tag(order, "mall_processing", by, history.RMS_PROCESSING.ja)
    close(message)


def _mall_cancelled(message: OutboxMessage, order: Order) -> None:
    """Cancelled at Rakuten: nothing to confirm. The order holds with 「モール側キャンセル」 for staff to cancel it."""
    by = actor(order)
    order.reflection_state = "done"
    order.reflection_message = None
    frame.clear_system_tag(order, "mall_reflection_error", by, history.REFLECTION_TAG_CLEARED.ja)
    frame.raise_system_tag(order, "mall_cancelled", by, history.RMS_CONFIRM_CANCELLED.ja)
    close(message)


def fail(message: OutboxMessage, order: Order, text: str) -> None:
    """Final failure: RMS's message in the history (`rms_confirm_failed`), 「モール反映エラー」, and 「再反映」."""
    fail_finally(message, order, text, "rms_confirm_failed")
