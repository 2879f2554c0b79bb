"""P8: web under load — gunicorn with 2 workers, a mixed load at a fixed arrival rate of 40 requests/s for 60 s.

    python -m bench.p8_load --database-url postgresql://postgres@127.0.0.1/boss_bench_web_1m
    options: --rate 40 --duration 60 --warmup 5 --threads 64 --redis-url redis://127.0.0.1:6379/9
             --server-threads 4   (gthread workers instead of sync ones, for comparison; the bar's set-up is sync)

The server: `gunicorn app:app -w 2` (sync workers, 127.0.0.1, a free port) with DATABASE_URL = the target
(data made by bench.generate: 10k or 1M orders) and REDIS_URL = --redis-url (default db 9, flushed before
and after: the benchmark's own; no rq worker, the cancels' reflections stay queued there).
The client: this process (separate from the server), a browser session of the benchmark user — logged in
through the /login form with its CSRF token; the cookie and the page's CSRF token are shared by every
thread. OPEN LOOP: arrivals are scheduled by the clock (arrival i at t0 + i / λ), handed to a pool of
--threads threads, whatever the earlier requests are doing; a latency is measured from the scheduled
time (so a request that could not even be sent in time counts its wait) — the time spent in the pool
queue is printed apart.

The mix, per 18 arrivals (shuffled per cycle; 36 arrivals/s make 40 requests/s):
- 11 注文一覧 pages: GET /orders?status=<tab>[&sort=<sort>], the tab drawn from the 5 status tabs, キャンセル and
  すべて, the sort from --list-sorts (default -ordered_at,-total,buyer: two in three sorted by a column header;
  drawn from a generator of its own, so the other draws are those of a run without sorts);
- 5 詳細検索: 3 × GET /search?name=<name> (P3's 2- and 3+-character names, common to rare) and
  2 × GET /search?mall_order_number=<an existing number>;
- 2 inline cancels, two requests each: GET /orders/<id>/cancel?version=… (the dialog, as htmx asks for
  it), then at once POST /orders/<id>/cancel with the dialog's form (version, target=row, reason_code)
  and htmx's headers (HX-Request: true, X-CSRFToken, HX-Target, HX-Current-URL). The orders are
  distinct, picked beforehand among those the rules allow (half Rakuten mall-linked: outbox + Redis).
  THIS CHANGES THE DATA: about rate × duration / 10 cancels.
An answer is an error unless it is 200 (and, for a cancel, the row in its cancelled state).

Bar (performance.md): no error; p95 ≤ 100 ms (over all requests). No floor (the per-request floors are
P1–P4's); the figures per kind are printed for scale.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from .common import (BENCH_EMAIL, BENCH_PASSWORD, Bare, Load, add_target_args, bench_account_id, machine_info, make_app,
                     nominal_size, print_machine, print_table, settle, stats, verdict, write_results)
from .p3_search import NAME2, NAME3
from .p4_action import CANCELLABLE, pick
from .p6_import import Processes, app_env, run_bench, start_gunicorn

BAR_P95_MS = 100.0
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
QUEUE = "boss-bench-p8"
CYCLE = ["list"] * 11 + ["search_name"] * 3 + ["search_number"] * 2 + ["cancel"] * 2
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Client:
    """One logged-in browser session; each thread gets its own requests.Session with the same cookies."""

    def __init__(self, base: str):
        self.base = base
        session = requests.Session()
        page = session.get(f"{base}/login", timeout=30).text
        match = CSRF_INPUT.search(page)
        response = session.post(f"{base}/login", data={"email": BENCH_EMAIL, "password": BENCH_PASSWORD,
                                                       "csrf_token": match.group(1) or match.group(2)},
                                allow_redirects=False, timeout=30)
        if response.status_code != 302:
            raise SystemExit(f"login failed: {response.status_code}")
        page = session.get(f"{base}/orders", timeout=30).text
        self.csrf = CSRF_META.search(page).group(1)
        self.cookies = session.cookies.get_dict()
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.cookies.update(self.cookies)
        return self.local.session


class Load8:
    """The arrivals and what became of them."""

    def __init__(self, client: Client, tabs: list[str], names: list[str], numbers: list[str],
                 cancels: list[tuple[int, int]], rng: random.Random, sorts: tuple[str, ...] = ("-ordered_at",)):
        self.client, self.tabs, self.names, self.numbers, self.cancels, self.rng = client, tabs, names, numbers, cancels, rng
        self.sorts, self.sort_rng = sorts, random.Random(20261128)
        self.results: list[dict] = []
        self.lock = threading.Lock()

    def record(self, kind: str, scheduled: float, sent: float, done: float, status, error: str | None,
               detail: str = "") -> None:
        with self.lock:
            self.results.append({"kind": kind, "latency_ms": (done - scheduled) * 1000, "service_ms": (done - sent) * 1000,
                                 "queued_ms": (sent - scheduled) * 1000, "status": status, "error": error,
                                 "at": scheduled, "detail": detail})

    def request(self, kind: str, method: str, path: str, scheduled: float, check=None, detail: str = "",
                **kwargs) -> bool:
        sent = time.perf_counter()
        status, error = None, None
        try:
            response = self.client.session().request(method, f"{self.client.base}{path}", timeout=10,
                                                     allow_redirects=False, **kwargs)
            status = response.status_code
            if status != 200:
                error = f"HTTP {status}"
            elif check is not None:
                error = check(response.text)
        except requests.RequestException as exc:
            error = exc.__class__.__name__
        self.record(kind, scheduled, sent, time.perf_counter(), status, error, detail)
        return error is None

    def run_one(self, kind: str, scheduled: float, params) -> None:
        if kind == "list":
            tab, sort = params
            query = {**({"status": tab} if tab != "all" else {}), **({"sort": sort} if sort != "-ordered_at" else {})}
            self.request("list", "GET", "/orders", scheduled, params=query, detail=f"{tab} {sort}",
                         check=lambda text: None if 'id="order-rows"' in text else "not the list page")
        elif kind == "search_name":
            self.request("search_name", "GET", "/search", scheduled, params={"name": params}, detail=params)
        elif kind == "search_number":
            self.request("search_number", "GET", "/search", scheduled, params={"mall_order_number": params},
                         check=lambda text: None if 'id="order-' in text else "the order was not found")
        elif kind == "cancel":
            order_id, version = params
            ok = self.request("cancel_dialog", "GET", f"/orders/{order_id}/cancel", scheduled,
                              params={"version": version}, headers={"HX-Request": "true", "HX-Target": "dialog"},
                              check=lambda text: None if 'name="reason_code"' in text else "no cancel form")
            if ok:
                self.request("cancel_post", "POST", f"/orders/{order_id}/cancel", time.perf_counter(),
                             data={"version": str(version), "target": "row", "reason_code": "10"},
                             headers={"HX-Request": "true", "X-CSRFToken": self.client.csrf,
                                      "HX-Target": f"order-{order_id}",
                                      "HX-Current-URL": f"{self.client.base}/orders?status=awaiting_confirmation"},
                             check=lambda text: None if f'id="order-{order_id}"' in text and "is-cancelled" in text
                             else "the row is not cancelled")

    def plan(self, arrivals: int) -> list[tuple[str, object]]:
        kinds = []
        while len(kinds) < arrivals:
            cycle = list(CYCLE)
            self.rng.shuffle(cycle)
            kinds.extend(cycle)
        planned, cancels = [], iter(self.cancels)
        for kind in kinds[:arrivals]:
            if kind == "list":
                planned.append((kind, (self.rng.choice(self.tabs), self.sort_rng.choice(self.sorts))))
            elif kind == "search_name":
                planned.append((kind, self.rng.choice(self.names)))
            elif kind == "search_number":
                planned.append((kind, self.rng.choice(self.numbers)))
            else:
                planned.append((kind, next(cancels)))
        return planned

    def drive(self, planned: list[tuple[str, object]], interval: float, threads: int) -> dict:
        """Open loop: arrival i is handed to the pool at t0 + i × interval, whatever the others are doing."""
        lateness = []
        with ThreadPoolExecutor(max_workers=threads) as pool:
            t0 = time.perf_counter() + 0.2
            for i, (kind, params) in enumerate(planned):
                scheduled = t0 + i * interval
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                lateness.append((time.perf_counter() - scheduled) * 1000)
                pool.submit(self.run_one, kind, scheduled, params)
            sent_all = time.perf_counter()
        return {"t0": t0, "dispatch_s": sent_all - t0, "finished_s": time.perf_counter() - t0,
                "dispatch_lateness_ms": stats(lateness)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_args(parser)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second (default 40)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of the same load first, not counted (default 5)")
    parser.add_argument("--threads", type=int, default=64, help="client threads (default 64)")
    parser.add_argument("--server-workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--server-threads", type=int, default=1,
                        help="threads per gunicorn worker (default 1: sync workers; >1: gthread, for comparison)")
    parser.add_argument("--list-sorts", default="-ordered_at,-total,buyer",
                        help="the sorts 注文一覧's pages are drawn from (default -ordered_at,-total,buyer)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"the benchmark's own Redis db (default {DEFAULT_REDIS})")
    args = parser.parse_args()
    run_bench(args, run)


def run(args, url: str, processes: Processes) -> None:
    from boss.web.orders import TABS

    app = make_app(url, redis_url=args.redis_url)
    machine = machine_info(app)
    server = f"gunicorn app:app -w {args.server_workers}" + (
        f" --threads {args.server_threads} (gthread)" if args.server_threads > 1 else " (sync)")
    machine.update(redis=args.redis_url, server=server + ", 127.0.0.1",
                   client_threads=args.threads)
    print_machine(machine)
    size = nominal_size(machine["orders"])
    account_id = bench_account_id(app)
    bare = Bare(app)
    rng = random.Random(20261127)
    arrival_rate = args.rate * len(CYCLE) / (len(CYCLE) + CYCLE.count("cancel"))  # a cancel is two requests
    interval = 1.0 / arrival_rate
    warm_arrivals = int(args.warmup * arrival_rate)
    arrivals = int(args.duration * arrival_rate)
    cancels_needed = (warm_arrivals + arrivals) * CYCLE.count("cancel") // len(CYCLE) + len(CYCLE)
    rakuten = bare.scalar("SELECT id FROM shops WHERE account_id = %(a)s AND mall = 'rakuten'", {"a": account_id})
    reflect = pick(bare, account_id, f"{CANCELLABLE} AND o.shop_id = {rakuten} AND o.mall_linked",
                   cancels_needed // 2 + 1, rng)
    other = pick(bare, account_id, f"{CANCELLABLE} AND NOT (o.shop_id = {rakuten} AND o.mall_linked)",
                 cancels_needed - cancels_needed // 2 + 1, rng)
    chosen = [x for pair in zip(reflect, other) for x in pair]
    versions = dict(bare.rows("SELECT id, version FROM orders WHERE id IN (%s)" % ", ".join(str(i) for i, _ in chosen)))
    cancels = [(order_id, versions[order_id]) for order_id, _ in chosen]
    top = bare.scalar("SELECT MAX(id) FROM orders")
    sample = ", ".join(str(rng.randint(1, top)) for _ in range(400))
    numbers = [r[0] for r in bare.rows(f"SELECT mall_order_number FROM orders WHERE id IN ({sample}) "
                                       "AND deleted_at IS NULL")][:200]
    names = [text for text, _kind in NAME3 + NAME2]
    tabs = [name for name, _status in TABS]
    bare.close()
    from boss.extensions import db

    with app.app_context():
        db.engine.dispose()

    base = start_gunicorn(processes, app_env(url, args.redis_url, QUEUE), workers=args.server_workers,
                          threads=args.server_threads, label="gunicorn")
    client = Client(base)
    load = Load8(client, tabs, names, numbers, cancels, rng, tuple(args.list_sorts.split(",")))
    planned = load.plan(warm_arrivals + arrivals)
    print(f"server {base} ({server}); open loop: {arrival_rate:.1f} arrivals/s "
          f"= {args.rate:g} requests/s, {args.warmup:g}s warm-up then {args.duration:g}s measured; "
          f"{args.threads} client threads", flush=True)
    load.drive(planned[:warm_arrivals], interval, args.threads)
    load.results = []
    settle()
    with Load() as machine_load:
        run_info = load.drive(planned[warm_arrivals:], interval, args.threads)
    results = load.results
    latencies = [r["latency_ms"] for r in results]
    errors = [r for r in results if r["error"]]
    overall = stats(latencies)
    passed = not errors and overall["p95"] <= BAR_P95_MS
    per_kind = {}
    for kind in ("list", "search_name", "search_number", "cancel_dialog", "cancel_post"):
        mine = [r for r in results if r["kind"] == kind]
        per_kind[kind] = {"requests": len(mine), "errors": sum(1 for r in mine if r["error"]),
                          "latency_ms": stats([r["latency_ms"] for r in mine]),
                          "service_ms": stats([r["service_ms"] for r in mine]),
                          "queued_ms": stats([r["queued_ms"] for r in mine])}
    seconds_bins: dict[int, int] = {}
    for r in results:
        seconds_bins[int(r["at"] - run_info["t0"])] = seconds_bins.get(int(r["at"] - run_info["t0"]), 0) + 1
    achieved = len(results) / args.duration

    print(f"\nP8 web under load, {machine['dialect']} {size}, {server}, open loop "
          f"{args.rate:g} req/s for {args.duration:g}s: {len(results):,} requests ({achieved:.1f}/s), "
          f"{len(errors)} errors (ms; client-observed over 127.0.0.1, from the scheduled time)")
    rows = [[kind, k["requests"], k["errors"], k["latency_ms"].get("median"), k["latency_ms"].get("p95"),
             k["latency_ms"].get("p99"), k["latency_ms"].get("max"), k["queued_ms"].get("p95"), "-", "-"]
            for kind, k in per_kind.items()]
    rows.append(["ALL", len(results), len(errors), overall.get("median"), overall.get("p95"), overall.get("p99"),
                 overall.get("max"), stats([r["queued_ms"] for r in results]).get("p95"),
                 f"0 errors, p95 ≤{BAR_P95_MS:g}", verdict(passed)])
    print_table(["kind", "requests", "errors", "median", "p95", "p99", "max", "pool queue p95", "bar", "pass"], rows)
    print(f"dispatch lateness (the scheduler's own delay) p95 {run_info['dispatch_lateness_ms']['p95']:.2f} ms, "
          f"max {run_info['dispatch_lateness_ms']['max']:.2f} ms; all answered {run_info['finished_s']:.1f}s after "
          f"the first arrival; busy cores {machine_load.cores} (server, database and this client)")
    by_detail: dict[tuple[str, str], list[float]] = {}
    for r in results:
        if r["kind"] in ("list", "search_name"):
            by_detail.setdefault((r["kind"], r["detail"]), []).append(r["service_ms"])
    slowest = sorted(((stats(v)["median"], k, len(v)) for k, v in by_detail.items()), reverse=True)[:8]
    print("slowest inputs by median time from send to answer (ms): "
          + ", ".join(f"{kind} {detail!r} {median:.0f} (n={n})" for median, (kind, detail), n in slowest))
    if errors:
        print("errors (first 10):", [(e["kind"], e["status"], e["error"]) for e in errors[:10]])
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    path = write_results("p8", machine, {
        "rate": args.rate, "duration_s": args.duration, "warmup_s": args.warmup, "threads": args.threads,
        "server_workers": args.server_workers, "server_threads": args.server_threads, "requests": len(results), "achieved_rate": round(achieved, 2),
        "errors": len(errors), "error_samples": [(e["kind"], e["status"], e["error"]) for e in errors[:20]],
        "latency_ms": overall, "bar_p95_ms": BAR_P95_MS, "pass_bar": passed, "per_kind": per_kind,
        "dispatch": {k: v for k, v in run_info.items() if k != "t0"}, "busy_cores": machine_load.cores,
        "requests_per_second": [seconds_bins.get(i, 0) for i in range(int(args.duration) + 1)],
        "by_input_service_ms": {f"{kind} {detail}": stats(v) for (kind, detail), v in by_detail.items()},
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
