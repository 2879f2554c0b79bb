"""受注CSV登録 through a real rq worker (csv.md §1, §4; performance.md P5): a 100,000-row Shift_JIS file registered
with its progress moving and the work horse's memory flat, and a worker killed mid-file whose job resumes."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.csv_files import big_order_file, job_of, orders_by_number, stored_errors, upload
from tests.processes import children, kill_crashed

PEAK_MEMORY_BAR_MB = 150  # performance.md P5


def _peak_rss_kb(pid: int) -> int:
    """VmHWM, the process's peak resident set, or 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def _is_work_horse(pid: int) -> bool:
    try:
        return b"jobs.sweeper" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.mark.slow
def test_a_100000_row_shift_jis_file_is_registered_by_the_worker_with_progress_moving_and_memory_flat(
        app, client, tenant, worker):
    orders = 50_000
    content = big_order_file("#%d" % tenant.shop_id, orders, lines=2)
    started = time.monotonic()
    response = upload(client, tenant, content, name="受注100000行.csv")
    assert response.status_code == 202, response.json
    job_id = response.json["job_id"]
    worker_pids = _worker_pids(app)
    progress_seen: list[int] = []
    peaks: dict[int, int] = {}

    def finished() -> dict | None:
        for worker_pid in worker_pids:
            for child in children(worker_pid):
                if _is_work_horse(child):
                    peaks[child] = max(peaks.get(child, 0), _peak_rss_kb(child))
        job = job_of(client, tenant, job_id)
        if not progress_seen or progress_seen[-1] != job["progress"]:
            progress_seen.append(job["progress"])
        return job if job["state"] in ("finished", "failed") else None

    job = wait_for(finished, timeout=240, interval=0.1, message="the 100,000-row job to finish")
    elapsed = time.monotonic() - started
    peak_mb = max(peaks.values(), default=0) / 1024
    print(f"\n100,000 rows ({len(content) / 1e6:.1f} MB CP932): {elapsed:.1f} s, {100_000 / elapsed:,.0f} rows/s; "
          f"work horse peak RSS {peak_mb:.1f} MB; {len(progress_seen)} progress values seen")
    assert job["state"] == "finished", job
    result = job["result"]
    assert (result["rows"], result["orders_created"], result["rows_refused"]) == (100_000, orders, 0)
    moving = [p for p in progress_seen if 0 < p < 100]
    assert len(set(moving)) >= 3 and moving == sorted(moving), progress_seen
    counts = orders_by_number(app)
    assert len(counts) == orders and set(counts.values()) == {1}
    assert peaks, "no work horse was seen running the job"
    assert peak_mb < PEAK_MEMORY_BAR_MB, f"the work horse peaked at {peak_mb:.1f} MB"


def _worker_pids(app) -> set[int]:
    from rq import Worker

    from boss.extensions import db, redis_connection

    def registered():
        with app.app_context():
            pids = {w.pid for w in Worker.all(connection=redis_connection(app.config["REDIS_URL"]))}
            db.session.remove()
        return pids

    return wait_for(registered, timeout=20, message="the worker to register")


@pytest.mark.slow
def test_a_worker_killed_mid_file_resumes_the_job_and_registers_every_order_exactly_once(app, client, tenant, worker):
    orders = 10_000
    shop = "#%d" % tenant.shop_id
    content = big_order_file(shop, orders, lines=2, prefix="KILL", refused=frozenset({777}))
    bad = "KILL-000777"  # a refused order: its refusal must be recorded once, whatever the kill
    job_id = upload(client, tenant, content).json["job_id"]
    first_workers = _worker_pids(app)

    def mid_file():
        job = job_of(client, tenant, job_id)
        assert job["state"] not in ("finished", "failed"), "the job finished before the worker could be killed"
        return 0 < job["progress"] < 100 and job

    wait_for(mid_file, timeout=120, interval=0.02, message="a chunk of the job to commit")
    kill_crashed(first_workers)
    killed_at = job_of(client, tenant, job_id)
    assert killed_at["state"] == "started" and 0 < killed_at["progress"] < 100, killed_at
    assert 0 < len(orders_by_number(app)) < orders - 1
    # the sweeper takes a job for dead after 3 × WORKER_HEARTBEAT_SECONDS without a beat, and the fixture's rq worker
    # beats every 10 s (boss.embedded.worker_command reads the test process's environment): 4 s keeps the resumed
    # job from being dispatched a second time while it runs
    worker(CSV_REDISPATCH_SECONDS="3", WORKER_HEARTBEAT_SECONDS="4")
    job = wait_for(lambda: (j := job_of(client, tenant, job_id))["state"] in ("finished", "failed") and j,
                   timeout=180, interval=0.2, message="the resumed job to finish")
    assert job["state"] == "finished", job
    counts = orders_by_number(app)
    assert len(counts) == orders - 1 and set(counts.values()) == {1}
    assert bad not in counts
    result = job["result"]
    assert (result["rows"], result["orders_created"], result["orders_refused"], result["rows_refused"]) == (
        2 * orders, orders - 1, 1, 2)
    errors = stored_errors(app, job_id)
    assert errors == [(2 + 2 * 777, "", "same_order"), (3 + 2 * 777, "数量", "invalid_number")]
    assert [(e["row"], e["column"], e["code"]) for e in result["errors"]] == [(3 + 2 * 777, "数量", "invalid_number")]
