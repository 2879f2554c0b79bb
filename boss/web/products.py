"""商品: the account's products (SKU, 代表商品コード, stock) and registering a new one."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..extensions import db
from ..models import ItemMapping, Product
from ..orders import products
from ..orders.search import like_pattern
from ..parsing import whole_number
from .common import attempt, current_actor, lang, page_or_fragment

bp = Blueprint("products", __name__)

PER_PAGE = 50


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ProductForm(FlaskForm):
    sku = StringField(_l("SKUコード"), filters=[_strip], validators=[
        DataRequired(_l("入力してください。")), Length(max=64, message=_l("64文字以内で入力してください。"))])
    name = StringField(_l("商品名"), filters=[_strip], validators=[
        DataRequired(_l("入力してください。")), Length(max=255, message=_l("255文字以内で入力してください。"))])
    code = StringField(_l("代表商品コード"), filters=[_strip], validators=[
        Optional(), Length(max=64, message=_l("64文字以内で入力してください。"))])
    stock = IntegerField(_l("在庫数"), default=0, validators=[
        InputRequired(_l("入力してください。")), NumberRange(0, 10_000_000, message=_l("0〜10,000,000で入力してください。"))])


def _page() -> int:
    return min(whole_number(request.args.get("page")) or 1, 10_000)


def products_page(q: str, page: int) -> tuple[list[tuple[Product, int]], bool]:
    """A page of the account's products with how many mall items map to each."""
    mapped = (select(ItemMapping.product_id, func.count().label("n")).group_by(ItemMapping.product_id).subquery())
    stmt = (select(Product, func.coalesce(mapped.c.n, 0)).outerjoin(mapped, mapped.c.product_id == Product.id)
            .where(Product.account_id == current_user.account_id))
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(or_(Product.sku.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\"),
                              Product.code.ilike(pattern, escape="\\")))
    rows = db.session.execute(stmt.order_by(Product.sku).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    return [(product, n) for product, n in rows[:PER_PAGE]], len(rows) > PER_PAGE


def _render(form: ProductForm, status: int = 200):
    q, page = (request.args.get("q") or "").strip()[:100], _page()
    products, has_next = products_page(q, page)
    return page_or_fragment("products/index.html", "products/_list.html", http_status=status, form=form,
                            products=products, has_next=has_next, product_page=page, q=q)


@bp.get("/products")
def index():
    return _render(ProductForm())


@bp.post("/products")
def create():
    form = ProductForm()
    if form.validate():
        with attempt() as tried:
            product = products.create_product(current_actor(), form.sku.data, form.name.data, form.code.data or "",
                                              form.stock.data)
        if tried.error:
            form.sku.errors = [tried.error.message(lang())]
            return _render(form, tried.error.status)
        flash(_("商品「%(sku)s %(name)s」を登録しました。", sku=product.sku, name=product.name), "success")
        return redirect(url_for("products.index"), code=303)
    return _render(form, 422)
