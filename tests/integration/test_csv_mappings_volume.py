"""商品マッピングCSV at volume: 4,000 rows over several chunks (each a new mapping, a tenth of them mapping a waiting
order's line) through the job, every one applied. (Speed is a benchmark's business, not a test's.)"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import insert, select

from boss import outbox
from boss.extensions import db
from boss.models import ItemMapping, OutboxMessage, Product
from tests.factories import create_order


@pytest.mark.slow
def test_four_thousand_rows_are_all_mapped_and_map_the_waiting_lines(app, client, tenant):
    with app.app_context():
        db.session.execute(insert(Product), [{"account_id": tenant.account_id, "sku": f"SKU-{n}", "name": f"商品 {n}",
                                              "code": "", "stock": 0, "reserved": 0} for n in range(400)])
        db.session.commit()
    for n in range(0, 4_000, 100):
        create_order(client, tenant, lines=[{"mall_item_id": f"item-{n + k}", "name": "x", "quantity": 1,
                                             "unit_price": 100} for k in range(0, 100, 10)])
    rows = "".join(f",#{tenant.shop_id},item-{n},,SKU-{n % 400}\r\n" for n in range(4_000))
    data = ("削除フラグ,ショップ,モール商品ID,サブコード,SKUコード\r\n" + rows).encode("cp932")
    response = client.post("/api/v1/imports/mappings", data={"file": (io.BytesIO(data), "m.csv")},
                           headers=tenant.headers(), content_type="multipart/form-data")
    job_id = response.json["job_id"]
    with app.app_context():
        message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.job_id == job_id))
        outbox.run_message(message_id)
        mappings = len(db.session.scalars(select(ItemMapping.id)).all())
        db.session.remove()
    result = client.get(f"/api/v1/jobs/{job_id}", headers=tenant.headers()).json["result"]
    assert (result["created"], result["lines_mapped"], mappings) == (4_000, 400, 4_000)
