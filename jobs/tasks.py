"""RQ job functions: thin wrappers that open an app context and call a service."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

_app: Flask | None = None


def app() -> Flask:
    """One app per worker process, configured from the environment like the web process."""
    global _app
    if _app is None:
        from boss import create_app

        _app = create_app()
    return _app


def _load_handlers() -> None:
    from boss.orders import bulk  # noqa: F401  (registers bulk.run)


def run_outbox_message(message_id: int) -> None:
    from boss import outbox

    _load_handlers()
    with app().app_context():
        outbox.run_message(message_id)


def sweep_outbox() -> int:
    """Dispatch what is due, then schedule the next sweep (one chain, kept alive by its Redis key)."""
    from boss import outbox
    from boss.extensions import get_queue, get_redis

    with app().app_context():
        sent = outbox.sweep()
        interval = app().config["OUTBOX_SWEEP_SECONDS"]
        get_redis().set(outbox.SWEEPER_KEY, "1", ex=interval * 4)
        get_queue().enqueue_in(timedelta(seconds=interval), "jobs.tasks.sweep_outbox", result_ttl=60)
        return sent
