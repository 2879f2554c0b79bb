"""The warehouse port: what the services call, whatever the warehouse (warehouse.md §2).

The services never talk to the RSL client directly. A later adapter for a provider that only offers status
snapshots (OpenLogi, LOGILESS) turns snapshot changes into the same `WarehouseEvent`s, so adding one changes
no service. The error kinds live here, not in the client, for the same reason: a job decides by
`WarehouseTransientError` or `WarehouseAuthError` whichever adapter raised it.

Error kinds (each the warehouse's case of one in boss/integrations/errors.py):
- `WarehouseTransientError` — timeout, connection error, 5xx, 429 (`retry_after` from Retry-After):
  try later; `WarehousePacingDelay` when our own pacer had no slot and nothing was sent.
- `WarehouseAuthError` — 401: the account's connection fails (「倉庫接続エラー」), not one request.
- `WarehouseRequestRefused` — 422 (or another 4xx): the request itself is refused; `errors`, `codes`.
  `WarehouseConflict` — 409 (E201: already shipped, a withdrawal is too late). `WarehouseNotFound` — 404.
- `WarehouseProtocolError` — the answer is not the contract (not JSON, wrong shape): final.
A 422 about one shipment of a create is not an exception: its `CreateResult` carries the errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional, Protocol, Sequence

from ..integrations.errors import (AuthError, IntegrationError, PacingDelay, ProtocolBroken, RequestRefused,
                                   TransientError)

BATCH_LIMIT = 100  # shipments per POST /v1/shipments:batch
EVENTS_LIMIT = 500  # events per GET /v1/events
EVENT_TYPES = ("started", "shipped", "refused", "withdrawn", "withdrawal_refused", "cancellation_acknowledged",
               "cancellation_refused", "return_inspected")
CARRIERS = ("yamato", "sagawa", "japanpost", "other")
SHIPMENT_STATUSES = ("received", "in_progress", "shipped", "refused", "withdrawn", "cancelled")


# --------------------------------------------------------------------------------------------- errors

@dataclass(frozen=True)
class WarehouseMessage:
    """One entry of the warehouse's `errors`: E101 unknown SKU, E102 not deliverable, E103 quantity, E100 missing."""

    code: str
    field: Optional[str]
    message: str


class WarehouseError(IntegrationError):
    pass


class WarehouseTransientError(WarehouseError, TransientError):
    pass


class WarehousePacingDelay(WarehouseTransientError, PacingDelay):
    pass


class WarehouseAuthError(WarehouseError, AuthError):
    pass


class WarehouseRequestRefused(WarehouseError, RequestRefused):
    def __init__(self, text: str, *, errors: Sequence[WarehouseMessage] = (), **context):
        super().__init__(text, **context)
        self.errors = list(errors)

    @property
    def codes(self) -> list[str]:
        return [error.code for error in self.errors]

    @property
    def message(self) -> str:
        """The warehouse's own words, as the order's history and tags show them."""
        return join_messages(self.errors) or str(self)


class WarehouseConflict(WarehouseRequestRefused):
    """409: the shipment's state refuses the request (E201: already shipped, too late to withdraw)."""


class WarehouseNotFound(WarehouseRequestRefused):
    """404 E404: no such shipment under this API key."""


class WarehouseProtocolError(WarehouseError, ProtocolBroken):
    pass


def join_messages(errors: Sequence[WarehouseMessage]) -> str:
    """「E101 商品コードが登録されていません（lines[0].sku）」, one per error, joined by ' / '."""
    return " / ".join(f"{e.code} {e.message}" + (f"（{e.field}）" if e.field else "") for e in errors)


# --------------------------------------------------------------------------------------------- requests

@dataclass(frozen=True)
class Sender:
    """依頼主: the shop's name and its `sender` settings ("" where not set)."""

    name: str
    postal_code: str = ""
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Recipient:
    name: str
    name_kana: str = ""
    phone: str = ""
    postal_code: str = ""
    address: str = ""


@dataclass(frozen=True)
class Pickup:
    """A parcel picked up at a store (api.md order `pickup`)."""

    kind: str  # convenience_store | post_office
    store_code: str = ""
    store_name: str = ""
    address: str = ""


@dataclass(frozen=True)
class RequestLine:
    sku: str
    quantity: int
    options: str = ""  # 項目選択肢 as text


@dataclass(frozen=True)
class ShipmentRequest:
    """One 出荷依頼. `client_reference` is BOSS's shipment id, the same for every retry of its send, so
    the warehouse never makes a second shipment of it."""

    client_reference: str
    order_number: str
    shop_code: str
    sender: Sender
    recipient: Recipient
    lines: tuple[RequestLine, ...]
    delivery_date: Optional[date] = None
    delivery_time_slot: Optional[str] = None
    remarks: str = ""
    cod_amount: Optional[int] = None  # the order's billed when paid 代金引換, else None
    pickup: Optional[Pickup] = None
    drop_off: Optional[str] = None

    def to_json(self) -> dict:
        return {
            "client_reference": self.client_reference, "order_number": self.order_number,
            "shop_code": self.shop_code,
            "sender": {"name": self.sender.name, "postal_code": self.sender.postal_code,
                       "address": self.sender.address, "phone": self.sender.phone},
            "recipient": {"name": self.recipient.name, "name_kana": self.recipient.name_kana,
                          "phone": self.recipient.phone, "postal_code": self.recipient.postal_code,
                          "address": self.recipient.address},
            "delivery_date": self.delivery_date.isoformat() if self.delivery_date else None,
            "delivery_time_slot": self.delivery_time_slot, "remarks": self.remarks or "",
            "cod_amount": self.cod_amount,
            "pickup": None if self.pickup is None else {
                "kind": self.pickup.kind, "store_code": self.pickup.store_code,
                "store_name": self.pickup.store_name, "address": self.pickup.address},
            "drop_off": self.drop_off,
            "lines": [{"sku": line.sku, "quantity": line.quantity, "options": line.options or ""}
                      for line in self.lines],
        }


# --------------------------------------------------------------------------------------------- answers

@dataclass(frozen=True)
class Parcel:
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class Shipment:
    """The warehouse's shipment. `status` is kept as sent (SHIPMENT_STATUSES are the known ones): the
    services act on events, never on a snapshot's status, so an unknown one harms nothing."""

    id: str
    client_reference: str
    order_number: str
    status: str
    carrier: Optional[str] = None
    tracking_number: Optional[str] = None
    shipped_on: Optional[date] = None
    reason: Optional[str] = None
    parcels: tuple[Parcel, ...] = ()
    created_at: Optional[datetime] = None


@dataclass(frozen=True)
class CreateResult:
    """One shipment request's outcome: created (201) or found again (200, `created` False), or refused (422)
    with the warehouse's errors and no shipment."""

    client_reference: str
    created: bool
    shipment: Optional[Shipment] = None
    errors: tuple[WarehouseMessage, ...] = ()

    @property
    def refused(self) -> bool:
        return self.shipment is None

    @property
    def message(self) -> str:
        return join_messages(self.errors)


@dataclass(frozen=True)
class ShortLine:
    """A line of a `refused` (R01: `short` units missing) or `return_inspected` (`returned`, `sellable`)."""

    sku: str
    short: Optional[int] = None
    returned: Optional[int] = None
    sellable: Optional[int] = None


@dataclass(frozen=True)
class WarehouseEvent:
    """One event of GET /v1/events.

    Lenient where harmless, so that one odd event never stops an account's sync for good (the cursor must
    move past it): an unknown `type` is kept as sent, and an event that cannot be applied — not an object,
    no usable `id`, `shipment_id`, `client_reference`, `seq` (1 …) or `type`, or a known type without its fields
    (`shipped` without carrier, tracking number or ship date; `return_inspected` without lines) — comes
    back with `problem` saying why. The sync records and skips both (`applicable` is False); it never
    guesses a missing field. `at` (naive UTC) is None when unreadable: the sync uses its own clock then.
    A page that is not the contract as a whole raises WarehouseProtocolError."""

    id: str
    shipment_id: str
    client_reference: str
    seq: int
    at: Optional[datetime]
    type: str
    carrier: Optional[str] = None
    tracking_number: Optional[str] = None
    shipped_on: Optional[date] = None
    parcels: tuple[Parcel, ...] = ()
    reason_code: Optional[str] = None
    reason: Optional[str] = None
    lines: tuple[ShortLine, ...] = ()
    problem: Optional[str] = None

    @property
    def known_type(self) -> bool:
        return self.type in EVENT_TYPES

    @property
    def applicable(self) -> bool:
        return self.problem is None and self.known_type


@dataclass(frozen=True)
class EventPage:
    events: list[WarehouseEvent] = field(default_factory=list)
    next_cursor: str = ""


class WarehousePort(Protocol):
    """What a warehouse does for BOSS. Every call may raise the error kinds above."""

    def create_shipments(self, requests: Sequence[ShipmentRequest]) -> list[CreateResult]:
        """One result per request, in order; sent in batches of at most BATCH_LIMIT."""

    def get_shipment(self, shipment_id: str) -> Shipment: ...

    def request_withdrawal(self, shipment_id: str) -> Shipment:
        """Accepted (or a repeat): the shipment; too late (E201) raises WarehouseConflict. The outcome
        comes later as an event."""

    def request_cancellation(self, shipment_id: str, retrieve_parcel: bool, reason: str) -> Optional[Shipment]:
        """Accepted (or a repeat); the outcome comes later as an event."""

    def events(self, after: Optional[str], limit: int = EVENTS_LIMIT) -> EventPage:
        """Events after the cursor (None: from the beginning), oldest first; at least once."""
