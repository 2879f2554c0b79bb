"""受注CSV登録 row by row (csv.md §1, §4): each refusal reason with its row and column, the file's own refusals,
Excel's ways of writing cells, and a job killed after a chunk and run again."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from boss.csv import order_import
from boss.extensions import db
from boss.models import JobRecord, OutboxMessage
from tests.csv_files import (HEADER, csv_bytes, imported, lines_by_number, order_row, orders_by_number, run_jobs,
                             stored_errors, upload)
from tests.factories import create_order


def _cancelled_holder(client, tenant, number: str) -> None:
    order = create_order(client, tenant, number=number)
    response = client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason_code": 10}, headers=tenant.headers())
    assert response.status_code == 200, response.json


def _active_holder(client, tenant, number: str) -> None:
    create_order(client, tenant, number=number)


LONG_NUMBER = "N" * 65

# (the refused order's number, its rows by their cells on top of order_row's, the holder to create first,
#  the expected (row, column, code) — the good order GOOD-1 is row 2, the refused order's rows start at row 3)
REFUSALS = {
    "missing buyer name": ("R-1", [{"購入者名": ""}], None, (3, "購入者名", "missing")),
    "quantity not a number": ("R-1", [{"数量": "abc"}], None, (3, "数量", "invalid_number")),
    "quantity 0": ("R-1", [{"数量": "0"}], None, (3, "数量", "out_of_range")),
    "quantity 10000": ("R-1", [{}, {"数量": "10000"}], None, (4, "数量", "out_of_range")),
    "unit price -1": ("R-1", [{"単価": "-1"}], None, (3, "単価", "out_of_range")),
    "no 30 February": ("R-1", [{"注文日時": "2026/02/30"}], None, (3, "注文日時", "invalid_date")),
    "delivery date in words": ("R-1", [{"お届け日": "明日"}], None, (3, "お届け日", "invalid_date")),
    "time slot at night": ("R-1", [{"お届け時間帯": "夜"}], None, (3, "お届け時間帯", "invalid_choice")),
    "number of 65 characters": (LONG_NUMBER, [{}], None, (3, "モール注文番号", "too_long")),
    "buyer name of 256 characters": ("R-1", [{"購入者名": "山" * 256}], None, (3, "購入者名", "too_long")),
    "unknown shop": ("R-1", [{"ショップ": "どこかの店"}], None, (3, "ショップ", "unknown_shop")),
    "number held by an active order": ("HELD-1", [{}], _active_holder, (3, "モール注文番号", "mall_order_number_taken")),
    "number held by a cancelled order": ("HELD-1", [{}], _cancelled_holder,
                                         (3, "モール注文番号", "mall_order_number_taken")),
    "rows that disagree": ("R-1", [{}, {"送料": "800"}], None, (4, "送料", "conflicting_order_fields")),
    "201 lines": ("R-1", [{"モール商品ID": f"item-{n}"} for n in range(201)], None, (203, "", "too_many_lines")),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_each_refusal_names_its_row_and_column_and_refuses_only_its_order(app, client, tenant, case):
    number, rows, holder, expected = REFUSALS[case]
    if holder is not None:
        holder(client, tenant, number)
    shop = "#%d" % tenant.shop_id
    cells = [{"ショップ": shop, **row} for row in rows]
    content = csv_bytes([order_row(shop, "GOOD-1"),
                         *(order_row(row.pop("ショップ"), number, **row) for row in cells)])
    job = imported(app, client, tenant, content)
    result = job["result"]
    assert job["state"] == "finished" and result["mode"] == "valid_only", job
    assert expected in [(e["row"], e["column"], e["code"]) for e in result["errors"]], result["errors"]
    assert (result["orders_created"], result["orders_refused"], result["rows_refused"]) == (1, 1, len(rows))
    assert orders_by_number(app) == {"GOOD-1": 1, **({number: 1} if holder else {})}
    if case == "number held by a cancelled order":
        assert "キャンセル" in result["errors"][0]["message"]
    if case == "number held by an active order":
        assert "キャンセル" not in result["errors"][0]["message"]


def test_a_row_with_more_cells_than_the_header_fails_the_job_naming_the_row_and_registers_nothing(app, client, tenant):
    shop = "#%d" % tenant.shop_id
    ragged = order_row(shop, "RAG-3") + ["余分なセル"]
    job = imported(app, client, tenant, csv_bytes([order_row(shop, "RAG-1"), order_row(shop, "RAG-2"), ragged]))
    assert job["state"] == "failed", job
    assert "4行目" in job["error"]
    assert orders_by_number(app) == {}


def test_a_semicolon_delimited_file_is_refused_at_upload_for_its_one_column_header(app, client, tenant):
    text = ";".join(HEADER) + "\r\n" + ";".join(order_row("#%d" % tenant.shop_id, "SEMI-1")) + "\r\n"
    response = upload(client, tenant, text.encode("cp932"))
    assert response.status_code == 422, response.json
    assert "1列" in response.json["error"]["fields"]["file"] and "区切り" in response.json["error"]["fields"]["file"]
    assert orders_by_number(app) == {}


@pytest.mark.parametrize("line_end", ["\r\n", "\n"], ids=["CRLF", "LF"])
def test_rows_are_numbered_as_excel_shows_them_past_a_cell_holding_line_breaks(app, client, tenant, line_end):
    shop = "#%d" % tenant.shop_id
    content = csv_bytes([order_row(shop, "ML-1", 商品名="煎茶\n（100g）\n静岡県産"), order_row(shop, "ML-2", 数量="x")],
                        line_end=line_end)
    assert content.count(b"\n") == 5  # header, three physical lines of row 2, row 3
    job = imported(app, client, tenant, content)
    assert [(e["row"], e["column"], e["code"]) for e in job["result"]["errors"]] == [(3, "数量", "invalid_number")]
    assert lines_by_number(app) == {"ML-1": [("item-1", "煎茶\n（100g）\n静岡県産", 1, 1200)]}


@pytest.mark.parametrize("line_end", ["\r\n", "\n"], ids=["CRLF", "LF"])
def test_full_width_digits_and_thousands_commas_are_read_as_numbers(app, client, tenant, line_end):
    shop = "#%d" % tenant.shop_id
    content = csv_bytes([order_row(shop, "FW-1", quantity="１２", price="1,200", 送料="５００"),
                         order_row(shop, "FW-1", item="item-2", quantity="3", price="１，０８０")], line_end=line_end)
    job = imported(app, client, tenant, content)
    assert job["result"]["orders_created"] == 1, job
    assert lines_by_number(app) == {"FW-1": [("item-1", "煎茶", 12, 1200), ("item-2", "煎茶", 3, 1080)]}
    [order] = client.get("/api/v1/orders", headers=tenant.headers()).json["items"]
    assert order["postage"] == 500


class Killed(Exception):
    """Stands for a worker killed in the middle of a chunk."""


def test_a_job_killed_after_its_first_chunk_resumes_and_reports_each_refused_row_once(app, client, tenant, monkeypatch):
    monkeypatch.setattr(order_import, "CHUNK_ORDERS", 2)
    shop = "#%d" % tenant.shop_id
    rows = []
    for n in range(6):  # each chunk of two orders: a good one and a refused one of two rows
        rows += [order_row(shop, f"OK-{n}"), order_row(shop, f"NG-{n}"), order_row(shop, f"NG-{n}", 単価="-1")]
    response = upload(client, tenant, csv_bytes(rows))
    job_id = response.json["job_id"]

    create_orders, calls = order_import.create_orders, []

    def killed_in_the_second_chunk(*args, **kwargs):
        calls.append(1)
        batch = create_orders(*args, **kwargs)
        if len(calls) == 2:
            raise Killed  # the chunk's orders are written, not committed
        return batch

    monkeypatch.setattr(order_import, "create_orders", killed_in_the_second_chunk)
    with pytest.raises(Killed):
        run_jobs(app)
    with app.app_context():
        job = db.session.get(JobRecord, job_id)
        assert job.state == "started" and job.checkpoint["register"]["row"] == 4, job.checkpoint
        assert db.session.scalar(select(OutboxMessage.state).where(OutboxMessage.job_id == job_id)) == "pending"
        db.session.remove()
    assert orders_by_number(app) == {"OK-0": 1}
    run_jobs(app)

    job = client.get(f"/api/v1/jobs/{job_id}", headers=tenant.headers()).json
    result = job["result"]
    assert job["state"] == "finished", job
    counts = (result["rows"], result["orders_created"], result["orders_refused"], result["rows_refused"])
    assert counts == (18, 6, 6, 12)
    assert orders_by_number(app) == {f"OK-{n}": 1 for n in range(6)}
    assert [(e["row"], e["column"], e["code"]) for e in result["errors"]] == [
        (4 + 3 * n, "単価", "out_of_range") for n in range(6)]
    assert len(stored_errors(app, job_id)) == 12
    report = client.get(result["error_report_url"], headers=tenant.headers())
    lines = list(csv.reader(io.StringIO(report.data.decode("cp932"))))
    assert lines[0] == HEADER + ["エラー内容"]
    assert [row[1] for row in lines[1:]] == [f"NG-{n}" for n in range(6) for _ in range(2)]
    assert sum(1 for row in lines[1:] if row[-1].startswith("単価:")) == 6
