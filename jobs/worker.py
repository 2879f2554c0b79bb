"""The worker: an rq Worker with the outbox sweeper running beside it in a child process.

The sweeper does not depend on RQ's scheduler, whose lock a killed worker holds for a minute: every
worker runs one, each sweeps every OUTBOX_SWEEP_SECONDS, and a Redis lock lets one of them do it per
interval. It is a process, not a thread, because rq forks a work horse per job and a fork taken while
a thread holds a lock (an import, a connection pool) deadlocks the horse.
"""
from __future__ import annotations

import os
import subprocess
import sys

from rq import Worker


class BossWorker(Worker):
    def work(self, *args, **kwargs):
        from .tasks import app, load_handlers

        app()  # built once here and inherited by every forked work horse (it holds no connection yet)
        load_handlers()
        sweeper = subprocess.Popen([sys.executable, "-m", "jobs.sweeper", str(os.getpid())])
        try:
            return super().work(*args, **kwargs)
        finally:
            sweeper.terminate()
            sweeper.wait(timeout=10)
