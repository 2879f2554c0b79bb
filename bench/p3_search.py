"""P3: 詳細検索 at 1M — q by exact mall order number, q by a buyer-name substring of 3+ characters and
of 2 characters, and a date range (ordered_from / ordered_to) — server time.

    python -m bench.p3_search --database-url postgresql://postgres@127.0.0.1/boss_bench_1m
    python -m bench.p3_search --data-dir /work/benchdata/sqlite-1m [--requests 100] [--explain]

GET /api/v1/orders?q=…&limit=50 (first page, newest first). Each case cycles through a fixed mix of
inputs (common and rare names, kanji, katakana, hiragana and half-width input, a name that matches
nothing; 1-day to 1-month ranges), interleaved with its floor: the bare SQL that answers the same
question most directly (number: an equality; names: LIKE on search_text — through the FTS5 trigram
table on SQLite for 3+ characters, through the bigram index of migration 0006 for 2, as the app does;
dates: a range), same rows, fetched, own transaction. Every input's first page is checked against its
floor's rows.

Bars (performance.md): p95 ≤ 10 / 150 / 500 / 50 ms.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from urllib.parse import urlencode

from .common import (Api, Bare, Load, QueryLog, bench_account_id, bench_token, base_parser, explain_sql, machine_info,
                     main_query, make_app, nominal_size, print_machine, print_table, ratio, settle, short_sql, stats,
                     target_url, timed, verdict, write_results)

LIMIT = 50
BARS = {"number": 10.0, "name3": 150.0, "name2": 500.0, "dates": 50.0}
LABELS = {"number": "exact mall order number", "name3": "name substring, 3+ chars",
          "name2": "name substring, 2 chars", "dates": "date range"}

# (input as typed, kind) — kinds show how selective the input is at 1M.
NAME3 = [("サトウ", "common"), ("スズキ", "common"), ("ヤマダ", "common"), ("ﾀﾅｶ", "common, half-width"),
         ("たかはし", "common, hiragana"), ("佐藤花子", "full name"), ("山田　太郎", "full name, full-width space"),
         ("イガラシ", "rare"), ("勅使河原", "rare"), ("ワタヌキ", "rare"), ("西園寺", "rare"),
         ("ハルト", "given"), ("ミサキ", "given"), ("ザジズゼゾ", "no match"), ("森田実", "full name"),
         ("ヤナギオカ", "rare, composed")]
NAME2 = [("佐藤", "common"), ("山田", "common"), ("ユイ", "given"), ("花子", "given"), ("タロ", "common"),
         ("服部", "rare"), ("馬場", "rare"), ("小鳥", "rare"), ("柳岡", "rare, composed"), ("ゾゾ", "no match"), ("ｻﾄ", "common, half-width")]
RANGES = [1, 7, 31]  # days


def page_sql(where: str) -> str:
    return (f"SELECT * FROM orders WHERE account_id = %(account_id)s AND deleted_at IS NULL AND {where} "
            f"ORDER BY ordered_at DESC, id DESC LIMIT {LIMIT + 1}")


def like(term: str) -> str:
    from boss.orders.search import like_pattern

    return like_pattern(term)


def build_inputs(bare: Bare, account_id: int, rng: random.Random, count: int) -> dict[str, list[tuple]]:
    """Per case: [(label, kind, query-string params, floor sql, floor params)]."""
    from boss.orders.numbers import number_key
    from boss.orders.search import normalise
    from boss.timefmt import jst_day_start

    inputs: dict[str, list[tuple]] = {}
    top = bare.scalar("SELECT MAX(id) FROM orders")
    ids = [rng.randint(1, top) for _ in range(count * 2)]
    marks = ", ".join(str(i) for i in ids)
    numbers = [r[0] for r in bare.rows(f"SELECT mall_order_number FROM orders WHERE id IN ({marks}) "
                                       "AND deleted_at IS NULL")][:count]
    inputs["number"] = [(n, "rakuten" if n[0].isdigit() else "yahoo", {"q": n},
                         page_sql("mall_order_number_key = %(k)s"), {"k": number_key(n)}) for n in numbers]

    def name_input(text: str, kind: str):
        term = normalise(text)
        if bare.dialect == "sqlite" and len(term) >= 3:
            # a trigram phrase query, answered from the FTS5 index alone; for a common name the
            # list index is walked newest first and each order tested against the hits (cheaper
            # than fetching and sorting every hit) — the plan chosen here once, untimed
            phrase = '"' + term.replace('"', '""') + '"'
            hits = bare.scalar("SELECT COUNT(*) FROM orders_fts WHERE orders_fts MATCH %(p)s", {"p": phrase})
            probe = "id + 0" if hits > 3000 else "id"
            return (text, kind, {"q": text},
                    page_sql(f"{probe} IN (SELECT rowid FROM orders_fts WHERE orders_fts MATCH %(p)s)"), {"p": phrase})
        if len(term) == 2 and not (term.isascii() and term.isdigit()):
            # the bigram index of migration 0006: PostgreSQL's GIN on search_bigrams(search_text) (the
            # planner picks it or the list index, as for the app); SQLite's FTS5 table of hex bigrams, its
            # hits re-checked, or for a common needle (> 3,000 hits) the LIKE walking the list index
            if bare.dialect == "postgresql":
                return (text, kind, {"q": text},
                        page_sql("search_bigrams(search_text) @> ARRAY[%(t)s]::text[] AND strpos(search_text, %(t)s) > 0"),
                        {"t": term})
            token = '"' + term.encode().hex().upper() + '"'
            hits = bare.scalar("SELECT COUNT(*) FROM orders_fts_bigram WHERE orders_fts_bigram MATCH %(g)s", {"g": token})
            if hits <= 3000:
                return (text, kind, {"q": text},
                        page_sql("id IN (SELECT rowid FROM orders_fts_bigram WHERE orders_fts_bigram MATCH %(g)s) "
                                 "AND search_text LIKE %(p)s ESCAPE '\\'"), {"g": token, "p": like(term)})
        return (text, kind, {"q": text}, page_sql("search_text LIKE %(p)s ESCAPE '\\'"), {"p": like(term)})

    inputs["name3"] = [name_input(t, k) for t, k in NAME3]
    inputs["name2"] = [name_input(t, k) for t, k in NAME2]

    first, last = bare.rows("SELECT MIN(ordered_at), MAX(ordered_at) FROM orders")[0]
    first = first if isinstance(first, datetime) else datetime.fromisoformat(first)
    last = last if isinstance(last, datetime) else datetime.fromisoformat(last)
    span = (last.date() - first.date()).days
    dates = []
    for i in range(30):
        days = RANGES[i % len(RANGES)]
        start = first.date() + timedelta(days=rng.randint(0, max(span - days, 0)))
        end = start + timedelta(days=days - 1)
        dates.append((f"{start}..{end}", f"{days} day(s)", {"ordered_from": start.isoformat(), "ordered_to": end.isoformat()},
                      page_sql("ordered_at >= %(f)s AND ordered_at < %(t)s"),
                      {"f": jst_day_start(start), "t": jst_day_start(end + timedelta(days=1))}))
    inputs["dates"] = dates
    return inputs


def main() -> None:
    parser = base_parser(__doc__)
    parser.set_defaults(requests=100)
    parser.add_argument("--cases", default="number,name3,name2,dates")
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
    rng = random.Random(11)
    inputs = build_inputs(bare, account_id, rng, max(args.requests, 50))

    results = {}
    rows = []
    for case in args.cases.split(","):
        items = inputs[case]
        # Check every input's first page against its floor, and explain each distinct input once.
        for label, kind, query, sql, params in items[: (len(items) if case != "number" else 5)]:
            path = "/api/v1/orders?" + urlencode({**query, "limit": LIMIT})
            response, _ = api.get(path)
            ids = [o["id"] for o in response.get_json()["items"]]
            floor_ids = [r[0] for r in bare.rows(sql, {"account_id": account_id, **params})][:LIMIT]
            if ids != floor_ids:
                raise SystemExit(f"{case} {label!r}: the API's page differs from the floor's: {ids[:5]} vs {floor_ids[:5]}")
            if args.explain:
                statement, parameters = main_query(log.capture(lambda: api.get(path)))
                print(f"\n--- {case} {label!r} ({kind}), {len(ids)} rows on page 1:\n  {short_sql(statement)}\n  {parameters}")
                print(explain_sql(bare, statement, parameters))
        for i in range(min(args.warmup, len(items))):
            api.get("/api/v1/orders?" + urlencode({**items[i][2], "limit": LIMIT}))
        settle()
        api_ms, floor_ms = [], []
        by_input: dict[str, list[float]] = defaultdict(list)
        by_input_floor: dict[str, list[float]] = defaultdict(list)
        with Load() as load:
            for i in range(args.requests):
                label, kind, query, sql, params = items[i % len(items)]
                path = "/api/v1/orders?" + urlencode({**query, "limit": LIMIT})
                ms = api.get(path)[1]
                floor = timed(lambda: bare.rows(sql, {"account_id": account_id, **params}))
                api_ms.append(ms)
                floor_ms.append(floor)
                key = label if case != "number" and case != "dates" else kind
                by_input[key].append(ms)
                by_input_floor[key].append(floor)
        api_stats, floor_stats = stats(api_ms), stats(floor_ms)
        bar = BARS[case]
        passed = api_stats["p95"] <= bar
        details = {}
        for key, values in by_input.items():
            kind = next((k for l, k, *_ in items if l == key), key)
            details[key] = {"kind": kind, "api": stats(values), "floor": stats(by_input_floor[key])}
        results[case] = {"label": LABELS[case], "api": api_stats, "floor": floor_stats, "bar_p95_ms": bar,
                         "pass_bar": passed, "ratio_p95_to_floor": ratio(api_stats["p95"], floor_stats["p95"]),
                         "ratio_median_to_floor": ratio(api_stats["median"], floor_stats["median"]),
                         "busy_cores": load.cores, "inputs": details}
        rows.append([LABELS[case], api_stats["median"], api_stats["p95"], floor_stats["median"], floor_stats["p95"],
                     results[case]["ratio_p95_to_floor"], f"≤{bar:g}", verdict(passed), load.cores])
        print(f"  {case}: p95 {api_stats['p95']:.1f} ms", flush=True)

    print(f"\nP3 search, {machine['dialect']} {size}, {args.requests} requests per case (ms; server time in-process)")
    print_table(["case", "median", "p95", "floor med", "floor p95", "p95/floor", "bar p95", "pass", "busy cores"], rows)
    print("\nper input (median ms: api / floor):")
    for case, result in results.items():
        parts = [f"{key} [{d['kind']}] {d['api']['median']:.1f}/{d['floor']['median']:.1f}"
                 for key, d in sorted(result["inputs"].items(), key=lambda kv: -kv[1]["api"]["median"])]
        print(f"  {case}: " + "; ".join(parts))
    path = write_results("p3", machine, {"requests": args.requests, "cases": results})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
