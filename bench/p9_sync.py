"""P9: the warehouse events sync — 10,000 events (started + shipped for 5,000 shipments) applied by the real sync.

    python -m bench.p9_sync --database-url postgresql://postgres@127.0.0.1/boss_bench_p9 --orders 1000
    python -m bench.p9_sync --database-url postgresql://postgres@127.0.0.1/boss_bench_p9 --orders 100000
    python -m bench.p9_sync --data-dir /work/benchdata/sqlite-p9 --orders 100000     # redis db 11

THE TARGET DATABASE IS WIPED: `bench.generate --orders N --reset` makes the base (N orders of every status,
the bench account and its products) afresh; the Redis database of --redis-url is flushed before and after.

Set-up (untimed):
- the app under gunicorn (2 workers, BOSS_SANDBOX=1): the warehouse simulator at /sandbox/warehouse, its state in
  the real Redis, its default rate limit (WAREHOUSE_SANDBOX_RATE_PER_SECOND 5/s per key);
- 5,000 more orders (出荷待ち, 1–3 lines of the generated products, stock reserved, a shipment 出荷依頼済 with
  request_state sent), written in bulk; the same 5,000 shipments created at the simulator through
  `POST /v1/shipments:batch` (client_reference = BOSS's shipment id) and their warehouse ids stored;
- the account connected to the simulator (connection.set_api_key, base URL of the gunicorn);
- `_control/advance-many`: `started` for each, then `shipped` (carrier, tracking number, ship date): 10,000 events.

Then `sync.sync_account(account_id)` runs in this process exactly as a worker's run does (pages of 500 through the
real client over HTTP, paced by the real RedisPacer, events.apply_page and its commit per page). Instrumented
(wrappers, no code changed): every client call's pacer wait (take_slot) and HTTP round trip (Session.request),
events.apply_page. OUR cost of a page = from the end of its fetch to the start of the next fetch (or the run's
end) plus the reading of the answer (the client call minus pacer and HTTP): parsing, applying, the commit, the
connection's bookkeeping. Cost per 100 events = a page's cost × 100 / its events. The simulator's own answer time
= the HTTP round trip of the same fetches.

Checks: every P9 order 完了 with its tracking number, 10,000 `warehouse_events` rows (5,000 + 5,000 applied), one
shipment_started and one shipped history event per order, one ship ledger row per product line, the products'
reserved counts back where they were; then `_control/redeliver` and a second sync: 10,000 duplicates, 0 applied,
no order's version changed (none applied twice).

Bar (performance.md): our cost ≥ 2,000 events/s applied, i.e. median cost per 100 events ≤ 50 ms; flat from 1k to
100k orders in the database (run both sizes; the other size's latest result is printed beside).
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from uuid import uuid4

import requests

from .common import (ROOT, Load, add_target_args, latest_result, machine_info, make_app, print_machine, print_table,
                     ratio, settle, size_label, stats, verdict, write_results)
from .p6_import import Processes, app_env, now, run_bench, start_gunicorn

BAR_PER_100_MS = 50.0
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
QUEUE = "boss-bench-p9"
PREFIX = "p9-"
CARRIERS = ("yamato", "sagawa", "japanpost")


def generate_base(args, orders: int) -> None:
    target = ["--database-url", args.database_url] if args.database_url else ["--data-dir", args.data_dir]
    print(f"(generating the base: {orders:,} orders, bench.generate --reset)", flush=True)
    subprocess.run([sys.executable, "-m", "bench.generate", "--orders", str(orders), "--reset", *target],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def add_requested_orders(app, count: int, seed: int = 9, prefix: str = PREFIX,
                         requested: bool = True) -> tuple[int, list[int], dict[int, int]]:
    """`count` orders 出荷待ち with a sent shipment each (`requested` False: 確認済 orders, nothing reserved), in bulk
    (ORM, one commit per 1,000); returns (account id, shipment ids or order ids, the products' reserved counts
    before them)."""
    from sqlalchemy import select, update

    from boss.accounts import find_user
    from boss.extensions import db
    from boss.models import Product, Shop, utcnow
    from boss.orders.counters import recount
    from boss.orders.models import Order, OrderLine, Shipment
    from boss.orders.search import search_text_for

    from .common import BENCH_EMAIL

    rng = random.Random(seed)
    with app.app_context():
        account_id = find_user(BENCH_EMAIL).account_id
        shop_id = db.session.scalars(select(Shop.id).where(Shop.account_id == account_id).order_by(Shop.id)).first()
        products = list(db.session.execute(select(Product.id, Product.sku, Product.reserved)
                                           .where(Product.account_id == account_id).order_by(Product.id)).all())
        reserved_before = {p.id: p.reserved for p in products}
        added: dict[int, int] = {}
        stamp = utcnow().replace(microsecond=0)
        shipments: list[Shipment] = []
        orders: list[Order] = []
        for first in range(0, count, 1000):
            batch = []
            for i in range(first, min(first + 1000, count)):
                order = Order(account_id=account_id, shop_id=shop_id, mall_order_number=f"{prefix}{i + 1:06d}",
                              source="manual", status="awaiting_shipment" if requested else "confirmed",
                              shipment_status="requested" if requested else None,
                              ordered_at=stamp - timedelta(hours=2), buyer_name=f"出荷 太郎{i}",
                              recipient_name=f"出荷 太郎{i}", recipient_postal_code="150-0001",
                              recipient_address="東京都渋谷区神宮前1-1-1", recipient_phone="0312345678",
                              payment_method="クレジットカード", stock_reserved=requested, confirmed_at=stamp,
                              created_at=stamp, updated_at=stamp, total=0, billed=0)
                order.search_text = search_text_for(order)
                for position, (product_id, sku, _) in enumerate(rng.sample(products, rng.choice((1, 1, 2, 3)))):
                    quantity = rng.choice((1, 1, 2, 3))
                    order.lines.append(OrderLine(position=position, mall_item_id=f"p9-{sku}", name=sku,
                                                 quantity=quantity, unit_price=1000, product_id=product_id))
                    added[product_id] = added.get(product_id, 0) + quantity
                if requested:
                    shipments.append(Shipment(order=order, status="requested", request_state="sent",
                                              requested_at=stamp, updated_at=stamp, sent_at=stamp))
                batch.append(order)
            db.session.add_all(batch)
            db.session.commit()
            orders.extend(batch)
        for product_id, quantity in added.items() if requested else ():
            db.session.execute(update(Product).where(Product.id == product_id)
                               .values(reserved=Product.reserved + quantity, stock=Product.stock + quantity))
        db.session.commit()
        recount(account_id)
        ids = [s.id for s in shipments] if requested else [o.id for o in orders]
        db.session.remove()
    return account_id, ids, reserved_before


class Simulator:
    """The simulator's contract and control API over HTTP, as a client outside BOSS sees it (set-up only)."""

    def __init__(self, base: str, api_key: str):
        self.url = f"{base}/sandbox/warehouse"
        self.api_key = api_key
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"

    def create_all(self, app, shipment_ids: list[int], rate: float) -> dict[str, str]:
        """Every shipment created at the simulator in batches of 100, at its rate; client_reference → WS id."""
        from sqlalchemy import select

        from boss.extensions import db
        from boss.orders.models import Order, OrderLine, Shipment

        found: dict[str, str] = {}
        with app.app_context():
            for first in range(0, len(shipment_ids), 100):
                chunk = shipment_ids[first:first + 100]
                rows = db.session.execute(select(Shipment.id, Order.mall_order_number, Order.id)
                                          .join(Order, Order.id == Shipment.order_id)
                                          .where(Shipment.id.in_(chunk))).all()
                lines: dict[int, list] = {}
                for order_id, name, quantity in db.session.execute(
                        select(OrderLine.order_id, OrderLine.name, OrderLine.quantity)
                        .where(OrderLine.order_id.in_([r[2] for r in rows]))):
                    lines.setdefault(order_id, []).append({"sku": name, "quantity": quantity, "options": ""})
                body = {"shipments": [_request(str(sid), number, lines[oid]) for sid, number, oid in rows]}
                while True:
                    response = self.http.post(f"{self.url}/v1/shipments:batch", json=body, timeout=60)
                    if response.status_code != 429:
                        break
                    time.sleep(1 / rate)
                response.raise_for_status()
                for result in response.json()["results"]:
                    assert result["status"] in (200, 201), result
                    found[result["client_reference"]] = result["shipment"]["id"]
                time.sleep(1 / rate)
            db.session.remove()
        return found

    def advance_all(self, references: list[str]) -> int:
        started = [{"client_reference": ref, "type": "started"} for ref in references]
        shipped = [{"client_reference": ref, "type": "shipped", "carrier": CARRIERS[i % 3],
                    "tracking_number": f"{9000_0000_0000 + i}", "shipped_on": date.today().isoformat()}
                   for i, ref in enumerate(references)]
        made = 0
        for items in (started, shipped):
            response = requests.post(f"{self.url}/_control/advance-many", json={"api_key": self.api_key,
                                                                                "items": items}, timeout=600)
            response.raise_for_status()
            answer = response.json()
            assert not answer["errors"], answer["errors"][:3]
            made += sum(1 for e in answer["events"] if e)
        return made

    def redeliver(self) -> None:
        requests.post(f"{self.url}/_control/redeliver", json={"api_key": self.api_key}, timeout=30).raise_for_status()


def _request(reference: str, number: str, lines: list) -> dict:
    return {"client_reference": reference, "order_number": number, "shop_code": "1",
            "sender": {"name": "ベンチ商店", "postal_code": "", "address": "", "phone": ""},
            "recipient": {"name": "出荷 太郎", "name_kana": "", "phone": "0312345678", "postal_code": "150-0001",
                          "address": "東京都渋谷区神宮前1-1-1"},
            "delivery_date": None, "delivery_time_slot": None, "remarks": "", "cod_amount": None, "pickup": None,
            "drop_off": None, "lines": lines}


class SyncLog:
    """Wraps the client's calls (pacer wait, HTTP) and events.apply_page."""

    def __init__(self):
        self.fetches: list[dict] = []
        self.applies: list[tuple[float, float, int]] = []
        self.current = None

    def install(self):
        from boss.warehouse import client as client_module
        from boss.warehouse import events

        log = self
        original_events, original_take = client_module.RslClient.events, client_module.take_slot
        original_request, original_apply = requests.Session.request, events.apply_page

        def fetch(client, after, limit=500):
            record = {"start": now(), "cpu_start": time.process_time(), "pace": 0.0, "http": 0.0}
            log.fetches.append(record)
            log.current = record
            try:
                page = original_events(client, after, limit)
                record["events"] = len(page.events)
                return page
            finally:
                record["end"] = now()
                record["cpu_end"] = time.process_time()
                log.current = None

        def take(*a, **k):
            started = now()
            try:
                return original_take(*a, **k)
            finally:
                if log.current is not None:
                    log.current["pace"] += now() - started

        def request(session, *a, **k):
            started = now()
            try:
                return original_request(session, *a, **k)
            finally:
                if log.current is not None:
                    log.current["http"] += now() - started

        def apply(connection_id, page_events, cursor):
            started = now()
            try:
                return original_apply(connection_id, page_events, cursor)
            finally:
                log.applies.append((started, now(), len(page_events)))

        client_module.RslClient.events = fetch
        client_module.take_slot = take
        requests.Session.request = request
        events.apply_page = apply

    def pages(self, end: float, cpu_end: float) -> list[dict]:
        found = []
        for index, fetch in enumerate(self.fetches):
            boundary = self.fetches[index + 1]["start"] if index + 1 < len(self.fetches) else end
            cpu_boundary = self.fetches[index + 1]["cpu_start"] if index + 1 < len(self.fetches) else cpu_end
            reading = fetch["end"] - fetch["start"] - fetch["pace"] - fetch["http"]
            ours = boundary - fetch["end"] + reading
            apply = sum(b - a for a, b, _ in self.applies if fetch["end"] <= a < boundary)
            n = fetch.get("events", 0)
            found.append({"events": n, "ours_ms": ours * 1000, "apply_ms": apply * 1000, "read_ms": reading * 1000,
                          "rest_ms": (ours - apply - reading) * 1000, "http_ms": fetch["http"] * 1000,
                          "pace_ms": fetch["pace"] * 1000,
                          "per_100_ms": ours * 1000 * 100 / n if n else None,
                          "cpu_per_100_ms": (cpu_boundary - fetch["cpu_end"]) * 1000 * 100 / n if n else None})
        return found


def counts(app, account_id: int) -> dict:
    from sqlalchemy import BigInteger, cast, func, select

    from boss.extensions import db
    from boss.models import Product, StockMovement, WarehouseEvent
    from boss.orders.models import Order, OrderEvent, OrderLine, Shipment

    with app.app_context():
        p9 = select(Order.id).where(Order.account_id == account_id, Order.mall_order_number.like(f"{PREFIX}%"))
        found = {
            "orders": db.session.scalar(select(func.count()).select_from(p9.subquery())),
            "completed": db.session.scalar(select(func.count()).where(Order.id.in_(p9), Order.status == "completed",
                                                                      Order.shipment_status == "shipped")),
            "tracked": db.session.scalar(select(func.count()).where(Shipment.order_id.in_(p9),
                                                                    Shipment.tracking_number.is_not(None))),
            "events_seen": db.session.scalar(select(func.count()).select_from(WarehouseEvent)
                                             .where(WarehouseEvent.account_id == account_id)),
            "events_applied": db.session.scalar(select(func.count()).select_from(WarehouseEvent).where(
                WarehouseEvent.account_id == account_id, WarehouseEvent.outcome == "applied")),
            "history_started": db.session.scalar(select(func.count()).where(
                OrderEvent.order_id.in_(p9), OrderEvent.kind == "shipment_started")),
            "history_shipped": db.session.scalar(select(func.count()).where(
                OrderEvent.order_id.in_(p9), OrderEvent.kind == "shipped")),
            "ship_movements": db.session.scalar(select(func.count()).where(
                StockMovement.order_id.in_(p9), StockMovement.kind == "ship")),
            "product_lines": db.session.scalar(select(func.count(func.distinct(  # 64-bit: PG's integer overflows
                cast(OrderLine.order_id, BigInteger) * 100000 + OrderLine.product_id)))
                .where(OrderLine.order_id.in_(p9))),
            "versions": db.session.scalar(select(func.sum(Order.version)).where(Order.id.in_(p9))),
            "reserved": dict(db.session.execute(select(Product.id, Product.reserved)
                                                .where(Product.account_id == account_id)).all()),
        }
        db.session.remove()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_args(parser)
    parser.add_argument("--orders", type=int, default=1000, help="orders in the database besides P9's (1k, 100k)")
    parser.add_argument("--shipments", type=int, default=5000, help="shipments, each started + shipped (5,000)")
    parser.add_argument("--profile", help="write cProfile stats of the timed sync to this file (slows it down)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"the benchmark's own Redis db ({DEFAULT_REDIS})")
    args = parser.parse_args()
    if not (args.database_url or args.data_dir):
        raise SystemExit("give --database-url or --data-dir (the database is wiped)")
    run_bench(args, run)


def run(args, url: str, processes: Processes) -> None:
    from boss.extensions import db
    from boss.warehouse import connection, sync

    generate_base(args, args.orders)
    app = make_app(url)
    started = now()
    account_id, shipment_ids, reserved_before = add_requested_orders(app, args.shipments)
    print(f"{args.shipments:,} orders 出荷待ち with sent shipments added in {now() - started:.1f}s", flush=True)
    base = start_gunicorn(processes, app_env(url, args.redis_url, QUEUE, BOSS_SANDBOX=1), label="sim-gunicorn")
    sim_url = f"{base}/sandbox/warehouse"
    app.config.update(REDIS_URL=args.redis_url, BOSS_QUEUE=QUEUE, BOSS_SANDBOX=True,
                      WAREHOUSE_SANDBOX_BASE_URL=sim_url)
    rate = app.config["WAREHOUSE_SANDBOX_RATE_PER_SECOND"]
    sim = Simulator(base, f"p9-{uuid4().hex[:12]}")
    started = now()
    warehouse_ids = sim.create_all(app, shipment_ids, rate)
    with app.app_context():
        from sqlalchemy import update

        from boss.orders.models import Shipment

        for reference, ws in warehouse_ids.items():
            db.session.execute(update(Shipment).where(Shipment.id == int(reference)).values(warehouse_id=ws))
        conn = connection.warehouse_for(account_id)
        connection.set_api_key(conn, sim.api_key)
        conn.base_url = sim_url
        db.session.add(conn)
        db.session.commit()
        db.session.remove()
    made = sim.advance_all([str(i) for i in shipment_ids])
    time.sleep(2)  # the set-up's batch calls (not through the pacer) out of the simulator's rate window
    print(f"simulator: {len(warehouse_ids):,} shipments created, {made:,} events made in {now() - started:.1f}s "
          f"(rate limit {rate:g}/s per key)", flush=True)

    machine = machine_info(app)
    machine.update(redis=args.redis_url, simulator="gunicorn -w 2 (sync), 127.0.0.1", simulator_rate_per_second=rate,
                   warehouse_min_interval_s=app.config["WAREHOUSE_MIN_INTERVAL"])
    print_machine(machine)

    log = SyncLog()
    log.install()
    settle()
    with Load() as load:
        t0 = now()
        with app.app_context():
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                result = profiler.runcall(sync.sync_account, account_id)
                profiler.dump_stats(args.profile)
            else:
                result = sync.sync_account(account_id)
            db.session.remove()
        t1, cpu1 = now(), time.process_time()
    pages = [p for p in log.pages(t1, cpu1) if p["events"]]
    after = counts(app, account_id)

    sim.redeliver()
    log.fetches, log.applies = [], []
    with app.app_context():
        again = sync.sync_account(account_id)
        db.session.remove()
    again_pages = [p for p in log.pages(now(), time.process_time()) if p["events"]]
    final = counts(app, account_id)

    n = args.shipments
    checks = {
        "applied_10000": result["applied"] == 2 * n and result["duplicate"] == 0,
        "orders_completed": after["completed"] == n and after["tracked"] == n,
        "events_recorded_once": after["events_seen"] == 2 * n and after["events_applied"] == 2 * n,
        "history_once_each": after["history_started"] == n and after["history_shipped"] == n,
        "ship_rows_per_product_line": after["ship_movements"] == after["product_lines"],
        "reserved_back": after["reserved"] == reserved_before,
        "redelivery_all_duplicates": again["applied"] == 0 and again["duplicate"] == 2 * n,
        "redelivery_changed_nothing": final["versions"] == after["versions"]
        and final["events_seen"] == after["events_seen"] and final["ship_movements"] == after["ship_movements"],
    }
    per_100 = stats([p["per_100_ms"] for p in pages])
    ours_total = sum(p["ours_ms"] for p in pages) / 1000
    applied_per_s = round(result["applied"] / ours_total) if ours_total else None
    median = per_100.get("median")
    passed = median is not None and median <= BAR_PER_100_MS and all(checks.values())
    http = stats([p["http_ms"] for p in pages])
    size = size_label(args.orders)

    print(f"\nP9 sync, {machine['dialect']}, {args.orders:,} + {n:,} orders in the database: {result['applied']:,} "
          f"events applied in {len(pages)} pages of ≤500 ({t1 - t0:.1f}s in all; busy cores {load.cores})")
    rows = [["our cost per 100 events", per_100["n"], per_100["median"], per_100["p95"], per_100["max"],
             f"≤{BAR_PER_100_MS:g} (median)", verdict(passed)]]
    cpu = stats([p["cpu_per_100_ms"] for p in pages])
    rows.append(["  this process's CPU per 100", cpu["n"], cpu["median"], cpu["p95"], cpu["max"], "-", "-"])
    for key, label in (("ours_ms", "our cost per page"), ("apply_ms", "  apply_page"), ("read_ms", "  reading"),
                       ("rest_ms", "  commit and the rest"), ("http_ms", "simulator's answer (HTTP)"),
                       ("pace_ms", "pacer wait")):
        s = stats([p[key] for p in pages])
        rows.append([label, s["n"], s["median"], s["p95"], s["max"], "-", "-"])
    print_table(["ms", "n", "median", "p95", "max", "bar", "pass"], rows)
    print(f"applied per second of our cost: {applied_per_s:,} (bar ≥ 2,000); our cost {ours_total:.1f}s, the "
          f"simulator's answers {sum(p['http_ms'] for p in pages) / 1000:.1f}s, pacer waits "
          f"{sum(p['pace_ms'] for p in pages) / 1000:.1f}s; ratio ours/simulator per page "
          f"{ratio(stats([p['ours_ms'] for p in pages])['median'], http['median'])}")
    print(f"redelivered: {again['duplicate']:,} duplicates, {again['applied']} applied in {len(again_pages)} pages "
          f"(our cost per page median {stats([p['ours_ms'] for p in again_pages]).get('median')} ms)")
    for name, ok in checks.items():
        print(f"  check {name}: {verdict(ok)}")
    other = latest_result("p9", machine["dialect"], "100k" if size == "1k" else "1k")
    if other:
        print(f"the {other['size']} run of {other['at']}: median per 100 {other['per_100_ms'].get('median')} ms, "
              f"p95 {other['per_100_ms'].get('p95')} → flatness {ratio(median, other['per_100_ms'].get('median'))}")
    machine["orders"] = args.orders
    path = write_results("p9", machine, {
        "base_orders": args.orders, "shipments": n, "result": result, "redelivered": again, "checks": checks,
        "pass_bar": passed, "per_100_ms": per_100, "cpu_per_100_ms": cpu, "applied_per_s_of_our_cost": applied_per_s,
        "pages": {key: stats([p[key] for p in pages]) for key in
                  ("ours_ms", "apply_ms", "read_ms", "rest_ms", "http_ms", "pace_ms")},
        "total_s": round(t1 - t0, 3), "busy_cores": load.cores,
        "counts": {k: v for k, v in after.items() if k != "reserved"},
        "page_samples_per_100_ms": [round(p["per_100_ms"], 2) for p in pages],
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
