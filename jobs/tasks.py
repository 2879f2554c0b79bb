"""RQ job functions: thin wrappers that open an app context and call a service."""
from __future__ import annotations

import importlib
import os

from flask import Flask

from boss import create_app
from boss.extensions import db

_app: Flask | None = None


def app() -> Flask:
    """One app per worker process, configured from the environment like the web process. A forked work
    horse must not use the connections its parent's pool holds (jobs/worker.py runs some jobs in the
    worker itself): it drops them, unclosed, and opens its own."""
    global _app
    if _app is None:
        _app = create_app()
        with _app.app_context():
            engines = list(db.engines.values())
        os.register_at_fork(after_in_child=lambda: [engine.dispose(close=False) for engine in engines])
    return _app


def run_outbox_message(message_id: int) -> None:
    from boss import outbox

    with app().app_context():
        outbox.run_message(message_id)


def run_lane(name: str, key, token: str) -> None:
    """One step of a lane (boss.lanes) of the kind its integration declared as `name`."""
    from boss import lanes

    with app().app_context():
        lanes.run(name, key, token)


def call(function: str, *args) -> None:
    """A service function named by its dotted path (e.g. a scheduled import, enqueued by its integration), in
    the app's context."""
    module, _, name = function.rpartition(".")
    with app().app_context():
        getattr(importlib.import_module(module), name)(*args)
