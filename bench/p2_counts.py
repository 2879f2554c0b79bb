"""P2: the status tab counts, GET /api/v1/orders/counts — server time.

    python -m bench.p2_counts --database-url postgresql://postgres@127.0.0.1/boss_bench_1m
    python -m bench.p2_counts --data-dir /work/benchdata/sqlite-1m

The counts come from the order_counts counter table (kept by the services, rebuilt by
counters.recount after a bulk load). Floor: the bare SQL of that counter read. For scale, the
naive way — COUNT(*) … GROUP BY status over orders, plus the 要対応 count by tags — is timed a few
times too (the trap performance.md warns of), and its answer is compared with the counters' (they
must agree: a mismatch means the counters drifted).

Bar: ≤ 10 ms for all tabs together (checked on p95).
"""
from __future__ import annotations

from .common import (Api, Bare, Load, QueryLog, base_parser, bench_account_id, bench_token, explain_sql, machine_info,
                     make_app, nominal_size, print_machine, print_table, ratio, settle, short_sql, stats, target_url,
                     timed, verdict, write_results)

BAR_P95_MS = 10.0
PATH = "/api/v1/orders/counts"
FLOOR_SQL = ("SELECT c.status, SUM(c.n) FROM order_counts c JOIN shops s ON s.id = c.shop_id "
             "WHERE s.account_id = %(account_id)s GROUP BY c.status")


def naive_counts(bare: Bare, account_id: int) -> dict:
    from boss.orders import rules

    found = dict(bare.rows("SELECT status, COUNT(*) FROM orders WHERE account_id = %(a)s AND deleted_at IS NULL "
                           "GROUP BY status", {"a": account_id}, end=False))
    codes = ", ".join(f"'{c}'" for c in rules.ATTENTION_TAG_CODES)
    attention = bare.scalar(
        "SELECT COUNT(DISTINCT o.id) FROM orders o JOIN order_tags ot ON ot.order_id = o.id "
        f"JOIN tags t ON t.id = ot.tag_id WHERE o.account_id = %(a)s AND o.deleted_at IS NULL AND t.code IN ({codes})",
        {"a": account_id})
    counts = {s: int(found.get(s, 0)) for s in rules.STATUSES}
    counts["all"] = sum(counts.values())
    counts["attention"] = int(attention)
    return counts


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--naive", type=int, default=3, help="timed runs of the naive COUNT(*) (default 3)")
    args = parser.parse_args()
    url = target_url(args)
    app = make_app(url)
    machine = machine_info(app)
    print_machine(machine)
    size = nominal_size(machine["orders"])
    api = Api(app, bench_token(app))
    account_id = bench_account_id(app)
    bare = Bare(app)
    log = QueryLog(app)
    params = {"account_id": account_id}

    answer = api.get(PATH)[0].get_json()
    naive = naive_counts(bare, account_id)
    agree = all(answer[k] == naive[k] for k in naive)
    queries = log.capture(lambda: api.get(PATH))
    if args.explain:
        for statement, parameters in queries:
            print(f"\n--- {short_sql(statement)}\n  {parameters}")
            print(explain_sql(bare, statement, parameters))
    for _ in range(args.warmup):
        api.get(PATH)
        bare.rows(FLOOR_SQL, params)
    settle()
    api_ms, floor_ms = [], []
    with Load() as load:
        for _ in range(args.requests):
            api_ms.append(api.get(PATH)[1])
            floor_ms.append(timed(lambda: bare.rows(FLOOR_SQL, params)))
    naive_ms = [timed(lambda: naive_counts(bare, account_id)) for _ in range(args.naive)]

    api_stats, floor_stats, naive_stats = stats(api_ms), stats(floor_ms), stats(naive_ms)
    passed = api_stats["p95"] <= BAR_P95_MS
    print(f"\nP2 counts, {machine['dialect']} {size}, {args.requests} requests (ms; server time in-process)")
    print_table(["case", "median", "p95", "floor med", "floor p95", "p95/floor", "queries", "bar p95", "pass", "busy cores"],
                [["counts (counter table)", api_stats["median"], api_stats["p95"], floor_stats["median"],
                  floor_stats["p95"], ratio(api_stats["p95"], floor_stats["p95"]), len(queries),
                  f"≤{BAR_P95_MS:g}", verdict(passed), load.cores],
                 ["naive COUNT(*) GROUP BY (reference)", naive_stats["median"], naive_stats["p95"], None, None,
                  None, 2, "-", "-", None]])
    print(f"answer: {answer}")
    print(f"counters agree with COUNT(*): {agree}" + ("" if agree else f"  (COUNT(*) says {naive})"))
    path = write_results("p2", machine, {
        "requests": args.requests, "bar_p95_ms": BAR_P95_MS,
        "cases": {"counts": {"path": PATH, "bar_p95_ms": BAR_P95_MS, "api": api_stats, "floor": floor_stats, "queries_per_request": len(queries),
                             "ratio_p95_to_floor": ratio(api_stats["p95"], floor_stats["p95"]),
                             "pass_bar": passed, "busy_cores": load.cores}},
        "naive_count_ms": naive_stats, "answer": answer, "naive_answer": naive, "counters_agree": agree})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
