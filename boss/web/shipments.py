"""出荷一覧: the shipments of the account's not-deleted orders (R8), newest first, by shipment status, filtered by
carrier and ship date (the reads are boss/orders/shipment_list.py). Tab counts stop at COUNT_CAP, shown as
「10,000+」. A row's 出荷取下げ and 再出荷依頼 answer the row in its new state, with the message or the refusal in it."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..orders import rules, shipment_list
from ..orders import shipping_rules as sr
from ..orders.models import Order, Shipment, state_of
from ..orders.search import BadCursor
from ..warehouse import shipping, withdrawal
from .common import (BadDay, attempt, current_actor, is_htmx, page_or_fragment, refusal_on_order, selected_shop_id,
                     typed_day, version_from)
from .detail import withdrawal_done
from .shipment_view import CARRIERS, REQUEST_STATES, ShippingActions

bp = Blueprint("shipments", __name__)

PAGE_SIZE = 50
COUNT_CAP = 10_000
TABS = [(None, "all"), *[(status, status) for status in rules.SHIPMENT_STATUSES]]


def _date(name: str, errors: dict[str, str]) -> date | None:
    try:
        return typed_day(request.args.get(name))
    except BadDay as bad:
        errors[name] = str(bad)
        return None


def _filter() -> tuple[shipment_list.ShipmentFilter, dict[str, str]]:
    """The list's filters from the query; a date that is not one is left out, and its input shows what was typed
    with why (by name)."""
    errors: dict[str, str] = {}
    carrier = request.args.get("carrier") or None
    flt = shipment_list.ShipmentFilter(carrier=carrier if carrier in shipment_list.CARRIERS else None,
                                       shipped_from=_date("shipped_from", errors), shipped_to=_date("shipped_to", errors))
    return flt, errors


def _filter_args(flt: shipment_list.ShipmentFilter) -> dict:
    """The filters as query arguments, for the tabs' and the pager's links."""
    return {"carrier": flt.carrier, "shipped_from": flt.shipped_from.isoformat() if flt.shipped_from else None,
            "shipped_to": flt.shipped_to.isoformat() if flt.shipped_to else None}


@bp.get("/shipments")
def index():
    status = request.args.get("status")
    status = status if status in rules.SHIPMENT_STATUSES else None
    account_id, shop_id = current_user.account_id, selected_shop_id()
    flt, bad_dates = _filter()
    try:
        page = shipment_list.list_shipments(account_id, shop_id, status, request.args.get("cursor") or None,
                                            PAGE_SIZE, flt)
    except BadCursor:
        return redirect(url_for("shipments.index", status=status, **_filter_args(flt)))
    return page_or_fragment("shipments/index.html", "shipments/_list.html", rows=rows_of(page.rows),
                            next_cursor=page.next_cursor, prev_cursor=page.prev_cursor, status=status or "all",
                            counts=shipment_list.tab_counts(account_id, shop_id, TABS, COUNT_CAP, flt), tabs=TABS,
                            count_cap=COUNT_CAP, at_first_page=page.prev_cursor is None, flt=flt,
                            filter_args=_filter_args(flt), bad_dates=bad_dates, **_labels())


def _labels() -> dict:
    return dict(carriers=CARRIERS, request_states=REQUEST_STATES, carrier_codes=shipment_list.CARRIERS)


def rows_of(shipments: list[Shipment]) -> list[tuple[Shipment, ShippingActions]]:
    """Each shipment with the actions of its row: only an order's current shipment has any."""
    current = shipment_list.current_ids(s.order_id for s in shipments)
    return [(s, row_actions(s) if s.id in current else ShippingActions()) for s in shipments]


def row_actions(shipment: Shipment) -> ShippingActions:
    """出荷取下げ while the warehouse has the request, 再出荷依頼 after 出荷不可 (the order's current shipment)."""
    order = shipment.order
    if order.deleted or order.status in (rules.CANCELLED, rules.COMPLETED):
        return ShippingActions()
    state = state_of(order, order.tags, order.lines, shipment.request_state)
    if state.shipment_status == rules.NOT_SHIPPABLE:
        if state.status != rules.SHIPPING_IN_PROGRESS:
            return ShippingActions()
        return ShippingActions(re_request=sr.can_re_request(state, shipping.connected_now(order.account_id),
                                                            shipping.has_recipient(order)))
    if state.shipment_status in sr.LIVE_AT_THE_WAREHOUSE:
        return ShippingActions(withdraw=sr.can_request_withdrawal(state))
    return ShippingActions()


def _shipment_or_404(shipment_id: int) -> Shipment:
    """R14: another account's shipment is not found."""
    shipment = db.session.scalars(select(Shipment).join(Shipment.order).options(contains_eager(Shipment.order))
                                  .where(Shipment.id == shipment_id,
                                         Order.account_id == current_user.account_id)).one_or_none()
    if shipment is None:
        abort(404)
    return shipment


@bp.post("/shipments/<int:shipment_id>/request-withdrawal")
def request_withdrawal(shipment_id: int):
    order_id = _shipment_or_404(shipment_id).order_id
    return _row_action(shipment_id, order_id,
                       lambda: withdrawal.request_withdrawal(current_actor(), order_id,
                                                             expected_version=version_from(request.form)),
                       lambda order: withdrawal_done(order, then_cancel=False))


@bp.post("/shipments/<int:shipment_id>/re-request")
def re_request(shipment_id: int):
    order_id = _shipment_or_404(shipment_id).order_id
    return _row_action(shipment_id, order_id,
                       lambda: shipping.request_shipment(current_actor(), order_id, version_from(request.form)),
                       _("注文「%(n)s」を再出荷依頼しました。"))


def _row_action(shipment_id: int, order_id: int, action, done_message: str):
    """Run a row's action; htmx: the row again — the order's current shipment, a new one after 再出荷依頼 — with
    the message or the refusal in it; without htmx: back to the list with the message."""
    with attempt() as tried:
        order = action()
    db.session.expire_all()
    if tried.error:
        message, category, http_status = refusal_on_order(tried.error, order_id), "error", tried.error.status
    else:
        message = done_message(order) if callable(done_message) else done_message % {"n": order.mall_order_number}
        category, http_status = "success", 200
    if not is_htmx():
        flash(message, category)
        return redirect(request.referrer or url_for("shipments.index"), code=303)
    shown = _shipment_or_404(shipment_id)
    current = shown.order.current_shipment or shown
    return render_template("shipments/_row_result.html", replaced_id=shipment_id, shipment=current,
                           actions=row_actions(current), message=message, category=category,
                           **_labels()), http_status
