"""Requests to an external system spaced across every worker process: one slot per interval per key."""
from __future__ import annotations

import time
from typing import Optional, Protocol

from .errors import PacingDelay


class Pacer(Protocol):
    def try_acquire(self) -> float: ...

    def acquire_blocking(self, timeout: Optional[float] = None) -> float: ...


class RedisPacer:
    """One request slot per `interval_seconds` for everyone sharing `key` (all workers of one shop).

    The slot is taken atomically in Redis with Redis's own clock, so processes on different machines
    agree. `try_acquire` never waits: jobs reschedule; `acquire_blocking` waits, for the import.
    """

    SCRIPT = """
    local now = redis.call('TIME')
    local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
    local free_at = tonumber(redis.call('GET', KEYS[1]) or '0')
    if micros >= free_at then
      local interval = tonumber(ARGV[1])
      redis.call('SET', KEYS[1], string.format('%.0f', micros + interval), 'PX', math.ceil(interval / 1000) + 1000)
      return 0
    end
    return free_at - micros
    """

    def __init__(self, redis, key: str, interval_seconds: float, step_seconds: float = 0.1):
        self.key = key
        self.interval_seconds = interval_seconds
        self.step_seconds = step_seconds
        self._script = redis.register_script(self.SCRIPT)

    def try_acquire(self) -> float:
        """0.0 when the slot was free and is now taken; otherwise the seconds until it frees (nothing taken)."""
        micros = int(self._script(keys=[self.key], args=[int(self.interval_seconds * 1_000_000)]))
        return micros / 1_000_000

    def acquire_blocking(self, timeout: Optional[float] = None) -> float:
        """Wait (in steps of at most `step_seconds`) until a slot is taken; returns the seconds waited.
        TimeoutError when the slot cannot be had within `timeout`."""
        started = time.monotonic()
        while True:
            wait = self.try_acquire()
            if wait == 0:
                return time.monotonic() - started
            if timeout is not None and time.monotonic() - started + wait > timeout:
                raise TimeoutError(f"no request slot within {timeout}s")
            time.sleep(min(wait, self.step_seconds))


def take_slot(pacer: Optional[Pacer], max_wait: Optional[float], function: str,
              delay: type[PacingDelay] = PacingDelay) -> None:
    """Take the next request slot before calling `function`, waiting at most `max_wait` seconds (None: as long
    as it takes; 0: never). Beyond it `delay` (a PacingDelay) is raised, with when to try again."""
    if pacer is None:
        return
    wait = pacer.try_acquire()
    if wait == 0:
        return
    if max_wait is not None and wait > max_wait:
        raise delay(f"{function}: next request slot in {wait:.2f}s", retry_after=wait, function=function)
    try:
        pacer.acquire_blocking(timeout=max_wait)
    except TimeoutError as exc:
        raise delay(f"{function}: {exc}", retry_after=max_wait, function=function) from exc
