"""Lanes (boss.lanes) on real Redis and RQ's real queue: one run booked at a time, never started before its
time, no wake-up lost while a step runs, and what the outbox sweeper sees of them."""
from __future__ import annotations

import time

from rq import Queue

from boss import lanes
from boss.extensions import get_redis
from tests.conftest import wait_for


def _lane():
    return lanes.Lane("test-shop:1", "jobs.tasks.run_reflection_lane", 1)


def _queued_and_scheduled(app) -> tuple[int, int]:
    """Runs in RQ's queue, and runs booked for later."""
    return Queue(app.config["BOSS_QUEUE"], connection=get_redis()).count, get_redis().zcard(lanes.DUE)


def test_repeated_wake_ups_book_one_run(ctx, app):
    lane = _lane()
    assert lane.wake() is True
    assert lane.wake() is False and lane.wake(time.time() + 5) is False
    assert _queued_and_scheduled(app) == (1, 0)


def test_a_wake_up_earlier_than_the_booked_run_books_an_earlier_one(ctx, app):
    lane = _lane()
    assert lane.wake(time.time() + 30) is True
    assert _queued_and_scheduled(app) == (0, 1)
    assert lane.wake() is True
    assert _queued_and_scheduled(app) == (1, 1)


def test_a_booked_run_is_enqueued_when_its_time_comes_and_not_before(ctx, app):
    lane = _lane()
    at = time.time() + 0.6
    lane.wake(at)
    assert lanes.enqueue_due() == 0 and _queued_and_scheduled(app) == (0, 1)
    wait_for(lambda: time.time() >= at, timeout=5)
    assert lanes.enqueue_due() == 1 and _queued_and_scheduled(app) == (1, 0)
    assert lanes.enqueue_due() == 0  # taken once


def test_a_run_that_finds_the_lane_busy_books_a_retry_instead_of_vanishing(ctx, app):
    lane = _lane()
    assert lane.lock("the-running-step")
    steps = []
    lane.run("a-woken-run", lambda: steps.append("ran"))
    assert steps == []
    assert get_redis().get(lane.marker + ":next") is not None  # the retry is booked
    assert _queued_and_scheduled(app) == (0, 1)


def test_a_run_claims_its_booking_and_books_the_time_its_step_names(ctx, app):
    lane = _lane()
    lane.wake()
    [job] = Queue(app.config["BOSS_QUEUE"], connection=get_redis()).jobs
    token = job.args[-1]
    lane.run(token, lambda: None)  # nothing left: the lane goes idle
    assert not lanes.alive(get_redis(), lane.marker)
    lane.wake()
    [_, job] = Queue(app.config["BOSS_QUEUE"], connection=get_redis()).jobs
    lane.run(job.args[-1], lambda: time.time() + 10)
    assert lanes.alive(get_redis(), lane.marker)
    assert _queued_and_scheduled(app) == (2, 1)


def test_a_lane_is_alive_while_a_step_runs_and_not_once_a_killed_steps_lock_is_gone(ctx, app):
    lane = _lane()
    redis = get_redis()
    assert not lanes.alive(redis, lane.marker)
    lane.lock("step")
    assert lanes.alive(redis, lane.marker)
    redis.delete(lane.marker + ":lock")  # what the lock's expiry does after a worker was killed mid-step
    assert not lanes.alive(redis, lane.marker)
