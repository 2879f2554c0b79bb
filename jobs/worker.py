"""The worker class: an rq Worker that makes sure the outbox sweeper is scheduled when it starts."""
from __future__ import annotations

from rq import Worker


class BossWorker(Worker):
    def work(self, *args, **kwargs):
        from boss import outbox

        from .tasks import app

        with app().app_context():
            outbox.ensure_sweeper()
        return super().work(*args, **kwargs)
