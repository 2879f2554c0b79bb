"""CSV files as shops make them (Excel: CP932 or UTF-8, CRLF), uploaded through the API, and their jobs run."""
from __future__ import annotations

import csv
import io
from collections import Counter

from sqlalchemy import func, select

from boss import outbox
from boss.extensions import db
from boss.models import CsvRowError, OutboxMessage
from boss.orders.models import Order, OrderLine

HEADER = ["ショップ", "モール注文番号", "注文日時", "購入者名", "購入者電話番号", "送付先名", "送付先郵便番号", "送付先住所",
          "支払方法", "お届け日", "お届け時間帯", "送料", "モール商品ID", "サブコード", "商品名", "数量", "単価"]


def csv_bytes(rows: list[list[str]], header: list[str] | None = None, encoding: str = "cp932",
              line_end: str = "\r\n") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=line_end)
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def order_row(shop: str, number: str, item: str = "item-1", quantity: str = "1", price: str = "1200",
              **cells) -> list[str]:
    """A row of HEADER: one line of an order, with `cells` by header name on top."""
    values = {"ショップ": shop, "モール注文番号": number, "注文日時": "2026/11/27 14:05", "購入者名": "山田 太郎",
              "購入者電話番号": "03-1234-5678", "送付先名": "", "送付先郵便番号": "", "送付先住所": "", "支払方法": "クレジットカード",
              "お届け日": "", "お届け時間帯": "", "送料": "500", "モール商品ID": item, "サブコード": "", "商品名": "煎茶",
              "数量": quantity, "単価": price, **cells}
    return [values[name] for name in HEADER]


def upload(client, tenant, content: bytes, name: str = "orders.csv", **form):
    data = {"file": (io.BytesIO(content), name), **{k: str(v) for k, v in form.items()}}
    return client.post("/api/v1/imports/orders", data=data, headers=tenant.headers(),
                       content_type="multipart/form-data")


def run_jobs(app) -> None:
    """Run the pending outbox messages (the CSV job among them) here, as a worker would."""
    with app.app_context():
        ids = list(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.state == "pending")
                                      .order_by(OutboxMessage.id)))
        for message_id in ids:
            outbox.run_message(message_id)
        db.session.remove()


def imported(app, client, tenant, content: bytes, **form) -> dict:
    """Upload, run the job, and answer the finished job."""
    response = upload(client, tenant, content, **form)
    assert response.status_code == 202, response.json
    run_jobs(app)
    job = client.get(f"/api/v1/jobs/{response.json['job_id']}", headers=tenant.headers()).json
    assert job["state"] in ("finished", "failed"), job
    return job


SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "斎藤", "松本"]
GIVEN_NAMES = ["太郎", "花子", "翔太", "陽菜", "大輔", "美咲", "健一", "さくら", "直樹", "由美", "蓮", "結衣", "悠真"]
ADDRESSES = [("160-0023", "東京都新宿区西新宿2-8-1 都庁前ハイツ305"), ("530-0001", "大阪府大阪市北区梅田3-1-3"),
             ("450-0002", "愛知県名古屋市中村区名駅1-1-4 名駅ビル12階"), ("812-0012", "福岡県福岡市博多区博多駅中央街1-1"),
             ("060-0005", "北海道札幌市中央区北5条西2丁目"), ("980-0021", "宮城県仙台市青葉区中央1-1-1 青葉荘201号室"),
             ("420-0851", "静岡県静岡市葵区黒金町49")]
ITEMS = [("tea-001", "静岡県産 深蒸し煎茶 100g", "1,080"), ("tea-002", "宇治抹茶 30g 缶入り", "2,160"),
         ("cup-010", "有田焼 湯呑み「藍」", "3,300"), ("set-100", "お茶 詰め合わせ ギフト【のし対応】", "5,400")]
SLOTS = ["", "午前中", "14時-16時", "指定なし", "18-20"]


def big_order_file(shop: str, orders: int, lines: int = 2, prefix: str = "BIG", encoding: str = "cp932",
                   refused: frozenset[int] = frozenset()) -> bytes:
    """A large file of `orders` orders × `lines` rows, as a mall's export would be: Japanese names and addresses,
    quoted cells; built a thousand rows at a time, never as one list of rows. The orders numbered in `refused`
    have 数量 "abc" on their last row."""
    out = io.BytesIO()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    for n in range(orders):
        name = f"{SURNAMES[n % len(SURNAMES)]} {GIVEN_NAMES[n % len(GIVEN_NAMES)]}"
        postal, address = ADDRESSES[n % len(ADDRESSES)]
        day = 1 + n % 28
        for position in range(lines):
            item, title, price = ITEMS[(n + position) % len(ITEMS)]
            quantity = "abc" if n in refused and position == lines - 1 else str(1 + position)
            writer.writerow(order_row(shop, f"{prefix}-{n:06d}", item=item, quantity=quantity, price=price,
                                      注文日時=f"2026/11/{day:02d} {n % 24}:{n % 60:02d}", 購入者名=name,
                                      購入者電話番号=f"090-{n % 10000:04d}-{(n * 7) % 10000:04d}", 送付先名=name,
                                      送付先郵便番号=postal, 送付先住所=address, お届け日=f"2026/12/{day:02d}",
                                      お届け時間帯=SLOTS[n % len(SLOTS)], 商品名=title))
        if n % 1000 == 999:
            out.write(text.getvalue().encode(encoding))
            text.seek(0)
            text.truncate()
    out.write(text.getvalue().encode(encoding))
    return out.getvalue()


def job_of(client, tenant, job_id: str) -> dict:
    response = client.get(f"/api/v1/jobs/{job_id}", headers=tenant.headers())
    assert response.status_code == 200, response.json
    return response.json


def orders_by_number(app) -> Counter:
    """How many orders (deleted ones too) hold each モール注文番号: a number twice is an order registered twice."""
    with app.app_context():
        counts = Counter(dict(db.session.execute(select(Order.mall_order_number, func.count())
                                                 .group_by(Order.mall_order_number)).all()))
        db.session.remove()
    return counts


def lines_by_number(app, after_order_id: int = 0) -> dict[str, list[tuple]]:
    """Each order's lines, in their order: (mall_item_id, name, quantity, unit_price); an order without lines
    is there with none. Only orders after `after_order_id` (what a test registered since it looked)."""
    with app.app_context():
        found: dict[str, list[tuple]] = {}
        for number, item, name, quantity, price in db.session.execute(
                select(Order.mall_order_number, OrderLine.mall_item_id, OrderLine.name, OrderLine.quantity,
                       OrderLine.unit_price).outerjoin(OrderLine, OrderLine.order_id == Order.id)
                .where(Order.id > after_order_id).order_by(Order.id, OrderLine.position, OrderLine.id)):
            lines = found.setdefault(number, [])
            if item is not None:
                lines.append((item, name, quantity, price))
        db.session.remove()
    return found


def last_order_id(app) -> int:
    with app.app_context():
        last = db.session.scalar(select(func.max(Order.id))) or 0
        db.session.remove()
    return last


def stored_errors(app, job_id: str) -> list[tuple]:
    """The job's refused rows as import_errors holds them: (row, column, code), in row order."""
    with app.app_context():
        rows = [tuple(r) for r in db.session.execute(select(CsvRowError.row, CsvRowError.column, CsvRowError.code)
                                                     .where(CsvRowError.job_id == job_id)
                                                     .order_by(CsvRowError.row, CsvRowError.id))]
        db.session.remove()
    return rows
