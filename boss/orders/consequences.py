"""What an action on an order sets off (orders.md R9–R11, warehouse.md §4), pure: no Flask, no SQLAlchemy.

Decided once, here: the service carries out what the answer names and the confirmation dialog says it
(architecture.md), so the dialog never promises what the service does not do. Table-tested in
tests/unit/test_consequences.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .rules import AWAITING_SHIPMENT, COMPLETED, REQUESTED, WITHDRAWAL_REQUESTED

# The shipment statuses of an 出荷待ち order whose request the warehouse holds (sent, or a withdrawal of it
# asked for): a cancel has something to withdraw there, and the notice supersedes a pending withdrawal.
HELD_BY_THE_WAREHOUSE = (REQUESTED, WITHDRAWAL_REQUESTED)


@dataclass(frozen=True)
class CancelFacts:
    """What a cancel's consequences depend on: the order as it is and its shop's settings at the moment of the
    cancel (R9 captures them), and whether the user chose to retrieve the parcel (完了 only)."""

    status: str
    shipment_status: Optional[str] = None
    mall_linked: bool = False
    stock_reserved: bool = False
    rms_connected: bool = False
    reflect_cancel_to_rms: bool = False  # the shop's setting 「注文キャンセルをRMS注文情報へ反映」
    retrieve_parcel: bool = False
    warehouse_connected: bool = False  # the account's warehouse connection (warehouse.md §1)
    request_sent: bool = False  # the shipping request reached the warehouse, or its send is under way (R11)


@dataclass(frozen=True)
class CancelEffects:
    """reflect_to_rms (R9), release_stock (R10), tell_warehouse (R11: a cancellation notice), open_return
    (R10: a 完了 order's cancel opens a return, 返品待ち). The service carries out each (the notice by
    boss.warehouse.notices, the return by boss.warehouse.returns)."""

    reflect_to_rms: bool = False
    release_stock: bool = False
    tell_warehouse: bool = False
    open_return: bool = False
    stop_send: bool = False  # a request not yet sent is never sent: the warehouse needs no notice
    cannot_tell_warehouse: bool = False  # the warehouse holds the request but no connection reaches it


def confirms_at_rms(mall_linked: bool, rms_connected: bool, confirm_at_rms: bool) -> bool:
    """rakuten-rms.md §注文確認 at RMS: an order that becomes 確認済 is confirmed at RMS too (confirmOrder) when it
    is mall-linked (imported from RMS: never a manual or CSV one), its shop is connected to RMS (a Rakuten shop)
    and the shop's setting 「確認済にしたら楽天RMSでも注文確認する」 is on."""
    return mall_linked and rms_connected and confirm_at_rms


def reflects_shipping(mall_linked: bool, rms_connected: bool) -> bool:
    """warehouse.md §4 `shipped`, R7: an order that reaches 完了 by the warehouse has its shipping info (carrier,
    tracking number, ship date) reflected to RMS when it is mall-linked (imported from RMS: never a manual or CSV
    order, 「モール出荷連携なし」) and its shop is connected to RMS (a Rakuten shop). No shop setting turns it off."""
    return mall_linked and rms_connected


def may_concern_the_warehouse(status: str, shipment_status: Optional[str], retrieve_parcel: bool) -> bool:
    """Whether a cancel's effects can depend on the warehouse: an 出荷待ち order whose request it may hold, or a
    完了 order whose parcel is to be pulled back."""
    return (status == AWAITING_SHIPMENT and shipment_status in HELD_BY_THE_WAREHOUSE) or \
        (status == COMPLETED and retrieve_parcel)


def cancel_effects(facts: CancelFacts) -> CancelEffects:
    return CancelEffects(
        reflect_to_rms=facts.mall_linked and facts.rms_connected and facts.reflect_cancel_to_rms,
        release_stock=facts.stock_reserved,
        tell_warehouse=facts.warehouse_connected and (
            (facts.status == AWAITING_SHIPMENT and facts.shipment_status in HELD_BY_THE_WAREHOUSE
             and facts.request_sent)
            or (facts.status == COMPLETED and facts.retrieve_parcel)),
        open_return=facts.status == COMPLETED,
        stop_send=facts.status == AWAITING_SHIPMENT and facts.shipment_status == REQUESTED and not facts.request_sent,
        cannot_tell_warehouse=not facts.warehouse_connected and facts.request_sent and facts.status == AWAITING_SHIPMENT
        and facts.shipment_status in HELD_BY_THE_WAREHOUSE,
    )
