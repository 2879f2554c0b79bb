"""A send to the warehouse that failed transiently (429, 5xx, a timeout): tried again after WAREHOUSE_RETRY_BACKOFF,
5 tries in all, rescheduled (the message's run_after), never slept; each failed try writes the order's history with
when the next one runs, and the fifth fails it finally (warehouse.md §4). Shared by the send and notice lanes."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from flask import current_app

from ..integrations.retry import parse_backoff, wait_before_next_try
from ..lanes import set_values
from ..models import OutboxMessage, utcnow
from ..orders import frame, history
from ..orders.actor import Actor
from ..orders.models import Shipment
from ..timefmt import display_jst

TRIES = 5


def retry_or_fail(message: OutboxMessage, shipment: Shipment, error: Exception, *, kind: str,
                  retry_text: history.Text, failed_text: history.Text,
                  fail: Callable[[OutboxMessage, Shipment, str], None]) -> None:
    """The next try after the backoff's wait (history `kind` with `retry_text`), or `fail` with `failed_text`
    once the tries are used up (no commit)."""
    tries = int(message.payload.get("tries", 0)) + 1
    wait = wait_before_next_try(tries, TRIES, parse_backoff(current_app.config["WAREHOUSE_RETRY_BACKOFF"]))
    if wait is None:
        fail(message, shipment, failed_text(tries=TRIES, error=error))
        return
    message.run_after = utcnow() + timedelta(seconds=wait)
    set_values(message, phase="pending", tries=tries)
    order = shipment.order
    frame.touch(order)
    frame.record_event(order, Actor.job(order.account_id, history.WAREHOUSE_SEND_ACTOR.ja), kind, retry_text(
        at=display_jst(message.run_after), n=tries, tries=TRIES, error=error), order.status, order.status)
