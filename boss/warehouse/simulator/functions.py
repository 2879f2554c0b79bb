"""The answer of each contract function (create, batch, get, withdrawal, cancellation, events) and of the
control API's advance, from one key's store."""
from __future__ import annotations

import time
from typing import Optional

from ...integrations.sandbox import is_int
from .contract import (DEFAULT_EVENTS_PAGE, EVENT_TYPES, MAX_BATCH, MAX_EVENTS_PAGE, Answer, NotAllowed, check_allowed,
                       check_request, cursor, cursor_index, error, event_fields, make_event, new_shipment, public,
                       refusal, skus_of)
from .store import Store

NOT_FOUND = "no such shipment for this API key"


def create_many(store: Store, bodies: list,
                forced_code: Optional[str] = None) -> list[tuple[int, Optional[dict], list]]:
    """Check and make shipping requests: [(201|200|422, public shipment or None, errors)] in the order given.
    `forced_code` (an injected fault) refuses each with that code, shipment made or not."""
    if forced_code:
        return [(422, None, [error(forced_code, "the simulator's injected error")]) for _ in bodies]
    skus = [sku for body in bodies for sku in skus_of(body)]
    known = store.known_skus(skus) if skus else None
    known_sku = None if known is None else known.__contains__
    now = time.time()
    checked, requests = [], []
    for body in bodies:
        errors = check_request(body, known_sku)
        reference = body.get("client_reference") if isinstance(body, dict) else None
        checked.append((reference, errors))
        if isinstance(reference, str) and reference.strip():
            shipment = None if errors else new_shipment(body, now)
            requests.append((reference, body.get("order_number") if shipment else "", shipment))
    made = iter(store.create(requests, now))
    results = []
    for reference, errors in checked:
        if not (isinstance(reference, str) and reference.strip()):
            results.append((422, None, errors))
            continue
        status, shipment_id, stored = next(made)
        if status == 422:
            results.append((422, None, errors))
        else:
            results.append((status, public({"id": shipment_id, **stored}), []))
    return results


def create(store: Store, body, forced_code: Optional[str] = None) -> Answer:
    status, shipment, errors = create_many(store, [body], forced_code)[0]
    if status == 422:
        return Answer(422, {"errors": errors})
    return Answer(status, {"shipment": shipment})


def batch(store: Store, body, forced_code: Optional[str] = None) -> Answer:
    shipments = body.get("shipments") if isinstance(body, dict) else None
    if not isinstance(shipments, list):
        return refusal(422, "E100", "shipments is required (a list)", "shipments")
    if len(shipments) > MAX_BATCH:
        return refusal(422, "E100", f"a batch takes at most {MAX_BATCH} shipments", "shipments")
    results = []
    for body, (status, shipment, errors) in zip(shipments, create_many(store, shipments, forced_code)):
        reference = body.get("client_reference") if isinstance(body, dict) else None
        result = {"client_reference": reference if isinstance(reference, str) else None, "status": status}
        if shipment is not None:
            result["shipment"] = shipment
        else:
            result["errors"] = errors
        results.append(result)
    return Answer(200, {"results": results})


def get(store: Store, shipment_id: str) -> Answer:
    store.touch()
    shipment = store.load([shipment_id])[0]
    if shipment is None:
        return refusal(404, "E404", NOT_FOUND)
    return Answer(200, {"shipment": public({"id": shipment_id, **shipment})})


def withdrawal(store: Store, shipment_id: str) -> Answer:
    """202 and a withdrawal remembered until an event answers it; 200 for a repeat or a shipment already
    stopped (withdrawn, refused, cancelled); 409 E201 once shipped."""
    now = time.time()
    with store.locked():
        store.produce_due(now)
        shipment = store.load([shipment_id])[0]
        if shipment is None:
            return refusal(404, "E404", NOT_FOUND)
        if shipment["status"] == "shipped":
            return refusal(409, "E201", "the shipment has been shipped: only a return is possible")
        if shipment.get("_wd") is not None or shipment["status"] in ("withdrawn", "refused", "cancelled"):
            return Answer(200, {"shipment": public({"id": shipment_id, **shipment})})
        shipment["_wd"] = now
        store.save({shipment_id: shipment}, [])
    return Answer(202, {"shipment": public({"id": shipment_id, **shipment})})


def cancellation(store: Store, shipment_id: str, body) -> Answer:
    """202 and a cancellation remembered until an event answers it (whatever the status); 200 for a repeat."""
    body = body if isinstance(body, dict) else {}
    if not isinstance(body.get("retrieve_parcel"), bool):
        return refusal(422, "E100", "retrieve_parcel is required (true or false)", "retrieve_parcel")
    if not isinstance(body.get("reason"), str):
        return refusal(422, "E100", "reason is required (a string)", "reason")
    now = time.time()
    with store.locked():
        store.produce_due(now)
        shipment = store.load([shipment_id])[0]
        if shipment is None:
            return refusal(404, "E404", NOT_FOUND)
        if shipment.get("_cx") is not None:
            return Answer(200, {"shipment": public({"id": shipment_id, **shipment})})
        shipment["_cx"] = {"at": now, "retrieve_parcel": body["retrieve_parcel"], "reason": body["reason"]}
        store.save({shipment_id: shipment}, [])
    return Answer(202, {"shipment": public({"id": shipment_id, **shipment})})


def events(store: Store, after: Optional[str], limit_text: Optional[str]) -> Answer:
    """A page of the key's events from `after`, oldest first (newest first with deliver-out-of-order)."""
    limit = DEFAULT_EVENTS_PAGE
    if limit_text is not None:
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_EVENTS_PAGE:
            return refusal(422, "E100", f"limit must be 1..{MAX_EVENTS_PAGE}", "limit")
        limit = int(limit_text)
    position = cursor_index(after)
    if position is None:
        return refusal(422, "E100", "after is not a cursor of this API", "after")
    store.touch()
    page = store.events_page(position, limit)
    if page is None:
        return refusal(422, "E100", "after is past the last event (was the key reset?)", "after")
    start, served, newest_first = page
    if not served and start == position:
        next_cursor = after if after is not None else cursor(0)
    else:
        next_cursor = cursor(start + len(served))
    if newest_first:
        served.reverse()
    return Answer(200, {"events": served, "next_cursor": next_cursor})


# --------------------------------------------------------------------------------------------- advance

NAMES = ("client_reference", "shipment_id", "order_number")


def advance_many(store: Store, items: list) -> list[tuple[int, dict]]:
    """Produce the events asked for, in order, each from the state the ones before left: [(200, event) or
    (400|404|409, error body)]. One lock, one read and one write for all of them."""
    names, outcomes = [], [None] * len(items)
    for index, item in enumerate(items):
        problem = _advance_problem(item)
        if problem:
            outcomes[index] = (400, {"error": problem})
            names.append(None)
        else:
            kind = next(name for name in NAMES if item.get(name) is not None)
            names.append((kind, item[kind]))
    now = time.time()
    with store.locked():
        store.produce_due(now)
        wanted = [name for name in names if name is not None]
        found = iter(store.find_many(wanted))
        ids = [next(found) if name is not None else None for name in names]
        known = sorted({shipment_id for shipment_id in ids if shipment_id})
        shipments = dict(zip(known, store.load(known)))
        changed, produced = {}, []
        for index, (item, shipment_id) in enumerate(zip(items, ids)):
            if outcomes[index] is not None:
                continue
            shipment = shipments.get(shipment_id) if shipment_id else None
            if shipment is None:
                outcomes[index] = (404, {"errors": [error("E404", NOT_FOUND)]})
                continue
            kind = item["type"]
            try:
                check_allowed(kind, shipment)
                fields = event_fields(kind, item, shipment, now)
            except NotAllowed as exc:
                outcomes[index] = (409, {"errors": [error("E409", str(exc), "type")],
                                          "shipment_status": shipment["status"]})
                continue
            except ValueError as exc:
                outcomes[index] = (400, {"error": str(exc)})
                continue
            event = make_event(kind, fields, shipment_id, shipment, now)
            changed[shipment_id] = shipment
            produced.append(event)
            outcomes[index] = (200, event)
        if changed:
            store.save(changed, produced)
    return outcomes


def _advance_problem(item) -> Optional[str]:
    if not isinstance(item, dict):
        return "an advance must be a JSON object"
    given = [name for name in NAMES if item.get(name) is not None]
    if len(given) != 1 or not isinstance(item[given[0]], str):
        return "exactly one of client_reference, shipment_id, order_number (a string) is required"
    if item.get("type") not in EVENT_TYPES:
        return "type must be one of " + ", ".join(EVENT_TYPES)
    return None


def is_seconds(value) -> bool:
    return (is_int(value) or isinstance(value, float)) and value >= 0
