"""P11: a product's page (its numbers and ledger, newest first) and the 在庫 list with 1M ledger rows — server time.

    python -m bench.p11_stock --database-url postgresql://postgres@127.0.0.1/boss_bench_p11 [--rows 1000000]
    python -m bench.p11_stock --data-dir /work/benchdata/sqlite-p11
    options: --requests 300 --warmup 10 --explain --products 2000 --reset

Data (made once per database, kept for the next run; `--reset` makes it again): an account of its own
(`p11@example.com`) with `--products` products and `--rows` stock_movements rows written by COPY
(PostgreSQL) or executemany (SQLite), a quarter of them on one "hot" product, the rest spread over the
others, interleaved in id order as a busy shop's ledger is; each product's counts equal its ledger's sums,
and every tenth product is low (available ≤ 5). No orders are needed.

Cases, through the in-process test client with a logged-in cookie session (P1's ServerTimer): the ledger page
`/stock/<id>` of the hot product (250k rows), of a cold one, and a page half way down the hot one's ledger
(keyset `before`); `GET /api/v1/products/<id>/stock-movements`; the 在庫 list `/stock`, with the low-stock
filter, with a search and a page further on (keyset `after`). Each case is interleaved with its floor — the
bare SQL for the same rows on the DB-API connection — and checked against it first (the page shows the 50
rows the floor reads). Bar (performance.md): p95 ≤ 25 ms.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from .common import (Bare, Load, QueryLog, ServerTimer, base_parser, explain_sql, machine_info, make_app, print_machine,
                     print_table, ratio, settle, short_sql, stats, target_url, timed, verdict, write_results)

BAR_P95_MS = 25.0
P11_ACCOUNT = "P11 在庫ベンチ"
P11_EMAIL = "p11@example.com"
P11_PASSWORD = "p11-bench-pass-2026"
CYCLE = (("adjustment", 2, 0), ("reserve", 0, 1), ("ship", -1, -1), ("reserve", 0, 1), ("release", 0, -1))
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# ---------------------------------------------------------------- data

def generate(app, products: int, rows: int) -> None:
    """The account, its products and `rows` ledger rows, fast (COPY / executemany), consistent with the counts."""
    from sqlalchemy import delete, select

    from boss.accounts import create_user, get_or_create_account
    from boss.extensions import db
    from boss.models import Account, Product, StockMovement, User

    started = time.perf_counter()
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.name == P11_ACCOUNT)).first()
        if account is not None:
            db.session.execute(delete(StockMovement).where(StockMovement.account_id == account.id))
            db.session.execute(delete(Product).where(Product.account_id == account.id))
            db.session.commit()
        else:
            account = get_or_create_account(P11_ACCOUNT)
            db.session.commit()
        if db.session.scalars(select(User).where(User.email == P11_EMAIL)).first() is None:
            create_user(P11_EMAIL, P11_PASSWORD, P11_ACCOUNT, admin=True, name="P11")
        account_id = account.id
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        db.session.execute(Product.__table__.insert(), [
            {"account_id": account_id, "sku": f"{('TEA', 'CUP', 'SWT', 'TWL')[n % 4]}-{n:05d}", "code": "",
             "name": f"ベンチ商品 {n}", "stock": 0, "reserved": 0, "created_at": now}
            for n in range(products)])
        db.session.commit()
        ids = list(db.session.scalars(select(Product.id).where(Product.account_id == account_id).order_by(Product.id)))
        db.session.remove()
    hot, others = ids[0], ids[1:]
    counts = {pid: [0, 0, 0] for pid in ids}  # stock, reserved, step in CYCLE
    start = datetime(2026, 1, 1)

    def rows_of():
        for k in range(rows):
            pid = hot if k % 4 == 0 else others[k % len(others)]
            state = counts[pid]
            kind, d_stock, d_reserved = CYCLE[state[2] % len(CYCLE)]
            state[0] += d_stock
            state[1] += d_reserved
            state[2] += 1
            order_id = None if kind == "adjustment" else 1_000_000 + k // 3
            yield (account_id, pid, start + timedelta(seconds=k * 20), kind, d_stock, d_reserved, order_id, "job",
                   "ベンチ", "棚卸し" if kind == "adjustment" else "")

    with app.app_context():
        dialect = db.engine.dialect.name
        raw = db.engine.raw_connection()
        try:
            cur = raw.driver_connection.cursor()
            columns = ("account_id, product_id, at, kind, delta_stock, delta_reserved, order_id, actor_type, actor_name, "
                       "reason")
            if dialect == "postgresql":
                with cur.copy(f"COPY stock_movements ({columns}) FROM STDIN") as copy:
                    for row in rows_of():
                        copy.write_row(row)
            else:
                batch = []
                sql = f"INSERT INTO stock_movements ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                for row in rows_of():
                    batch.append((*row[:2], row[2].strftime("%Y-%m-%d %H:%M:%S.%f"), *row[3:]))
                    if len(batch) == 50_000:
                        cur.executemany(sql, batch)
                        batch = []
                if batch:
                    cur.executemany(sql, batch)
            # every tenth product low: its stock brought to its reserved count + n % 6 by a last adjustment row
            at = start + timedelta(seconds=rows * 20)
            low = []
            for n, pid in enumerate(ids):
                state = counts[pid]
                if n % 10 == 5 and state[0] != state[1] + n % 6:
                    low.append((account_id, pid, at.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else at,
                                "adjustment", state[1] + n % 6 - state[0], 0, None, "job", "ベンチ", "棚卸し"))
                    state[0] = state[1] + n % 6
            mark = "%s" if dialect == "postgresql" else "?"
            cur.executemany(f"INSERT INTO stock_movements ({columns}) VALUES ({', '.join([mark] * 10)})", low)
            update = "UPDATE products SET stock = %s, reserved = %s WHERE id = %s"
            cur.executemany(update if dialect == "postgresql" else update.replace("%s", "?"),
                            [(s[0], s[1], pid) for pid, s in counts.items()])
            raw.driver_connection.commit()
            cur.execute("ANALYZE")
            raw.driver_connection.commit()
        finally:
            raw.close()
    print(f"generated {products:,} products and {rows:,} ledger rows in {time.perf_counter() - started:.1f} s",
          flush=True)


def existing(app) -> tuple[int, int] | None:
    """(account id, ledger rows) of the P11 data already here, or None."""
    from sqlalchemy import func, select

    from boss.extensions import db
    from boss.models import Account, StockMovement

    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.name == P11_ACCOUNT)).first()
        if account is None:
            return None
        n = db.session.scalar(select(func.count()).select_from(StockMovement)
                              .where(StockMovement.account_id == account.id))
        db.session.remove()
        return account.id, n


# ---------------------------------------------------------------- requests

class Browser:
    """The test client signed in as the P11 user, and the server time of each request."""

    def __init__(self, app):
        self.timer = ServerTimer(app.wsgi_app)
        app.wsgi_app = self.timer
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        response = self.client.post("/login", data={"email": P11_EMAIL, "password": P11_PASSWORD,
                                                    "csrf_token": CSRF_INPUT.search(page).group(1)})
        if response.status_code != 302:
            raise SystemExit(f"login failed: {response.status_code}")

    def get(self, path: str, headers=None):
        response = self.client.get(path, headers=headers or {})
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        return response, self.timer.last_ms


LEDGER_SQL = ("SELECT * FROM stock_movements WHERE product_id = %(p)s{before} ORDER BY id DESC LIMIT 51")
PRODUCT_SQL = "SELECT * FROM products WHERE id = %(p)s"
LIST_SQL = "SELECT * FROM products WHERE account_id = %(a)s{more} ORDER BY sku LIMIT 51"


def cases(bare: Bare, account_id: int, token: str) -> dict:
    """name → (path, headers, [(floor sql, params)], what the page must show, the floor's rows to check it by)."""
    ids = [r[0] for r in bare.rows("SELECT id FROM products WHERE account_id = %(a)s ORDER BY id", {"a": account_id})]
    hot, cold = ids[0], ids[len(ids) // 2 + 1]
    n_hot = bare.scalar("SELECT count(*) FROM stock_movements WHERE product_id = %(p)s", {"p": hot})
    middle = bare.scalar(f"SELECT id FROM stock_movements WHERE product_id = %(p)s ORDER BY id DESC LIMIT 1 "
                         f"OFFSET {n_hot // 2}", {"p": hot})
    skus = [r[0] for r in bare.rows("SELECT sku FROM products WHERE account_id = %(a)s ORDER BY sku",
                                    {"a": account_id})]
    after = skus[len(skus) // 2]

    def ledger(pid: int, before: int | None = None) -> list:
        return [(PRODUCT_SQL, {"p": pid}), (LEDGER_SQL.format(before=" AND id < %(b)s" if before else ""),
                                            {"p": pid, **({"b": before} if before else {})})]

    api = {"Authorization": f"Bearer {token}"}
    return {
        f"product page, hot ({n_hot:,} rows)": (f"/stock/{hot}", {}, ledger(hot), "ledger"),
        "product page, cold": (f"/stock/{cold}", {}, ledger(cold), "ledger"),
        "product page, half way (before=)": (f"/stock/{hot}?before={middle}", {}, ledger(hot, middle), "ledger"),
        "ledger API, hot": (f"/api/v1/products/{hot}/stock-movements", api, ledger(hot)[1:], "api"),
        "在庫 list": ("/stock", {}, [(LIST_SQL.format(more=""), {"a": account_id})], "list"),
        "在庫 list, low ≤ 5": ("/stock?low=1", {}, [(LIST_SQL.format(
            more=" AND stock - reserved <= %(t)s"), {"a": account_id, "t": 5})], "list"),
        "在庫 list, search 'tea'": ("/stock?q=tea", {}, [(LIST_SQL.format(
            more=" AND (lower(sku) LIKE %(q)s OR lower(name) LIKE %(q)s OR lower(code) LIKE %(q)s)"),
            {"a": account_id, "q": "%tea%"})], "list"),
        "在庫 list, page after": (f"/stock?after={after}", {}, [(LIST_SQL.format(more=" AND sku > %(s)s"),
                                                                 {"a": account_id, "s": after})], "list"),
    }


def check(browser: Browser, bare: Bare, name: str, case: tuple) -> None:
    path, headers, floors, kind = case
    response, _ = browser.get(path, headers)
    floor_rows = bare.rows(*floors[-1])[:50]
    if kind == "api":
        got = [m["id"] for m in response.get_json()["items"]]
        if got != [r[0] for r in floor_rows]:
            raise SystemExit(f"{name}: the API's rows differ from the floor's")
        return
    text = response.get_data(as_text=True)
    if kind == "ledger":
        shown = text.count('<tr class="mv-')
    else:
        shown = len(re.findall(r'<tr id="stock-row-(\d+)"', text))
        if [int(i) for i in re.findall(r'<tr id="stock-row-(\d+)"', text)] != [r[0] for r in floor_rows]:
            raise SystemExit(f"{name}: the list's rows differ from the floor's")
    if shown != len(floor_rows):
        raise SystemExit(f"{name}: the page shows {shown} rows, the floor reads {len(floor_rows)}")


def main() -> None:
    parser = base_parser(__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="ledger rows (default 1,000,000)")
    parser.add_argument("--products", type=int, default=2_000, help="products (default 2,000)")
    parser.add_argument("--reset", action="store_true", help="make the P11 data again")
    parser.set_defaults(requests=300)
    args = parser.parse_args()
    app = make_app(target_url(args))
    with app.app_context():  # a database of P11's own may be new: bring it to the head
        from flask_migrate import upgrade

        upgrade()
    found = existing(app)
    if args.reset or found is None or found[1] < args.rows:
        generate(app, args.products, args.rows)
        found = existing(app)
    account_id, ledger_rows = found

    from boss.accounts import create_token, find_user

    with app.app_context():
        token = create_token(find_user(P11_EMAIL), "p11")
    machine = machine_info(app)
    machine["stock_movements"] = ledger_rows
    print_machine(machine)
    print(f"ledger: {ledger_rows:,} rows")
    browser = Browser(app)
    bare = Bare(app)
    log = QueryLog(app)
    plan = cases(bare, account_id, token)
    results, rows = {}, []
    for name, case in plan.items():
        path, headers, floors, _ = case
        check(browser, bare, name, case)
        queries = log.capture(lambda: browser.get(path, headers))
        if args.explain:
            print(f"\n--- {name}: {len(queries)} queries")
            for statement, parameters in queries:
                if "stock_movements" in statement or "FROM products" in statement:
                    print(f"  {short_sql(statement)}\n  {parameters}")
                    print(explain_sql(bare, statement, parameters))
        for _ in range(args.warmup):
            browser.get(path, headers)
        settle()
        api_ms, floor_ms = [], []
        with Load() as load:
            for _ in range(args.requests):
                api_ms.append(browser.get(path, headers)[1])
                floor_ms.append(timed(lambda: [bare.rows(sql, params, end=False) for sql, params in floors]
                                      and bare.conn.rollback()))
        api, floor = stats(api_ms), stats(floor_ms)
        results[name] = {"path": path, "queries_per_request": len(queries), "api": api, "floor": floor,
                         "busy_cores": load.cores, "bar_p95_ms": BAR_P95_MS, "pass_bar": api["p95"] <= BAR_P95_MS,
                         "ratio_p95_to_floor": ratio(api["p95"], floor["p95"])}
        rows.append([name, api["median"], api["p95"], floor["median"], floor["p95"], ratio(api["p95"], floor["p95"]),
                     len(queries), verdict(api["p95"] <= BAR_P95_MS), load.cores])
        print(f"  {name}: p95 {api['p95']:.2f} ms (floor {floor['p95']:.2f})", flush=True)
    print(f"\nP11 stock, {machine['dialect']}, {ledger_rows:,} ledger rows, {args.requests} requests per case "
          "(ms; server time in-process)")
    print_table(["case", "median", "p95", "floor med", "floor p95", "p95/floor", "queries", f"≤{BAR_P95_MS:g}",
                 "busy cores"], rows)
    bare.close()
    path = write_results("p11", machine, {"requests": args.requests, "ledger_rows": ledger_rows, "cases": results})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
