"""`python -m jobs.sweeper PARENT_PID`: while the worker lives, enqueue the lanes' booked runs when due (every
0.1 s), and every OUTBOX_SWEEP_SECONDS sweep the outbox and do the periodic duties declared in boss.effects."""
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
    from boss import effects, lanes, outbox
    from boss.extensions import db

    from .tasks import app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s outbox-sweeper %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    application = app()
    effects.load()
    interval = application.config["OUTBOX_SWEEP_SECONDS"]
    next_sweep = 0.0
    with application.app_context():
        while not stop.is_set() and os.getppid() == parent_pid:  # a killed worker takes its sweeper along
            try:
                lanes.enqueue_due()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + interval
                    _sweep(outbox, effects.periodic_duties())
            except (RedisError, SQLAlchemyError) as exc:
                log.warning("sweep failed, next try in %ss: %s", interval, exc)
            finally:
                db.session.remove()
            stop.wait(lanes.TICK_SECONDS)


def _sweep(outbox, duties) -> None:
    sent = outbox.sweep_if_due()
    if sent is not None:
        if sent:
            log.info("dispatched %d message(s)", sent)
        for duty in duties:
            started = duty.run()
            if started:
                log.info(duty.log_line, started)


if __name__ == "__main__":
    main(int(sys.argv[1]))
