"""在庫: products with 在庫数 / 引当数 / 販売可能数, a low-stock filter, an adjustment per product, and its ledger.

The list pages by keyset on SKU (unique per account: the index behind it serves every page alike), the ledger by
keyset on the movement id; neither counts rows.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import or_, select
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from ..extensions import db
from ..models import Product
from ..orders.models import Order
from ..orders.search import like_pattern
from ..parsing import whole_number
from ..warehouse import stock
from .common import URL_MARKERS, attempt, current_actor, format_pattern, is_htmx, lang, page_or_fragment

bp = Blueprint("stock", __name__)

PER_PAGE = 50
LEDGER_PER_PAGE = 50
DEFAULT_THRESHOLD = 5
MAX_THRESHOLD = 1_000_000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _nonzero(form, field):
    if field.data == 0:
        raise ValidationError(_("0以外の数を入力してください（減らすときは −）。"))


class AdjustForm(FlaskForm):
    delta = IntegerField(_l("増減数"), validators=[
        InputRequired(_l("入力してください。")),
        NumberRange(-stock.MAX_DELTA, stock.MAX_DELTA, message=_l("−10,000,000〜10,000,000で入力してください。")), _nonzero])
    reason = StringField(_l("理由"), filters=[_strip], validators=[
        DataRequired(_l("理由を入力してください。")),
        Length(max=stock.MAX_REASON, message=_l("500文字以内で入力してください。"))])


def kind_labels() -> dict[str, str]:
    return {"adjustment": _("調整"), "reserve": _("引当"), "release": _("引当解除"), "ship": _("出荷"), "return": _("返品")}


def _filters() -> dict:
    """The list's filters as the query string gives them (anything unreadable: the default)."""
    threshold = whole_number(request.args.get("threshold"))
    return {"q": (request.args.get("q") or "").strip()[:100],
            "low": request.args.get("low") == "1",
            "threshold": DEFAULT_THRESHOLD if threshold is None else min(threshold, MAX_THRESHOLD),
            "after": (request.args.get("after") or "")[:64]}


def stock_page(account_id: int, q: str, low: bool, threshold: int, after: str) -> tuple[list[Product], bool]:
    """A page of the account's products by SKU after `after`; `low`: available ≤ threshold."""
    stmt = select(Product).where(Product.account_id == account_id)
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(or_(Product.sku.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\"),
                              Product.code.ilike(pattern, escape="\\")))
    if low:
        stmt = stmt.where(Product.stock - Product.reserved <= threshold)
    if after:
        stmt = stmt.where(Product.sku > after)
    rows = list(db.session.scalars(stmt.order_by(Product.sku).limit(PER_PAGE + 1)))
    return rows[:PER_PAGE], len(rows) > PER_PAGE


def _product_or_404(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or product.account_id != current_user.account_id:
        abort(404)
    return product


_FORM_TOKEN = "csrf9876543210token"  # a stand-in for the CSRF token while the list's form is rendered as a pattern


def list_adjust_forms() -> Callable[[int], Markup]:
    """The list's adjustment form of a product as a function of its id. Every row's form differs from the others by
    the id alone (and the session's CSRF token), so stock/_adjust_form.html is rendered once per process and
    language with stand-ins, and each row's is one str.format: rendering it 50 times was half of 在庫's time."""
    patterns = current_app.extensions.setdefault("boss_stock_adjust_forms", {})
    code = lang()
    if code not in patterns:
        product_id = URL_MARKERS[0]
        html = render_template("stock/_adjust_form.html", product=SimpleNamespace(id=product_id), target="closest tr",
                               origin="list", csrf_token=lambda: _FORM_TOKEN)
        patterns[code] = format_pattern(html, (product_id, _FORM_TOKEN))
    pattern, token = patterns[code], generate_csrf()
    return lambda product_id: Markup(pattern.format(int(product_id), token))


@bp.get("/stock")
def index():
    filters = _filters()
    products, has_next = stock_page(current_user.account_id, **filters)
    return page_or_fragment("stock/index.html", "stock/_list.html", products=products, has_next=has_next,
                            form=AdjustForm(formdata=None), adjust_form=list_adjust_forms(), **filters)


@bp.get("/stock/<int:product_id>")
def show(product_id: int):
    product = _product_or_404(product_id)
    before = whole_number(request.args.get("before"))
    movements, next_before = stock.movements(current_user.account_id, product.id, LEDGER_PER_PAGE, before)
    order_ids = {m.order_id for m in movements if m.order_id is not None}
    numbers = dict(db.session.execute(select(Order.id, Order.mall_order_number).where(
        Order.id.in_(order_ids), Order.account_id == current_user.account_id)).all()) if order_ids else {}
    return page_or_fragment("stock/show.html", "stock/_ledger.html", product=product, movements=movements,
                            next_before=next_before, before=before, kinds=kind_labels(), numbers=numbers,
                            form=AdjustForm(formdata=None))


@bp.post("/stock/<int:product_id>/adjust")
def adjust(product_id: int):
    """htmx: the product's row (or its numbers on the ledger page, HX-Target) again, with the refusal when there is
    one; without htmx, back to the page the form was on."""
    product = _product_or_404(product_id)
    form = AdjustForm()
    error = None
    if form.validate():
        with attempt() as tried:
            product = stock.adjust(current_actor(), product.id, form.delta.data, form.reason.data)
        if tried.error:
            error = tried.error.message(lang())
    else:
        error = " ".join(str(e) for field in (form.delta, form.reason) for e in field.errors)
    on_ledger = request.form.get("from") == "ledger"
    if not is_htmx():
        if error:
            flash(_("在庫を調整できませんでした: %(why)s", why=error), "error")
        else:
            on_hand = "{:,}".format(product.stock)
            flash(_("「%(sku)s」の在庫を調整しました（在庫数 %(stock)s）。", sku=product.sku, stock=on_hand), "success")
        return redirect(url_for("stock.show", product_id=product.id) if on_ledger else url_for("stock.index"), code=303)
    context = {"product": product, "error": error, "done": error is None,
               "form": form if error else AdjustForm(formdata=None)}
    if on_ledger:
        response = page_or_fragment("stock/show.html", "stock/_numbers.html", http_status=422 if error else 200,
                                    **context)
        if not error:
            response.headers["HX-Trigger"] = "stock-adjusted"
        return response
    return page_or_fragment("stock/index.html", "stock/_row.html", http_status=422 if error else 200, **context)
