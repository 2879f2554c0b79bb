"""P10: a bulk 出荷依頼 of 10,000 confirmed orders — reserved with their outbox within 30 s, delivered within 30 s.

    python -m bench.p10_requests --database-url postgresql://postgres@127.0.0.1/boss_bench_p10   # redis db 12
    python -m bench.p10_requests --data-dir /work/benchdata/sqlite-p10

THE TARGET DATABASE IS WIPED (`bench.generate --orders 1000 --reset` makes the base: the bench account, its
products with plenty of stock); the Redis database of --redis-url is flushed before and after.

Set-up: 10,000 orders 確認済 (1–3 lines of the generated products) written in bulk; the app under gunicorn
(BOSS_SANDBOX=1) serving the warehouse simulator at its default rate limit (5 requests/s per key); 2 real rq
workers (`worker_command`, with their sweepers) on the bench's Redis; the account connected to the simulator
(connection.set_api_key and the gunicorn's base URL).

Timed: `POST /api/v1/orders/bulk {"action": "request_shipment", "order_ids": [10,000 ids]}` through the app (the
test client, a bearer token) → over BULK_JOB_THRESHOLD, a job that the workers carry out (bulk.run_job →
shipping.request_shipment per order); each request's send goes to the account's `warehouse-send` lane, which sends
batches of ≤100 at the pacer's rate. Polled every 0.2 s: shipments made (= reserved, outbox recorded: one
transaction) and shipments sent. From `_control/calls`: the batch calls, their sizes, 429s, the first and last.

Bars (performance.md): reservation and outbox for all within 30 s; delivered within 1.5 × the rate limit's floor
(100 calls at 5/s = 20 s → 30 s); no shipment created twice (`_control/shipments`: one per client_reference, all
10,000). Delivery is timed from the first send call to the last, and also from the POST.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from uuid import uuid4

import requests

from .common import (Api, Load, add_target_args, bench_token, machine_info, make_app, print_machine, print_table, ratio,
                     settle, verdict, write_results)
from .p6_import import Processes, app_env, now, run_bench, start_gunicorn
from .p9_sync import add_requested_orders, generate_base

DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
QUEUE = "boss-bench-p10"
PREFIX = "p10-"
BAR_RESERVE_S = 30.0
BAR_DELIVER_FACTOR = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_args(parser)
    parser.add_argument("--orders", type=int, default=10_000, help="confirmed orders requested at once (10,000)")
    parser.add_argument("--workers", type=int, default=2, help="rq workers (2)")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"the benchmark's own Redis db ({DEFAULT_REDIS})")
    args = parser.parse_args()
    if not (args.database_url or args.data_dir):
        raise SystemExit("give --database-url or --data-dir (the database is wiped)")
    run_bench(args, run)


def progress(app, order_ids: list[int]) -> tuple[int, int, int]:
    """(shipments made, sent, failed) of the bench's orders."""
    from sqlalchemy import func, select

    from boss.extensions import db
    from boss.orders.models import Order, Shipment

    with app.app_context():
        ours = select(Order.id).where(Order.mall_order_number.like(f"{PREFIX}%"))
        rows = dict(db.session.execute(select(Shipment.request_state, func.count())
                                       .where(Shipment.order_id.in_(ours)).group_by(Shipment.request_state)).all())
        db.session.remove()
    return sum(rows.values()), rows.get("sent", 0), rows.get("failed", 0)


def run(args, url: str, processes: Processes) -> None:
    from boss.embedded import worker_command
    from boss.extensions import db
    from boss.warehouse import connection

    generate_base(args, 1000)
    app = make_app(url)
    started = now()
    account_id, order_ids, reserved_before = add_requested_orders(app, args.orders, seed=10, prefix=PREFIX,
                                                                  requested=False)
    print(f"{args.orders:,} orders 確認済 added in {now() - started:.1f}s", flush=True)
    env = app_env(url, args.redis_url, QUEUE, BOSS_SANDBOX=1)
    base = start_gunicorn(processes, env, label="sim-gunicorn")
    sim_url = f"{base}/sandbox/warehouse"
    env["WAREHOUSE_SANDBOX_BASE_URL"] = sim_url
    app.config.update(REDIS_URL=args.redis_url, BOSS_QUEUE=QUEUE, BOSS_SANDBOX=True, WAREHOUSE_SANDBOX_BASE_URL=sim_url)
    rate = app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"]
    api_key = f"p10-{uuid4().hex[:12]}"
    with app.app_context():
        conn = connection.warehouse_for(account_id)
        connection.set_api_key(conn, api_key)
        conn.base_url = sim_url
        conn.interval_seconds = 3600  # no periodic sync meanwhile
        db.session.add(conn)
        db.session.commit()
        db.session.remove()
    for i in range(args.workers):
        processes.start(f"rq-worker-{i + 1}", worker_command(args.redis_url, QUEUE), env)
    time.sleep(3)  # the workers register
    api = Api(app, bench_token(app))
    machine = machine_info(app)
    machine.update(redis=args.redis_url, simulator="gunicorn -w 2 (sync), 127.0.0.1", simulator_rate_per_second=rate,
                   warehouse_min_interval_s=app.config["WAREHOUSE_MIN_INTERVAL"], workers=args.workers,
                   bulk_job_threshold=app.config["BULK_JOB_THRESHOLD"])
    print_machine(machine)
    settle()

    samples = []
    with Load() as load:
        t0 = now()
        response, post_ms = api.call("POST", "/api/v1/orders/bulk", expect=202,
                                     json={"action": "request_shipment", "order_ids": order_ids})
        answer = response.get_json()
        t_reserved = t_sent = None
        while now() - t0 < args.timeout:
            made, sent, failed = progress(app, order_ids)
            samples.append((round(now() - t0, 2), made, sent, failed))
            if t_reserved is None and made >= args.orders:
                t_reserved = now() - t0
            if sent + failed >= args.orders:
                t_sent = now() - t0
                break
            time.sleep(0.2)
    if t_sent is None:
        print(f"NOT DONE after {args.timeout:.0f}s: {samples[-1]}\n{processes.log_tail('rq-worker-1')}")

    calls = requests.get(f"{sim_url}/_control/calls", params={"api_key": api_key}, timeout=60).json()["items"]
    shipments = requests.get(f"{sim_url}/_control/shipments", params={"api_key": api_key}, timeout=120).json()["items"]
    batches = [c for c in calls if c["function"] in ("batch", "create")]
    accepted = [c for c in batches if c["http_status"] == 200 or c["http_status"] == 201]
    sizes = [len((c.get("body") or {}).get("shipments") or [None]) for c in accepted]
    references = Counter(s["client_reference"] for s in shipments)
    made, sent, failed = progress(app, order_ids)
    with app.app_context():
        from sqlalchemy import func, select

        from boss.models import Product
        from boss.orders.models import Order, OrderLine, Shipment

        ours = select(Order.id).where(Order.mall_order_number.like(f"{PREFIX}%"))
        wanted = dict(db.session.execute(select(OrderLine.product_id, func.sum(OrderLine.quantity))
                                         .where(OrderLine.order_id.in_(ours)).group_by(OrderLine.product_id)).all())
        reserved_after = dict(db.session.execute(select(Product.id, Product.reserved)
                                                 .where(Product.account_id == account_id)).all())
        boss_refs = {str(i) for i in db.session.scalars(select(Shipment.id).where(Shipment.order_id.in_(ours)))}
        db.session.remove()
    first_call = min((c["at"] for c in accepted), default=None)
    last_call = max((c["at"] for c in accepted), default=None)
    from datetime import datetime

    span = ((datetime.fromisoformat(last_call) - datetime.fromisoformat(first_call)).total_seconds()
            if first_call and last_call else None)
    floor = (args.orders / 100) / rate
    checks = {
        "all_reserved_once": made == args.orders and all(
            reserved_after[p] - reserved_before.get(p, 0) == q for p, q in wanted.items()),
        "all_sent": sent == args.orders and failed == 0,
        "one_shipment_per_request": len(shipments) == args.orders and max(references.values(), default=0) == 1,
        "the_same_references": set(references) == boss_refs,
    }
    reserve_ok = t_reserved is not None and t_reserved <= BAR_RESERVE_S
    deliver_ok = t_sent is not None and t_sent <= floor * BAR_DELIVER_FACTOR
    print(f"\nP10 bulk 出荷依頼, {machine['dialect']}, {args.orders:,} orders, {args.workers} workers: POST answered "
          f"{response.status_code} in {post_ms:.0f} ms ({answer}); busy cores {load.cores}")
    print_table(["phase", "seconds", "bar", "pass"], [
        ["reserved + outbox for all (from the POST)", round(t_reserved, 2) if t_reserved else None,
         f"≤{BAR_RESERVE_S:g}", verdict(reserve_ok)],
        ["all sent (from the POST)", round(t_sent, 2) if t_sent else None, f"≤{floor * BAR_DELIVER_FACTOR:g}",
         verdict(deliver_ok)],
        ["sends: first → last batch call", round(span, 2) if span is not None else None, "-", "-"],
        ["floor: the rate limit", floor, "-", "-"],
    ])
    print(f"batch calls {len(batches)} ({len(batches) - len(accepted)} not accepted: "
          f"{dict(Counter(c['http_status'] for c in batches if c not in accepted))}), sizes min {min(sizes, default=0)} "
          f"median {sorted(sizes)[len(sizes) // 2] if sizes else 0} max {max(sizes, default=0)}; ratio sent/floor "
          f"{ratio(t_sent, floor)}, sends span/floor {ratio(span, floor)}")
    for name, ok in checks.items():
        print(f"  check {name}: {verdict(ok)}")
    machine["orders"] = args.orders
    path = write_results("p10", machine, {
        "orders": args.orders, "post_ms": round(post_ms, 1), "answer": answer, "reserved_s": t_reserved,
        "sent_s": t_sent, "send_span_s": span, "floor_s": floor, "batch_calls": len(batches),
        "batch_sizes": sizes, "checks": checks, "pass_reserve": reserve_ok, "pass_deliver": deliver_ok,
        "busy_cores": load.cores, "samples": samples[::5],
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
