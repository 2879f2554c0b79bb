"""The RSL client: the port (warehouse.md §2) over HTTP, paced across worker processes.

`{base_url}/v1/...`, JSON in UTF-8, `Authorization: Bearer <api_key>`. The answers are read by the pure
functions of answers.py; the error kinds are the port's (port.py), re-exported here for callers that speak
to this client only.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Optional, Sequence

import requests

from ..integrations.pacing import Pacer, RedisPacer, take_slot
from . import answers
from .port import (BATCH_LIMIT, EVENTS_LIMIT, CreateResult, EventPage, Shipment, ShipmentRequest, WarehouseAuthError,
                   WarehouseConflict, WarehouseError, WarehouseNotFound, WarehousePacingDelay, WarehouseProtocolError,
                   WarehouseRequestRefused, WarehouseTransientError)

__all__ = ["RslClient", "pacer_for", "WarehouseError", "WarehouseTransientError", "WarehousePacingDelay",
           "WarehouseAuthError", "WarehouseRequestRefused", "WarehouseConflict", "WarehouseNotFound",
           "WarehouseProtocolError"]

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # a page of 500 events is well under 1 MB


def pace_key(api_key: str) -> str:
    """The pacer's Redis key: the warehouse's rate is per API key, and the key itself never goes to Redis."""
    return "warehouse-pace:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:32]


def pacer_for(redis, api_key: str, interval_seconds: float) -> RedisPacer:
    """One slot per `interval_seconds` for every process using this API key (5 requests/s: 0.2 s)."""
    return RedisPacer(redis, pace_key(api_key), interval_seconds)


class RslClient:
    """The port over one requests.Session. `pacer` (shared per API key) spaces the requests; `max_pace_wait`
    is how long one request may wait for its slot (None: as long as it takes; 0: never, for jobs that
    reschedule) — beyond it WarehousePacingDelay is raised and nothing is sent."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 30.0, pacer: Optional[Pacer] = None,
                 max_pace_wait: Optional[float] = None, session: Optional[requests.Session] = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.pacer = pacer
        self.max_pace_wait = max_pace_wait
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {api_key}",
                                     "Content-Type": "application/json; charset=utf-8",
                                     "Accept": "application/json"})

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "RslClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- the port

    def create_shipments(self, requests_: Sequence[ShipmentRequest]) -> list[CreateResult]:
        """One request: POST /v1/shipments; more: POST /v1/shipments:batch per BATCH_LIMIT. A failure of a
        later batch raises and loses the earlier batches' results (they are safe to send again: the
        warehouse answers 200 with the same shipment), so the send job gives at most BATCH_LIMIT."""
        requests_ = list(requests_)
        if len(requests_) == 1:
            only = requests_[0]
            status, payload = self._call("create", "POST", "/v1/shipments", only.to_json(), ok=(200, 201, 422))
            if status == 422 and not answers.read_errors(payload):
                raise WarehouseProtocolError("create: a refusal without errors", function="create", http_status=422)
            return [answers.read_created(status, payload, only.client_reference)]
        results: list[CreateResult] = []
        for index in range(0, len(requests_), BATCH_LIMIT):
            batch = requests_[index:index + BATCH_LIMIT]
            _, payload = self._call("batch", "POST", "/v1/shipments:batch",
                                    {"shipments": [request.to_json() for request in batch]}, ok=(200,))
            results.extend(answers.read_batch(payload, [request.client_reference for request in batch]))
        return results

    def get_shipment(self, shipment_id: str) -> Shipment:
        _, payload = self._call("get", "GET", f"/v1/shipments/{_segment(shipment_id)}", ok=(200,))
        return answers.read_shipment_answer(payload, "get")

    def request_withdrawal(self, shipment_id: str) -> Shipment:
        _, payload = self._call("withdrawal", "POST", f"/v1/shipments/{_segment(shipment_id)}/withdrawal", {},
                                ok=(200, 202))
        return answers.read_shipment_answer(payload, "withdrawal")

    def request_cancellation(self, shipment_id: str, retrieve_parcel: bool, reason: str) -> Optional[Shipment]:
        _, payload = self._call("cancellation", "POST", f"/v1/shipments/{_segment(shipment_id)}/cancellation",
                                {"retrieve_parcel": bool(retrieve_parcel), "reason": reason or ""}, ok=(200, 202))
        if isinstance(payload, dict) and payload.get("shipment") is not None:
            return answers.read_shipment_answer(payload, "cancellation")
        return None

    def events(self, after: Optional[str], limit: int = EVENTS_LIMIT) -> EventPage:
        if not 1 <= limit <= EVENTS_LIMIT:
            raise ValueError(f"limit is 1..{EVENTS_LIMIT}")
        params = {"limit": str(limit)}
        if after is not None:
            params["after"] = after
        _, payload = self._call("events", "GET", "/v1/events", params=params, ok=(200,))
        return answers.read_event_page(payload)

    # -- transport

    def _call(self, function: str, method: str, path: str, body: Optional[dict] = None,
              params: Optional[dict] = None, ok: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        """One paced request; returns (status, document) for a status in `ok`, raises the error kind otherwise."""
        take_slot(self.pacer, self.max_pace_wait, function, WarehousePacingDelay)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        try:
            response = self.session.request(method, self.base_url + path, data=data, params=params,
                                            timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise WarehouseTransientError(f"{function}: no answer within {self.timeout}s",
                                          function=function) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise WarehouseTransientError(f"{function}: connection failed ({exc.__class__.__name__})",
                                          function=function) from exc
        except requests.RequestException as exc:  # an invalid URL, a bad header: not the contract, never transient
            raise WarehouseProtocolError(f"{function}: the request failed ({exc.__class__.__name__})",
                                         function=function) from exc
        if len(response.content) > MAX_ANSWER_BYTES:
            raise WarehouseProtocolError(f"{function}: an answer over {MAX_ANSWER_BYTES} bytes", function=function,
                                         http_status=response.status_code)
        payload = answers.read_answer(function, response.status_code, response.content, ok,
                                      response.headers.get("Retry-After"), response.headers.get("Content-Type"))
        return response.status_code, payload


def _segment(shipment_id: str) -> str:
    """A shipment id as one path segment: an id with a slash or a dot-segment never reaches another path."""
    return requests.utils.quote(shipment_id, safe="")
