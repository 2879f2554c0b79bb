"""RQ job functions: thin wrappers that open an app context and call a service."""
from __future__ import annotations

from flask import Flask

_app: Flask | None = None


def app() -> Flask:
    """One app per worker process, configured from the environment like the web process."""
    global _app
    if _app is None:
        from boss import create_app

        _app = create_app()
    return _app


def load_handlers() -> None:
    from boss.orders import bulk  # noqa: F401  (registers bulk.run)


def run_outbox_message(message_id: int) -> None:
    from boss import outbox

    load_handlers()
    with app().app_context():
        outbox.run_message(message_id)
