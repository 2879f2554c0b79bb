"""When an integration's job tries a failed call again (boss/integrations/retry.py), one row a case."""
from __future__ import annotations

import pytest

from boss.integrations.retry import parse_backoff, wait_before_next_try

BACKOFF = [10, 30, 90, 270]


@pytest.mark.parametrize("failed_tries, tries, backoff, wait", [
    (1, 5, BACKOFF, 10),
    (2, 5, BACKOFF, 30),
    (4, 5, BACKOFF, 270),
    (5, 5, BACKOFF, None),  # the fifth failure is final
    (6, 5, BACKOFF, None),
    (3, 9, [5, 60], 60),  # past the list: its last wait
    (1, 1, BACKOFF, None),
])
def test_the_next_try_waits_the_backoff_of_its_rank_until_the_tries_are_used_up(failed_tries, tries, backoff, wait):
    assert wait_before_next_try(failed_tries, tries, backoff) == wait


@pytest.mark.parametrize("text, backoff", [("10,30,90,270", BACKOFF), (" 5 , 60 ,", [5, 60]), ("", [])])
def test_a_backoff_setting_lists_seconds(text, backoff):
    assert parse_backoff(text) == backoff
