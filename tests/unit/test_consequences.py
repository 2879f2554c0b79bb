"""What a cancel sets off (boss.orders.consequences), row by row from orders.md R9–R11 and warehouse.md §4."""
from __future__ import annotations

import pytest

from boss.orders.consequences import CancelEffects, CancelFacts, cancel_effects

REFLECTING_SHOP = {"rms_connected": True, "reflect_cancel_to_rms": True}
WAREHOUSE = {"warehouse_connected": True, "request_sent": True}


@pytest.mark.parametrize("facts,effects", [
    # R9: reflected when the order is mall-linked, the shop connected and its setting on, all three.
    (CancelFacts("confirmed", mall_linked=True, **REFLECTING_SHOP), CancelEffects(reflect_to_rms=True)),
    (CancelFacts("confirmed", mall_linked=False, **REFLECTING_SHOP), CancelEffects()),
    (CancelFacts("confirmed", mall_linked=True, rms_connected=False, reflect_cancel_to_rms=True), CancelEffects()),
    (CancelFacts("confirmed", mall_linked=True, rms_connected=True, reflect_cancel_to_rms=False), CancelEffects()),
    (CancelFacts("completed", "shipped", mall_linked=True, **REFLECTING_SHOP),
     CancelEffects(reflect_to_rms=True, open_return=True)),
    # R10: a reservation is released; a 完了 order's cancel opens a return instead of returning stock.
    (CancelFacts("awaiting_confirmation"), CancelEffects()),
    (CancelFacts("confirmed", stock_reserved=True), CancelEffects(release_stock=True)),
    (CancelFacts("shipping_in_progress", "not_shippable"), CancelEffects()),
    (CancelFacts("completed", "shipped"), CancelEffects(open_return=True)),
    # R11: the warehouse is told only where it holds a shipment request: 出荷待ち with the request sent (or its
    # withdrawal asked for) ...
    (CancelFacts("awaiting_shipment", "requested", stock_reserved=True, **WAREHOUSE),
     CancelEffects(release_stock=True, tell_warehouse=True)),
    (CancelFacts("awaiting_shipment", "withdrawal_requested", stock_reserved=True, **WAREHOUSE),
     CancelEffects(release_stock=True, tell_warehouse=True)),
    (CancelFacts("awaiting_shipment", None, **WAREHOUSE), CancelEffects()),
    # ... not where the request never left (pending, failed, and no send under way: the send finds the order
    # cancelled and sends nothing) ...
    (CancelFacts("awaiting_shipment", "requested", stock_reserved=True, warehouse_connected=True),
     CancelEffects(release_stock=True, stop_send=True)),
    # ... not where the warehouse refused or withdrew it (出荷不可: nothing left to withdraw) ...
    (CancelFacts("shipping_in_progress", "not_shippable", retrieve_parcel=True, **WAREHOUSE), CancelEffects()),
    # ... and for a 完了 order only when the user asks for the parcel back ...
    (CancelFacts("completed", "shipped", retrieve_parcel=True, **WAREHOUSE),
     CancelEffects(tell_warehouse=True, open_return=True)),
    (CancelFacts("confirmed", retrieve_parcel=True, **WAREHOUSE), CancelEffects()),
    # ... and never without a warehouse connection: no notice has anywhere to go.
    (CancelFacts("awaiting_shipment", "requested", stock_reserved=True), CancelEffects(release_stock=True, stop_send=True)),
    (CancelFacts("awaiting_shipment", "requested", stock_reserved=True, request_sent=True),
     CancelEffects(release_stock=True, cannot_tell_warehouse=True)),
    (CancelFacts("completed", "shipped", retrieve_parcel=True), CancelEffects(open_return=True)),
])
def test_r9_r10_r11_what_a_cancel_sets_off(facts, effects):
    assert cancel_effects(facts) == effects
