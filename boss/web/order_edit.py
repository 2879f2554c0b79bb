"""注文詳細's 編集 (api.md "Editing an order"): an inline form over the same service as PATCH /orders/{id}.

The form shows what the order's status lets staff change (editing.can_edit): everything in 確認待 and 確認済, the
recipient, delivery date and slot and remarks of a 出荷待ち order whose shipping request failed. Only what differs
from the order is sent, so the history lists what staff changed and nothing else. The form carries the version it
was made from (R13): an order changed meanwhile answers 409 with its current state, the form closed.
"""
from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, FormField, HiddenField, SelectField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from ..orders import editing, frame, registration
from ..orders.models import Order
from ..parsing import whole_number
from .common import attempt, current_actor, found_or_404, lang, page_or_fragment, refusal_on_order, version_from
from .detail import detail_context, order_answer
from .manual import TIME_SLOT_CHOICES, DeliveryDateField, LineForm, PartyForm, postage_field

bp = Blueprint("order_edit", __name__)

# Where a mall-linked order's change would have to be made instead (ui.md's {mall name}); `other`: 「モール」.
MALL_PLACES = {"rakuten": _l("楽天RMS"), "yahoo": _l("Yahoo!ショッピング"), "amazon": "Amazon", "makeshop": "MakeShop",
               "qoo10": "Qoo10", "shopify": "Shopify", "other": _l("モール")}


def _listed(form, field):
    """One of the field's own choices (the order's present お届け時間帯 is one, even one the screens do not offer)."""
    if field.data not in {choice.value for choice in field.choices}:
        raise ValidationError(_("一覧から選んでください。"))


class EditLineForm(LineForm):
    """A line of the order (line_id) or a new one (no line_id), and whether to remove it."""

    line_id = HiddenField()
    remove = BooleanField(_l("削除"))


class EditOrderForm(FlaskForm):
    buyer = FormField(PartyForm)
    recipient = FormField(PartyForm)
    delivery_date = DeliveryDateField(_l("お届け希望日"), validators=[Optional()])
    delivery_time_slot = SelectField(_l("お届け時間帯"), validate_choice=False, validators=[_listed])
    postage = postage_field()
    remarks = TextAreaField(_l("備考"), validators=[Optional(), Length(max=5000)])
    lines = FieldList(FormField(EditLineForm), min_entries=0, max_entries=registration.MAX_LINES)

    def validate(self, extra_validators=None) -> bool:
        """A line marked 削除 is not checked (what it holds no longer matters)."""
        valid = super().validate(extra_validators)
        if "lines" in self:
            for entry in self.lines:
                if entry.form.remove.data:
                    for field in entry.form:
                        field.errors = []
            self.lines.errors = [entry.errors for entry in self.lines if entry.errors]
            valid = not any(field.errors for field in self)
        return valid


def _form_for(order: Order) -> EditOrderForm:
    """The form with the fields the order's status lets staff change, holding the order's values (or, posted,
    what was typed)."""
    form = EditOrderForm(data=_values(order))
    allowed = {name for name in editing.ALL_FIELDS if editing.can_edit(order, {name})}
    for name in editing.ALL_FIELDS:
        if name not in allowed:
            delattr(form, name)
    if "delivery_time_slot" in form:
        form.delivery_time_slot.choices = list(TIME_SLOT_CHOICES)
        if order.delivery_time_slot and order.delivery_time_slot not in {c.value for c in TIME_SLOT_CHOICES}:
            form.delivery_time_slot.choices.append(SelectChoice(order.delivery_time_slot, order.delivery_time_slot))
    return form


def _values(order: Order) -> dict:
    return {
        **{who: {name: getattr(order, f"{who}_{name}") or "" for name in editing.PARTY_FIELDS}
           for who in ("buyer", "recipient")},
        "delivery_date": order.delivery_date, "delivery_time_slot": order.delivery_time_slot or "",
        "postage": order.postage, "remarks": order.remarks,
        "lines": [{"line_id": line.id, **{name: getattr(line, name) for name in editing.LINE_FIELDS}}
                  for line in order.lines],
    }


def _changes(form: EditOrderForm, order: Order) -> dict:
    """What the form changes of the order, as editing.edit takes it: only what differs."""
    changes = {}
    for who in ("buyer", "recipient"):
        if who in form:
            typed = form[who].form.as_dict()
            changed = {name: value for name, value in typed.items() if value != (getattr(order, f"{who}_{name}") or "")}
            if changed:
                changes[who] = changed
    typed = {name: form[name].data for name in ("delivery_date", "postage") if name in form}
    if "delivery_time_slot" in form:
        typed["delivery_time_slot"] = form.delivery_time_slot.data or None  # 指定なし
    if "remarks" in form:
        typed["remarks"] = form.remarks.data or ""
    changes.update({name: value for name, value in typed.items() if value != getattr(order, name)})
    if "lines" in form:
        lines = _line_changes(form, order)
        if lines:
            changes["lines"] = lines
    return changes


def _line_changes(form: EditOrderForm, order: Order) -> list[dict]:
    by_id = {line.id: line for line in order.lines}
    edits = []
    for entry in form.lines:
        line_form = entry.form
        typed = {name: line_form[name].data for name in editing.LINE_FIELDS}
        typed["sub_code"] = typed["sub_code"] or ""
        line_id = whole_number(line_form.line_id.data)
        if line_id is None:
            if not line_form.remove.data:
                edits.append(typed)
        elif line_form.remove.data:
            edits.append({"id": line_id, "remove": True})
        else:
            line = by_id.get(line_id)
            changed = {name: value for name, value in typed.items() if line is None or value != getattr(line, name)}
            if changed:
                edits.append({"id": line_id, **changed})
    return edits


def _blank_names(form: EditOrderForm, order: Order) -> bool:
    """A name emptied is refused (a recipient still empty — a gift waiting for its address — may stay so)."""
    blank = False
    for who, message in (("buyer", _("購入者の氏名を入力してください。")), ("recipient", _("送付先の氏名を入力してください。"))):
        if who in form and not form[who].form.name.data and getattr(order, f"{who}_name"):
            form[who].form.name.errors = [*form[who].form.name.errors, message]
            blank = True
    return blank


@bp.get("/orders/<int:order_id>/edit")
def edit(order_id: int):
    order = found_or_404(frame.get_order, order_id)
    if refused := _refused(order):
        return refused
    return _render(order, _form_for(order), version=order.version)


@bp.post("/orders/<int:order_id>/edit")
def save(order_id: int):
    order = found_or_404(frame.get_order, order_id)
    if refused := _refused(order):
        return refused
    version = version_from(request.form)
    form = _form_for(order)
    if "add_line" in request.form and "lines" in form:  # 「明細を追加」: one more empty line, nothing checked or saved
        if len(form.lines) < registration.MAX_LINES:
            form.lines.append_entry()
        return _render(order, form, version=version, focus_line=len(form.lines) - 1)
    valid = form.validate()
    if _blank_names(form, order) or not valid:
        return _render(order, form, version=version, status=422,
                       errors=[_("入力内容を確認してください。赤字の項目を直してから保存してください。")])
    changes = _changes(form, order)
    if not changes:
        return order_answer(order_id, _("注文「%(n)s」に変更はありませんでした。", n=order.mall_order_number), "info", 200)
    with attempt() as tried:
        order = editing.edit(current_actor(), order_id, changes, version)
    if not (exc := tried.error):
        return order_answer(order_id, _edited_message(order), "success", 200)
    if exc.code != "validation_error":  # changed meanwhile (R13), or no longer editable (a status changed)
        return order_answer(order_id, refusal_on_order(exc, order_id), "error", exc.status)
    lines_error = (exc.fields or {}).get("lines")
    if lines_error and "lines" in form:
        form.lines.errors = [lines_error]
    return _render(order, form, version=version, status=422, errors=[] if lines_error else [exc.message(lang())])


def _refused(order: Order):
    """An order its status no longer lets staff edit: its page, saying why (the button shows it disabled)."""
    decision = editing.can_edit(order, set())
    return None if decision else order_answer(order.id, decision.reason.text(lang()), "error", 409)


def _edited_message(order: Order) -> str:
    message = _("注文「%(n)s」を編集しました。", n=order.mall_order_number)
    if order.has_tag("unmapped_items"):
        message += " " + _("商品がマッピングされていない明細があるため確認待です。商品マッピングで商品を結び付けてください。")
    return message


def _render(order: Order, form: EditOrderForm, version, status: int = 200, errors: list | None = None,
            focus_line: int | None = None):
    mall_warning = None
    if order.mall_linked:
        mall_warning = _("モール連携の注文です。ここでの変更は%(mall)sには反映されません。",
                         mall=MALL_PLACES.get(order.shop.mall, MALL_PLACES["other"]))
    return page_or_fragment("detail/show.html", "detail/_order.html", http_status=status,
                            edit_form=form, edit_version=version, edit_errors=errors or [], focus_line=focus_line,
                            mall_warning=mall_warning, max_lines=registration.MAX_LINES, **detail_context(order))
