"""P12: shipping info reflection — 1,000 completed Rakuten orders over 20 shops, 2 real rq workers, the RMS sandbox at
1 req/s per licenseKey.

    python -m bench.p12_shipping_reflection --database-url postgresql://postgres@127.0.0.1/boss_bench_p12
    options: --shops 20 --per-shop 50 --workers 2 --timeout 1200

THE TARGET DATABASE IS WIPED (its own database, never `test`) and the Redis database of --redis-url
(default redis://127.0.0.1:6379/12, not db 0) is flushed before and after.

Set-up, through the product's own paths:
- the app served by gunicorn (2 sync workers, 127.0.0.1) with BOSS_SANDBOX=1 — the RMS sandbox (at its default
  limit of 1 request/s per licenseKey, 429 above it) and the warehouse simulator, their state in the real Redis;
- 2 real workers (`worker_command` of boss.embedded, each with its outbox sweeper), default settings
  (RMS_MIN_INTERVAL 1.05 s, RMS_RETRY_BACKOFF 10,30,90,270);
- one account with 20 Rakuten shops whose sandbox licenseKey holds 50 orders each (the sandbox's plain mix, every
  item mapped, stock enough), the account's warehouse connected to the simulator; each shop connected with
  auto_confirm and auto_request_shipment on and confirm_at_rms off (so that nothing but shipping info goes
  through the RMS lanes while measuring): the workers import the 1,000 orders, confirm them and send their
  shipping requests to the simulator;
- the simulator ships every shipment (`_control/advance` shipped, carriers in turn: yamato, sagawa, japanpost,
  other; every 10th with two parcels), events waiting to be read.
Measured: one warehouse sync (POST /api/v1/warehouse/sync) applies the 1,000 `shipped` events — each order reaches
完了 and its shipping info is recorded for its shop's RMS lane — and the workers reflect them. Drain time = from the
first `shipped` event to the last shipping_reflected / shipping_reflection_failed event (database timestamps).

Checks: every order's shipping_reflection is done; the sandbox's call log shows exactly one updateOrderShipping
per order (none twice) with its shipment's numbers and carrier codes.

Bar (performance.md): drained within 150 s = 1.5 × the floor of 100 s (a getOrder and an updateOrderShipping per
order, 50 orders per shop, at 1 request/s per shop). Ratio = drain / floor. getOrder is asked for up to 100
orders at once, so the lanes need about 50 updates and a few getOrders per shop.
"""
from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from datetime import timezone

import requests

from .common import (Api, Load, add_target_args, machine_info, print_machine, print_table, ratio, stats, verdict,
                     write_results)
from .p6_import import (Processes, Sandbox, app_env, connect_shop, fresh_database, run_bench, seconds,
                        seed_rakuten_account, start_gunicorn)
from .p7_reflection import parse_at

BAR_S = 150.0
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
QUEUE = "boss-bench-p12"
CARRIERS = ("yamato", "sagawa", "japanpost", "other")
CODES = {"yamato": "1001", "sagawa": "1002", "japanpost": "1003", "other": "1000"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_args(parser)
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--per-shop", type=int, default=50, help="completed orders per shop (default 50)")
    parser.add_argument("--workers", type=int, default=2, help="rq workers (default 2)")
    parser.add_argument("--timeout", type=float, default=1200, help="give up waiting after this many seconds")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS,
                        help=f"the benchmark's own Redis db (default {DEFAULT_REDIS})")
    args = parser.parse_args()
    run_bench(args, run)


def wait(what: str, condition, timeout: float, processes: Processes, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {timeout:.0f}s\n{processes.log_tail('rq-worker-1')}")
        time.sleep(every)


def run(args, url: str, processes: Processes) -> None:
    from sqlalchemy import func, select

    from boss.embedded import worker_command
    from boss.extensions import db
    from boss.models import JobRecord
    from boss.orders.models import Order, OrderEvent, Shipment

    print(f"(wiping and migrating {url.split('@')[-1]})", flush=True)
    app = fresh_database(url)
    # Sandbox mode everywhere: the shops' and the warehouse's credentials may only go to this machine.
    app.config.update(REDIS_URL=args.redis_url, BOSS_QUEUE=QUEUE, BOSS_SANDBOX=True)
    env = app_env(url, args.redis_url, QUEUE, BOSS_SANDBOX="1")
    base = start_gunicorn(processes, env, workers=2, label="sandbox-gunicorn")
    sandbox = Sandbox(base)
    token, shop_ids, account_id = seed_rakuten_account(app, [f"P12楽天ショップ{i + 1:02d}" for i in range(args.shops)],
                                                       reflect=False)
    run_id = f"{os.getpid()}-{int(time.time())}"
    license_keys = {shop_id: f"p12-{run_id}-{i:02d}" for i, shop_id in enumerate(shop_ids)}
    for key in license_keys.values():
        sandbox.generate(key, args.per_shop, mix="plain")
    api = Api(app, token)
    for product in api.get("/api/v1/products?limit=200")[0].get_json()["items"]:
        api.call("POST", f"/api/v1/products/{product['id']}/stock-adjustments", expect=201,
                 json={"delta": args.shops * args.per_shop * 3, "reason": "P12"})
    simulator = f"{base}/sandbox/warehouse"
    api_key = f"p12-{run_id}"
    api.call("PATCH", "/api/v1/warehouse", json={"api_key": api_key, "base_url": simulator,
                                                 "sync_interval_seconds": 3600})

    workers = [processes.start(f"rq-worker-{i + 1}", worker_command(args.redis_url, QUEUE), env)
               for i in range(args.workers)]
    started = time.perf_counter()
    for shop_id, key in license_keys.items():
        connect_shop(api, shop_id, key, sandbox.rms_url, import_interval_minutes=60, auto_confirm=True,
                     auto_request_shipment=True, confirm_at_rms=False)
    total = args.shops * args.per_shop
    print(f"{args.shops} shops connected; {args.workers} rq workers import, confirm and request {total:,} orders …",
          flush=True)

    def imports_done():
        with app.app_context():
            states = Counter(db.session.scalars(select(JobRecord.state).where(JobRecord.kind == "import")))
            db.session.remove()
        if any(w.poll() is not None for w in workers):
            raise SystemExit(f"a worker stopped\n{processes.log_tail('rq-worker-1')}")
        return states if states.get("finished", 0) + states.get("failed", 0) >= args.shops else None

    states = wait("the imports", imports_done, 600, processes)

    def requests_sent():
        with app.app_context():
            rows = db.session.execute(select(Shipment.id, Shipment.order_id).join(Order, Order.id == Shipment.order_id)
                                      .where(Order.account_id == account_id, Shipment.request_state == "sent")).all()
            db.session.remove()
        return rows if len(rows) >= total else None

    shipments = wait("the shipping requests to reach the simulator", requests_sent, 600, processes)
    print(f"imported, confirmed and requested in {time.perf_counter() - started:.0f}s ({dict(states)}); "
          f"the simulator ships {len(shipments):,} …", flush=True)
    http = requests.Session()
    expected: dict[int, list[tuple[str, str]]] = {}  # order id → [(code, tracking number)]
    for i, (shipment_id, order_id) in enumerate(sorted(shipments)):
        carrier = CARRIERS[i % len(CARRIERS)]
        fields = {"carrier": carrier, "tracking_number": f"P12-{shipment_id:08d}", "shipped_on": "2026-12-05"}
        if i % 10 == 9:
            fields = {"shipped_on": "2026-12-05", "parcels": [
                {"carrier": carrier, "tracking_number": f"P12-{shipment_id:08d}"},
                {"carrier": "yamato", "tracking_number": f"P12-{shipment_id:08d}-2"}]}
        parcels = fields.get("parcels") or [fields]
        expected[order_id] = [(CODES[p["carrier"]], p["tracking_number"]) for p in parcels]
        response = http.post(f"{simulator}/_control/advance", timeout=60, json={
            "api_key": api_key, "client_reference": str(shipment_id), "type": "shipped", **fields})
        if response.status_code not in (200, 201):
            raise SystemExit(f"advance {shipment_id}: {response.status_code} {response.text[:300]}")
    order_ids = list(expected)

    machine = machine_info(app)
    machine.update(redis=args.redis_url, sandbox_server="gunicorn -w 2 (sync), 127.0.0.1", rq_workers=args.workers,
                   rms_min_interval_s=app.config["RMS_MIN_INTERVAL"],
                   sandbox_rate_per_second=app.config["RMS_SANDBOX_RATE_PER_SECOND"])
    print_machine(machine)

    timeline = []
    with Load() as load:
        t0 = time.perf_counter()
        api.call("POST", "/api/v1/warehouse/sync", expect=202)
        last_print = 0.0
        while True:
            with app.app_context():
                counts = dict(db.session.execute(select(Order.shipping_reflection_state, func.count())
                                                 .where(Order.id.in_(order_ids))
                                                 .group_by(Order.shipping_reflection_state)).all())
                db.session.remove()
            elapsed = time.perf_counter() - t0
            open_ = counts.get("pending", 0) + counts.get("none", 0)
            timeline.append((round(elapsed, 1), counts.get("done", 0), counts.get("failed", 0), open_))
            if elapsed - last_print >= 30:
                print(f"  {elapsed:6.0f}s: {counts}", flush=True)
                last_print = elapsed
            if not open_ or elapsed > args.timeout:
                break
            time.sleep(0.5)
        waited = time.perf_counter() - t0

    with app.app_context():
        first_shipped = db.session.scalar(select(func.min(OrderEvent.at)).where(
            OrderEvent.order_id.in_(order_ids), OrderEvent.kind == "shipped"))
        last_shipped = db.session.scalar(select(func.max(OrderEvent.at)).where(
            OrderEvent.order_id.in_(order_ids), OrderEvent.kind == "shipped"))
        last_reflection = db.session.scalar(select(func.max(OrderEvent.at)).where(
            OrderEvent.order_id.in_(order_ids),
            OrderEvent.kind.in_(("shipping_reflected", "shipping_reflection_failed"))))
        retries = db.session.scalar(select(func.count()).select_from(OrderEvent).where(
            OrderEvent.order_id.in_(order_ids), OrderEvent.kind == "reflection_retry"))
        numbers = dict(db.session.execute(select(Order.mall_order_number, Order.id)
                                          .where(Order.id.in_(order_ids))).all())
        failures = db.session.execute(select(Order.mall_order_number, Order.shipping_reflection_message).where(
            Order.id.in_(order_ids), Order.shipping_reflection_state == "failed")).all()
        db.session.remove()
    drained = not (counts.get("pending", 0) + counts.get("none", 0))
    drain = (last_reflection - first_shipped).total_seconds() if drained and last_reflection else None
    applied = (last_shipped - first_shipped).total_seconds() if last_shipped else None

    calls = []
    for shop_id, key in license_keys.items():
        for call in sandbox.calls(key):
            call["shop_id"], call["t"] = shop_id, parse_at(call["at"])
            calls.append(call)
    cut = first_shipped.replace(tzinfo=timezone.utc).timestamp()
    calls = sorted((c for c in calls if c["t"] >= cut), key=lambda c: c["t"])
    functions = Counter(c["function"] for c in calls)
    limited = sum(1 for c in calls if c["http_status"] == 429)
    updates = [c for c in calls if c["function"] == "updateOrderShipping" and c["http_status"] == 200]
    per_number = Counter(c["body"]["orderNumber"] for c in updates)
    twice = sorted(n for n, k in per_number.items() if k > 1)
    wrong = []
    for call in updates:
        number = call["body"]["orderNumber"]
        sent = [(s["deliveryCompany"], s["shippingNumber"])
                for b in call["body"]["BasketidModelList"] for s in b["ShippingModelList"]]
        if number not in numbers or sent != expected[numbers[number]]:
            wrong.append(number)
    never = sorted(set(numbers) - set(per_number))
    per_shop_calls = Counter(c["shop_id"] for c in calls)
    floor = 2.0 * args.per_shop  # a getOrder and an updateOrderShipping per order at 1 request/s per shop
    passed = bool(drained and drain is not None and drain <= BAR_S and not twice and not wrong and not never
                  and not counts.get("failed"))
    print(f"\nP12 shipping info reflection, {machine['dialect']}, {len(order_ids):,} completed orders over "
          f"{args.shops} shops, {args.workers} rq workers, sandbox {machine['sandbox_rate_per_second']:g} req/s "
          f"per licenseKey, pacer {machine['rms_min_interval_s']:g} s")
    print_table(["measure", "value", "floor", "ratio", "bar", "pass"], [
        ["drain time (first shipped → last reflection)", f"{drain:.1f} s" if drain is not None else
         f"not drained in {waited:.0f} s", f"{floor:.0f} s", ratio(drain, floor), f"≤{BAR_S:g} s", verdict(passed)],
        ["shipped events applied (first → last)", f"{applied:.1f} s" if applied is not None else "-",
         "-", "-", "-", "-"],
        ["shipping_reflection states", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), "-", "-", "all done",
         verdict(counts.get("done", 0) == len(order_ids))],
        ["updateOrderShipping sent twice for an order", len(twice), "-", "-", "0", verdict(not twice)],
        ["updateOrderShipping with other numbers or codes than shipped", len(wrong), "-", "-", "0", verdict(not wrong)],
        ["orders never sent updateOrderShipping", len(never), "-", "-", "0", verdict(not never)],
    ])
    print("\nwhere the time goes")
    print_table(["figure", "value"], [
        ["RMS calls in the window", f"{len(calls):,} ({', '.join(f'{k} {v}' for k, v in sorted(functions.items()))}); "
                                    f"{limited} answered 429"],
        ["most calls one shop needed", f"{max(per_shop_calls.values()) if per_shop_calls else 0}"],
        ["reflection_retry events (transient failures)", retries],
        ["busy cores (whole machine) while measuring", load.cores],
    ])
    if failures:
        print("failed reflections (first 5):", failures[:5])
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    path = write_results("p12", machine, {
        "shops": args.shops, "per_shop": args.per_shop, "orders": len(order_ids), "workers": args.workers,
        "drained": drained, "drain_s": seconds(drain) if drain is not None else None, "waited_s": seconds(waited),
        "shipped_applied_s": seconds(applied) if applied is not None else None, "floor_s": floor,
        "ratio_drain_to_floor": ratio(drain, floor), "bar_s": BAR_S, "pass_bar": passed, "states": counts,
        "update_sent_twice": twice, "update_wrong": wrong, "never_sent": never[:20], "rms_calls": dict(functions),
        "http_429": limited, "per_shop_calls": stats(per_shop_calls.values()), "reflection_retries": retries,
        "busy_cores": load.cores, "timeline": timeline[::4], "failures": [list(f) for f in failures[:20]],
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
