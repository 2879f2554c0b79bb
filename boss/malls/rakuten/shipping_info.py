"""Shipping info to Rakuten RMS (issue 15, warehouse.md §4 `shipped`): when a mall-linked order of a shop connected
to RMS reaches 完了 by the warehouse's `shipped`, its carrier (RMS deliveryCompany code), tracking number(s) and ship
date go to its basket by updateOrderShipping.

The reflection runs in the shop's RMS lane beside its cancels and 注文確認 (reflection.step: one RMS request per
step at the shop's pace, never a worker waiting on RMS). Each try begins with getOrder, asked together with the
shop's other reflections that need one (≤ 100 numbers), so shipping info RMS took is never sent twice:
- every tracking number already on one of the order's packages at RMS: done, nothing sent;
- else cancelled at Rakuten (800/900): a final failure saying so;
- 400 (a change awaiting confirmation): transient; 100–700: updateOrderShipping of the numbers RMS lacks, to the
  first package's basketId (one ShippingModel per parcel).
An INFO answer is done; an ERROR is verified by getOrder in the next step (the numbers there: done, else a final
failure with RMS's message). Timeouts, 5xx and 429 are transient: 5 tries in all (lane_state.retry_later).

The state is the order's `shipping_reflection_state` (api.md `shipping_reflection`: none, pending, done, failed),
apart from `reflection_state` (the cancel's or 注文確認's), so that an order's cancel reflection waits in the lane
while its shipping reflection is pending (reflection._pending): RMS learns of the parcel before of its cancel. A
final failure raises 「出荷情報反映エラー」 (`shipping_reflection_error`) with RMS's message; 「再反映」 (retry) sends it
again and a success clears the tag. The message's payload keeps what is sent (`shippings`), taken from the shipment
when the order reached 完了, and its state: `phase` (check → ship → sending → done, or verify after an ERROR),
`tries`, and after a check `basket_id` and `send` (the ShippingModels RMS lacks).
"""
from __future__ import annotations

from typing import Optional, Union

from ... import outbox
from ...models import OutboxMessage
from ...orders import consequences, frame, history
from ...orders.actor import Actor
from ...orders.models import Order, Shipment
from ...orders.rules import ALLOWED, REASON_DELETED, Decision
from ...reason import Reason
from ...unit_of_work import UnitOfWork
from .client import RmsError, RmsPacingDelay, RmsProtocolError, RmsRequestError, RmsTransientError
from .lane_state import Verdict, actor, close, retry_later, set_values
from .reader import CANCELLED_PROGRESS, RmsOrder

KIND = "rms.update_shipping"
SEND = "ship"  # the phase of shipping info checked and due to be sent
# RMS deliveryCompany codes (rakuten-rms.md) of the warehouse's carriers (warehouse.md §2).
DELIVERY_COMPANIES = {"yamato": "1001", "sagawa": "1002", "japanpost": "1003", "other": "1000"}
OTHER_COMPANY = "1000"


def shipping_models(shipment: Shipment) -> list[dict]:
    """The shipment as RMS ShippingModels: one per parcel when the warehouse reported several, else one."""
    parcels = shipment.parcels or [{"carrier": shipment.carrier, "tracking_number": shipment.tracking_number}]
    shipped_on = shipment.shipped_on.isoformat() if shipment.shipped_on else None
    return [{"deliveryCompany": DELIVERY_COMPANIES.get(parcel.get("carrier") or "", OTHER_COMPANY),
             "shippingNumber": parcel.get("tracking_number") or "", "shippingDate": shipped_on}
            for parcel in parcels]


def record(order: Order, shipment: Shipment, by: Actor) -> None:
    """An order that has just reached 完了 by `shipped` (warehouse/events.py): its shipping info goes to RMS once
    the caller's transaction commits, when the order is mall-linked and its shop connected to RMS (else its
    shipping_reflection stays none: R7 「モール出荷連携なし」). No commit."""
    if not consequences.reflects_shipping(order.mall_linked, order.shop.rms_connected):
        return
    _start(order, shipment, by, history.SHIPPING_REFLECTING.ja)


def _start(order: Order, shipment: Shipment, by: Actor, text: str) -> None:
    order.shipping_reflection_state = "pending"
    order.shipping_reflection_message = None
    frame.record_event(order, by, "reflection_pending", text)
    outbox.record(KIND, {"order_id": order.id, "shop_id": order.shop_id, "shipment_id": shipment.id,
                         "shippings": shipping_models(shipment)})


def retry(by: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    """「再反映」 of shipping info whose reflection failed finally: pending again, sent from its latest shipment.
    Refused (`invalid_transition`) for any other order; `conflict` when it changed since `expected_version`."""
    def decide(order: Order) -> Decision:
        if order.deleted:
            return Decision(False, "invalid_transition", REASON_DELETED)
        if order.shipping_reflection_state != "failed" or order.current_shipment is None:
            return Decision(False, "invalid_transition", Reason(
                "出荷情報の反映に失敗した注文のみ再反映できます。", "Only shipping info whose reflection failed can be retried."))
        return ALLOWED

    def apply(order: Order) -> None:
        _start(order, order.current_shipment, by, history.SHIPPING_RETRY_ASKED.ja)

    return frame.act(by, order_id, expected_version, decide, apply)


# ------------------------------------------------------------------------------------------- the lane's work

def phase(message: OutboxMessage) -> str:
    current = message.payload.get("phase") or "check"
    return "check" if current == "sending" else current  # a step that died while sending: RMS may have it


def work(message: OutboxMessage) -> str:
    """The request the next try makes: `ship` (updateOrderShipping) or `check` (getOrder)."""
    return SEND if phase(message) == SEND else "check"


def numbers_at_rms(found: RmsOrder) -> set[str]:
    """The shippingNumbers on any of the order's packages at RMS."""
    numbers = set()
    for package in found.packages:
        for shipping in package.raw.get("ShippingModelList") or []:
            if isinstance(shipping, dict) and shipping.get("shippingNumber"):
                numbers.add(str(shipping["shippingNumber"]))
    return numbers


def missing(found: RmsOrder, shippings: list[dict]) -> list[dict]:
    """The ShippingModels whose number RMS does not show yet."""
    there = numbers_at_rms(found)
    return [shipping for shipping in shippings if shipping["shippingNumber"] not in there]


def after_check(answer: Union[RmsOrder, None, RmsError], shippings: list[dict], current_phase: str,
                refusal: Optional[str] = None) -> Verdict:
    """The decision for one order's shipping info from getOrder's answer: the order at RMS (None: RMS does not
    know it), or the error getOrder raised for the whole batch. `current_phase` is `verify` after RMS answered
    ERROR to updateOrderShipping, with `refusal`, RMS's message. Pure (tests/unit/test_shipping_info_decision.py)."""
    if isinstance(answer, RmsTransientError):
        return Verdict("retry", str(answer))
    if isinstance(answer, (RmsRequestError, RmsProtocolError)):
        return Verdict("fail", history.RMS_ERROR(error=answer))
    if answer is None:
        return Verdict("fail", history.RMS_NOT_FOUND.ja)
    if not missing(answer, shippings):  # whatever came before: a step that died after RMS took it, say
        return Verdict("done", history.SHIPPING_ALREADY_AT_RMS(numbers=_numbers(shippings)))
    if answer.progress in CANCELLED_PROGRESS:
        return Verdict("fail", history.SHIPPING_CANCELLED_AT_RMS(progress=answer.progress))
    if current_phase == "verify":
        return Verdict("fail", refusal or history.SHIPPING_REFUSED.ja)
    if answer.progress == 400:
        return Verdict("retry", history.RMS_AWAITING_CHANGE.ja)
    if answer.progress is None or not 100 <= answer.progress <= 700:
        return Verdict("fail", history.SHIPPING_PROGRESS(progress=answer.progress))
    if basket_of(answer) is None:
        return Verdict("fail", history.SHIPPING_NO_BASKET.ja)
    return Verdict("send", phase=SEND)


def basket_of(found: RmsOrder) -> Optional[int]:
    """The basket the parcel went to: the first package's (BOSS ships an order to its first package's recipient)."""
    return next((package.basket_id for package in found.packages if package.basket_id is not None), None)


def carry_out(message: OutboxMessage, order: Order, verdict: Verdict, found: Optional[RmsOrder] = None) -> None:
    if verdict.action == "done":
        _done(message, order, verdict.text)
    elif verdict.action == "fail":
        fail(message, order, verdict.text)
    elif verdict.action == "retry":
        retry_later(message, order, verdict.text, fail, "verify" if phase(message) == "verify" else "check")
    else:
        set_values(message, phase=SEND, basket_id=basket_of(found),
                   send=missing(found, message.payload["shippings"]))


def send(uow: UnitOfWork, client, message: OutboxMessage, order: Order) -> None:
    """updateOrderShipping of what the check found missing. `sending` is committed before the request: a step
    killed while it waits for RMS is followed by a getOrder, never by a second update."""
    set_values(message, phase="sending")
    uow.commit(keep=[message, order, order.shop, *order.tags])
    shippings = message.payload["send"]
    try:
        result = client.update_order_shipping(order.mall_order_number, message.payload["basket_id"], shippings)
    except RmsPacingDelay:  # nothing was sent
        set_values(message, phase=SEND)
        uow.commit()
        raise
    except RmsTransientError as exc:
        retry_later(message, order, exc, fail, "check")
        return
    except (RmsRequestError, RmsProtocolError) as exc:
        fail(message, order, history.RMS_ERROR(error=exc))
        return
    if result.ok:
        _done(message, order, history.SHIPPING_REFLECTED(numbers=_numbers(message.payload["shippings"])))
    else:
        set_values(message, phase="verify", error="; ".join(f"{m.code}: {m.message}" for m in result.errors))


def _numbers(shippings: list[dict]) -> str:
    return "、".join(shipping["shippingNumber"] for shipping in shippings)


def _done(message: OutboxMessage, order: Order, text: str) -> None:
    by = actor(order)
    order.shipping_reflection_state = "done"
    order.shipping_reflection_message = None
    frame.record_event(order, by, "shipping_reflected", text)
    frame.clear_system_tag(order, "shipping_reflection_error", by, history.SHIPPING_TAG_CLEARED.ja)
    close(message)


def fail(message: OutboxMessage, order: Order, text: str) -> None:
    """Final failure: RMS's message in the history (`shipping_reflection_failed`), 「出荷情報反映エラー」 and
    「再反映」 (retry)."""
    by = actor(order)
    order.shipping_reflection_state = "failed"
    order.shipping_reflection_message = text
    frame.record_event(order, by, "shipping_reflection_failed", text)
    frame.raise_system_tag(order, "shipping_reflection_error", by, text)
    close(message)
