"""CSV files as shops make them (Excel: CP932 or UTF-8, CRLF), uploaded through the API, and their jobs run."""
from __future__ import annotations

import csv
import io

from sqlalchemy import select

from boss import outbox
from boss.extensions import db
from boss.models import OutboxMessage

HEADER = ["ショップ", "モール注文番号", "注文日時", "購入者名", "購入者電話番号", "送付先名", "送付先郵便番号", "送付先住所",
          "支払方法", "お届け日", "お届け時間帯", "送料", "モール商品ID", "サブコード", "商品名", "数量", "単価"]


def csv_bytes(rows: list[list[str]], header: list[str] | None = None, encoding: str = "cp932") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def order_row(shop: str, number: str, item: str = "item-1", quantity: str = "1", price: str = "1200", **cells) -> list[str]:
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
