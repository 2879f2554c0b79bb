"""P7: cancel reflection — 1,000 cancels over 20 shops, 2 real rq workers, the sandbox at 1 req/s per licenseKey.

    python -m bench.p7_reflection --database-url postgresql://postgres@127.0.0.1/boss_bench_p7
    options: --shops 20 --per-shop 50 --already-cancelled 0.1 --workers 2 --timeout 1200

THE TARGET DATABASE IS WIPED (its own database, never `test`) and the Redis database of --redis-url
(default redis://127.0.0.1:6379/11, not db 0) is flushed before and after.

Set-up, through the product's own paths:
- the app served by gunicorn (2 sync workers, 127.0.0.1) with BOSS_SANDBOX=1 — the RMS sandbox, its
  state in the real Redis, at its default limit of 1 request/s per licenseKey (429 above it);
- 2 real workers: `worker_command` of boss.embedded (`rq worker --with-scheduler -w jobs.worker.BossWorker`,
  each with its outbox sweeper), on the same database and Redis, default settings (RMS_MIN_INTERVAL
  1.05 s, OUTBOX_SWEEP_SECONDS 15, REFLECTION_REDISPATCH_SECONDS 30, RMS_RETRY_BACKOFF 10,30,90,270);
- one account with 20 Rakuten shops (reflect_cancel_to_rms on), each with its own licenseKey holding
  50 orders in the sandbox; each shop connected by PATCH /api/v1/shops/{id} (rms object; import
  interval set to 60 min so that no scheduled re-import runs during the measurement) — the workers
  run the 20 first imports, which create the 1,000 mall-linked orders;
- then ~10 % of the orders (5 per shop) are moved to 900 (cancelled) at RMS through the control API.
Measured: the 1,000 cancels are sent through POST /api/v1/orders/{id}/cancel (in this process,
round-robin over the shops, as fast as the API answers), the workers reflect them. Drain time = from
the first cancel's event to the last reflection_done/failed event (database timestamps); the
reflection_state of every order is polled until none is pending.

Checks: every order's reflection_state is done; the sandbox's _control/calls show no cancelOrder for an
order RMS already had at 900 (and none twice).

Bar (performance.md): drained within 150 s = 1.5 × the floor of 100 s (a getOrder and a cancelOrder per
cancel, 50 cancels per shop, at 1 request/s per shop). Ratio = drain / floor.

Analysis printed after the figures (from the sandbox's call log, the outbox rows and RQ's finished
jobs): RMS calls per second overall and per shop, how long a cancel waits between its (batched)
getOrder and its cancelOrder, how often the sweeper handed messages to a lane again, and the workers'
busy time.
"""
from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from .common import (ROOT, Api, Load, add_target_args, machine_info, print_machine, print_table, ratio, stats,
                     verdict, write_results)
from .p6_import import (Processes, run_bench, Sandbox, app_env, connect_shop, fresh_database, own_redis,
                        seconds, seed_rakuten_account, start_gunicorn)

BAR_S = 150.0
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
QUEUE = "boss-bench-p7"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_args(parser)
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--per-shop", type=int, default=50, help="cancels per shop (default 50)")
    parser.add_argument("--already-cancelled", type=float, default=0.1,
                        help="share of the orders RMS shows at 900 before our cancel (default 0.1)")
    parser.add_argument("--workers", type=int, default=2, help="rq workers (default 2)")
    parser.add_argument("--timeout", type=float, default=1200, help="give up waiting after this many seconds")
    parser.add_argument("--stall", type=float, default=300,
                        help="give up when no reflection ended for this many seconds (default 300)")
    parser.add_argument("--worker-root", help="run the rq workers on the code in this directory (e.g. an older commit "
                        "exported by `git archive`), to compare reflection designs; default: this checkout")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"the benchmark's own Redis db (default {DEFAULT_REDIS})")
    args = parser.parse_args()
    run_bench(args, run)


def code_version(root: Path) -> str:
    """The commit of a checkout (and whether it has changes), or what an exported tree says about itself."""
    import subprocess

    if (root / "COMMIT").exists():
        return f"exported tree of {(root / 'COMMIT').read_text().strip()}"
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        if Path(subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True,
                               text=True, check=True).stdout.strip()).resolve() != root.resolve():
            return "exported tree (not a checkout)"
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "boss", "jobs"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" + uncommitted changes in boss/ or jobs/" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "exported tree (not a checkout)"


def parse_at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def run(args, url: str, processes: Processes) -> None:
    from boss.embedded import worker_command
    from sqlalchemy import func, select

    from sqlalchemy.orm import aliased

    from boss.extensions import db
    from boss.models import JobRecord, OutboxMessage
    from boss.orders.models import Order, OrderEvent

    print(f"(wiping and migrating {url.split('@')[-1]})", flush=True)
    app = fresh_database(url)
    app.config.update(REDIS_URL=args.redis_url, BOSS_QUEUE=QUEUE)
    env = app_env(url, args.redis_url, QUEUE)
    base = start_gunicorn(processes, {**env, "BOSS_SANDBOX": "1"}, workers=2, label="sandbox-gunicorn")
    sandbox = Sandbox(base)
    token, shop_ids, account_id = seed_rakuten_account(app, [f"P7楽天ショップ{i + 1:02d}" for i in range(args.shops)],
                                                       reflect=True)
    run_id = f"{os.getpid()}-{int(time.time())}"
    license_keys = {shop_id: f"p7-{run_id}-{i:02d}" for i, shop_id in enumerate(shop_ids)}
    for shop_id, key in license_keys.items():
        sandbox.generate(key, args.per_shop)

    worker_root = Path(args.worker_root).resolve() if args.worker_root else ROOT
    workers = [processes.start(f"rq-worker-{i + 1}", worker_command(args.redis_url, QUEUE),
                               {**env, "PYTHONPATH": str(worker_root)}, cwd=worker_root)
               for i in range(args.workers)]
    api = Api(app, token)
    started = time.perf_counter()
    for shop_id, key in license_keys.items():
        connect_shop(api, shop_id, key, sandbox.rms_url, import_interval_minutes=60)
    print(f"{args.shops} shops connected to {sandbox.rms_url}; {args.workers} rq workers import "
          f"{args.shops * args.per_shop:,} orders …", flush=True)
    deadline = time.monotonic() + 600
    while True:
        with app.app_context():
            states = Counter(db.session.scalars(select(JobRecord.state).where(JobRecord.kind == "import")))
            db.session.remove()
        if states.get("finished", 0) + states.get("failed", 0) >= args.shops:
            break
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise SystemExit(f"the imports did not finish: {dict(states)}\n{processes.log_tail('rq-worker-1')}")
        time.sleep(1)
    with app.app_context():
        rows = db.session.execute(select(Order.id, Order.shop_id, Order.mall_order_number)
                                  .where(Order.account_id == account_id, Order.mall_linked.is_(True))
                                  .order_by(Order.id)).all()
        db.session.remove()
    print(f"imports done in {time.perf_counter() - started:.0f}s: {dict(states)}, {len(rows):,} mall-linked orders",
          flush=True)
    if states.get("failed") or len(rows) != args.shops * args.per_shop:
        raise SystemExit("the imports did not create every order")

    rng = random.Random(20261127)
    by_shop: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for order_id, shop_id, number in rows:
        by_shop[shop_id].append((order_id, number))
    pre_cancelled: dict[str, int] = {}
    per_shop_pre = round(args.per_shop * args.already_cancelled)
    for shop_id, orders in by_shop.items():
        for _order_id, number in rng.sample(orders, per_shop_pre):
            sandbox.set_progress(license_keys[shop_id], number, 900)
            pre_cancelled[number] = shop_id
    for orders in by_shop.values():
        rng.shuffle(orders)
    sequence = [by_shop[shop_id][i] for i in range(args.per_shop) for shop_id in shop_ids]  # round-robin over shops
    cancel_ids = [order_id for order_id, _ in sequence]

    machine = machine_info(app)
    machine.update(redis=args.redis_url, sandbox_server="gunicorn -w 2 (sync), 127.0.0.1",
                   rq_workers=args.workers, rms_min_interval_s=app.config["RMS_MIN_INTERVAL"],
                   sandbox_rate_per_second=app.config["RMS_SANDBOX_RATE_PER_SECOND"],
                   outbox_sweep_s=app.config["OUTBOX_SWEEP_SECONDS"],
                   reflection_redispatch_s=app.config["REFLECTION_REDISPATCH_SECONDS"],
                   worker_code=str(worker_root), worker_commit=code_version(worker_root))
    print_machine(machine)
    print(f"{len(pre_cancelled)} orders moved to 900 at RMS first; sending {len(cancel_ids):,} cancels …", flush=True)

    timeline = []
    stalled = False
    with Load() as load:
        t0 = time.perf_counter()
        cancel_ms = []
        for order_id in cancel_ids:
            response, ms = api.call("POST", f"/api/v1/orders/{order_id}/cancel", json={})
            if response.get_json()["mall_reflection"]["state"] != "pending":
                raise SystemExit(f"order {order_id}: the cancel was not captured for reflection: {response.get_json()}")
            cancel_ms.append(ms)
        issued = time.perf_counter() - t0
        print(f"cancels sent in {issued:.1f}s (API p95 {stats(cancel_ms)['p95']:.1f} ms); waiting for the reflections …",
              flush=True)
        last_print = 0.0
        stuck_since = None
        progress_at, ended_before = 0.0, 0
        live = aliased(OutboxMessage)
        pending_message = select(live.id).where(
            live.kind == "rms.reflect_cancel", live.state == "pending",
            live.payload["order_id"].as_integer() == Order.id).correlate(Order)
        while True:
            with app.app_context():
                counts = dict(db.session.execute(select(Order.reflection_state, func.count())
                                                 .where(Order.id.in_(cancel_ids)).group_by(Order.reflection_state)).all())
                # One statement, one snapshot: an order still pending whose outbox message is no longer
                # pending will never be reflected (nothing dispatches a finished message again).
                lost = db.session.scalar(select(func.count()).select_from(Order).where(
                    Order.id.in_(cancel_ids), Order.reflection_state == "pending", ~pending_message.exists()))
                db.session.remove()
            elapsed = time.perf_counter() - t0
            pending = counts.get("pending", 0)
            timeline.append((round(elapsed, 1), counts.get("done", 0), counts.get("failed", 0), pending, lost))
            if elapsed - last_print >= 30:
                print(f"  {elapsed:6.0f}s: done {counts.get('done', 0):,}, failed {counts.get('failed', 0)}, "
                      f"pending {pending:,}" + (f" (of which {lost} lost: their outbox message is no longer pending)"
                                                if lost else ""), flush=True)
                last_print = elapsed
            if not pending:
                break
            ended = counts.get("done", 0) + counts.get("failed", 0)
            if ended != ended_before:
                progress_at, ended_before = elapsed, ended
            elif elapsed - progress_at >= args.stall:
                stalled = True
                print(f"  {elapsed:6.0f}s: STALLED — no reflection ended for {args.stall:.0f}s while {pending:,} are "
                      "pending (their outbox messages are pending: the jobs keep being rescheduled); stopping", flush=True)
                break
            stuck_since = (stuck_since or elapsed) if pending == lost else None
            if stuck_since is not None and elapsed - stuck_since >= 45:
                print(f"  {elapsed:6.0f}s: the {lost} still pending are lost (their outbox messages are done): "
                      "nothing will reflect them; stopping", flush=True)
                break
            if elapsed > args.timeout:
                print(f"  giving up after {args.timeout:.0f}s", flush=True)
                break
            time.sleep(0.5)
        waited = time.perf_counter() - t0

    redis = own_redis(args.redis_url)
    with app.app_context():
        first_cancel = db.session.scalar(select(func.min(OrderEvent.at)).where(
            OrderEvent.order_id.in_(cancel_ids), OrderEvent.kind == "cancelled"))
        last_reflection = db.session.scalar(select(func.max(OrderEvent.at)).where(
            OrderEvent.order_id.in_(cancel_ids), OrderEvent.kind.in_(("reflection_done", "reflection_failed"))))
        retries = db.session.scalar(select(func.count()).select_from(OrderEvent).where(
            OrderEvent.order_id.in_(cancel_ids), OrderEvent.kind == "reflection_retry"))
        failures = db.session.execute(select(Order.mall_order_number, Order.reflection_message).where(
            Order.id.in_(cancel_ids), Order.reflection_state == "failed")).all()
        outbox = db.session.execute(select(OutboxMessage.state, OutboxMessage.dispatches).where(
            OutboxMessage.kind == "rms.reflect_cancel")).all()
        counts = dict(db.session.execute(select(Order.reflection_state, func.count())
                                         .where(Order.id.in_(cancel_ids)).group_by(Order.reflection_state)).all())
        lost_rows = db.session.execute(
            select(Order.id, Order.mall_order_number, OutboxMessage.id, OutboxMessage.state, OutboxMessage.dispatches,
                   OutboxMessage.dispatched_at, OutboxMessage.run_after, OutboxMessage.done_at)
            .join(OutboxMessage, OutboxMessage.payload["order_id"].as_integer() == Order.id)
            .where(Order.id.in_(cancel_ids), Order.reflection_state == "pending", OutboxMessage.kind == "rms.reflect_cancel",
                   OutboxMessage.state != "pending", ~pending_message.exists())).all()
        db.session.remove()
    pending_left = counts.get("pending", 0)
    drained = pending_left == 0
    all_lost = pending_left > 0 and len({r[0] for r in lost_rows}) == pending_left
    # Drain time: first cancel → last reflection; when the only ones left are lost, the others' drain time.
    drain = (last_reflection - first_cancel).total_seconds() if (drained or all_lost) and last_reflection else None
    lost = [{"order_id": r[0], "number": r[1], "outbox_id": r[2], "outbox_state": r[3], "dispatches": r[4],
             "rescheduled_by_ms": round((r[6] - r[5]).total_seconds() * 1000, 1) if r[5] and r[6] else None,
             "run_after_minus_done_at_ms": round((r[6] - r[7]).total_seconds() * 1000, 1) if r[6] and r[7] else None}
            for r in lost_rows]

    # ------------------------------------------------------------ the sandbox's view
    calls_by_shop = {shop_id: sandbox.calls(key) for shop_id, key in license_keys.items()}
    for shop_id, items in calls_by_shop.items():
        for call in items:
            call["shop_id"] = shop_id
            call["t"] = parse_at(call["at"])
    all_calls = sorted((c for items in calls_by_shop.values() for c in items), key=lambda c: c["t"])
    # the database keeps naive UTC; the sandbox logs aware Japan time
    cut = first_cancel.replace(tzinfo=timezone.utc).timestamp() if first_cancel else all_calls[0]["t"]
    reflection_calls = [c for c in all_calls if c["t"] >= cut]
    functions = Counter(c["function"] for c in reflection_calls)
    limited = sum(1 for c in reflection_calls if c["http_status"] == 429)
    cancel_numbers = [c["body"].get("orderNumber") for c in reflection_calls
                      if c["function"] in ("cancelOrder", "cancelOrderAfterShipping") and isinstance(c["body"], dict)]
    sent_to_pre_cancelled = sorted(n for n in cancel_numbers if n in pre_cancelled)
    sent_twice = sorted(n for n, k in Counter(cancel_numbers).items() if k > 1)
    expected_cancels = len(cancel_ids) - len(pre_cancelled)
    # the wait inside one try: the (batched) getOrder of an order → its cancelOrder
    last_get: dict[str, float] = {}
    follow_up_waits = []
    gets_per_order = Counter()
    for call in reflection_calls:
        body = call["body"] if isinstance(call["body"], dict) else {}
        if call["function"] == "getOrder" and call["http_status"] == 200:
            for number in body.get("orderNumberList") or []:
                last_get[number] = call["t"]
                gets_per_order[number] += 1
        elif call["function"] == "cancelOrder" and body.get("orderNumber") in last_get:
            follow_up_waits.append(call["t"] - last_get[body["orderNumber"]])
    per_shop_span = []
    per_shop_rate = []
    for shop_id in shop_ids:
        mine = [c for c in reflection_calls if c["shop_id"] == shop_id]
        if len(mine) > 1:
            span = mine[-1]["t"] - mine[0]["t"]
            per_shop_span.append(span)
            per_shop_rate.append(len(mine) / span if span > 0 else 0)
    window = (reflection_calls[-1]["t"] - reflection_calls[0]["t"]) if len(reflection_calls) > 1 else 0
    dispatches = [d for _state, d in outbox]
    reschedules = sum(d - 1 for d in dispatches)

    # ------------------------------------------------------------ the workers' view (RQ's finished jobs)
    job_durations = []
    try:
        from rq import Queue
        from rq.job import Job
        from rq.registry import FailedJobRegistry, FinishedJobRegistry

        queue = Queue(QUEUE, connection=redis)
        ids = FinishedJobRegistry(queue=queue).get_job_ids() + FailedJobRegistry(queue=queue).get_job_ids()
        for job in Job.fetch_many(ids, connection=redis):
            ended = job.ended_at if job is not None else None
            if ended is not None and ended.tzinfo is None:
                ended = ended.replace(tzinfo=timezone.utc)
            if job is not None and job.started_at and ended is not None and ended.timestamp() >= cut:
                job_durations.append((job.ended_at - job.started_at).total_seconds())
    except Exception as exc:  # the analysis is a bonus; the figures above stand without it
        print(f"(could not read RQ's registries: {exc})")
    busy = sum(job_durations)

    floor = 2.0 * args.per_shop  # a getOrder and a cancelOrder per cancel at 1 request/s per shop
    calls_needed = max(Counter(c["shop_id"] for c in reflection_calls).values()) if reflection_calls else 0
    passed = bool(drained and drain is not None and drain <= BAR_S and not sent_to_pre_cancelled
                  and not sent_twice and not counts.get("failed"))
    if drained:
        drain_text = f"{drain:.1f} s"
    elif stalled:
        drain_text = f"STALLED: {pending_left} pending, none ended for {args.stall:.0f} s (waited {waited:.0f} s)"
    elif all_lost and drain is not None:
        drain_text = f"{drain:.1f} s for the {len(cancel_ids) - pending_left}; {pending_left} never (lost)"
    else:
        drain_text = f"not drained in {waited:.0f} s"
    print(f"\nP7 cancel reflection, {machine['dialect']}, {len(cancel_ids):,} cancels over {args.shops} shops "
          f"({len(pre_cancelled)} already 900 at RMS), {args.workers} rq workers, sandbox {machine['sandbox_rate_per_second']:g} "
          f"req/s per licenseKey, pacer {machine['rms_min_interval_s']:g} s")
    print_table(["measure", "value", "floor", "ratio", "bar", "pass"], [
        ["drain time (first cancel → last reflection)", drain_text, f"{floor:.0f} s", ratio(drain, floor),
         f"≤{BAR_S:g} s", verdict(passed)],
        ["cancels sent by the API (in-process)", f"{issued:.1f} s", "-", "-", "-", "-"],
        ["reflection states", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), "-", "-", "all done",
         verdict(counts.get("done", 0) == len(cancel_ids))],
        ["cancelOrder sent for an order already 900", len(sent_to_pre_cancelled), "-", "-", "0", verdict(not sent_to_pre_cancelled)],
        ["cancelOrder sent twice for an order", len(sent_twice), "-", "-", "0", verdict(not sent_twice)],
        ["cancelOrder sent / expected", f"{len(cancel_numbers)} / {expected_cancels}", "-", "-", "-", "-"],
    ])
    print("\nwhere the time goes")
    rate_all = len(reflection_calls) / window if window else 0
    print_table(["figure", "value"], [
        ["RMS calls in the reflection window", f"{len(reflection_calls):,} ({', '.join(f'{k} {v}' for k, v in sorted(functions.items()))}); "
                                               f"{limited} answered 429"],
        ["RMS calls per second, all shops", f"{rate_all:.2f} (the limit allows {args.shops} = 1 per shop)"],
        ["RMS calls per second per shop (median)", f"{stats(per_shop_rate).get('median', 0):.3f} (limit 1)"],
        ["most calls one shop needed", f"{calls_needed} → its own floor {calls_needed:.0f} s"],
        ["getOrder → cancelOrder of one try (s)", f"median {stats(follow_up_waits).get('median', 0):.2f}, p95 "
                                                  f"{stats(follow_up_waits).get('p95', 0):.2f} (checks are batched: a cancel waits for the ones before it)"],
        ["getOrder calls per order (median / max)", f"{stats(gets_per_order.values()).get('median', 0):.0f} / "
                                                    f"{stats(gets_per_order.values()).get('max', 0):.0f}"],
        ["outbox: messages handed to a lane again by the sweeper", f"{reschedules:,} over {len(dispatches):,} messages"],
        ["reflection_retry events (transient failures)", retries],
        ["RQ jobs finished in the window", f"{len(job_durations):,}, busy {busy:.0f} s of {args.workers} × "
                                           f"{(drain or waited):.0f} s = {busy / (args.workers * (drain or waited)) * 100:.0f} %; "
                                           f"job p50 {stats(job_durations).get('median', 0):.2f} s, "
                                           f"p95 {stats(job_durations).get('p95', 0):.2f} s"],
        ["busy cores (whole machine) while measuring", load.cores],
        ["outbox dispatches per message (median / max)",
         f"{stats(dispatches).get('median', 0):.0f} / {stats(dispatches).get('max', 0):.0f}" if dispatches else "-"],
    ])
    if failures:
        print("failed reflections (first 5):", failures[:5])
    if lost:
        print(f"\nLOST REFLECTIONS: {len(lost)} order(s) stay pending for ever — their outbox message is "
              f"'{lost[0]['outbox_state']}' although the handler had just rescheduled it (run_after only "
              f"{', '.join(str(x['rescheduled_by_ms']) for x in lost[:5])} ms after the reschedule, so run_message's "
              "'run_after <= now' check saw it as not rescheduled and marked the message done):")
        for item in lost[:10]:
            print("  ", item)
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    path = write_results("p7", machine, {
        "shops": args.shops, "per_shop": args.per_shop, "cancels": len(cancel_ids), "already_cancelled_at_rms": len(pre_cancelled),
        "workers": args.workers, "drained": drained, "drain_s": seconds(drain) if drain is not None else None,
        "waited_s": seconds(waited), "cancels_issued_s": seconds(issued), "cancel_api_ms": stats(cancel_ms),
        "floor_s": floor, "ratio_drain_to_floor": ratio(drain, floor), "bar_s": BAR_S, "pass_bar": passed,
        "reflection_states": counts, "cancel_sent_for_already_cancelled": sent_to_pre_cancelled,
        "cancel_sent_twice": sent_twice, "cancel_calls": len(cancel_numbers), "expected_cancel_calls": expected_cancels,
        "rms_calls": dict(functions), "http_429": limited, "rms_calls_per_second": round(rate_all, 3),
        "per_shop_calls_per_second": stats(per_shop_rate), "per_shop_span_s": stats(per_shop_span),
        "follow_up_wait_s": stats(follow_up_waits), "gets_per_order": stats(gets_per_order.values()),
        "outbox_messages": len(dispatches), "outbox_reschedules": reschedules, "reflection_retries": retries,
        "rq_jobs": len(job_durations), "rq_busy_s": seconds(busy), "rq_job_s": stats(job_durations),
        "busy_cores": load.cores, "timeline": timeline[::4], "failures": [list(f) for f in failures[:20]],
        "lost_reflections": lost, "stalled": stalled,
        "outbox_dispatches": stats(dispatches),
    })
    print(f"results: {path}")


if __name__ == "__main__":
    main()
