"""P5: 受注CSV登録 of 100k rows of Shift_JIS — rows/s, against the raw bulk insert of the same rows, and memory.

    python -m bench.p5_csv --database-url postgresql://postgres@127.0.0.1/boss_bench_p5 [--rows 100000]
    python -m bench.p5_csv --data-dir /work/benchdata/sqlite-p5

Data: an account of its own (`p5@example.com`) and, for each run, a shop of its own (so runs never collide on
R6). The file: `--rows` rows of csv.md §1 in CP932 with CRLF, orders of 1, 2 or 3 lines in turn (two rows per
order on average), realistic names, addresses and items, a third of the lines mapped to products.

What is timed:
- the job: the upload is stored and checked as the API does (order_import.start), then the job runs as a worker
  runs it — outbox.run_message → run_job: the index pass, the register pass in chunks, the result — in a
  process of its own started afresh, so its peak memory (VmHWM) is the app's and the job's alone;
- the floor: a raw `executemany` INSERT of the same orders and lines (the columns the registration writes, built
  beforehand, not timed) on the app's engine, in chunks of 500 orders, one transaction per chunk, under a shop
  of its own; deleted afterwards.

Bars (performance.md): ≥ 5,000 rows/s; ≤ 3 × the raw bulk insert of the same rows; peak memory ≤ 150 MB
whatever the file size (the peak RSS of the job's process; its growth over its start is printed beside).
"""
from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from .common import (ROOT, base_parser, machine_info, make_app, print_machine, print_table, ratio, start_redis,
                     target_url, verdict, write_results)

BAR_ROWS_PER_S = 5000
BAR_RATIO = 3.0
BAR_MEMORY_MB = 150
P5_ACCOUNT = "P5 CSVベンチ"
P5_EMAIL = "p5@example.com"
P5_PASSWORD = "p5-bench-pass-2026"
SURNAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("太郎", "花子", "一郎", "美咲", "翔太", "陽菜", "大輔", "さくら")
CITIES = ("東京都渋谷区神宮前", "大阪府大阪市北区梅田", "福岡県福岡市中央区天神", "北海道札幌市中央区北一条西",
          "愛知県名古屋市中村区名駅")
ITEMS = (("sencha-100", "静岡煎茶 100g", 1200), ("gyokuro-50", "玉露 50g【限定】", 2800), ("hojicha", "ほうじ茶ティーバッグ",
                                                                                       980),
         ("matcha-30", "抹茶 30g 缶入り", 1650), ("genmai", "玄米茶 200g", 760), ("kabuse", "かぶせ茶 100g", 1400))


def make_file(rows: int, shop: str) -> tuple[bytes, int]:
    """The CSV (CP932, CRLF) and its number of orders."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["ショップ", "モール注文番号", "注文日時", "購入者名", "購入者名カナ", "購入者電話番号", "購入者郵便番号",
                     "購入者住所", "支払方法", "お届け時間帯", "送料", "備考", "モール商品ID", "商品名", "数量", "単価"])
    written, order = 0, 0
    while written < rows:
        order += 1
        name = f"{SURNAMES[order % 10]} {GIVEN[order % 8]}"
        head = [shop, f"P5-{order:07d}", f"2026/11/{1 + order % 28:02d} {order % 24:02d}:{order % 60:02d}", name,
                "ヤマダ タロウ", f"090-{order % 10000:04d}-{(order * 7) % 10000:04d}", f"{150 + order % 800:03d}-{order % 10000:04d}",
                f"{CITIES[order % 5]}{order % 9 + 1}-{order % 20 + 1}-{order % 30 + 1}", "クレジットカード",
                ("", "午前中", "14-16")[order % 3], "500", "のし希望, 包装あり" if order % 7 == 0 else ""]
        for line in range(min(1 + order % 3, rows - written)):
            item_id, title, price = ITEMS[(order + line) % len(ITEMS)]
            writer.writerow([*head, item_id, title, str(1 + line), f"{price:,}"])
            written += 1
    return out.getvalue().encode("cp932"), order


def setup(app, run: int):
    """The account, its user, a shop for this run and one for the floor, products mapped to half the items."""
    from sqlalchemy import select

    from boss.accounts import create_user
    from boss.extensions import db
    from boss.models import Product, User
    from boss.orders import products
    from boss.orders.actor import Actor
    from boss.orders.mapping import map_item
    from boss.orders.shops import create_shop

    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == P5_EMAIL)).first()
        if user is None:
            user = create_user(P5_EMAIL, P5_PASSWORD, P5_ACCOUNT, admin=True, name="P5")
        actor = Actor("user", "P5", user.account_id, user.id)
        shop = create_shop(actor, f"P5 店 {run}", "yahoo")
        floor_shop = create_shop(actor, f"P5 床 {run}", "yahoo")
        for item_id, title, _ in ITEMS[::2]:
            sku = f"P5-{item_id}"
            if db.session.scalars(select(Product).where(Product.account_id == user.account_id,
                                                        Product.sku == sku)).first() is None:
                products.create_product(actor, sku, title, stock=0)
            map_item(actor, shop.id, item_id, "", sku)
        ids = (shop.id, floor_shop.id, shop.name)
        db.session.remove()
    return actor, ids


def floor_rows(app, content: bytes, shop_id: int) -> list[tuple[list[dict], list[dict]]]:
    """The same orders and lines as the registration writes them, in chunks of 500 orders, built untimed."""
    from types import SimpleNamespace

    from boss.csv.order_rows import ORDER_COLUMNS, assemble, read_row
    from boss.csv.reading import open_table
    from boss.extensions import db
    from boss.models import Shop
    from boss.orders.registration import NewOrder, order_columns
    from boss.orders.search import search_text_for

    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        table = open_table(lambda: iter([content]), ORDER_COLUMNS, "cp932")
        groups: dict[str, list] = {}
        for row in table.rows():
            parsed, errors = read_row(table.header, row)
            groups.setdefault(parsed.key, []).append(parsed)
        chunks, orders, lines = [], [], []
        now = datetime.utcnow()
        for position, members in enumerate(groups.values()):
            fields, _ = assemble(members)
            new = NewOrder(shop_id=shop_id, **fields)
            row = order_columns(shop, new, "csv", mall_linked=False)
            row["id"] = 10**9 + position
            row["total"] = sum(line["quantity"] * line["unit_price"] for line in new.lines) + (new.postage or 0)
            row["billed"] = row["total"]
            row["search_text"] = search_text_for(SimpleNamespace(**row))
            row.update(created_at=now, updated_at=now, version=1, reflection_state="none")
            orders.append(row)
            lines.extend(dict(order_id=row["id"], position=p, mall_item_id=line["mall_item_id"],
                              sub_code=line.get("sub_code") or "", name=line["name"], quantity=line["quantity"],
                              unit_price=line["unit_price"], options=line.get("options") or "")
                         for p, line in enumerate(new.lines))
            if len(orders) == 500:
                chunks.append((orders, lines))
                orders, lines = [], []
        if orders:
            chunks.append((orders, lines))
        db.session.remove()
    return chunks


def run_floor(app, chunks) -> float:
    from sqlalchemy import delete, insert

    from boss.extensions import db
    from boss.orders.models import Order, OrderLine

    with app.app_context():
        started = time.perf_counter()
        for orders, lines in chunks:
            with db.engine.begin() as conn:
                conn.execute(insert(Order.__table__), orders)
                conn.execute(insert(OrderLine.__table__), lines)
        took = time.perf_counter() - started
        ids = [row["id"] for orders, _ in chunks for row in orders]
        with db.engine.begin() as conn:
            for index in range(0, len(ids), 1000):
                conn.execute(delete(OrderLine.__table__).where(OrderLine.order_id.in_(ids[index:index + 1000])))
                conn.execute(delete(Order.__table__).where(Order.id.in_(ids[index:index + 1000])))
    return took


def run_job(app, actor, content: bytes, url: str, redis_url: str) -> tuple[float, float, float, dict]:
    """Upload as the API does, then the job in a process of its own, started afresh as a worker is (its peak
    memory is the job's and the app's, nothing of this one's): (seconds, peak MB, growth MB, result)."""
    from sqlalchemy import select

    from boss.csv import order_import
    from boss.extensions import db
    from boss.models import JobRecord, OutboxMessage

    with app.app_context():
        upload_started = time.perf_counter()
        job = order_import.start(actor, io.BytesIO(content), "p5.csv", mode="valid_only", encoding="auto")
        upload = time.perf_counter() - upload_started
        job_id = job.id
        message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.job_id == job_id))
        db.session.remove()
    print(f"(upload and header check, as the API answers it: {upload:.2f} s)")
    child = subprocess.run([sys.executable, "-m", "bench.p5_csv", "--run-message", str(message_id), "--redis-url",
                            redis_url, "--database-url" if not url.startswith("sqlite") else "--data-dir",
                            url if not url.startswith("sqlite") else str(Path(url.removeprefix("sqlite:///")).parent)],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    took, start_kb, peak_kb = (float(v) for v in child.stdout.split()[-3:])
    with app.app_context():
        result = db.session.get(JobRecord, job_id).result
        db.session.remove()
    return took, peak_kb / 1024, (peak_kb - start_kb) / 1024, result or {}


def run_message(message_id: int, url: str, redis_url: str) -> None:
    """The child: the app as a worker makes it, then the job's outbox message; prints seconds, start and peak KB."""
    from boss import create_app, outbox

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    start_kb = peak_rss_kb()
    with app.app_context():
        started = time.perf_counter()
        outbox.run_message(message_id)
        took = time.perf_counter() - started
    print(took, start_kb, peak_rss_kb())


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--run-message", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = target_url(args)
    if args.run_message:
        run_message(args.run_message, url, args.redis_url)
        return
    redis_server, redis_url = start_redis()  # the job's outbox row is enqueued (no worker listens): run here
    app = make_app(url, redis_url)
    run = datetime.now().strftime("%Y%m%d%H%M%S")
    actor, (shop_id, floor_shop_id, shop_name) = setup(app, int(run))
    content, orders = make_file(args.rows, shop_name)
    print(f"file: {args.rows:,} rows, {orders:,} orders, {len(content) / 1e6:.1f} MB CP932")
    chunks = floor_rows(app, content, floor_shop_id)
    floor = run_floor(app, chunks)
    del chunks
    took, peak_mb, growth_mb, result = run_job(app, actor, content, url, redis_url)
    with app.app_context():
        machine = machine_info(app)
    print_machine(machine)
    rows_per_s = args.rows / took
    created_ok = result.get("orders_created") == orders
    figures = [["registration job", f"{took:.1f} s", f"{rows_per_s:,.0f}", f"{peak_mb:.0f} MB (+{growth_mb:.0f})"],
               ["raw executemany (floor)", f"{floor:.1f} s", f"{args.rows / floor:,.0f}", "-"]]
    print_table(["", "time", "rows/s", "peak memory"], figures)
    checks = [["rows/s ≥ 5,000", verdict(rows_per_s >= BAR_ROWS_PER_S)],
              [f"≤ 3 × floor (ratio {ratio(took, floor)})", verdict(took <= BAR_RATIO * floor)],
              ["peak memory ≤ 150 MB", verdict(peak_mb <= BAR_MEMORY_MB)],
              [f"every order registered ({result.get('orders_created')} of {orders})", verdict(created_ok)]]
    print_table(["bar", "verdict"], checks)
    path = write_results("p5", machine, {"rows": args.rows, "orders": orders, "seconds": took, "rows_per_s": rows_per_s,
                                         "floor_seconds": floor, "ratio": ratio(took, floor), "peak_mb": peak_mb,
                                         "growth_mb": growth_mb, "result": {k: v for k, v in result.items()
                                                                            if k not in ("orders", "errors")}})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
