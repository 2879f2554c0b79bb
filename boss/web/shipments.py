"""出荷一覧: the shipments of the account's not-deleted orders (R8), newest first, by shipment status (the
reads are boss/orders/shipment_list.py). Tab counts stop at COUNT_CAP, shown as 「10,000+」."""
from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

from ..orders import rules, shipment_list
from ..orders.search import BadCursor
from .common import page_or_fragment, selected_shop_id

bp = Blueprint("shipments", __name__)

PAGE_SIZE = 50
COUNT_CAP = 10_000
TABS = [(None, "all"), *[(status, status) for status in rules.SHIPMENT_STATUSES]]


@bp.get("/shipments")
def index():
    status = request.args.get("status")
    status = status if status in rules.SHIPMENT_STATUSES else None
    account_id, shop_id = current_user.account_id, selected_shop_id()
    try:
        found, next_cursor = shipment_list.list_shipments(account_id, shop_id, status,
                                                          request.args.get("cursor") or None, PAGE_SIZE)
    except BadCursor:
        return redirect(url_for("shipments.index", status=status))
    return page_or_fragment("shipments/index.html", "shipments/_list.html", shipments=found,
                            next_cursor=next_cursor, status=status or "all",
                            counts=shipment_list.tab_counts(account_id, shop_id, TABS, COUNT_CAP), tabs=TABS,
                            count_cap=COUNT_CAP, at_first_page=not request.args.get("cursor"))
