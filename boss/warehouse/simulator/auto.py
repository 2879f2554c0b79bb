"""Auto mode (the demo's warehouse): what a shipment has done by itself by a given time. Nothing runs in the
background; the store asks this when a key is touched, for the shipments whose next step is due."""
from __future__ import annotations

from .contract import event_fields, make_event


def due_events(shipment_id: str, shipment: dict, now: float, start_after: float, ship_after: float) -> list[dict]:
    """The events a shipment has produced by `now` (applied to it, in the order they happened): `started` at
    created + start_after, `shipped` at created + ship_after with a made-up tracking number; a withdrawal
    received before `shipped` is accepted, after it refused; a cancellation acknowledged before `shipped`,
    refused after. Each event's `at` is when it was due."""
    created = shipment["_ts"]
    steps = []
    if shipment["status"] == "received":
        steps.append((created + start_after, 0, "started"))
    if shipment["status"] in ("received", "in_progress"):
        steps.append((created + max(start_after, ship_after), 1, "shipped"))
    if shipment.get("_wd") is not None:
        steps.append((shipment["_wd"], 2, "withdrawal"))
    if shipment.get("_cx") is not None:
        steps.append((shipment["_cx"]["at"], 3, "cancellation"))
    events = []
    for at, _, step in sorted(steps):
        if at > now:
            break
        status = shipment["status"]
        if step == "started" and status == "received":
            events.append(make_event("started", {}, shipment_id, shipment, at))
        elif step == "shipped" and status in ("received", "in_progress"):
            events.append(make_event("shipped", event_fields("shipped", {}, shipment, at), shipment_id, shipment, at))
        elif step == "withdrawal" and shipment.get("_wd") is not None:
            if status == "shipped":
                events.append(make_event("withdrawal_refused", {"reason": "出荷済のため取り下げできません"},
                                         shipment_id, shipment, at))
            else:
                events.append(make_event("withdrawn", {}, shipment_id, shipment, at))
        elif step == "cancellation" and shipment.get("_cx") is not None:
            if status == "shipped":
                events.append(make_event("cancellation_refused", {"reason": "出荷済のためキャンセルできません"},
                                         shipment_id, shipment, at))
            else:
                events.append(make_event("cancellation_acknowledged", {}, shipment_id, shipment, at))
    return events
