"""返品: the account's returns by status (返品待ち / 検品済) with their per-line figures and links to their orders,
a return's page, and a user's inspection entry (warehouses that report by mail) — the same service as the API's.
The order page's return panel (templates/detail/_return.html) posts the same form."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..orders import shipping_rules as sr
from ..parsing import whole_number
from ..warehouse import returns
from .common import attempt, current_actor, found_or_404, lang, page_or_fragment

bp = Blueprint("returns", __name__)

PAGE_SIZE = 50
TABS = (sr.AWAITING_RETURN, sr.INSPECTED)


def return_labels() -> dict:
    return {sr.AWAITING_RETURN: _("返品待ち"), sr.INSPECTED: _("検品済")}


@bp.get("/returns")
def index():
    status = request.args.get("status")
    status = status if status in TABS else sr.AWAITING_RETURN
    before = whole_number(request.args.get("cursor"))
    found, next_cursor = returns.list_returns(current_user.account_id, status, PAGE_SIZE, before)
    return page_or_fragment("returns/index.html", "returns/_list.html", items=found, next_cursor=next_cursor,
                            status=status, tabs=TABS, counts=returns.counts(current_user.account_id),
                            labels=return_labels(), at_first_page=before is None)


@bp.get("/returns/<int:return_id>")
def show(return_id: int):
    ret = found_or_404(returns.get, return_id)
    return page_or_fragment("returns/show.html", "returns/_inspection_form.html", ret=ret, labels=return_labels(),
                            error=None, problems={})


@bp.post("/returns/<int:return_id>/inspection")
def inspect(return_id: int):
    """The form's figures per line (blank: 0); refused (422/409): the form again with the refusal and the figures
    entered; done: back where the form was (the order page or the return's) with a message."""
    ret = found_or_404(returns.get, return_id)
    reported, unreadable = [], {}
    for index, line in enumerate(ret.lines):
        figures = []
        for name in ("returned", "sellable"):
            raw = (request.form.get(f"{name}-{line.id}") or "").strip()
            value = whole_number(raw) if raw else 0
            if value is None:
                unreadable[f"lines[{index}].{name}"] = _("0以上の整数で入力してください")
            figures.append(value or 0)
        reported.append(returns.Reported(line.sku, *figures))
    error, problems, status = None, unreadable, 422
    if not unreadable:
        with attempt() as tried:
            returns.inspect(current_actor(), return_id, reported)
        if not tried.error:
            flash(_("返品（注文「%(n)s」）の検品結果を登録しました。", n=ret.order.mall_order_number), "success")
            if request.form.get("from") == "order":
                return redirect(url_for("detail.show", order_id=ret.order_id), 303)
            return redirect(url_for("returns.show", return_id=return_id), 303)
        problems, status = tried.error.fields, tried.error.status
        # Figures that do not add up are named beside their line; any other refusal (inspected already) says why.
        error = _("入力内容に誤りがあります。") if problems else tried.error.message(lang())
    else:
        error = _("入力内容に誤りがあります。")
    ret = returns.get(current_user.account_id, return_id)
    return page_or_fragment("returns/show.html", "returns/_inspection_form.html", http_status=status, ret=ret,
                            labels=return_labels(), error=error, problems=problems)
