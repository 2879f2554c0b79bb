"""Processes of the tests' workers: their children (rq's work horse, the sweeper), and a crash."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.conftest import wait_for


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (rq's work horse, the sweeper), from /proc/*/stat."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill_crashed(pids: set[int]) -> None:
    """SIGKILL each worker's process group (the worker, its sweeper) and its work horse, which rq puts in a process
    group of its own (os.setpgrp), as a crash of the machine would."""
    horses = [child for pid in pids for child in children(pid)]
    for pid in pids:
        os.killpg(pid, signal.SIGKILL)
    for horse in horses:
        try:
            os.killpg(horse, signal.SIGKILL)
        except ProcessLookupError:  # the work horse had ended
            pass
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() and state(pid) != "Z" for pid in [*pids, *horses]),
             timeout=10, message="the killed processes to be gone")


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
