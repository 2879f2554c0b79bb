"""詳細検索: a GET form (the URL is the query: bookmark it, share it), results like 注文一覧.

Deleted orders are found only with 「削除済みを含む」 (R8); `attention=1` is the header's 要対応 badge.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Optional

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, ValidationError
from wtforms.validators import Length

from ..extensions import db
from ..models import Product
from ..orders import rules
from ..orders.search import BadCursor, OrderFilter, count_matching, digits, list_orders, normalise
from ..timefmt import jst_day_start
from . import sorting
from .common import BadDay, account_shops, lang, page_or_fragment, typed_day
from .orders import ROW_COLUMNS, account_tags, list_rows

bp = Blueprint("search", __name__)

PAGE_SIZE = 50
# Past this the hint says 「200 件以上」 (four pages and more: time to narrow the search), so a broad search
# never counts the whole table; the count reads up to COUNT_CAP + 1 matches (a common name's 1,001 cost
# PostgreSQL ~40 ms a search, 200 about a fifth of it).
COUNT_CAP = 200


def _too_long(n: int):
    return Length(max=n, message=lazy_gettext("%(max)d 文字以内で入力してください。"))


class SearchForm(FlaskForm):
    """The query string of /search. Field names follow the API's filters (api.md) where one exists."""

    class Meta:
        csrf = False  # a GET search changes nothing

    mall_order_number = StringField(lazy_gettext("モール注文番号"), [_too_long(64)])
    shop_id = SelectField(lazy_gettext("ショップ"), validate_choice=False)
    status = SelectField(lazy_gettext("注文ステータス"), validate_choice=False)
    shipment_status = SelectField(lazy_gettext("出荷ステータス"), validate_choice=False)
    tag = SelectField(lazy_gettext("タグ"), validate_choice=False)
    ordered_from = StringField(lazy_gettext("注文日（から）"))
    ordered_to = StringField(lazy_gettext("注文日（まで）"))
    name = StringField(lazy_gettext("購入者・送付先の氏名／カナ"), [_too_long(100)])
    phone = StringField(lazy_gettext("電話番号"), [_too_long(40)])
    email = StringField(lazy_gettext("メールアドレス"), [_too_long(254)])
    sku = StringField(lazy_gettext("SKUコード"), [_too_long(64)])
    include_deleted = BooleanField(lazy_gettext("削除済みを含む"))
    attention = BooleanField(lazy_gettext("要対応のみ"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop_id.choices = [("", _("すべてのショップ"))] + [(str(s.id), s.name) for s in account_shops()]
        english = lang() == "en"
        statuses = rules.STATUS_LABELS_EN if english else rules.STATUS_LABELS
        shipment_statuses = rules.SHIPMENT_STATUS_LABELS_EN if english else rules.SHIPMENT_STATUS_LABELS
        self.status.choices = [("", _("すべて"))] + [(s, statuses[s]) for s in rules.STATUSES]
        self.shipment_status.choices = [("", _("すべて"))] + [(s, shipment_statuses[s]) for s in rules.SHIPMENT_STATUSES]
        tags = sorted(account_tags(), key=lambda t: (not t.system, t.name))
        self.tag.choices = [("", _("すべて"))] + [(str(t.id), t.name) for t in tags]
        self.product: Optional[Product] = None

    # Choices come from the query string, so anything may arrive: a value not offered is a field error.
    def _offered(self, field) -> None:
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_("選択肢から選んでください。"))

    def validate_shop_id(self, field):
        self._offered(field)

    def validate_status(self, field):
        self._offered(field)

    def validate_shipment_status(self, field):
        self._offered(field)

    def validate_tag(self, field):
        self._offered(field)

    def validate_ordered_from(self, field):
        self._as_iso(field)

    def validate_ordered_to(self, field):
        self._as_iso(field)
        start, end = self._day(self.ordered_from, quiet=True), self._day(field, quiet=True)
        if start and end and start > end:
            raise ValidationError(_("開始日より後の日付を指定してください。"))

    def _as_iso(self, field) -> None:
        """A date typed 2026/11/01 is shown again as the date input reads it, 2026-11-01."""
        day = self._day(field)
        if day:
            field.data = day.isoformat()

    @staticmethod
    def _day(field, quiet: bool = False) -> Optional[date]:
        try:
            return typed_day(field.data)
        except BadDay as bad:
            if quiet:
                return None
            raise ValidationError(str(bad)) from None

    def validate_phone(self, field):
        if (field.data or "").strip() and not digits(field.data):
            raise ValidationError(_("電話番号は数字で入力してください（ハイフンは省略できます）。"))

    def validate_name(self, field):
        term = normalise(field.data or "")
        if (field.data or "").strip() and not term:
            raise ValidationError(_("氏名またはカナを入力してください。"))
        if term.isdigit():  # only phone numbers are made of digits: they have their own field
            raise ValidationError(_("数字だけでは氏名を検索できません。電話番号は「電話番号」欄で検索してください。"))

    def validate_sku(self, field):
        sku = (field.data or "").strip()
        if not sku:
            return
        self.product = db.session.scalars(select(Product).where(
            Product.account_id == current_user.account_id, Product.sku == sku)).first()
        if self.product is None:
            raise ValidationError(_("SKUコード「%(sku)s」の商品はありません。", sku=sku))

    def order_filter(self) -> OrderFilter:
        def text(field) -> Optional[str]:
            return (field.data or "").strip() or None

        start, end = self._day(self.ordered_from, quiet=True), self._day(self.ordered_to, quiet=True)
        return OrderFilter(
            account_id=current_user.account_id,
            shop_id=int(self.shop_id.data) if self.shop_id.data else None,
            status=self.status.data or None, shipment_status=self.shipment_status.data or None,
            tag_id=int(self.tag.data) if self.tag.data else None,
            mall_order_number=text(self.mall_order_number),
            ordered_from=jst_day_start(start) if start else None,
            ordered_to=jst_day_start(end + timedelta(days=1)) if end else None,
            include_deleted=bool(self.include_deleted.data), attention=bool(self.attention.data),
            name=text(self.name), phone=text(self.phone), email=text(self.email),
            sku_product_id=self.product.id if self.product else None,
        )


def _criteria(form: SearchForm) -> dict:
    """The query as given (the form's fields, without the page cursor): what the next-page link carries along."""
    return {key: value for key, value in request.args.items(multi=False) if key in form._fields and value.strip()}


@bp.get("/search")
def index():
    form = SearchForm(formdata=request.args)
    criteria = _criteria(form)
    sort = sorting.requested_sort()
    context = dict(form=form, criteria=criteria, searched=bool(criteria), rows=[], next_cursor=None, prev_cursor=None,
                   count=None, at_first_page=True, **sorting.context(sort))
    if criteria and form.validate():
        flt = form.order_filter()
        try:
            page = list_orders(flt, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None, columns=ROW_COLUMNS,
                               sort=sort)
        except BadCursor:
            return redirect(url_for("search.index", sort=sorting.sort_arg(sort), **criteria))
        if page.prev_cursor is None and page.next_cursor is None:
            count = len(page.rows)  # the whole answer is on this page: nothing more to count
        else:
            count = count_matching(flt, COUNT_CAP + 1)
        context.update(rows=list_rows(page.rows, account_tags()), next_cursor=page.next_cursor,
                       prev_cursor=page.prev_cursor, at_first_page=page.prev_cursor is None, count=count,
                       count_cap=COUNT_CAP)
    elif criteria:
        context["searched"] = False  # field errors: show the form with its messages, no results
    return page_or_fragment("search/index.html", "search/_results.html", **context)
