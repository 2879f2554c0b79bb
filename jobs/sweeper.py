"""`python -m jobs.sweeper PARENT_PID`: while the worker lives, enqueue the lanes' booked runs when due (every
0.1 s) and sweep the outbox every OUTBOX_SWEEP_SECONDS."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("jobs.sweeper")


def main(parent_pid: int) -> None:
    from boss import lanes, outbox
    from boss.extensions import db
    from boss.malls.rakuten.importer import start_due_imports

    from .tasks import app, load_handlers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s outbox-sweeper %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    application = app()
    load_handlers()
    interval = application.config["OUTBOX_SWEEP_SECONDS"]
    next_sweep = 0.0
    with application.app_context():  # one context, so one Redis connection for the 0.1 s ticks
        while not stop.is_set() and os.getppid() == parent_pid:  # a killed worker takes its sweeper along
            try:
                lanes.enqueue_due()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + interval
                    _sweep(outbox, start_due_imports)
            except (RedisError, SQLAlchemyError) as exc:
                log.warning("sweep failed, next try in %ss: %s", interval, exc)
            finally:
                db.session.remove()
            stop.wait(lanes.TICK_SECONDS)


def _sweep(outbox, start_due_imports) -> None:
    sent = outbox.sweep_if_due()
    if sent is not None:
        if sent:
            log.info("dispatched %d message(s)", sent)
        started = start_due_imports()
        if started:
            log.info("started %d overdue import(s)", started)


if __name__ == "__main__":
    main(int(sys.argv[1]))
