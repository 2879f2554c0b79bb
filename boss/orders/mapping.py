"""商品マッピング: a shop's mall item mapped to a product, and the waiting 確認待 orders' lines with it."""
from __future__ import annotations

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
        product = db.session.scalars(select(Product).where(Product.account_id == actor.account_id, Product.sku == sku)).first()
        if product is None:
            raise validation_error({"sku": f"SKU「{sku}」の商品が登録されていません"})
        sub_code = sub_code or ""
        exists = db.session.scalars(select(ItemMapping).where(
            ItemMapping.shop_id == shop.id, ItemMapping.mall_item_id == mall_item_id, ItemMapping.sub_code == sub_code)).first()
        if exists is not None:
            raise ServiceError("already_exists", Reason(
                f"このモール商品（{mall_item_id}{'/' + sub_code if sub_code else ''}）は既にマッピングされています。",
                "This mall item is already mapped."))
        mapping = ItemMapping(shop_id=shop.id, mall_item_id=mall_item_id, sub_code=sub_code, product_id=product.id)
        db.session.add(mapping)
        try:
            db.session.flush()
        except IntegrityError:
            raise ServiceError("already_exists", REASON_MAPPED) from None
        affected = apply_mapping(mapping, product, actor)
        uow.commit()
    return mapping, affected


def apply_mapping(mapping: ItemMapping, product: Product, actor: Actor) -> int:
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
    return len(orders)


def delete_mapping(actor: Actor, mapping_id: int) -> None:
    with unit_of_work() as uow:
        mapping = db.session.get(ItemMapping, mapping_id) if valid_id(mapping_id) else None
        if mapping is None or mapping.shop.account_id != actor.account_id:
            raise not_found("マッピング", "Mapping")
        db.session.delete(mapping)
        uow.commit()
