"""When to try a failed call again: pure, for every integration's jobs (tests/unit/test_retry_schedule.py)."""
from __future__ import annotations

from typing import Optional, Sequence


def parse_backoff(text: str) -> list[int]:
    """The waits of a setting such as `10,30,90,270` (seconds)."""
    return [int(part) for part in text.split(",") if part.strip()]


def wait_before_next_try(failed_tries: int, tries: int, backoff: Sequence[int]) -> Optional[int]:
    """Seconds to wait before the next try after `failed_tries` transient failures, or None when the `tries`
    allowed are used up (the failure is final). The n-th wait is backoff[n-1]; past the list, its last."""
    if failed_tries >= tries:
        return None
    return backoff[min(failed_tries - 1, len(backoff) - 1)]
