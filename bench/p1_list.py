"""P1: 注文一覧 first page (50 rows) per status tab and 'all', newest first, and sorted — server time.

    python -m bench.p1_list --database-url postgresql://postgres@127.0.0.1/boss_bench_1m \\
        --against-database-url postgresql://postgres@127.0.0.1/boss_bench_10k
    python -m bench.p1_list --data-dir /work/benchdata/sqlite-1m --against-data-dir /work/benchdata/sqlite-10k
    python -m bench.p1_list --data-dir /work/benchdata/sqlite-10k          # one size only
    options: --requests 300 --warmup 10 --explain

Each case: GET /api/v1/orders?limit=50[&status=…] through the Flask test client, server time inside
the WSGI app (auth, query, child loads, JSON), interleaved with its floor: the bare SQL for the
same rows (SELECT * FROM orders … ORDER BY ordered_at DESC, id DESC LIMIT 51 on the DB-API
connection, fetched, in its own transaction). `floor+children` adds the bare queries for the
page's lines and tags (what any list page must read). The first page must equal the floor's rows.

Bars (performance.md): p95 ≤ 25 ms at 1M; p95 at 1M ≤ 1.5 × p95 at 10k. With --against-… the
second database (the other size) is measured in the same process, request by request interleaved
with the first, so both sizes see the same machine noise — the flatness ratio is only meaningful
that way on a shared machine. Without it, the latest saved P1 result of the other size is used.
Sorted cases (`sort` = ordered_at, ±total, ±buyer on 'all' and 確認待) have the same bar. An extra, bar-less
case shows a deep page (keyset cursor half way down 'all').
"""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from .common import (Api, Bare, Load, QueryLog, base_parser, bench_account_id, bench_token, explain_sql, latest_result,
                     machine_info, main_query, make_app, nominal_size, print_machine, print_table, ratio, settle,
                     short_sql, stats, target_url, timed, verdict, write_results)

BAR_P95_MS = 25.0
FLAT_FACTOR = 1.5
LIMIT = 50
DEEP = "all (deep page)"


# The sorted cases (api.md `sort`), on 'all' and on SORTED_TABS: each must stay within the bar too.
SORTS = ("ordered_at", "-total", "total", "buyer", "-buyer")
SORTED_TABS = (None, "awaiting_confirmation")
SORT_COLUMNS = {"ordered_at": "ordered_at", "total": "total", "buyer": "buyer_name"}


def floor_sql(status: str | None, cursor: bool = False, sort: str = "-ordered_at") -> str:
    column, way = SORT_COLUMNS[sort.lstrip("-")], "DESC" if sort.startswith("-") else "ASC"
    sql = "SELECT * FROM orders WHERE account_id = %(account_id)s AND deleted_at IS NULL"
    if status:
        sql += " AND status = %(status)s"
    if cursor:
        sql += f" AND ({column}, id) {'<' if way == 'DESC' else '>'} (%(at)s, %(id)s)"
    return sql + f" ORDER BY {column} {way}, id {way} LIMIT {LIMIT + 1}"


def children(bare: Bare, ids: list[int]) -> None:
    """The bare reads of a page's lines (with the mapped product's SKU) and tags."""
    marks = ", ".join(str(int(i)) for i in ids) or "0"
    bare.rows("SELECT l.*, p.sku FROM order_lines l LEFT JOIN products p ON p.id = l.product_id "
              f"WHERE l.order_id IN ({marks}) ORDER BY l.order_id, l.position", end=False)
    bare.rows("SELECT ot.order_id, t.* FROM order_tags ot JOIN tags t ON t.id = ot.tag_id "
              f"WHERE ot.order_id IN ({marks}) ORDER BY ot.order_id, t.id")


class Target:
    """One database (one size): its app, test client, floor connection and cases."""

    def __init__(self, url: str):
        self.app = make_app(url)
        self.machine = machine_info(self.app)
        self.size = nominal_size(self.machine["orders"])
        self.api = Api(self.app, bench_token(self.app))
        self.account_id = bench_account_id(self.app)
        self.bare = Bare(self.app)
        self.log = QueryLog(self.app)

    def cases(self) -> dict[str, tuple[str, str, dict]]:
        from boss.orders import rules
        from boss.orders.search import ORDER_SORTS, encode_cursor

        found = {}
        for status in (None, *rules.STATUSES):
            path = f"/api/v1/orders?limit={LIMIT}" + (f"&status={status}" if status else "")
            found[status or "all"] = (path, floor_sql(status),
                                      {"account_id": self.account_id, **({"status": status} if status else {})})
        for status in SORTED_TABS:
            for sort in SORTS:
                path = f"/api/v1/orders?limit={LIMIT}&sort={sort}" + (f"&status={status}" if status else "")
                found[f"{status or 'all'} sort={sort}"] = (path, floor_sql(status, sort=sort), {
                    "account_id": self.account_id, **({"status": status} if status else {})})
        # A deep page: the cursor of the order half way down 'all' (keyset: should cost what page 1 does).
        half = self.machine["orders_not_deleted"] // 2
        at, order_id = self.bare.rows(
            "SELECT ordered_at, id FROM orders WHERE account_id = %(a)s AND deleted_at IS NULL "
            f"ORDER BY ordered_at DESC, id DESC LIMIT 1 OFFSET {half}", {"a": self.account_id})[0]
        at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        cursor = encode_cursor(ORDER_SORTS["-ordered_at"], SimpleNamespace(ordered_at=at, id=order_id))
        found[DEEP] = (f"/api/v1/orders?limit={LIMIT}&cursor={cursor}", floor_sql(None, cursor=True),
                       {"account_id": self.account_id, "at": at, "id": order_id})
        return found

    def check(self, name: str, case: tuple, explain: bool) -> int:
        path, sql, params = case
        response, _ = self.api.get(path)
        ids = [o["id"] for o in response.get_json()["items"]]
        floor_ids = [r[0] for r in self.bare.rows(sql, params)][:LIMIT]
        if ids != floor_ids:
            raise SystemExit(f"{path}: the API's page differs from the bare query's rows: {ids[:5]} vs {floor_ids[:5]}")
        queries = self.log.capture(lambda: self.api.get(path))
        if explain:
            statement, parameters = main_query(queries)
            print(f"\n--- {self.size} {name}: {len(queries)} queries; the list query:\n  {short_sql(statement)}\n  {parameters}")
            print(explain_sql(self.bare, statement, parameters))
        return len(queries)

    def once(self, case: tuple) -> tuple[float, float, float]:
        path, sql, params = case
        api_ms = self.api.get(path)[1]
        floor_ms = timed(lambda: self.bare.rows(sql, params))
        page_ms = timed(lambda: children(self.bare, [r[0] for r in self.bare.rows(sql, params, end=False)][:LIMIT]))
        return api_ms, floor_ms, page_ms


def measure(targets: list[Target], n: int, warmup: int, explain: bool) -> list[dict]:
    plans = [t.cases() for t in targets]
    results: list[dict] = [{} for _ in targets]
    for name in plans[0]:
        queries = [t.check(name, plan[name], explain) for t, plan in zip(targets, plans)]
        for _ in range(warmup):
            for t, plan in zip(targets, plans):
                t.once(plan[name])
        settle()
        samples = [([], [], []) for _ in targets]
        with Load() as load:
            for _ in range(n):
                for t, plan, sample in zip(targets, plans, samples):  # interleaved: same noise for both sizes
                    for bucket, value in zip(sample, t.once(plan[name])):
                        bucket.append(value)
        for result, plan, sample, count in zip(results, plans, samples, queries):
            result[name] = {"path": plan[name][0], "queries_per_request": count, "api": stats(sample[0]),
                            "floor": stats(sample[1]), "floor_children": stats(sample[2]), "busy_cores": load.cores}
        print(f"  {name}: " + ", ".join(f"{t.size} p95 {r[name]['api']['p95']:.2f} ms" for t, r in zip(targets, results)),
              flush=True)
    return results


def main() -> None:
    parser = base_parser(__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--against-database-url", help="the other size, measured interleaved (PostgreSQL)")
    group.add_argument("--against-data-dir", help="the other size, measured interleaved (SQLite)")
    parser.set_defaults(requests=300)
    args = parser.parse_args()
    targets = [Target(target_url(args))]
    if args.against_database_url or args.against_data_dir:
        targets.append(Target(target_url(SimpleNamespace(database_url=args.against_database_url,
                                                          data_dir=args.against_data_dir))))
    for t in targets:
        print_machine(t.machine)
    results = measure(targets, args.requests, args.warmup, args.explain)

    by_size = {t.size: (t, r) for t, r in zip(targets, results)}
    dialect = targets[0].machine["dialect"]
    saved = {}
    for size in ("10k", "1M"):
        if size not in by_size:
            other = latest_result("p1", dialect, size)
            if other:
                saved[size] = other
    for t, cases in zip(targets, results):
        other_size = "1M" if t.size == "10k" else "10k"
        if other_size in by_size:
            other_cases, source = by_size[other_size][1], "same run, interleaved"
        elif other_size in saved:
            other_cases, source = saved[other_size]["cases"], f"saved result {saved[other_size]['at']}"
        else:
            other_cases, source = None, None
        rows = []
        for name, case in cases.items():
            p95 = case["api"]["p95"]
            case["bar_p95_ms"] = BAR_P95_MS if name != DEEP else None
            case["pass_bar"] = (p95 <= BAR_P95_MS) if name != DEEP else None
            case["ratio_p95_to_floor"] = ratio(p95, case["floor"]["p95"])
            case["ratio_median_to_floor"] = ratio(case["api"]["median"], case["floor"]["median"])
            flat = None
            if other_cases and name in other_cases:
                other_p95 = other_cases[name]["api"]["p95"]
                flat = ratio(p95, other_p95) if t.size == "1M" else ratio(other_p95, p95)
                case["flatness_1m_over_10k"] = flat
                case["flatness_source"] = source
                case["pass_flat"] = flat <= FLAT_FACTOR
            rows.append([name, case["api"]["median"], p95, case["floor"]["median"], case["floor"]["p95"],
                         case["floor_children"]["p95"], case["ratio_p95_to_floor"], case["queries_per_request"],
                         f"≤{BAR_P95_MS:g}" if name != DEEP else "-", verdict(case["pass_bar"]),
                         flat, verdict(case.get("pass_flat")), case["busy_cores"]])
        print(f"\nP1 list, {dialect} {t.size}, {args.requests} requests per case (ms; server time in-process)"
              + (f"; 1M/10k from: {source}" if source else ""))
        print_table(["tab", "median", "p95", "floor med", "floor p95", "floor+children p95", "p95/floor", "queries",
                     "bar p95", "pass", f"1M/10k p95 (≤{FLAT_FACTOR:g})", "flat", "busy cores"], rows)
        t.machine["loadavg_end"] = [round(x, 2) for x in __import__("os").getloadavg()]
        path = write_results("p1", t.machine, {"requests": args.requests, "bar_p95_ms": BAR_P95_MS,
                                               "flat_factor": FLAT_FACTOR, "flatness_source": source,
                                               "cases": cases})
        print(f"results: {path}")


if __name__ == "__main__":
    main()
