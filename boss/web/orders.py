"""注文一覧: status tabs, the dense table, inline cancel/delete with htmx, bulk actions."""
from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple
from urllib.parse import parse_qs, urlparse

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..errors import ServiceError
from ..extensions import db
from ..models import JobRecord
from ..orders import actions, bulk, filters, frame, rules
from ..orders.models import LineKey, Order, OrderLine, Tag, order_tags, state_of
from ..orders.search import BadCursor, OrderFilter, Page, count_matching, list_orders
from ..parsing import whole_number
from ..reason import Reason
from . import selection, sorting
from .common import (JOB_PAGES, account_shops, attempt, current_actor, found_or_404, header_counts, is_htmx, job_page,
                     lang, page_or_fragment, refusal, refusal_on_order, selected_shop_id, version_from)

bp = Blueprint("orders", __name__)

TABS = [(status, status) for status in rules.STATUSES[:5]] + [("cancelled", "cancelled"), ("all", None)]
PAGE_SIZE = 50
NOT_A_REASON = Reason("キャンセル理由が正しくありません。何も変更していません。一覧から選んでください。",
                      "The cancel reason is not valid. Nothing was changed. Pick one from the list.")
# What a list row shows and decides with (orders/_row.html, row_context): read as plain rows, not ORM objects.
ROW_COLUMNS = (Order.id, Order.shop_id, Order.mall_order_number, Order.status, Order.shipment_status,
               Order.ordered_at, Order.buyer_name, Order.total, Order.deleted_at, Order.version)


@bp.get("/")
def home():
    return redirect(url_for("orders.index"))


def selected_tag(value: str) -> Tag | None:
    """The list's tag filter: a tag id, or a system tag's code (e.g. mall_reflection_error); None when it names
    none of the account's tags."""
    return filters.find_tag(current_user.account_id, value)


def account_tags() -> list[Tag]:
    """The account's tags, system tags first; read once per request (the filter and the rows share them)."""
    if "account_tags" not in g:
        g.account_tags = list(db.session.scalars(select(Tag).where(Tag.account_id == current_user.account_id)
                                                 .order_by(Tag.system.desc(), Tag.id)))
    return g.account_tags


@bp.get("/orders")
def index():
    status = request.args.get("status") or None
    asked_tag = (request.args.get("tag") or "").strip()
    tag = selected_tag(asked_tag)
    flt = OrderFilter(account_id=current_user.account_id, shop_id=selected_shop_id(),
                      status=status if status in rules.STATUSES else None, tag_id=tag.id if tag else None)
    tags = account_tags()
    tag_missing = bool(asked_tag) and tag is None
    sort = sorting.requested_sort()
    list_args = {"status": flt.status, "tag": tag.id if tag else None}
    try:
        # A tag filter that names no tag (deleted since the link was made) shows no order, not every order of the
        # tab; the bulk form keeps the name, so 「条件に一致する全件」 is refused too.
        page = Page([], None, None) if tag_missing else list_orders(
            flt, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None, columns=ROW_COLUMNS, sort=sort)
    except BadCursor:
        return redirect(url_for("orders.index", sort=sorting.sort_arg(sort), **list_args))
    context = dict(next_cursor=page.next_cursor, prev_cursor=page.prev_cursor, status=flt.status or "all", tag=tag,
                   tags=tags, shop_id=flt.shop_id, tag_value=tag.id if tag else asked_tag, tag_missing=tag_missing,
                   counts=header_counts(), tabs=TABS, list_args=list_args, **sorting.context(sort),
                   at_first_page=page.prev_cursor is None, rows=list_rows(page.rows, tags))
    fragment = "orders/_rows.html" if request.headers.get("HX-Target") == "order-rows" else "orders/_list.html"
    return page_or_fragment("orders/index.html", fragment, **context)


class Options(NamedTuple):
    """What a row shows of its lines' 項目選択肢: the first line's that has some, on one line (the row cuts it
    to fit), and every line's with its name for the title."""
    first: str
    full: str


class Row(NamedTuple):
    """An order's row: the order (an Order, or a plain row of ROW_COLUMNS), its shop's name, its tags,
    whether cancel and delete are allowed (with the reason), and its lines' 項目選択肢 (options_of)."""
    order: Order
    shop_name: str
    tags: list[Tag]
    cancel: rules.Decision
    delete: rules.Decision
    options: Options | None = None


def options_of(lines) -> Options | None:
    """From (name, options) pairs in line order; None when no line has options."""
    chosen = [(name, " / ".join(part for part in options.splitlines() if part.strip()))
              for name, options in lines if options and options.strip()]
    if not chosen:
        return None
    return Options(chosen[0][1], "\n".join(f"{name}: {options}" for name, options in chosen))


def row_context(order: Order) -> Row:
    state = order.state()
    return Row(order, order.shop.name, order.tags, rules.can_cancel(state), rules.can_delete(state),
               options_of((line.name, line.options) for line in order.lines))


def list_rows(orders: list, account_tags: list[Tag]) -> list[Row]:
    """The rows of a page of plain ROW_COLUMNS rows, with their shops (the account's, which the header loads),
    their tags (the account's, already loaded) and the lines the decisions read and the rows show (項目選択肢),
    by two plain queries: as ORM objects and collections the same page cost about 6 ms more."""
    ids = [order.id for order in orders]
    if not ids:
        return []
    shop_name = {shop.id: shop.name for shop in account_shops()}
    tag_by_id = {tag.id: tag for tag in account_tags}
    tags, lines, options = defaultdict(list), defaultdict(list), defaultdict(list)
    for order_id, tag_id in db.session.execute(select(order_tags.c.order_id, order_tags.c.tag_id)
                                               .where(order_tags.c.order_id.in_(ids)).order_by(order_tags.c.tag_id)):
        tags[order_id].append(tag_by_id[tag_id])
    for order_id, mall_item_id, sub_code, product_id, name, chosen in db.session.execute(
            select(OrderLine.order_id, OrderLine.mall_item_id, OrderLine.sub_code, OrderLine.product_id,
                   OrderLine.name, OrderLine.options)
            .where(OrderLine.order_id.in_(ids)).order_by(OrderLine.order_id, OrderLine.position)):
        lines[order_id].append(LineKey(mall_item_id, sub_code, product_id))
        if chosen:
            options[order_id].append((name, chosen))
    rows = []
    for order in orders:
        state = state_of(order, tags[order.id], lines[order.id])
        rows.append(Row(order, shop_name[order.shop_id], tags[order.id], rules.can_cancel(state), rules.can_delete(state),
                        options_of(options[order.id])))
    return rows


def _order_or_404(order_id: int) -> Order:
    return found_or_404(frame.get_order, order_id)


def _reason_code(value: str) -> int:
    code = whole_number(value)
    if code not in rules.CANCEL_REASONS:
        raise ServiceError("validation_error", NOT_A_REASON, {"reason_code": "unknown reason"})
    return code


# ---------------------------------------------------------------- dialogs

@bp.get("/orders/<int:order_id>/cancel")
def cancel_dialog(order_id: int):
    order = _order_or_404(order_id)
    return render_template("orders/_cancel_dialog.html", order=order, decision=order.decide(rules.CANCEL),
                           effects=order.cancel_effects(),
                           version=request.args.get("version", order.version), target=request.args.get("target", "row"))


@bp.get("/orders/<int:order_id>/delete")
def delete_dialog(order_id: int):
    order = _order_or_404(order_id)
    return render_template("orders/_delete_dialog.html", order=order, decision=order.decide(rules.DELETE),
                           version=request.args.get("version", order.version), target=request.args.get("target", "row"))


# ---------------------------------------------------------------- actions

@bp.post("/orders/<int:order_id>/cancel")
def cancel(order_id: int):
    reason = request.form.get("reason_code", str(rules.DEFAULT_CANCEL_REASON))
    return _act(order_id, lambda: actions.cancel(current_actor(), order_id, _reason_code(reason),
                                                  request.form.get("retrieve_parcel") == "1",
                                                  version_from(request.form)),
                _("注文「%(n)s」をキャンセルしました。"))


@bp.post("/orders/<int:order_id>/delete")
def delete(order_id: int):
    return _act(order_id, lambda: actions.delete(current_actor(), order_id, version_from(request.form)),
                _("注文「%(n)s」を削除しました。詳細検索（削除済みを含む）で確認できます。"))


def _act(order_id: int, action, done_message: str):
    """Run an inline action; answer the row in its new state with a message (or, without htmx, redirect).
    The service looks the order up itself; an order that is not the account's is a 404 after its refusal."""
    with attempt() as tried:
        order = action()
    if exc := tried.error:
        order = _order_or_404(order_id)
        message, category, status = refusal_on_order(exc, order_id), "error", exc.status
    else:
        message, category, status = done_message % {"n": order.mall_order_number}, "success", 200
    if request.form.get("target") == "detail" or not is_htmx():
        flash(message, category)
        if order.deleted and category == "success":  # a refusal on a deleted order stays on its (read-only) page
            return redirect(url_for("orders.index"), code=303)
        return redirect(url_for("detail.show", order_id=order.id) if request.form.get("target") == "detail"
                        else request.referrer or url_for("orders.index"), code=303)
    counts = header_counts()
    shown_tab = parse_qs(urlparse(request.headers.get("HX-Current-URL", "")).query).get("status", ["all"])[0]
    return render_template("orders/_row_result.html", row=row_context(order), message=message,
                           category=category, counts=counts, tabs=TABS, status=shown_tab), status


# ---------------------------------------------------------------- bulk

def _bulk_dialog(action: str, chosen: bulk.Selection, notice: str | None = None):
    return render_template("orders/_bulk_dialog.html", action=action, count=chosen.count,
                           selection=selection.freeze(chosen, action), notice=notice,
                           job_threshold=current_app.config["BULK_JOB_THRESHOLD"])


@bp.post("/orders/bulk/confirm")
def bulk_confirm():
    """The bulk dialog: the selection is frozen here, and the confirm acts on exactly what it shows."""
    action = request.form.get("action")
    if action not in bulk.ACTIONS:
        abort(400)
    try:
        chosen = selection.from_form(request.form)
    except ServiceError as exc:
        return refusal("orders/_bulk_result.html", exc)
    return _bulk_dialog(action, chosen)


@bp.post("/orders/bulk")
def bulk_run():
    action = request.form.get("action")
    if action not in bulk.ACTIONS:
        abort(400)
    reason = request.form.get("reason_code", str(rules.DEFAULT_CANCEL_REASON))
    try:
        reason_code = _reason_code(reason)
        chosen = selection.thaw(request.form.get("selection", ""), action)
        outcome = bulk.start(current_actor(), action, list(chosen.ids), {"reason_code": reason_code, "lang": lang()})
    except bulk.SelectionChanged as changed:
        return _bulk_dialog(action, changed.selection, notice=changed.message(lang())), 409
    except ServiceError as exc:
        return refusal("orders/_bulk_result.html", exc)
    if outcome.job_id:
        job = db.session.get(JobRecord, outcome.job_id)
        return render_template("jobs/_progress.html", job=job)
    return render_template("orders/_bulk_result.html", action=action, result=outcome.result)


@bp.get("/orders/matching-count")
def matching_count():
    """「条件に一致する全 N 件を選択」: how many orders the list as shown holds (capped past the bulk limit); a
    condition that no longer resolves (a tag deleted meanwhile) is said, not dropped."""
    try:
        criteria = selection.criteria_from(request.args)
    except ServiceError as exc:
        return {"error": exc.message(lang())}, exc.status
    n = count_matching(criteria.order_filter(current_user.account_id), bulk.MAX_ORDERS + 1)
    return {"count": n, "over_limit": n > bulk.MAX_ORDERS}


@bp.get("/jobs/<job_id>/progress")
def job_progress(job_id: str):
    job = db.session.get(JobRecord, job_id)
    if job is None or job.account_id != current_user.account_id:
        abort(404)
    shown = JOB_PAGES.get(job.kind)
    return shown(job) if shown else render_template("jobs/_progress.html", job=job)


@job_page(*(f"bulk_{action}" for action in bulk.ACTIONS))
def bulk_progress(job: JobRecord):
    if job.state != "finished":
        return render_template("jobs/_progress.html", job=job)
    return render_template("orders/_bulk_result.html", action=job.kind.removeprefix("bulk_"), result=job.result)
