"""The order actions of orders.md §2–4: confirm, cancel, delete, and a tag on or off — each one `act`."""
from __future__ import annotations

from typing import Optional

from .. import outbox
from ..errors import validation_error
from ..models import utcnow
from ..warehouse import stock
from . import history, rules
from .actor import Actor
from .counters import counted
from .frame import act, attach_tag, clear_system_tag, detach_tag, get_tag, record_event, touch
from .models import Order


def confirm(actor: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    def apply(order: Order) -> None:
        confirm_now(order, actor)

    return act(actor, order_id, expected_version, lambda o: o.decide(rules.CONFIRM), apply)


def confirm_now(order: Order, actor: Actor, message: str = "") -> None:
    before = order.status
    order.status = rules.CONFIRMED
    order.confirmed_at = utcnow()
    touch(order)
    record_event(order, actor, "confirmed", message, before, rules.CONFIRMED)
    if order.confirms_at_rms():
        order.reflection_state = "pending"
        order.reflection_message = None
        record_event(order, actor, "reflection_pending", history.CONFIRMING.ja)
        record_confirm(order)
    from ..warehouse.shipping import auto_request

    auto_request(order)


def auto_confirm(order: Order) -> None:
    """確認済 at once when the shop auto-confirms and the rules allow it (nothing holds it, every line mapped)."""
    if order.shop.auto_confirm and order.decide(rules.CONFIRM):
        with counted(order):
            confirm_now(order, Actor.system(order.account_id, history.AUTO_CONFIRM_ACTOR.ja), history.AUTO_CONFIRMED.ja)


def cancel(actor: Actor, order_id: int, reason_code: int = rules.DEFAULT_CANCEL_REASON,
           retrieve_parcel: bool = False, expected_version: Optional[int] = None) -> Order:
    if reason_code not in rules.CANCEL_REASONS:
        raise validation_error({"reason_code": "RMSのキャンセル理由コード（1–6, 8, 10, 13–15）で指定してください"})

    def apply(order: Order) -> None:
        cancel_now(order, actor, reason_code, retrieve_parcel)

    return act(actor, order_id, expected_version, lambda o: o.decide(rules.CANCEL), apply)


def cancel_now(order: Order, actor: Actor, reason_code: int, retrieve_parcel: bool = False) -> None:
    """The cancel itself, with what it sets off (R9–R11) as the order's declared effects say (no commit: part of
    the caller's unit of work — a staff cancel, or the system's once a withdrawal it waited for is accepted)."""
    before = order.status
    effects = order.cancel_effects(bool(retrieve_parcel))
    order.status = rules.CANCELLED
    order.cancelled_at = utcnow()
    order.cancelled_by = actor.name
    order.cancel_reason_code = reason_code
    order.retrieve_parcel = bool(retrieve_parcel) if before == rules.COMPLETED else None
    touch(order)
    if effects.release_stock:
        stock.release(order, actor, stock.CANCEL_RELEASE)
    # R9: the setting is captured now; later changes of it never touch this cancel.
    order.reflect_cancel_to_rms = effects.reflect_to_rms
    text = history.CANCELLED_RETRIEVE if order.retrieve_parcel else history.CANCELLED
    record_event(order, actor, "cancelled", text(reason=rules.CANCEL_REASONS[reason_code][0]), before, rules.CANCELLED)
    detach_tag(order, "mall_cancelled")
    detach_tag(order, "insufficient_stock")  # nothing is to be requested any more
    if order.reflect_cancel_to_rms:
        order.reflection_state = "pending"
        order.reflection_message = None
        record_event(order, actor, "reflection_pending", history.REFLECTING.ja)
        record_reflection(order)  # a 注文確認 still waiting is dropped: the order's newest reflection is its cancel
    elif order.reflection_state in ("pending", "failed"):  # its 注文確認, waiting or failed: never sent now
        _drop_confirm(order, actor)
    if effects.open_return:
        from ..warehouse import returns

        returns.open_return(order, actor)  # R10: no stock comes back until the return is inspected
    if effects.tell_warehouse:
        from ..warehouse import notices

        notices.tell_cancel(order, actor, reason_code, bool(retrieve_parcel))


REFLECTION_KIND = "rms.reflect_cancel"
CONFIRM_KIND = "rms.confirm_order"


def record_reflection(order: Order) -> None:
    """R9: the cancel goes to RMS once this transaction commits (its shop's lane carries it out)."""
    outbox.record(REFLECTION_KIND, {"order_id": order.id, "shop_id": order.shop_id})


def record_confirm(order: Order) -> None:
    """注文確認 at RMS: confirmOrder goes to RMS once this transaction commits, in the same lane as the shop's
    cancels (boss.malls.rakuten.reflection)."""
    outbox.record(CONFIRM_KIND, {"order_id": order.id, "shop_id": order.shop_id})


def _drop_confirm(order: Order, actor: Actor) -> None:
    """A cancel that is not reflected ends the order's 注文確認 at RMS: the lane drops a waiting one, and a failed
    one is not offered for 「再反映」 any more (its 「モール反映エラー」 goes)."""
    order.reflection_state = "none"
    order.reflection_message = None
    record_event(order, actor, "reflection_done", history.RMS_CONFIRM_DROPPED.ja)
    clear_system_tag(order, "mall_reflection_error", actor, history.RMS_CONFIRM_DROPPED.ja)


def delete(actor: Actor, order_id: int, expected_version: Optional[int] = None) -> Order:
    def apply(order: Order) -> None:
        order.deleted_at = utcnow()
        order.deleted_by = actor.name
        touch(order)
        record_event(order, actor, "deleted", history.DELETED.ja,
                     order.status, order.status)

    return act(actor, order_id, expected_version, lambda o: o.decide(rules.DELETE), apply)


def add_tag(actor: Actor, order_id: int, tag_id: int, expected_version: Optional[int] = None) -> Order:
    return _change_tag(actor, order_id, tag_id, expected_version, adding=True)


def remove_tag(actor: Actor, order_id: int, tag_id: int, expected_version: Optional[int] = None) -> Order:
    return _change_tag(actor, order_id, tag_id, expected_version, adding=False)


def _change_tag(actor: Actor, order_id: int, tag_id: int, expected_version: Optional[int], adding: bool) -> Order:
    tag = get_tag(actor.account_id, tag_id)

    def apply(order: Order) -> None:
        if (attach_tag if adding else detach_tag)(order, tag):
            record_event(order, actor, "tag_added" if adding else "tag_removed", tag.name, order.status, order.status)

    return act(actor, order_id, expected_version,
               lambda o: rules.can_change_tag(o.state(), tag.code, tag.system, adding=adding), apply)
