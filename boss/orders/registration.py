"""Registering an order (R4, R6, R7): by hand — a screen, the API, a CSV row — or built for the mall import."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import ServiceError
from ..extensions import db
from ..models import ItemMapping, Shop, utcnow
from ..reason import Reason
from ..unit_of_work import unit_of_work
from . import history, rules
from .actions import auto_confirm
from .actor import Actor
from .counters import bump_counts, count_key
from .frame import get_shop, record_event, system_tag
from .models import Order, OrderLine, Tag
from .numbers import InvalidNumber, MallNumber, manual_number, number_key
from .search import search_text_for

REASON_TAKEN_ACTIVE = Reason(
    "このモール注文番号は既に登録されています。",
    "This mall order number is already registered in this shop.",
)
REASON_TAKEN_CANCELLED = Reason(
    "このモール注文番号はキャンセル済みの注文で使用されているため登録できません。別の番号で登録してください。",
    "This mall order number belongs to a cancelled order and cannot be registered again. Use a different number.",
)
REASON_NEGATIVE_BILLED = Reason(
    "クーポンとポイントの合計が、合計と手数料の合計を超えています（請求額がマイナスになります）。",
    "Coupons and points exceed the total and charges together (the amount billed would be negative).",
)


def number_holder(shop_id: int, key: str) -> Optional[Order]:
    """The not-deleted order holding a number (R4), by the number's key (orders.md §1), if any."""
    return db.session.scalars(select(Order).where(
        Order.shop_id == shop_id, Order.mall_order_number_key == key, Order.deleted_at.is_(None))).first()


def read_manual_number(raw: str) -> MallNumber:
    """A manual number normalised and keyed, or a validation_error naming what is wrong with it (§1)."""
    try:
        return manual_number(raw)
    except InvalidNumber as exc:
        raise ServiceError("validation_error", exc.reason, {"mall_order_number": exc.reason.ja}) from None


class NumberTaken(ServiceError):
    """R6's refusal, knowing the order that holds the number: the screen links to it."""

    def __init__(self, holder: Order):
        self.holder_id = holder.id
        self.holder_number = holder.mall_order_number
        self.holder_cancelled = holder.status == rules.CANCELLED
        super().__init__("mall_order_number_taken",
                         REASON_TAKEN_CANCELLED if self.holder_cancelled else REASON_TAKEN_ACTIVE)


@dataclass
class NewOrder:
    """A validated order to register (from the API, a form, a CSV row or the mall import)."""

    shop_id: int
    mall_order_number: str
    buyer: dict
    lines: list[dict]
    ordered_at: Optional[datetime] = None
    recipient: Optional[dict] = None
    payment_method: str = ""
    remarks: str = ""
    delivery_date: Optional[object] = None
    delivery_time_slot: Optional[str] = None
    postage: Optional[int] = None
    # What the buyer pays besides the lines and postage (api.md): ラッピング料 (in the total), the charges on top
    # of it, coupons, points, and 請求金額 (None: the formula, billed_for; for the mall import: not fixed yet).
    wrapping: int = 0
    charges: int = 0
    discount: int = 0
    points_used: int = 0
    billed: Optional[int] = None
    pickup: Optional[dict] = None
    drop_off: Optional[str] = None


PARTY_FIELDS = ("name", "name_kana", "email", "phone", "postal_code", "address")
MAX_LINES = 200  # api.md: an order has 1..200 lines (registered or edited)


def register(actor: Actor, new: NewOrder, source: str = "manual") -> Order:
    """R6, R7: a manual (screen, CSV, API) registration; 確認待, or 確認済 by auto_confirm."""
    _refuse_negative_billed(new)
    with unit_of_work() as uow:
        shop = get_shop(actor.account_id, new.shop_id)
        number = read_manual_number(new.mall_order_number)
        holder = number_holder(shop.id, number.key)
        if holder is not None:
            raise NumberTaken(holder)
        order = build_order(shop, replace(new, mall_order_number=number.number), source=source, mall_linked=False)
        raise_tag_now = [system_tag(shop.account_id, "not_mall_linked")]
        try:
            finish_registration(order, actor, "registered", _registration_message(source), raise_tag_now)
            uow.commit()
        except IntegrityError:
            # R4 by the database: another registration or the import took the number meanwhile.
            uow.rollback()
            holder = number_holder(shop.id, number.key)
            if holder is None:
                raise
            raise NumberTaken(holder) from None
    return order


def _registration_message(source: str) -> str:
    return history.REGISTERED.get(source, history.REGISTERED_OTHER).ja


def build_order(shop: Shop, new: NewOrder, source: str, mall_linked: bool) -> Order:
    order = Order(shop=shop, **order_columns(shop, new, source, mall_linked))
    mappings = mappings_for(shop.id, line_keys(new))
    order.lines.extend(OrderLine(**columns) for columns in line_columns(new, mappings))
    order.recompute_total()
    if new.billed is None:
        order.billed = billed_for(order.total, new)
    order.search_text = search_text_for(order)
    return order


def _refuse_negative_billed(new: NewOrder) -> None:
    """A 請求額 left to the formula must not fall below zero: coupons and points beyond what is paid are a typo."""
    if new.billed is not None:
        return
    total = sum(line["quantity"] * line["unit_price"] for line in new.lines) + (new.postage or 0) + new.wrapping
    if billed_for(total, new) < 0:
        raise ServiceError("validation_error", REASON_NEGATIVE_BILLED, {"discount": REASON_NEGATIVE_BILLED.ja})


def billed_for(total: int, new: NewOrder) -> int:
    """api.md: what the buyer is asked to pay when no 請求金額 is given: total + charges − discount − points."""
    return total + new.charges - new.discount - new.points_used


def order_columns(shop: Shop, new: NewOrder, source: str, mall_linked: bool) -> dict:
    """The columns a new order starts with, for build_order and the batch import alike."""
    recipient = new.recipient or new.buyer
    number = new.mall_order_number.strip()
    columns = dict(
        account_id=shop.account_id, shop_id=shop.id, mall_order_number=number, mall_order_number_key=number_key(number),
        source=source, mall_linked=mall_linked, status=rules.AWAITING_CONFIRMATION,
        ordered_at=new.ordered_at or utcnow(), payment_method=new.payment_method or "",
        remarks=new.remarks or "", delivery_date=new.delivery_date, delivery_time_slot=new.delivery_time_slot,
        postage=new.postage, wrapping=new.wrapping, charges=new.charges, discount=new.discount,
        points_used=new.points_used, billed=new.billed, pickup=new.pickup, drop_off=new.drop_off,
    )
    for name in PARTY_FIELDS:
        columns[f"buyer_{name}"] = new.buyer.get(name) or ""
        columns[f"recipient_{name}"] = recipient.get(name) or ""
    return columns


def line_keys(new: NewOrder) -> list[tuple[str, str]]:
    return [(line["mall_item_id"], line.get("sub_code") or "") for line in new.lines]


def line_columns(new: NewOrder, mappings: dict[tuple[str, str], int]) -> list[dict]:
    """The order's lines, each mapped when the shop maps its mall item (§1)."""
    return [dict(position=position, mall_item_id=key[0], sub_code=key[1], name=data["name"], quantity=data["quantity"],
                 unit_price=data["unit_price"], options=data.get("options") or "", product_id=mappings.get(key))
            for position, (key, data) in enumerate(zip(line_keys(new), new.lines))]


def finish_registration(order: Order, actor: Actor, kind: str, message: str, tags: Iterable[Tag] = ()) -> None:
    """Add a built order with its tags, counters and event; confirm it when the shop auto-confirms."""
    db.session.add(order)
    for tag in tags:
        order.tags.append(tag)
    if any(not line.mapped for line in order.lines):
        order.tags.append(system_tag(order.account_id, "unmapped_items"))
    db.session.flush()
    bump_counts(None, count_key(order))
    record_event(order, actor, kind, message, None, order.status)
    auto_confirm(order)


def mappings_for(shop_id: int, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    item_ids = {k[0] for k in keys}
    if not item_ids:
        return {}
    rows = db.session.execute(select(ItemMapping.mall_item_id, ItemMapping.sub_code, ItemMapping.product_id)
                              .where(ItemMapping.shop_id == shop_id, ItemMapping.mall_item_id.in_(item_ids)))
    return {(m, s): p for m, s, p in rows}
