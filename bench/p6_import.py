"""P6: mall import of 10k orders from the RMS sandbox — our cost per getOrder batch, and the total vs the rate limit.

    python -m bench.p6_import --database-url postgresql://postgres@127.0.0.1/boss_bench_p6 [--orders 10000]
    python -m bench.p6_import --data-dir /work/benchdata/sqlite-p6

THE TARGET DATABASE IS WIPED (its own database: schema dropped and migrated afresh; never `test`), and
the Redis database of --redis-url (default redis://127.0.0.1:6379/10, not db 0) is flushed before and
after: both belong to this benchmark alone.

Set-up, all through the product's own paths:
- the app served by gunicorn (2 sync workers, 127.0.0.1, a free port) with BOSS_SANDBOX=1: the RMS
  sandbox at /sandbox/rms, its state in the real Redis, its rate limit at the default
  RMS_SANDBOX_RATE_PER_SECOND=1 per licenseKey (HTTP 429 above it);
- an account with one Rakuten shop, the sandbox catalogue's items mapped to products;
- N orders generated in the sandbox (control API, orderProgress 100, ordered in the last 3 days);
- the shop connected to the sandbox by PATCH /api/v1/shops/{id} with an `rms` object (as a user
  does), which records the first import (a JobRecord and its outbox row; the queue has no worker).
Then the import runs in this process exactly as a worker runs it — outbox.run_message → run_import →
import_shop — with the real client over HTTP, the real RedisPacer (RMS_MIN_INTERVAL, default 1.05 s)
and the sandbox's limit.

What is timed (instrumentation wraps, the code is unchanged): every RmsClient.call, and inside it
the pacer's wait (_pace) and the HTTP round trip (requests.Session.post); also _read (our parsing
of the answer), importer._create_batch (reading and creating a batch's orders) and outbox.commit_and_dispatch (every commit). OUR cost of a getOrder
batch = the time from the start of its call to the start of the next batch's call (or the next
phase), minus that call's pacer wait and HTTP round trip: parsing, building the 100 orders,
commit (and outbox dispatch), the job's progress update. The batches of the mall-side-cancel check
(reread_open_orders: getOrder for every open mall-linked order, i.e. all the imported ones) are
reported separately.

Bar (performance.md): our cost per getOrder batch of 100 ≤ 50 ms (judged on the p95 of the import
batches), so that the import runs at the rate limit. Floor: the rate limit — number of RMS calls ×
1 s; the ratio is total import time / floor (the pacer's own spacing, RMS_MIN_INTERVAL, is printed
beside it).
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

import requests

from .common import (BENCH_ACCOUNT, BENCH_EMAIL, BENCH_PASSWORD, ROOT, Api, Load, add_target_args, machine_info,
                     make_app, print_machine, print_table, ratio, settle, stats, target_url, verdict, write_results)

BAR_BATCH_MS = 50.0
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
QUEUE = "boss-bench-p6"
SERVICE_SECRET = "bench-service-secret"


# ============================================================================ shared by p6, p7, p8

def now() -> float:
    return time.perf_counter()


def stop_on_sigterm() -> None:
    """A plain kill (or `timeout`) ends the benchmark through its finally blocks, which stop its processes."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def own_redis(url: str):
    """A Redis client on the benchmark's own Redis database (never db 0, which others use by default)."""
    from redis import Redis

    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "unix") or (parsed.hostname or "127.0.0.1") not in ("127.0.0.1", "localhost", None):
        raise SystemExit(f"--redis-url must be a local Redis: {url}")
    if parsed.scheme == "redis" and (parsed.path.strip("/") or "0") == "0":
        raise SystemExit("give the benchmark a Redis database of its own (e.g. redis://127.0.0.1:6379/10), not db 0")
    return Redis.from_url(url)


def flush_own_redis(url: str) -> None:
    own_redis(url).flushdb()


def fresh_database(url: str):
    """Wipe the benchmark's own database (PostgreSQL: created if missing, schema dropped; SQLite: files
    removed), migrate it to head, and return the app on it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        import psycopg

        plain = parsed.set(drivername="postgresql")
        admin = plain.set(database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{parsed.database}"')
        with psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    else:
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    app = make_app(url)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(url: str, redis_url: str, queue: str, **more) -> dict:
    """The environment of a process of the app (gunicorn, rq worker) on the benchmark's database and Redis."""
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "BOSS_QUEUE": queue,
           "PYTHONPATH": str(ROOT), "SECRET_KEY": os.environ["SECRET_KEY"]}
    if url.startswith("sqlite"):
        env["BOSS_DATA_DIR"] = str(Path(url.removeprefix("sqlite:///")).parent)
    env.update({k: str(v) for k, v in more.items()})
    return env


class Processes:
    """Processes this benchmark starts, each in its own session; stop() ends each by its own id."""

    def __init__(self):
        self.items: list[tuple[str, subprocess.Popen]] = []
        self.logs = Path(tempfile.mkdtemp(prefix="boss-bench-logs-"))

    def start(self, label: str, command: list[str], env: dict, cwd: Optional[Path] = None) -> subprocess.Popen:
        log = open(self.logs / f"{label}.log", "wb")
        process = subprocess.Popen(command, cwd=cwd or ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.items.append((label, process))
        return process

    def log_tail(self, label: str, lines: int = 30) -> str:
        path = self.logs / f"{label}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self, process: subprocess.Popen, timeout: float = 20) -> None:
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)  # its own process group: the master and its children
            process.wait(timeout=timeout)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for _label, process in reversed(self.items):
            self.stop(process)
        self.items = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()


def start_gunicorn(processes: Processes, env: dict, workers: int = 2, threads: int = 1, label: str = "gunicorn",
                   timeout: float = 60) -> str:
    """`gunicorn app:app -w N` on 127.0.0.1 and a free port; returns its base URL once /healthz answers."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "app:app", "-w", str(workers), "-b", f"127.0.0.1:{port}",
               "--timeout", "120", "--log-level", "warning"]
    if threads > 1:
        command += ["--threads", str(threads)]
    process = processes.start(label, command, env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{label} stopped at start:\n{processes.log_tail(label)}")
        try:
            requests.get(f"{base}/healthz", timeout=2)
            return base
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{label} did not answer within {timeout}s:\n{processes.log_tail(label)}")


class Sandbox:
    """The sandbox's control API (rakuten-rms.md §The sandbox)."""

    def __init__(self, base_url: str):
        self.rms_url = f"{base_url}/sandbox/rms"
        self.http = requests.Session()

    def control(self, path: str, body: dict) -> dict:
        response = self.http.post(f"{self.rms_url}/_control/{path}", json=body, timeout=300)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"sandbox {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def generate(self, license_key: str, count: int, progress: int = 100, days: float = 3,
                 mix: Optional[str] = None) -> list[str]:
        body = {"service_secret": SERVICE_SECRET, "license_key": license_key, "generate": count,
                "order_progress": progress, "days": days}
        return self.control("orders", {**body, "mix": mix} if mix else body)["order_numbers"]

    def set_progress(self, license_key: str, number: str, progress: int) -> None:
        self.control("progress", {"license_key": license_key, "order_number": number, "order_progress": progress})

    def calls(self, license_key: str) -> list[dict]:
        response = self.http.get(f"{self.rms_url}/_control/calls", params={"license_key": license_key}, timeout=60)
        response.raise_for_status()
        return response.json()["items"]


def seed_rakuten_account(app, shop_names: list[str], reflect: bool) -> tuple[str, list[int], int]:
    """The benchmark user (admin) and its account, Rakuten shops (not yet connected), the sandbox
    catalogue's items mapped to products in every shop; returns (API token, shop ids, account id)."""
    from boss.accounts import create_token, create_user
    from boss.extensions import db
    from boss.malls.rakuten.sandbox.fakes import CATALOGUE
    from boss.orders import mapping, products, shops
    from boss.orders.actor import Actor

    with app.app_context():
        user = create_user(BENCH_EMAIL, BENCH_PASSWORD, BENCH_ACCOUNT, admin=True, name="ベンチ管理者")
        actor = Actor("user", user.name, user.account_id, user.id)
        shop_ids = [shops.create_shop(actor, name, "rakuten", reflect_cancel_to_rms=reflect).id for name in shop_names]
        for manage_number, name, _price, variants in CATALOGUE:
            for variant, _info in variants:
                products.create_product(actor, f"{manage_number}-{variant}".upper(), f"{name} {variant}")
        for shop_id in shop_ids:
            for manage_number, _name, _price, variants in CATALOGUE:
                for variant, _info in variants:
                    mapping.map_item(actor, shop_id, manage_number, f"{manage_number}-{variant}",
                                      f"{manage_number}-{variant}".upper())
        token = create_token(user, "bench")
        account_id = user.account_id
        db.session.remove()
    return token, shop_ids, account_id


def connect_shop(api: Api, shop_id: int, license_key: str, rms_url: str, **settings) -> dict:
    """As a user does: PATCH the shop with its RMS credentials (this records the first import)."""
    response, _ = api.call("PATCH", f"/api/v1/shops/{shop_id}", json={
        **settings, "rms": {"service_secret": SERVICE_SECRET, "license_key": license_key, "base_url": rms_url}})
    shop = response.get_json()
    if not shop.get("rms_connected"):
        raise RuntimeError(f"shop {shop_id} is not connected: {shop}")
    return shop


def seconds(value: float) -> float:
    return round(value, 3)


# ============================================================================ P6

class CallLog:
    """Wraps the client's call, pacing, HTTP and reading, and the importer's order building and commits."""

    def __init__(self):
        self.calls: list[dict] = []
        self.current: Optional[dict] = None
        self.creates: list[tuple[float, float]] = []
        self.commits: list[tuple[float, float]] = []
        self.marks: dict[str, float] = {}

    def install(self) -> None:
        from boss import outbox
        from boss.malls.rakuten import client as rakuten, importer

        log = self
        original_call, original_pace, original_read = rakuten.RmsClient.call, rakuten.RmsClient._pace, rakuten.RmsClient._read
        original_post = requests.Session.post
        original_create, original_commit = importer._create_batch, outbox.commit_and_dispatch
        original_detect = importer.reread_open_orders

        def call(client, function, body, order_number=None):
            record = {"function": function, "start": now(), "pace": 0.0, "http": 0.0, "read": 0.0, "status": None,
                      "numbers": len(body.get("orderNumberList") or []) if isinstance(body, dict) else 0}
            log.calls.append(record)
            log.current = record
            try:
                return original_call(client, function, body, order_number)
            except Exception as exc:
                record["error"] = f"{exc.__class__.__name__}: {exc}"
                raise
            finally:
                record["end"] = now()
                log.current = None

        def timed_into(name, original):
            def wrapper(*args, **kwargs):
                started = now()
                try:
                    return original(*args, **kwargs)
                finally:
                    if log.current is not None:
                        log.current[name] += now() - started
            return wrapper

        def post(session, *args, **kwargs):
            started = now()
            response = original_post(session, *args, **kwargs)
            if log.current is not None:
                log.current["http"] += now() - started
                log.current["status"] = response.status_code
            return response

        def create(*args, **kwargs):
            started = now()
            try:
                return original_create(*args, **kwargs)
            finally:
                log.creates.append((started, now()))

        def commit(*args, **kwargs):
            started = now()
            try:
                return original_commit(*args, **kwargs)
            finally:
                log.commits.append((started, now()))

        def detect(*args, **kwargs):
            log.marks["detect_start"] = now()
            try:
                return original_detect(*args, **kwargs)
            finally:
                log.marks["detect_end"] = now()

        rakuten.RmsClient.call = call
        rakuten.RmsClient._pace = timed_into("pace", original_pace)
        rakuten.RmsClient._read = timed_into("read", original_read)
        requests.Session.post = post
        importer._create_batch = create
        outbox.commit_and_dispatch = commit
        importer.reread_open_orders = detect

    def batches(self, calls: list[dict], end: float) -> list[dict]:
        """Per getOrder call: our cost up to the next call (or `end`), without its pacer wait and HTTP."""
        found = []
        for index, call in enumerate(calls):
            boundary = calls[index + 1]["start"] if index + 1 < len(calls) else end
            span = boundary - call["start"]
            ours = span - call["pace"] - call["http"]
            creates = [(a, b) for a, b in self.creates if call["start"] <= a < boundary]
            commits = [(a, b) for a, b in self.commits if call["start"] <= a < boundary]
            commit = sum(b - a for a, b in commits)
            # the batch's own commit runs inside _create_batch (the service commits): counted once, as commit
            inner = sum(b - a for a, b in commits if any(ca <= a < cb for ca, cb in creates))
            create = sum(b - a for a, b in creates) - inner
            found.append({"numbers": call["numbers"], "ours_ms": ours * 1000, "parse_ms": call["read"] * 1000,
                          "create_ms": create * 1000, "commit_ms": commit * 1000,
                          "other_ms": (ours - call["read"] - create - commit) * 1000,
                          "pace_ms": call["pace"] * 1000, "http_ms": call["http"] * 1000, "status": call["status"],
                          "create_calls": len(creates)})
        return found


def run_bench(args, run) -> None:
    """Run `run(args, url, processes)` on the bench's own Redis db; every process it started is stopped
    and that db flushed afterwards, also on Ctrl-C or kill."""
    url = target_url(args)
    own_redis(args.redis_url)
    stop_on_sigterm()
    flush_own_redis(args.redis_url)
    processes = Processes()
    try:
        run(args, url, processes)
    finally:
        processes.stop_all()
        flush_own_redis(args.redis_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_args(parser)
    parser.add_argument("--orders", type=int, default=10_000, help="orders to import (default 10,000)")
    parser.add_argument("--mix", choices=("realistic", "plain"), default=None,
                        help="the sandbox's mix of orders (default: the sandbox's own, realistic since version 10)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"the benchmark's own Redis db (default {DEFAULT_REDIS})")
    parser.add_argument("--server-workers", type=int, default=2, help="gunicorn workers serving the sandbox")
    args = parser.parse_args()
    run_bench(args, run)


def run(args, url: str, processes: Processes) -> None:
    from sqlalchemy import func, select

    from boss import outbox
    from boss.extensions import db
    from boss.malls.rakuten import importer  # noqa: F401  (registers the rms.import handler)
    from boss.models import JobRecord, OutboxMessage
    from boss.orders.models import Order

    print(f"(wiping and migrating {url.split('@')[-1]})", flush=True)
    app = fresh_database(url)
    app.config.update(REDIS_URL=args.redis_url, BOSS_QUEUE=QUEUE)
    base = start_gunicorn(processes, app_env(url, args.redis_url, QUEUE, BOSS_SANDBOX=1),
                          workers=args.server_workers, label="sandbox-gunicorn")
    sandbox = Sandbox(base)
    rate = app.config["RMS_SANDBOX_RATE_PER_SECOND"]  # the server reads the same environment
    token, (shop_id,), _account = seed_rakuten_account(app, ["P6楽天ショップ"], reflect=False)
    license_key = f"p6-{os.getpid()}-{int(time.time())}"
    started = now()
    sandbox.generate(license_key, args.orders, mix=args.mix)
    print(f"sandbox at {sandbox.rms_url} (rate limit {rate:g}/s per licenseKey): {args.orders:,} orders generated "
          f"in {now() - started:.1f}s", flush=True)

    api = Api(app, token)
    connect_shop(api, shop_id, license_key, sandbox.rms_url)
    with app.app_context():
        message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == "rms.import"))
        interval = app.config["RMS_MIN_INTERVAL"]
        db.session.remove()
    machine = machine_info(app)
    machine.update(redis=args.redis_url, sandbox_server=f"gunicorn -w {args.server_workers} (sync), 127.0.0.1",
                   sandbox_rate_per_second=rate, rms_min_interval_s=interval)
    print_machine(machine)

    log = CallLog()
    log.install()
    settle()
    print(f"importing {args.orders:,} orders (about {2 * args.orders / 100 + args.orders / 1000 + 1:.0f} RMS calls at "
          f"{interval:g}s: ~{(2 * args.orders / 100 + args.orders / 1000 + 1) * interval / 60:.1f} min) …", flush=True)
    with Load() as load:
        t0 = now()
        with app.app_context():
            outbox.run_message(message_id)  # what a worker runs: run_import → import_shop
            total = now() - t0
            job = db.session.scalars(select(JobRecord).where(JobRecord.shop_id == shop_id)).one()
            created = db.session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))
            job_state, job_result, job_error = job.state, job.result, job.error
            db.session.remove()
    if job_state != "finished":
        print(f"THE IMPORT DID NOT FINISH: {job_state} {job_error}")

    calls = log.calls
    detect_start = log.marks.get("detect_start", calls[-1]["end"] if calls else t0)
    detect_end = log.marks.get("detect_end", detect_start)
    create_calls = [c for c in calls if c["function"] == "getOrder" and c["start"] < detect_start]
    detect_calls = [c for c in calls if c["function"] == "getOrder" and detect_start <= c["start"] <= detect_end]
    search_calls = [c for c in calls if c["function"] == "searchOrder"]
    create_batches = log.batches(create_calls, detect_start)
    detect_batches = log.batches(detect_calls, detect_end)
    rms_calls = len(calls)
    limited = sum(1 for c in calls if c["status"] == 429)
    floor = rms_calls * 1.0
    sandbox_calls = sandbox.calls(license_key)

    def summary(batches: list[dict]) -> dict:
        return {key: stats([b[key] for b in batches]) for key in
                ("ours_ms", "parse_ms", "create_ms", "commit_ms", "other_ms", "pace_ms", "http_ms")}

    create_summary, detect_summary = summary(create_batches), summary(detect_batches)
    search_summary = {"calls": len(search_calls), "http_ms": stats([c["http"] * 1000 for c in search_calls]),
                      "pace_ms": stats([c["pace"] * 1000 for c in search_calls])}
    p95 = create_summary["ours_ms"].get("p95")
    passed = p95 is not None and p95 <= BAR_BATCH_MS and job_state == "finished" and created == args.orders
    phases = {
        "search_s": seconds((create_calls[0]["start"] if create_calls else detect_start) - t0),
        "create_s": seconds(detect_start - (create_calls[0]["start"] if create_calls else detect_start)),
        "mall_cancel_check_s": seconds(detect_end - detect_start),
        "finish_s": seconds(t0 + total - detect_end),
    }

    print(f"\nP6 import, {machine['dialect']}, {args.orders:,} orders from the sandbox over HTTP "
          f"({rms_calls} RMS calls: {len(search_calls)} searchOrder, {len(create_calls)} getOrder to create, "
          f"{len(detect_calls)} getOrder for mall-side cancels; {limited} answered 429)")
    rows = []
    for name, summ, bar in (("getOrder batch: create 100 orders", create_summary, BAR_BATCH_MS),
                            ("getOrder batch: mall-cancel check", detect_summary, None)):
        ours = summ["ours_ms"]
        rows.append([name, ours.get("n"), ours.get("median"), ours.get("p95"), ours.get("max"),
                     summ["parse_ms"].get("median"), summ["create_ms"].get("median"), summ["commit_ms"].get("median"),
                     summ["other_ms"].get("median"), summ["http_ms"].get("median"), summ["pace_ms"].get("median"),
                     f"≤{bar:g}" if bar else "-", verdict(passed) if bar else "-"])
    print_table(["our cost per batch (ms)", "n", "median", "p95", "max", "parse med", "create med", "commit med",
                 "other med", "HTTP med", "pacer wait med", "bar p95", "pass"], rows)
    print(f"total import {total:.1f}s (search {phases['search_s']:.1f}s, create {phases['create_s']:.1f}s, "
          f"mall-cancel check {phases['mall_cancel_check_s']:.1f}s, finish {phases['finish_s']:.2f}s); "
          f"floor {floor:.0f}s = {rms_calls} calls × 1 s → ratio {ratio(total, floor)} "
          f"(the pacer's own spacing {interval:g}s: {rms_calls * interval:.0f}s, ratio {ratio(total, rms_calls * interval)}); "
          f"busy cores {load.cores}")
    print(f"orders created: {created:,} of {args.orders:,}; job {job_state}: {job_result if job_state == 'finished' else job_error}")
    print(f"sandbox calls log: {len(sandbox_calls)} calls, {sum(1 for c in sandbox_calls if c['http_status'] == 429)} "
          f"answered 429")
    machine["orders"] = created
    machine["orders_not_deleted"] = created
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    path = write_results("p6", machine, {
        "orders": args.orders, "created": created, "job_state": job_state, "job_result": job_result, "job_error": job_error,
        "rms_calls": rms_calls, "calls_by_function": {f: sum(1 for c in calls if c["function"] == f)
                                                      for f in sorted({c["function"] for c in calls})},
        "http_429": limited, "total_s": seconds(total), "phases": phases, "floor_s": floor,
        "ratio_total_to_floor": ratio(total, floor), "pacer_interval_s": interval,
        "ratio_total_to_pacer_spacing": ratio(total, rms_calls * interval), "busy_cores": load.cores,
        "bar_batch_p95_ms": BAR_BATCH_MS, "pass_bar": passed,
        "create_batches": create_summary, "mall_cancel_check_batches": detect_summary, "search": search_summary,
        "create_batch_samples_ms": [round(b["ours_ms"], 2) for b in create_batches],
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
