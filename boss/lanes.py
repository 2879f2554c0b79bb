"""Lanes: one serial runner per key — e.g. one per shop for its RMS requests, which RMS takes one per second.
A kind of lane is declared by its integration (boss.effects.declare_lane): its step, and how long a step
may take at most, which sizes the lane's lock.

A lane run is an RQ job that takes the lane's lock, does one step and books its successor for the time
the step names (the shop's next request slot, or a scheduled retry): work waits in Redis, never in a
sleeping worker. Booked runs wait in a sorted set of their own, which every worker's sweeper process
polls every TICK_SECONDS and enqueues when due — RQ's scheduler counts in whole seconds, too coarse for
a lane that may send a request every 1.05 s. The booking (`<lane>:next`, holding the time and the token of the one
scheduled run) makes wake-ups cheap to repeat: a wake-up finds a run already booked no later and does
nothing, so however many arrive, one run at a time is scheduled. A run that finds the lock taken books a
retry instead of vanishing, so a wake-up that arrives while a step runs is never lost.

`marker` names the lane for the outbox: `alive(redis, marker)` says whether a run is booked or under
way, which is what the sweeper asks before it hands a lane's messages to it again.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Callable, Iterable, Optional

from flask import current_app

from . import effects
from .effects import LaneKind
from .extensions import get_queue, get_redis

log = logging.getLogger(__name__)

PREFIX = "boss:lane:"
JOB = "jobs.tasks.run_lane"
DUE = "boss:lanes:due"  # booked runs: member = JSON [job, args, token, job timeout], score = when (epoch seconds)
TICK_SECONDS = 0.1
GRACE_SECONDS = 60      # a booking outlives its time by this much, in case its job is slow to start
LOCKED_RETRY_SECONDS = 1.0
LOCK_MARGIN_SECONDS = 15  # a step's bookkeeping around its longest request

_BOOK = """
local current = redis.call('GET', KEYS[1])
if current then
  local at = tonumber(string.match(current, '^[^|]+'))
  if at <= tonumber(ARGV[1]) + 0.01 then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
"""
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, -string.len(ARGV[1]) - 1) == '|' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


class Lane:
    def __init__(self, kind: LaneKind, key):
        self.kind, self.key = kind, key
        self.marker = f"{PREFIX}{kind.name}:{key}"
        self.redis = get_redis()

    def wake(self, at: Optional[float] = None) -> bool:
        """Book a run for `at` (epoch seconds; now when None) unless one is booked no later; True if booked."""
        now = time.time()
        at = max(at or now, now)
        token = uuid.uuid4().hex
        ttl_ms = int((at - now + GRACE_SECONDS) * 1000)
        if not self.redis.eval(_BOOK, 1, self.marker + ":next", f"{at:.3f}", token, ttl_ms):
            return False
        args, job_timeout = [self.kind.name, self.key], self.lock_seconds() * 2
        if at - now < TICK_SECONDS:
            _enqueue(get_queue(), JOB, args, token, job_timeout)
        else:
            self.redis.zadd(DUE, {json.dumps([JOB, args, token, job_timeout]): at})
        return True

    def claim(self, token: str) -> None:
        """The run booked with `token` has started: the booking is used up (a newer one stays)."""
        self.redis.eval(_CLAIM, 1, self.marker + ":next", token)

    def lock(self, token: str) -> bool:
        return bool(self.redis.set(self.marker + ":lock", token, nx=True, ex=self.lock_seconds()))

    def unlock(self, token: str) -> None:
        self.redis.eval(_UNLOCK, 1, self.marker + ":lock", token)

    def lock_seconds(self) -> int:
        """Longer than any one step of the lane's kind; a killed run's lock expires then."""
        return int(current_app.config[self.kind.step_timeout_setting]) + LOCK_MARGIN_SECONDS

    def run(self, token: str, step) -> None:
        """Carry out one step, then book the next run for the time it returns (None: the lane is idle)."""
        self.claim(token)
        if not self.lock(token):
            self.wake(time.time() + LOCKED_RETRY_SECONDS)
            return
        try:
            next_at = step()
        finally:
            self.unlock(token)
        if next_at is not None:
            self.wake(next_at)


def run(name: str, key, token: str) -> None:
    """The lane job (JOB): one step of the lane `key` of the kind declared as `name`."""
    kind = effects.lane(name)
    Lane(kind, key).run(token, lambda: kind.step(key))


def in_process(job) -> bool:
    """An RQ job the worker runs itself, without forking (see jobs/worker.py): a step of a lane declared so."""
    return job.func_name == JOB and effects.lane(job.args[0]).in_process


_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


def enqueue_due() -> int:
    """Enqueue the booked runs whose time has come (each taken by one sweeper only); returns how many."""
    due = get_redis().eval(_POP_DUE, 1, DUE, f"{time.time():.3f}")
    queue = get_queue()
    enqueued = 0
    for member in due:
        booking = json.loads(member)
        if len(booking) != 4:  # booked by the release before this one: its messages go again after their timeout
            log.warning("lanes: a booked run of an older release is dropped: %s", member)
            continue
        job, args, token, job_timeout = booking
        _enqueue(queue, job, args, token, job_timeout)
        enqueued += 1
    return enqueued


def _enqueue(queue, job: str, args: list, token: str, job_timeout: int) -> None:
    queue.enqueue(job, *args, token, job_id=f"lane-{token}", result_ttl=60, failure_ttl=86400,
                  job_timeout=job_timeout)


def alive(redis, marker: str) -> bool:
    """A run of the lane is booked or under way."""
    return bool(redis.exists(marker + ":next", marker + ":lock"))


# ---------------------------------------------------------------- messages carried by a lane

def hand_over(messages: Iterable, lane_of: Callable[[object], "Lane"]) -> None:
    """A lane kind's dispatcher: mark each outbox message with its lane (what the sweeper checks) and wake each
    lane once."""
    woken = {}
    for message in messages:
        lane = lane_of(message)
        message.rq_job_id = lane.marker
        woken.setdefault(lane.marker, lane)
    for lane in woken.values():
        lane.wake()


def set_values(message, **values) -> None:
    """Change a lane message's payload (its state: phase, tries…), so that the JSON column sees the change."""
    from sqlalchemy.orm.attributes import flag_modified

    message.payload = {**message.payload, **values}
    flag_modified(message, "payload")


def close(message) -> None:
    from .models import utcnow

    message.state = "done"
    message.done_at = utcnow()


def epoch(moment: datetime) -> float:
    """A naive UTC time (a message's run_after) as the epoch seconds a lane books its next run for."""
    return moment.replace(tzinfo=timezone.utc).timestamp()
