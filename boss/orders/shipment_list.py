"""出荷一覧's reads: the shipments of an account's not-deleted orders (R8), newest first, by shipment status.

Keyset pages on (requested_at, id) with the order search's cursor: page 100 costs what page 1 does. Tab
counts stop at a cap so a page view never counts every shipment of a large account.
"""
from __future__ import annotations

from typing import Iterable, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from ..extensions import db
from .models import Order, Shipment
from .search import keyset_page


def _conditions(account_id: int, shop_id: Optional[int], status: Optional[str]) -> list:
    conds = [Order.account_id == account_id, Order.deleted_at.is_(None)]
    if shop_id is not None:
        conds.append(Order.shop_id == shop_id)
    if status:
        conds.append(Shipment.status == status)
    return conds


def list_shipments(account_id: int, shop_id: Optional[int], status: Optional[str], cursor: Optional[str],
                   limit: int) -> tuple[list[Shipment], Optional[str]]:
    """One page and the next page's cursor; search.BadCursor for a cursor no page gave."""
    stmt = (select(Shipment).join(Shipment.order).options(contains_eager(Shipment.order))
            .where(*_conditions(account_id, shop_id, status)))
    return keyset_page(stmt, Shipment.requested_at, Shipment.id, limit, cursor,
                       lambda page: list(db.session.scalars(page).unique()))


def tab_counts(account_id: int, shop_id: Optional[int], tabs: Iterable[tuple[Optional[str], str]],
               cap: int) -> dict[str, int]:
    """Per tab (a shipment status, or None for all), each counted up to cap + 1."""
    counts = {}
    for status, key in tabs:
        capped = (select(Shipment.id).join(Shipment.order).where(*_conditions(account_id, shop_id, status))
                  .limit(cap + 1).subquery())
        counts[key] = db.session.scalar(select(func.count()).select_from(capped))
    return counts
