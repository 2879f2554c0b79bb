"""商品マッピング: the mall items that keep orders waiting, mapped to a product in one step each."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, func, or_, select

from ..errors import ServiceError
from ..extensions import db
from ..models import ItemMapping, Product, Shop
from ..orders import rules, services
from ..orders.models import Order, OrderLine
from ..orders.search import _like_pattern as like_pattern
from ..parsing import whole_number
from .common import account_shops, current_actor, is_htmx, lang, page_or_fragment, selected_shop_id

bp = Blueprint("mapping", __name__)

GROUPS_PER_PAGE = 50
MAPPINGS_PER_PAGE = 50
PRODUCT_OPTIONS = 20


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


def _page(name: str) -> int:
    return min(whole_number(request.args.get(name)) or 1, 10_000)


def _waiting_lines(account_id: int, shop_id: Optional[int]):
    """Unmapped lines of not-deleted 確認待 orders (the partial index ix_order_lines_unmapped)."""
    conditions = [OrderLine.product_id.is_(None), Order.account_id == account_id,
                  Order.status == rules.AWAITING_CONFIRMATION, Order.deleted_at.is_(None)]
    if shop_id is not None:
        conditions.append(Order.shop_id == shop_id)
    return and_(*conditions)


def unmapped_groups(page: int) -> tuple[list[Group], int]:
    """One GROUP BY over order_lines joined to orders: a page of groups and how many there are in all."""
    shops = {shop.id: shop for shop in account_shops()}
    where = _waiting_lines(current_user.account_id, selected_shop_id())
    orders = func.count(func.distinct(Order.id)).label("orders")
    stmt = (select(Order.shop_id, OrderLine.mall_item_id, OrderLine.sub_code, func.max(OrderLine.name), orders)
            .join(Order, Order.id == OrderLine.order_id).where(where)
            .group_by(Order.shop_id, OrderLine.mall_item_id, OrderLine.sub_code))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.execute(stmt.order_by(orders.desc(), Order.shop_id, OrderLine.mall_item_id, OrderLine.sub_code)
                              .limit(GROUPS_PER_PAGE).offset((page - 1) * GROUPS_PER_PAGE)).all()
    first = (page - 1) * GROUPS_PER_PAGE
    return [Group(first + i + 1, shops[shop_id], item, sub, name, n)
            for i, (shop_id, item, sub, name, n) in enumerate(rows)], total


def _one_group(row: int, shop: Shop, mall_item_id: str, sub_code: str) -> Group:
    """The group a form was posted for, as it stands now (no orders left waiting when mapped meanwhile)."""
    where = and_(_waiting_lines(current_user.account_id, shop.id),
                 OrderLine.mall_item_id == mall_item_id, OrderLine.sub_code == sub_code)
    name, n = db.session.execute(select(func.max(OrderLine.name), func.count(func.distinct(Order.id)))
                                 .join(Order, Order.id == OrderLine.order_id).where(where)).one()
    return Group(row, shop, mall_item_id, sub_code, name or "", n)


def _waiting_order_ids(group: Group) -> list[int]:
    where = and_(_waiting_lines(current_user.account_id, group.shop.id),
                 OrderLine.mall_item_id == group.mall_item_id, OrderLine.sub_code == group.sub_code)
    return list(db.session.scalars(select(Order.id).join(OrderLine, OrderLine.order_id == Order.id).where(where).distinct()))


def mappings_page(page: int, q: str) -> tuple[list[ItemMapping], bool]:
    stmt = (select(ItemMapping).join(Shop, Shop.id == ItemMapping.shop_id).join(Product, Product.id == ItemMapping.product_id)
            .where(Shop.account_id == current_user.account_id))
    if selected_shop_id() is not None:
        stmt = stmt.where(ItemMapping.shop_id == selected_shop_id())
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(or_(ItemMapping.mall_item_id.ilike(pattern, escape="\\"), ItemMapping.sub_code.ilike(pattern, escape="\\"),
                              Product.sku.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\")))
    found = list(db.session.scalars(stmt.order_by(ItemMapping.id.desc())
                                    .limit(MAPPINGS_PER_PAGE + 1).offset((page - 1) * MAPPINGS_PER_PAGE)))
    return found[:MAPPINGS_PER_PAGE], len(found) > MAPPINGS_PER_PAGE


def _page_context() -> dict:
    page, mpage, q = _page("page"), _page("mpage"), (request.args.get("q") or "").strip()[:100]
    groups, total = unmapped_groups(page)
    mappings, more_mappings = mappings_page(mpage, q)
    return dict(groups=groups, total_groups=total, group_page=page, has_next=page * GROUPS_PER_PAGE < total,
                mappings=mappings, mpage=mpage, more_mappings=more_mappings, q=q)


@bp.get("/mapping")
def index():
    fragment = {"mappings": "mapping/_mappings.html", "unmapped": "mapping/_unmapped.html"}.get(
        request.headers.get("HX-Target", ""), "mapping/_content.html")
    return page_or_fragment("mapping/index.html", fragment, **_page_context())


@bp.get("/mapping/products")
def product_options():
    """The picker's search-as-you-type: the account's products by SKU, name or 代表商品コード."""
    q = (request.args.get("q") or "").strip()[:100]
    products = []
    if q:
        pattern = like_pattern(q)
        products = list(db.session.scalars(
            select(Product).where(Product.account_id == current_user.account_id,
                                  or_(Product.sku.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\"),
                                      Product.code.ilike(pattern, escape="\\")))
            .order_by(Product.sku).limit(PRODUCT_OPTIONS)))
    response = make_response(render_template("mapping/_product_options.html", products=products, q=q))
    response.headers["Vary"] = "HX-Request"
    return response


def _account_shop(value: str) -> Shop:
    shop_id = whole_number(value)
    for shop in account_shops():
        if shop.id == shop_id:
            return shop
    abort(404)  # R14: a shop of another account is not found


@bp.post("/mapping")
def create():
    form = request.form
    shop = _account_shop(form.get("shop_id", ""))
    row = whole_number(form.get("row")) or 0
    mall_item_id, sub_code = form.get("mall_item_id", ""), form.get("sub_code", "")
    if not mall_item_id:
        abort(400)
    sku = (form.get("sku") or form.get("q") or "").strip()
    group = _one_group(row, shop, mall_item_id, sub_code)
    if not sku:
        return _answer_group(group, _("マッピング先の商品を検索して選んでください。"), 422)
    waiting = _waiting_order_ids(group)
    try:
        mapping, updated = services.map_item(current_actor(), shop.id, mall_item_id, sub_code, sku)
    except ServiceError as exc:
        db.session.rollback()
        message = exc.fields.get("sku") if exc.code == "validation_error" and "sku" in exc.fields else exc.message(lang())
        return _answer_group(group, message, exc.status)
    confirmed = db.session.scalar(select(func.count()).select_from(Order).where(
        Order.id.in_(waiting), Order.status == rules.CONFIRMED)) if waiting else 0
    message = _("「%(item)s」を「%(sku)s %(name)s」にマッピングしました。確認待の注文 %(n)s 件を更新しました。",
                item=group.label, sku=mapping.product.sku, name=mapping.product.name, n=f"{updated:,}")
    if confirmed:
        message += " " + _("うち %(c)s 件は自動確認で確認済になりました。", c=f"{confirmed:,}")
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("mapping.index"), code=303)
    context = _page_context()
    response = make_response(render_template("mapping/_group_done.html", group=group, message=message, oob=True, **{
        k: context[k] for k in ("mappings", "mpage", "more_mappings", "q", "total_groups")}))
    response.headers["Vary"] = "HX-Request"
    return response


def _answer_group(group: Group, error: str, status: int):
    if not is_htmx():
        flash(error, "error")
        return redirect(url_for("mapping.index"), code=303)
    response = make_response(render_template("mapping/_group.html", group=group, error=error,
                                             sku=(request.form.get("sku") or request.form.get("q") or "").strip()), status)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.post("/mapping/<int:mapping_id>/delete")
def delete(mapping_id: int):
    mapping = db.session.get(ItemMapping, mapping_id) if services.valid_id(mapping_id) else None
    if mapping is None or mapping.shop.account_id != current_user.account_id:
        abort(404)
    label = f"{mapping.mall_item_id}/{mapping.sub_code}" if mapping.sub_code else mapping.mall_item_id
    message = _("マッピング「%(item)s → %(sku)s」を削除しました。マッピング済みの明細はそのまま残ります。",
                item=label, sku=mapping.product.sku)
    services.delete_mapping(current_actor(), mapping_id)
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("mapping.index"), code=303)
    response = make_response(render_template("mapping/_mapping_deleted.html", mapping_id=mapping_id, message=message))
    response.headers["Vary"] = "HX-Request"
    return response
