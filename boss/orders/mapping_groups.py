"""商品マッピング's reads: the mall items whose unmapped lines keep 確認待 orders waiting (the groups), the
account's mappings, and the products the picker offers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import and_, func, or_, select

from ..extensions import db
from ..models import ItemMapping, Product, Shop
from . import rules
from .models import Order, OrderLine
from .search import like_pattern


@dataclass
class Group:
    """One mall item (shop, モール商品ID, サブコード) with unmapped lines in waiting orders."""

    row: int
    shop: Shop
    mall_item_id: str
    sub_code: str
    name: str
    orders: int

    @property
    def label(self) -> str:
        return f"{self.mall_item_id}/{self.sub_code}" if self.sub_code else self.mall_item_id


def _waiting_lines(account_id: int, shop_id: Optional[int]):
    """Unmapped lines of not-deleted 確認待 orders (the partial index ix_order_lines_unmapped)."""
    conditions = [OrderLine.product_id.is_(None), Order.account_id == account_id,
                  Order.status == rules.AWAITING_CONFIRMATION, Order.deleted_at.is_(None)]
    if shop_id is not None:
        conditions.append(Order.shop_id == shop_id)
    return and_(*conditions)


def unmapped_groups(account_id: int, shop_id: Optional[int], shops: dict[int, Shop], page: int,
                    per_page: int) -> tuple[list[Group], int]:
    """One GROUP BY over order_lines joined to orders: a page of groups and how many there are in all.
    `shops` are the account's by id (loaded already for the page's header)."""
    where = _waiting_lines(account_id, shop_id)
    orders = func.count(func.distinct(Order.id)).label("orders")
    stmt = (select(Order.shop_id, OrderLine.mall_item_id, OrderLine.sub_code, func.max(OrderLine.name), orders)
            .join(Order, Order.id == OrderLine.order_id).where(where)
            .group_by(Order.shop_id, OrderLine.mall_item_id, OrderLine.sub_code))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.execute(stmt.order_by(orders.desc(), Order.shop_id, OrderLine.mall_item_id, OrderLine.sub_code)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    first = (page - 1) * per_page
    return [Group(first + i + 1, shops[shop_id], item, sub, name, n)
            for i, (shop_id, item, sub, name, n) in enumerate(rows)], total


def _group_lines(account_id: int, shop: Shop, mall_item_id: str, sub_code: str):
    return and_(_waiting_lines(account_id, shop.id), OrderLine.mall_item_id == mall_item_id,
                OrderLine.sub_code == sub_code)


def one_group(account_id: int, row: int, shop: Shop, mall_item_id: str, sub_code: str) -> Group:
    """The group a form was posted for, as it stands now (no orders left waiting when mapped meanwhile)."""
    name, n = db.session.execute(select(func.max(OrderLine.name), func.count(func.distinct(Order.id)))
                                 .join(Order, Order.id == OrderLine.order_id)
                                 .where(_group_lines(account_id, shop, mall_item_id, sub_code))).one()
    return Group(row, shop, mall_item_id, sub_code, name or "", n)


def waiting_order_ids(account_id: int, group: Group) -> list[int]:
    where = _group_lines(account_id, group.shop, group.mall_item_id, group.sub_code)
    return list(db.session.scalars(select(Order.id).join(OrderLine, OrderLine.order_id == Order.id).where(where).distinct()))


def confirmed_count(order_ids: list[int]) -> int:
    """How many of the orders are 確認済 now (mapped, then confirmed by the shop's 自動確認)."""
    if not order_ids:
        return 0
    return db.session.scalar(select(func.count()).select_from(Order).where(
        Order.id.in_(order_ids), Order.status == rules.CONFIRMED))


def mappings_page(account_id: int, shop_id: Optional[int], page: int, q: str,
                  per_page: int) -> tuple[list[ItemMapping], bool]:
    """A page of the account's mappings, newest first, found by `q` in the item, sub code, SKU or product
    name; and whether there is a next page."""
    stmt = (select(ItemMapping).join(Shop, Shop.id == ItemMapping.shop_id).join(Product, Product.id == ItemMapping.product_id)
            .where(Shop.account_id == account_id))
    if shop_id is not None:
        stmt = stmt.where(ItemMapping.shop_id == shop_id)
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(or_(ItemMapping.mall_item_id.ilike(pattern, escape="\\"), ItemMapping.sub_code.ilike(pattern, escape="\\"),
                              Product.sku.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\")))
    found = list(db.session.scalars(stmt.order_by(ItemMapping.id.desc())
                                    .limit(per_page + 1).offset((page - 1) * per_page)))
    return found[:per_page], len(found) > per_page


def product_options(account_id: int, q: str, limit: int) -> list[Product]:
    """The picker's search-as-you-type: the account's products by SKU, name or 代表商品コード."""
    pattern = like_pattern(q)
    return list(db.session.scalars(
        select(Product).where(Product.account_id == account_id,
                              or_(Product.sku.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\"),
                                  Product.code.ilike(pattern, escape="\\")))
        .order_by(Product.sku).limit(limit)))


def line_picks(account_id: int, shop_id: int, q: str, limit: int) -> list[tuple[Product, Optional[ItemMapping]]]:
    """手動注文登録's item picker: the account's products by SKU, name or 代表商品コード, each once per mall item
    the shop maps to it (the line then gets that モール商品ID and is mapped on registration), or once alone."""
    products = product_options(account_id, q, limit)
    mappings: dict[int, list[ItemMapping]] = {}
    for mapping in db.session.scalars(select(ItemMapping).where(
            ItemMapping.shop_id == shop_id, ItemMapping.product_id.in_([p.id for p in products]))
            .order_by(ItemMapping.id)):
        mappings.setdefault(mapping.product_id, []).append(mapping)
    picks = [(product, mapping) for product in products for mapping in mappings.get(product.id) or [None]]
    return picks[:limit]
