"""`python -m jobs.sweeper PARENT_PID`: sweep the outbox every OUTBOX_SWEEP_SECONDS while the worker lives."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("jobs.sweeper")


def main(parent_pid: int) -> None:
    from boss import outbox
    from boss.malls.importer import start_due_imports

    from .tasks import app, load_handlers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s outbox-sweeper %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    application = app()
    load_handlers()
    interval = application.config["OUTBOX_SWEEP_SECONDS"]
    while not stop.is_set() and os.getppid() == parent_pid:  # a killed worker takes its sweeper along
        with application.app_context():
            try:
                sent = outbox.sweep_if_due()
                if sent is not None:
                    if sent:
                        log.info("dispatched %d message(s)", sent)
                    started = start_due_imports()
                    if started:
                        log.info("started %d overdue import(s)", started)
            except (RedisError, SQLAlchemyError) as exc:
                log.warning("sweep failed, next try in %ss: %s", interval, exc)
        stop.wait(interval)


if __name__ == "__main__":
    main(int(sys.argv[1]))
