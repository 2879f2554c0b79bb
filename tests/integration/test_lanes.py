"""Lanes (boss.lanes) on real Redis and RQ's real queue: one run booked at a time, never started before its
time, no wake-up lost while a step runs, and what the outbox sweeper sees of them."""
from __future__ import annotations

import time

from rq import Queue

from boss import lanes
from boss.effects import LaneKind
from boss.extensions import get_redis
from tests.conftest import wait_for

TEST_LANES = LaneKind("test-shop", step=lambda key: None, step_timeout_setting="RMS_TIMEOUT")


def _lane():
    return lanes.Lane(TEST_LANES, 1)


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


def test_a_run_booked_by_the_release_before_is_dropped_and_the_others_still_go(ctx, app):
    """A deploy meets runs booked in the old shape ([job, args, token]): the sweeper drops them (their lanes'
    messages are dispatched again after their timeout) and enqueues the rest, instead of stopping on them."""
    at = time.time() + 0.3
    get_redis().zadd(lanes.DUE, {'["jobs.tasks.run_reflection_lane", [1], "old-token"]': at})
    _lane().wake(at)
    wait_for(lambda: time.time() >= at, timeout=5)
    assert lanes.enqueue_due() == 1
    assert _queued_and_scheduled(app) == (1, 0)


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


def test_a_lanes_lock_and_its_jobs_are_sized_by_the_longest_step_its_kind_declares(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_TIMEOUT", 10)
    monkeypatch.setitem(app.config, "SLOW_STEP_SECONDS", 100)
    quick, slow = lanes.Lane(TEST_LANES, 1), lanes.Lane(LaneKind("slow", lambda key: None, "SLOW_STEP_SECONDS"), 1)
    assert (quick.lock_seconds(), slow.lock_seconds()) == (10 + lanes.LOCK_MARGIN_SECONDS, 100 + lanes.LOCK_MARGIN_SECONDS)
    slow.lock("step")
    assert 100 < get_redis().ttl(slow.marker + ":lock") <= slow.lock_seconds()
    slow.wake()
    [job] = Queue(app.config["BOSS_QUEUE"], connection=get_redis()).jobs
    assert job.timeout == 2 * slow.lock_seconds() and list(job.args[:2]) == ["slow", 1]
