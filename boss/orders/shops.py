"""Shops: created and changed with their import settings and RMS credentials; a newly connected shop imports at once."""
from __future__ import annotations

from sqlalchemy import select

from ..errors import ServiceError
from ..extensions import db
from ..malls.rakuten.connection import rms_connection_for, set_credentials
from ..malls.rakuten.importer import start_import
from ..models import Shop
from ..reason import Reason
from ..unit_of_work import unit_of_work
from .actor import Actor
from .counters import create_count_rows
from .frame import get_shop


def _refuse_name_taken(account_id: int, name: str) -> None:
    if db.session.scalars(select(Shop).where(Shop.account_id == account_id, Shop.name == name)).first():
        raise ServiceError("already_exists", Reason(f"ショップ「{name}」は既にあります。", f"Shop {name} exists already."))


def create_shop(actor: Actor, name: str, mall: str, auto_confirm: bool = False,
                reflect_cancel_to_rms: bool = False, confirm_at_rms: bool = True, auto_request_shipment: bool = False,
                sender: dict | None = None, **settings) -> Shop:
    with unit_of_work() as uow:
        _refuse_name_taken(actor.account_id, name)
        shop = Shop(account_id=actor.account_id, name=name, mall=mall, auto_confirm=auto_confirm,
                    reflect_cancel_to_rms=reflect_cancel_to_rms, confirm_at_rms=confirm_at_rms,
                    auto_request_shipment=auto_request_shipment, sender=_sender({}, sender or {}))
        db.session.add(shop)
        db.session.flush()
        create_count_rows(shop.id)
        connected = _apply_shop_settings(shop, settings)
        uow.commit()
    if connected:
        _first_import(actor, shop)
    return shop


def update_shop(actor: Actor, shop_id: int, changes: dict) -> Shop:
    """Settings take effect at once (R9: the next cancel captures the new value)."""
    with unit_of_work() as uow:
        shop = get_shop(actor.account_id, shop_id)
        if "name" in changes and changes["name"] != shop.name:
            _refuse_name_taken(actor.account_id, changes["name"])
        for field in ("name", "mall", "auto_confirm", "reflect_cancel_to_rms", "confirm_at_rms",
                      "auto_request_shipment"):
            if field in changes:
                setattr(shop, field, changes[field])
        if changes.get("sender") is not None:
            shop.sender = _sender(shop.sender or {}, changes["sender"])
        connected = _apply_shop_settings(shop, changes)
        uow.commit()
    if connected:
        _first_import(actor, shop)
    return shop


SENDER_FIELDS = ("postal_code", "address", "phone")


def _sender(stored: dict, changes: dict) -> dict:
    """The 依頼主 with `changes` applied: a new dict (so the JSON column sees the change), every field a string."""
    return {name: (changes[name] if name in changes else stored.get(name)) or "" for name in SENDER_FIELDS}


def _apply_shop_settings(shop: Shop, settings: dict) -> bool:
    """Import settings and RMS credentials; True when credentials were (re)set."""
    if settings.get("import_interval_minutes") is not None:
        rms_connection_for(shop).interval_seconds = settings["import_interval_minutes"] * 60
    for name in ("initial_lookback_days", "inventory_restore_type"):
        if settings.get(name) is not None:
            rms_connection_for(shop).set_setting(name, settings[name])
    rms = settings.get("rms")
    if not rms:
        return False
    set_credentials(shop, rms["service_secret"], rms["license_key"], rms.get("license_key_expires_on"),
                    rms.get("base_url"))
    return True


def _first_import(actor: Actor, shop: Shop) -> None:
    """A shop just connected to RMS imports at once, then every N minutes."""
    start_import(actor, shop.id)
