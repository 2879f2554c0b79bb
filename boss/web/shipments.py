"""出荷一覧: the shipments of the account's not-deleted orders (R8), newest first, by shipment status.

Keyset pages on (requested_at, id): page 100 costs what page 1 does. Tab counts stop at COUNT_CAP so a
page view never counts every shipment of a large account.
"""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Optional

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import contains_eager

from ..extensions import db
from ..orders import rules
from ..orders.models import Order, Shipment
from ..orders.search import MAX_CURSOR_ID
from .common import page_or_fragment, selected_shop_id

bp = Blueprint("shipments", __name__)

PAGE_SIZE = 50
COUNT_CAP = 10_000
TABS = [(None, "all"), *[(status, status) for status in rules.SHIPMENT_STATUSES]]


class BadCursor(ValueError):
    pass


def encode_cursor(shipment: Shipment) -> str:
    raw = f"{shipment.requested_at.isoformat()}|{shipment.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, shipment_id = raw.split("|")
        at, shipment_id = datetime.fromisoformat(at), int(shipment_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc
    if at.tzinfo is not None or not 0 < shipment_id <= MAX_CURSOR_ID:  # a forged one: no shipment is there
        raise BadCursor(cursor)
    return at, shipment_id


def _conditions(status: Optional[str]) -> list:
    conds = [Order.account_id == current_user.account_id, Order.deleted_at.is_(None)]
    shop_id = selected_shop_id()
    if shop_id is not None:
        conds.append(Order.shop_id == shop_id)
    if status:
        conds.append(Shipment.status == status)
    return conds


def list_shipments(status: Optional[str], cursor: Optional[str]) -> tuple[list[Shipment], Optional[str]]:
    stmt = (select(Shipment).join(Shipment.order).options(contains_eager(Shipment.order))
            .where(*_conditions(status)))
    if cursor:
        at, shipment_id = decode_cursor(cursor)
        stmt = stmt.where(tuple_(Shipment.requested_at, Shipment.id) < tuple_(at, shipment_id))
    stmt = stmt.order_by(Shipment.requested_at.desc(), Shipment.id.desc()).limit(PAGE_SIZE + 1)
    shipments = list(db.session.scalars(stmt).unique())
    next_cursor = encode_cursor(shipments[PAGE_SIZE - 1]) if len(shipments) > PAGE_SIZE else None
    return shipments[:PAGE_SIZE], next_cursor


def tab_counts() -> dict[str, int]:
    """Per shipment status and in all, each counted up to COUNT_CAP + 1 (shown as 「10,000+」)."""
    counts = {}
    for status, key in TABS:
        capped = select(Shipment.id).join(Shipment.order).where(*_conditions(status)).limit(COUNT_CAP + 1).subquery()
        counts[key] = db.session.scalar(select(func.count()).select_from(capped))
    return counts


@bp.get("/shipments")
def index():
    status = request.args.get("status")
    status = status if status in rules.SHIPMENT_STATUSES else None
    try:
        shipments, next_cursor = list_shipments(status, request.args.get("cursor") or None)
    except BadCursor:
        return redirect(url_for("shipments.index", status=status))
    return page_or_fragment("shipments/index.html", "shipments/_list.html", shipments=shipments,
                            next_cursor=next_cursor, status=status or "all", counts=tab_counts(), tabs=TABS,
                            count_cap=COUNT_CAP, at_first_page=not request.args.get("cursor"))
