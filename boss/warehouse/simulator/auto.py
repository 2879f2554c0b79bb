"""Auto mode (the demo's warehouse): what a shipment has done by itself by a given time. Nothing runs in the
background; the store asks this when a key is touched, for the shipments whose next step is due."""
from __future__ import annotations

from .contract import event_fields, make_event


def due_events(shipment_id: str, shipment: dict, now: float, start_after: float, ship_after: float) -> list[dict]:
    """The events a shipment has produced by `now` (applied to it, in the order they happened): `started` at
    created + start_after, `shipped` at created + ship_after with a made-up tracking number; a withdrawal
    received before `shipped` is accepted, after it refused; a cancellation acknowledged before `shipped`, and
    after it too when it asks for the parcel back (引き戻し: the demo's return path), else refused; a parcel pulled
    back is inspected start_after later (`return_inspected`, one unit of the first line not sellable when it has
    more than one, so the demo shows stock coming back only for what can be sold). Each event's `at` is when it
    was due."""
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
    if shipment.get("_ri") is not None:
        steps.append((shipment["_ri"], 4, "inspection"))
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
            if status == "shipped" and not shipment["_cx"]["retrieve_parcel"]:
                events.append(make_event("cancellation_refused", {"reason": "出荷済のためキャンセルできません"},
                                         shipment_id, shipment, at))
            else:
                events.append(make_event("cancellation_acknowledged", {}, shipment_id, shipment, at))
                if status == "shipped":  # the parcel is on its way back: inspected later, in order after this
                    shipment["_ri"] = at + start_after
                    events += due_events(shipment_id, shipment, now, start_after, ship_after)
        elif step == "inspection" and shipment.get("_ri") is not None and shipment.get("_retrieved"):
            events.append(make_event("return_inspected", {"lines": inspected_lines(shipment)}, shipment_id, shipment,
                                     at))
    return events


def inspected_lines(shipment: dict) -> list[dict]:
    """Everything came back; one unit of the first line is not sellable (when it has more than one)."""
    lines = []
    for index, line in enumerate(shipment["lines"]):
        damaged = 1 if index == 0 and line["quantity"] > 1 else 0
        lines.append({"sku": line["sku"], "returned": line["quantity"], "sellable": line["quantity"] - damaged})
    return lines
