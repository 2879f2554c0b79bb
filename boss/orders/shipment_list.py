"""出荷一覧's reads: the shipments of an account's not-deleted orders (R8), newest first, by shipment status, and
filtered by carrier and ship date.

Keyset pages on (requested_at, id) with the order search's cursor: page 100 costs what page 1 does. Tab
counts stop at a cap so a page view never counts every shipment of a large account. The carrier and ship-date
filters narrow the same keyset scan (no index of their own: shipments with a ship date are the shipped ones, and
a page stops after 51 rows).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from .models import Order, Shipment
from .search import Page, keyset_page, sorts_of

CARRIERS = ("yamato", "sagawa", "japanpost", "other")
NEWEST_FIRST = sorts_of(Shipment.id, ("requested_at", Shipment.requested_at, datetime))


@dataclass(frozen=True)
class ShipmentFilter:
    """出荷一覧's conditions besides the tab: the carrier and the ship date (from, to; both inclusive)."""
    carrier: Optional[str] = None
    shipped_from: Optional[date] = None
    shipped_to: Optional[date] = None


def _conditions(account_id: int, shop_id: Optional[int], status: Optional[str],
                flt: ShipmentFilter = ShipmentFilter()) -> list:
    conds = [Order.account_id == account_id, Order.deleted_at.is_(None)]
    if shop_id is not None:
        conds.append(Order.shop_id == shop_id)
    if status:
        conds.append(Shipment.status == status)
    if flt.carrier:
        conds.append(Shipment.carrier == flt.carrier)
    if flt.shipped_from:
        conds.append(Shipment.shipped_on >= flt.shipped_from)
    if flt.shipped_to:
        conds.append(Shipment.shipped_on <= flt.shipped_to)
    return conds


def list_shipments(account_id: int, shop_id: Optional[int], status: Optional[str], cursor: Optional[str],
                   limit: int, flt: ShipmentFilter = ShipmentFilter()) -> Page:
    """One page, newest first, and the cursors of the pages after and before it; search.BadCursor for a cursor
    no page gave."""
    stmt = (select(Shipment).join(Shipment.order).options(contains_eager(Shipment.order))
            .where(*_conditions(account_id, shop_id, status, flt)))
    return keyset_page(stmt, NEWEST_FIRST, limit, cursor, lambda page: list(db.session.scalars(page).unique()),
                       "-requested_at")


def current_ids(order_ids: Iterable[int]) -> set[int]:
    """The current (latest) shipment of each of these orders: only that one has actions in its row."""
    ids = list(set(order_ids))
    if not ids:
        return set()
    return set(db.session.scalars(select(func.max(Shipment.id)).where(Shipment.order_id.in_(ids))
                                  .group_by(Shipment.order_id)))


def tab_counts(account_id: int, shop_id: Optional[int], tabs: Iterable[tuple[Optional[str], str]],
               cap: int, flt: ShipmentFilter = ShipmentFilter()) -> dict[str, int]:
    """Per tab (a shipment status, or None for all), each counted up to cap + 1, under the same filters."""
    counts = {}
    for status, key in tabs:
        capped = (select(Shipment.id).join(Shipment.order).where(*_conditions(account_id, shop_id, status, flt))
                  .limit(cap + 1).subquery())
        counts[key] = db.session.scalar(select(func.count()).select_from(capped))
    return counts
