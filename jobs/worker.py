"""The worker: an rq Worker with the outbox sweeper running beside it in a child process (it also enqueues
the lanes' booked runs when due, see boss.lanes).

The sweeper does not depend on RQ's scheduler, whose lock a killed worker holds for a minute: every
worker runs one, each sweeps every OUTBOX_SWEEP_SECONDS, and a Redis lock lets one of them do it per
interval. It is a process, not a thread, because rq forks a work horse per job and a fork taken while
a thread holds a lock (an import, a connection pool) deadlocks the horse.

Steps of the lanes declared to run in process (one RMS request and a little bookkeeping, many per second)
run in the worker itself, as rq's SimpleWorker runs jobs: a fork per step would cost more than the step, and
the worker's SQLAlchemy caches stay warm. Every other job gets a work horse of its own, as usual.
"""
from __future__ import annotations

import os
import subprocess
import sys

from rq import SimpleWorker, Worker
from sqlalchemy.orm import configure_mappers


class BossWorker(Worker):
    def work(self, *args, **kwargs):
        from boss import effects

        from .tasks import app

        app()  # built once here and inherited by every forked work horse
        effects.load()  # the declaring modules, imported once here too
        configure_mappers()  # once here, not in every work horse
        sweeper = subprocess.Popen([sys.executable, "-m", "jobs.sweeper", str(os.getpid())])
        try:
            return super().work(*args, **kwargs)
        finally:
            sweeper.terminate()
            sweeper.wait(timeout=10)

    def execute_job(self, job, queue):
        from boss import lanes

        if lanes.in_process(job):
            return SimpleWorker.execute_job(self, job, queue)
        return super().execute_job(job, queue)
