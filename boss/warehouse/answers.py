"""Reading the RSL contract's answers (warehouse.md §2) into the port's types: pure, no HTTP.

Strict where it matters (a shipment's id, what a batch answers per item, an event's identity and the fields
its type acts on), lenient where harmless (an unknown event type or carrier, a reason too long to keep, an
unreadable `at` or `created_at`). Whatever an answer holds, reading it ends in a value or in one of the
port's error kinds — never in a crash of our own (a KeyError, a TypeError, an OverflowError).
"""
from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Optional, Sequence

from .port import (CARRIERS, CreateResult, EventPage, Parcel, Shipment, ShortLine, WarehouseAuthError,
                   WarehouseConflict, WarehouseError, WarehouseEvent, WarehouseMessage, WarehouseNotFound,
                   WarehouseProtocolError, WarehouseRequestRefused, WarehouseTransientError, join_messages)

JST = timezone(timedelta(hours=9))
MAX_ID = 128  # ids, references, tracking numbers: longer is not the contract
MAX_TEXT = 1000  # a reason or message: kept up to this, the rest cut (harmless)
MAX_COUNT = 2**31 - 1  # seq, units: what the database's integers hold
MAX_RETRY_AFTER = 3600.0
MAX_ERRORS = 50
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


# --------------------------------------------------------------------------------------------- small readers

def _text(value: Any, limit: int = MAX_TEXT) -> Optional[str]:
    """A string cut to `limit` characters, None for anything else."""
    return value[:limit] if isinstance(value, str) else None


def _ident(value: Any) -> Optional[str]:
    """An id-like string: not blank, at most MAX_ID characters; None otherwise."""
    if isinstance(value, str) and value.strip() and len(value) <= MAX_ID:
        return value
    return None


def _count(value: Any, low: int = 0) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_COUNT:
        return None
    return value


def _day(value: Any) -> Optional[date]:
    if not isinstance(value, str) or not DAY.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def read_time(value: Any) -> Optional[datetime]:
    """An ISO 8601 time as naive UTC (how the database keeps times); one without an offset is Japan time
    (the contract's times are +09:00). None when unreadable."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=JST)
    try:
        return parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return None


def _carrier(value: Any) -> Optional[str]:
    """A known carrier as sent; another non-blank string is `other` (api.md's order knows only these)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value if value in CARRIERS else "other"


def _parcels(value: Any) -> Optional[tuple[Parcel, ...]]:
    """`parcels` of a shipped event or shipment: () when absent, None when present and not the contract."""
    if value is None:
        return ()
    if not isinstance(value, list):
        return None
    parcels = []
    for entry in value:
        if not isinstance(entry, dict):
            return None
        carrier, number = _carrier(entry.get("carrier")), _ident(entry.get("tracking_number"))
        if carrier is None or number is None:
            return None
        parcels.append(Parcel(carrier, number))
    return tuple(parcels)


# --------------------------------------------------------------------------------------------- errors

def read_errors(payload: Any) -> list[WarehouseMessage]:
    """The `errors` of an error answer; lenient (the HTTP status already says what kind of failure it is):
    entries that are not the contract are left out, texts cut, at most MAX_ERRORS kept."""
    entries = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        return []
    messages = []
    for entry in entries[:MAX_ERRORS]:
        if not isinstance(entry, dict) or _text(entry.get("code"), MAX_ID) is None:
            continue
        messages.append(WarehouseMessage(code=entry["code"][:MAX_ID], field=_text(entry.get("field"), MAX_ID),
                                         message=_text(entry.get("message")) or ""))
    return messages


def read_retry_after(value: Optional[str]) -> Optional[float]:
    """Retry-After in seconds (0..MAX_RETRY_AFTER); an HTTP date or anything unreadable: None."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def error_for_status(function: str, status: int, payload: Any,
                     retry_after: Optional[str] = None) -> Optional[WarehouseError]:
    """The error kind an HTTP status means, None for a success (2xx). `payload` is the answer's document
    (None when it was not JSON): its `errors` give the refusal's codes and text."""
    context = {"function": function, "http_status": status}
    if 200 <= status < 300:
        return None
    errors = read_errors(payload)
    said = f" ({join_messages(errors)})" if errors else ""
    if status == 429:
        return WarehouseTransientError(f"{function}: over the warehouse's rate (HTTP 429)",
                                       retry_after=read_retry_after(retry_after), **context)
    if status >= 500:
        return WarehouseTransientError(f"{function}: the warehouse answered HTTP {status}",
                                       retry_after=read_retry_after(retry_after), **context)
    if status in (401, 403):
        return WarehouseAuthError(f"{function}: the warehouse refused the API key (HTTP {status}){said}",
                                  code=errors[0].code if errors else None, **context)
    if status == 404:
        return WarehouseNotFound(f"{function}: no such shipment{said}", errors=errors, **context)
    if status == 409:
        return WarehouseConflict(f"{function}: the warehouse refused it in the shipment's state{said}",
                                 errors=errors, **context)
    if 400 <= status < 500:
        return WarehouseRequestRefused(f"{function}: the warehouse refused the request (HTTP {status}){said}",
                                       errors=errors, **context)
    return WarehouseProtocolError(f"{function}: unexpected HTTP {status}", **context)


def read_document(content: bytes) -> Any:
    """The answer's JSON document (UTF-8), None when it is not JSON (or nests beyond the parser's depth)."""
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def read_answer(function: str, status: int, content: bytes, ok: Sequence[int] = (200,),
                retry_after: Optional[str] = None, content_type: Optional[str] = None) -> Any:
    """The document of an answer whose status is one of `ok`; otherwise the error kind its status means
    is raised (an unexpected success, such as 204, is not the contract). An `ok` answer must be JSON."""
    payload = read_document(content)
    if status not in ok:
        raise error_for_status(function, status, payload, retry_after) or WarehouseProtocolError(
            f"{function}: unexpected HTTP {status}", function=function, http_status=status)
    if payload is None:
        raise WarehouseProtocolError(f"{function}: the answer is not JSON (HTTP {status}, "
                                     f"{content_type or 'no content type'})", function=function, http_status=status)
    return payload


# --------------------------------------------------------------------------------------------- shipments

def read_shipment(value: Any, function: str = "shipment") -> Shipment:
    """A Shipment object; strict on what identifies it (`id`, `client_reference`, `status`)."""
    if not isinstance(value, dict):
        raise WarehouseProtocolError(f"{function}: the shipment is not an object", function=function)
    shipment_id, reference = _ident(value.get("id")), _ident(value.get("client_reference"))
    status = _ident(value.get("status"))
    if shipment_id is None or reference is None or status is None:
        raise WarehouseProtocolError(f"{function}: a shipment without a usable id, client_reference or status",
                                     function=function)
    parcels = _parcels(value.get("parcels"))
    return Shipment(
        id=shipment_id, client_reference=reference, order_number=_text(value.get("order_number"), MAX_ID) or "",
        status=status, carrier=_carrier(value.get("carrier")), tracking_number=_ident(value.get("tracking_number")),
        shipped_on=_day(value.get("shipped_on")), reason=_text(value.get("reason")),
        parcels=parcels or (), created_at=read_time(value.get("created_at")))


def read_shipment_answer(payload: Any, function: str) -> Shipment:
    """`{"shipment": Shipment}`."""
    if not isinstance(payload, dict) or "shipment" not in payload:
        raise WarehouseProtocolError(f"{function}: the answer has no shipment", function=function)
    return read_shipment(payload["shipment"], function)


def read_created(status: int, payload: Any, client_reference: str, function: str = "create") -> CreateResult:
    """POST /v1/shipments answered 201 (made), 200 (the same client_reference again) or 422 (refused)."""
    if status == 422:
        return CreateResult(client_reference, created=False, errors=tuple(read_errors(payload)))
    shipment = read_shipment_answer(payload, function)
    _same_reference(shipment.client_reference, client_reference, function)
    return CreateResult(client_reference, created=status == 201, shipment=shipment)


def _same_reference(got: str, sent: str, function: str) -> None:
    if got != sent:
        raise WarehouseProtocolError(f"{function}: answered for {got!r}, sent {sent!r}", function=function)


def read_batch(payload: Any, sent: Sequence[str], function: str = "batch") -> list[CreateResult]:
    """`{"results": [...]}` of a batch: one per shipment sent, in the order sent, each 201, 200 or 422."""
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or len(results) != len(sent):
        raise WarehouseProtocolError(f"{function}: the answer has no result per shipment sent", function=function)
    read = []
    for entry, reference in zip(results, sent):
        if not isinstance(entry, dict):
            raise WarehouseProtocolError(f"{function}: a result that is not an object", function=function)
        _same_reference(entry.get("client_reference"), reference, function)
        status = entry.get("status")
        if isinstance(status, bool) or status not in (200, 201, 422):
            raise WarehouseProtocolError(f"{function}: a result with status {str(status)[:20]!r}", function=function)
        if status == 422 and not read_errors(entry):
            raise WarehouseProtocolError(f"{function}: a refused result without errors", function=function)
        read.append(read_created(status, entry, reference, function))
    return read


# --------------------------------------------------------------------------------------------- events

def _lines(value: Any, fields: Sequence[str], required: bool) -> Optional[tuple[ShortLine, ...]]:
    """Event lines with `fields` as counts; None when not the contract (absent: () unless `required`)."""
    if value is None:
        return None if required else ()
    if not isinstance(value, list) or (required and not value):
        return None
    lines = []
    for entry in value:
        if not isinstance(entry, dict) or _ident(entry.get("sku")) is None:
            return None
        counts = {name: _count(entry.get(name)) for name in fields}
        if any(count is None for count in counts.values()):
            return None
        lines.append(ShortLine(sku=entry["sku"], **counts))
    return tuple(lines)


def _problem_event(value: Any, problem: str) -> WarehouseEvent:
    """An event kept only to be recorded and skipped: what of it could be read, and why it cannot be applied."""
    data = value if isinstance(value, dict) else {}
    seq = _count(data.get("seq"), 1)
    return WarehouseEvent(id=_ident(data.get("id")) or "", shipment_id=_ident(data.get("shipment_id")) or "",
                          client_reference=_ident(data.get("client_reference")) or "", seq=seq or 0,
                          at=read_time(data.get("at")), type=_text(data.get("type"), MAX_ID) or "", problem=problem)


def _shipped_fields(value: dict) -> dict | str:
    carrier, number, day = _carrier(value.get("carrier")), _ident(value.get("tracking_number")), \
        _day(value.get("shipped_on"))
    parcels = _parcels(value.get("parcels"))
    if carrier is None or number is None or day is None or parcels is None:
        return "shipped without a carrier, tracking number, ship date (YYYY-MM-DD) or readable parcels"
    return {"carrier": carrier, "tracking_number": number, "shipped_on": day, "parcels": parcels}


def _refused_fields(value: dict) -> dict | str:
    lines = _lines(value.get("lines"), ("short",), required=False)
    return {"reason_code": _text(value.get("reason_code"), MAX_ID), "reason": _text(value.get("reason")),
            "lines": lines or ()}  # unreadable short lines: the refusal still holds, shown without them


def _reason_fields(value: dict) -> dict | str:
    return {"reason": _text(value.get("reason"))}


def _inspected_fields(value: dict) -> dict | str:
    lines = _lines(value.get("lines"), ("returned", "sellable"), required=True)
    if lines is None or any(line.sellable > line.returned for line in lines):
        return "return_inspected without lines of sku, returned and sellable (sellable ≤ returned)"
    return {"lines": lines}


TYPE_FIELDS: dict[str, Callable[[dict], dict | str]] = {
    "shipped": _shipped_fields, "refused": _refused_fields, "withdrawal_refused": _reason_fields,
    "cancellation_refused": _reason_fields, "return_inspected": _inspected_fields,
}


def read_event(value: Any) -> WarehouseEvent:
    """One event: applicable, of an unknown type (kept, skipped), or with `problem` (recorded, skipped)."""
    if not isinstance(value, dict):
        return _problem_event(value, "the event is not an object")
    event_id, shipment_id = _ident(value.get("id")), _ident(value.get("shipment_id"))
    reference, seq = _ident(value.get("client_reference")), _count(value.get("seq"), 1)
    kind = _ident(value.get("type"))
    if event_id is None or shipment_id is None or reference is None or seq is None or kind is None:
        return _problem_event(value, "an event without a usable id, shipment_id, client_reference, seq or type")
    fields: dict | str = TYPE_FIELDS[kind](value) if kind in TYPE_FIELDS else {}
    if isinstance(fields, str):
        return _problem_event(value, fields)
    return WarehouseEvent(id=event_id, shipment_id=shipment_id, client_reference=reference, seq=seq,
                          at=read_time(value.get("at")), type=kind, **fields)


def read_event_page(payload: Any, function: str = "events") -> EventPage:
    """`{"events": [...], "next_cursor": str}`: the page must be the contract; its events are read one by one."""
    if not isinstance(payload, dict):
        raise WarehouseProtocolError(f"{function}: the answer is not an object", function=function)
    events, cursor = payload.get("events"), payload.get("next_cursor")
    if not isinstance(events, list) or not isinstance(cursor, str) or len(cursor) > MAX_TEXT:
        raise WarehouseProtocolError(f"{function}: the answer has no events list and next_cursor", function=function)
    return EventPage(events=[read_event(event) for event in events], next_cursor=cursor)
