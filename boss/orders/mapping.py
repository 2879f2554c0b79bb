"""商品マッピング: a shop's mall item mapped to a product, and the waiting 確認待 orders' lines with it."""
from __future__ import annotations

from typing import NamedTuple, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import ServiceError, not_found, validation_error
from ..extensions import db
from ..models import ItemMapping, Product
from ..reason import Reason
from ..unit_of_work import unit_of_work
from . import rules
from .actions import auto_confirm
from .actor import Actor
from .counters import counted
from .frame import detach_tag, get_shop, record_event, touch, valid_id
from .models import Order, OrderLine

REASON_MAPPED = Reason("このモール商品は既にマッピングされています。", "This mall item is already mapped.")


def map_item(actor: Actor, shop_id: int, mall_item_id: str, sub_code: str, sku: str) -> tuple[ItemMapping, int]:
    """Create a mapping and map the matching lines of not-deleted 確認待 orders; returns (mapping, orders)."""
    with unit_of_work() as uow:
        shop = get_shop(actor.account_id, shop_id)
        product = product_by_sku(actor.account_id, sku)
        if product is None:
            raise validation_error({"sku": f"SKU「{sku}」の商品が登録されていません"})
        sub_code = sub_code or ""
        if find_mapping(shop.id, mall_item_id, sub_code) is not None:
            raise ServiceError("already_exists", Reason(
                f"このモール商品（{mall_item_id}{'/' + sub_code if sub_code else ''}）は既にマッピングされています。",
                "This mall item is already mapped."))
        try:
            mapping, mapped = add_mapping(actor, shop.id, mall_item_id, sub_code, product)
        except IntegrityError:
            raise ServiceError("already_exists", REASON_MAPPED) from None
        uow.commit()
    return mapping, mapped.orders


def product_by_sku(account_id: int, sku: str) -> Optional[Product]:
    return db.session.scalars(select(Product).where(Product.account_id == account_id, Product.sku == sku)).first()


def find_mapping(shop_id: int, mall_item_id: str, sub_code: str) -> Optional[ItemMapping]:
    return db.session.scalars(select(ItemMapping).where(
        ItemMapping.shop_id == shop_id, ItemMapping.mall_item_id == mall_item_id,
        ItemMapping.sub_code == (sub_code or ""))).first()


def add_mapping(actor: Actor, shop_id: int, mall_item_id: str, sub_code: str,
                product: Product) -> tuple[ItemMapping, Mapped]:
    """The new mapping and the waiting lines mapped with it, in the caller's unit of work (no commit); a key
    mapped meanwhile raises IntegrityError at the flush."""
    mapping = ItemMapping(shop_id=shop_id, mall_item_id=mall_item_id, sub_code=sub_code or "", product_id=product.id)
    db.session.add(mapping)
    db.session.flush()
    return mapping, apply_mapping(mapping, product, actor)


def remap(actor: Actor, mapping: ItemMapping, product: Product) -> Mapped:
    """Point a mapping at another product (商品マッピングCSV's update), in the caller's unit of work: lines
    mapped from now on get it; lines mapped already keep theirs. The waiting lines are mapped as by a new one."""
    mapping.product_id = product.id
    mapping.product = product
    return apply_mapping(mapping, product, actor)


class Mapped(NamedTuple):
    """What a mapping did to the waiting orders: the lines it mapped, in how many orders."""
    lines: int
    orders: int


def apply_mapping(mapping: ItemMapping, product: Product, actor: Actor) -> Mapped:
    lines = db.session.scalars(
        select(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.product_id.is_(None), OrderLine.mall_item_id == mapping.mall_item_id,
               OrderLine.sub_code == mapping.sub_code, Order.shop_id == mapping.shop_id,
               Order.status == rules.AWAITING_CONFIRMATION, Order.deleted_at.is_(None))).all()
    orders: dict[int, Order] = {}
    for line in lines:
        line.product_id = product.id
        orders[line.order_id] = line.order
    for order in orders.values():
        touch(order)
        record_event(order, actor, "mapped", f"{mapping.mall_item_id}{'/' + mapping.sub_code if mapping.sub_code else ''} → {product.sku}")
        if all(line.mapped for line in order.lines):
            with counted(order):
                detach_tag(order, "unmapped_items")
        auto_confirm(order)
    return Mapped(len(lines), len(orders))


def delete_mapping(actor: Actor, mapping_id: int) -> None:
    with unit_of_work() as uow:
        mapping = db.session.get(ItemMapping, mapping_id) if valid_id(mapping_id) else None
        if mapping is None or mapping.shop.account_id != actor.account_id:
            raise not_found("マッピング", "Mapping")
        db.session.delete(mapping)
        uow.commit()
