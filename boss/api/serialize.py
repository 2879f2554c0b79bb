"""Objects as api.md shows them."""
from __future__ import annotations

from typing import Optional

from ..models import ItemMapping, JobRecord, Product, Shop, StockMovement
from ..orders import rules, shipping_rules
from ..orders.listing import OrderRow
from ..orders.models import Order, OrderEvent, Return, Tag
from ..timefmt import iso_jst
from ..warehouse import returns, shipping

UNREAD = object()


def shop_json(shop: Shop) -> dict:
    rms = shop.rms
    return {
        "id": shop.id, "name": shop.name, "mall": shop.mall, "auto_confirm": shop.auto_confirm,
        "reflect_cancel_to_rms": shop.reflect_cancel_to_rms, "confirm_at_rms": shop.confirm_at_rms,
        "auto_request_shipment": shop.auto_request_shipment, "sender": shop_sender(shop),
        "rms_connected": shop.rms_connected,
        "license_key_last4": rms.key_last4,
        "license_key_expires_on": rms.key_expires_on.isoformat() if rms.key_expires_on else None,
        "rms_connection_error": rms.error, "rms_base_url": rms.base_url,
        "import_interval_minutes": rms.interval_seconds // 60,
        "initial_lookback_days": rms.setting("initial_lookback_days"),
        "inventory_restore_type": rms.setting("inventory_restore_type"),
        "last_import_at": iso_jst(rms.last_run_at),
    }


def shop_sender(shop: Shop) -> dict:
    """The 依頼主 of the shop's parcels (warehouse.md §2): "" where not set."""
    stored = shop.sender or {}
    return {name: stored.get(name) or "" for name in ("postal_code", "address", "phone")}


def product_json(product: Product) -> dict:
    return {"id": product.id, "sku": product.sku, "code": product.code, "name": product.name,
            "stock": product.stock, "reserved": product.reserved, "available": product.available}


def movement_json(movement: StockMovement) -> dict:
    return {"id": movement.id, "at": iso_jst(movement.at), "kind": movement.kind,
            "delta_stock": movement.delta_stock, "delta_reserved": movement.delta_reserved,
            "order_id": movement.order_id, "actor": {"type": movement.actor_type, "name": movement.actor_name},
            "reason": movement.reason}


def mapping_json(mapping: ItemMapping) -> dict:
    return {"id": mapping.id, "shop_id": mapping.shop_id, "mall_item_id": mapping.mall_item_id,
            "sub_code": mapping.sub_code or None, "sku": mapping.product.sku}


def tag_json(tag: Tag) -> dict:
    return {"id": tag.id, "code": tag.code, "name": tag.name, "color": tag.shown_color, "system": tag.system,
            "holds": tag.holds}


def _party(order: Order, prefix: str) -> dict:
    return {field: getattr(order, f"{prefix}_{field}") for field in
            ("name", "name_kana", "email", "phone", "postal_code", "address")}


def order_json(order: Order | OrderRow, latest_return=UNREAD) -> dict:
    """The order (or a page's OrderRow); `latest_return` when the caller read it already (a page's OrderRow did)."""
    if latest_return is UNREAD:  # only a shipped parcel can come back: no read for any other order
        latest_return = returns.latest(order.id) if order.shipment_status == rules.SHIPPED else None
    state = order.state()
    shipment = order.current_shipment
    return {
        "id": order.id, "shop_id": order.shop_id, "mall_order_number": order.mall_order_number,
        "source": order.source, "mall_linked": order.mall_linked,
        "status": order.status, "status_label": rules.STATUS_LABELS[order.status],
        "shipment_status": order.shipment_status,
        "deleted": order.deleted, "deleted_at": iso_jst(order.deleted_at),
        "cancelled_at": iso_jst(order.cancelled_at), "ordered_at": iso_jst(order.ordered_at),
        "buyer": _party(order, "buyer"), "recipient": _party(order, "recipient"),
        "payment_method": order.payment_method, "remarks": order.remarks,
        "delivery_date": order.delivery_date.isoformat() if order.delivery_date else None,
        "delivery_time_slot": order.delivery_time_slot,
        "postage": order.postage, "wrapping": order.wrapping, "total": order.total, "charges": order.charges,
        "discount": order.discount, "points_used": order.points_used, "billed": order.billed,
        "pickup": order.pickup, "drop_off": order.drop_off,
        "lines": [{"id": line.id, "mall_item_id": line.mall_item_id, "sub_code": line.sub_code or None,
                   "name": line.name, "quantity": line.quantity, "unit_price": line.unit_price,
                   "options": line.options or "",
                   "sku": line.sku, "mapped": line.mapped}
                  for line in order.lines],
        "tags": [tag_json(tag) for tag in order.tags],
        "shipment": shipment_json(shipment),
        "warehouse_notice": shipment.notice if shipment is not None else "none",
        "return": return_json(latest_return, order.mall_order_number) if latest_return is not None else None,
        "mall_reflection": {"state": order.reflection_state, "message": order.reflection_message},
        "shipping_reflection": {"state": order.shipping_reflection_state, "message": order.shipping_reflection_message},
        "cancel_reason_code": order.cancel_reason_code,
        "can_cancel": rules.can_cancel(state).allowed, "can_delete": rules.can_delete(state).allowed,
        "can_request_shipment": shipping.can_request(order),
        "can_request_withdrawal": shipping_rules.can_request_withdrawal(state).allowed,
        "version": order.version,
    }


def shipment_json(shipment) -> Optional[dict]:
    if shipment is None:
        return None
    return {"id": shipment.id, "status": shipment.status, "request_state": shipment.request_state,
            "warehouse_id": shipment.warehouse_id, "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "shipped_on": shipment.shipped_on.isoformat() if shipment.shipped_on else None,
            "reason": shipment.reason or shipment.request_error, "requested_at": iso_jst(shipment.requested_at),
            "parcels": shipment.parcels or [], "short_lines": shipment.short_lines or []}


def return_json(ret: Return, mall_order_number: Optional[str] = None) -> dict:
    return {"id": ret.id, "order_id": ret.order_id,
            "mall_order_number": mall_order_number if mall_order_number is not None else ret.order.mall_order_number,
            "status": ret.status,
            "lines": [{"sku": line.sku, "quantity": line.quantity, "returned": line.returned,
                       "sellable": line.sellable} for line in ret.lines],
            "opened_at": iso_jst(ret.opened_at), "inspected_at": iso_jst(ret.inspected_at)}


def event_json(event: OrderEvent) -> dict:
    return {"id": event.id, "at": iso_jst(event.at), "actor": {"type": event.actor_type, "name": event.actor_name},
            "kind": event.kind, "from_status": event.from_status, "to_status": event.to_status,
            "message": event.message}


def job_json(job: JobRecord) -> dict:
    return {"id": job.id, "kind": job.kind, "state": job.state, "progress": job.progress,
            "result": job.result, "error": job.error}
