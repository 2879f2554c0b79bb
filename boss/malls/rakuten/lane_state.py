"""What a reflection to RMS keeps in its outbox message, and how a try of it ends, for both kinds that share the
shop's RMS lane: a cancel (reflection.py, R9) and a 注文確認 (confirmation.py).

The state of a reflection is its message's payload — `phase` and `tries` — and `run_after`, a scheduled
retry's time. Both kinds decide from RMS's answer with a pure function that returns a Verdict, try again on a
transient failure the same way (5 tries in all, waiting RMS_RETRY_BACKOFF seconds between them, scheduled,
never slept), and record the retry in the order's history the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from flask import current_app

from ...integrations.retry import parse_backoff, wait_before_next_try
from ...lanes import close, epoch, set_values  # noqa: F401  (the lane's message helpers, as this module's)
from ...models import OutboxMessage, utcnow
from ...orders import frame, history
from ...orders.actor import Actor
from ...orders.models import Order

TRIES = 5
ACTOR_NAME = history.REFLECTION_ACTOR.ja


@dataclass(frozen=True)
class Verdict:
    """What one pending reflection does once RMS has answered: `done`; `fail` finally or `retry` later, with
    `text` for the history; or `send` the request of `phase`. A 注文確認 also ends as `processing` (done, and
    RMS shows 楽天処理中) or `mall_cancelled` (RMS has the order cancelled)."""

    action: str
    text: str = ""
    phase: str = ""


def backoff() -> list[int]:
    return parse_backoff(current_app.config["RMS_RETRY_BACKOFF"])


def actor(order: Order) -> Actor:
    return Actor.job(order.account_id, ACTOR_NAME)


def fail_finally(message: OutboxMessage, order: Order, text: str, kind: str) -> None:
    """A reflection's final failure (cancel or confirm; `kind` its history event): 「モール反映エラー」 with RMS's
    message in the history, and 「再反映」 (reflection.retry)."""
    by = actor(order)
    order.reflection_state = "failed"
    order.reflection_message = text
    frame.record_event(order, by, kind, text)
    frame.raise_system_tag(order, "mall_reflection_error", by, text)
    close(message)


def retry_later(message: OutboxMessage, order: Order, error, fail: Callable[[OutboxMessage, Order, str], None],
                phase: str) -> None:
    """A transient failure: the next try in `phase` after the backoff's wait, or `fail` once the tries are used up."""
    tries = int(message.payload.get("tries", 0)) + 1
    wait = wait_before_next_try(tries, TRIES, backoff())
    if wait is None:
        fail(message, order, history.RMS_SILENT(tries=TRIES, error=error))
        return
    frame.record_event(order, actor(order), "reflection_retry", history.REFLECTION_RETRY(n=tries, tries=TRIES, error=error))
    set_values(message, phase=phase, tries=tries)
    message.run_after = utcnow() + timedelta(seconds=wait)

