"""受注CSV登録 under random input (csv.md §1, §4), through the API and the job: whatever the bytes or the rows,
no 5xx, and every order is registered whole — all its rows as lines, in file order — or refused whole."""
from __future__ import annotations

import csv
import io
import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from boss.orders.numbers import InvalidNumber, manual_number
from tests.csv_files import (HEADER, csv_bytes, job_of, last_order_id, lines_by_number, order_row, run_jobs,
                             stored_errors, upload)

RANDOM = settings(max_examples=40, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                         HealthCheck.data_too_large])
_examples = itertools.count(1)

NUMBER, SHOP, ITEM = HEADER.index("モール注文番号"), HEADER.index("ショップ"), HEADER.index("モール商品ID")


def _valid_file(shop: str, prefix: str) -> bytes:
    rows = [order_row(shop, f"{prefix}-{n % 3}", item=f"i{n}", 商品名=f"煎茶「{n}」, 100g") for n in range(6)]
    return csv_bytes(rows)


@st.composite
def _random_bytes(draw, shop: str, prefix: str) -> bytes:
    """Bytes of any kind: noise, noise after a good header, or a good file with some bytes overwritten."""
    good = _valid_file(shop, prefix)
    kind = draw(st.sampled_from(["noise", "header", "mutated"]))
    if kind == "noise":
        return draw(st.binary(max_size=600))
    if kind == "header":
        return good[:good.index(b"\r\n") + 2] + draw(st.binary(max_size=600))
    content = bytearray(good)
    for position, value in draw(st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)),
                                         min_size=1, max_size=6)):
        content[position] = value
    return bytes(content)


def _rows_of(content: bytes, encoding: str, shop: str) -> dict[str, list[str]]:
    """The モール商品ID of each row of the shop, by its order's number (as R4 compares numbers: by key)."""
    text = content.decode(encoding, errors="replace")
    by_key: dict[str, list[str]] = {}
    for cells in itertools.islice(csv.reader(io.StringIO(text, newline="")), 1, None):
        if len(cells) <= ITEM or cells[SHOP].strip() != shop:
            continue
        try:
            key = manual_number(cells[NUMBER]).key
        except InvalidNumber:
            continue
        by_key.setdefault(key, []).append(cells[ITEM].strip())
    return by_key


def _accepted(response) -> str | None:
    """The upload's job, or None when the file was refused (413, 422): never a 5xx."""
    assert response.status_code < 500, response.data[:500]
    if response.status_code != 202:
        assert response.status_code in (413, 422), response.json
        return None
    return response.json["job_id"]


def _finished(app, client, tenant, job_id: str) -> dict:
    """The job run; the job and its error report answered without a 5xx."""
    run_jobs(app)
    job = job_of(client, tenant, job_id)
    assert job["state"] in ("finished", "failed"), job
    if job["state"] == "finished" and job["result"]["error_report_url"]:
        report = client.get(job["result"]["error_report_url"], headers=tenant.headers())
        assert report.status_code == 200
    return job


def test_random_bytes_never_give_a_5xx_and_register_no_order_in_part(app, client, tenant):
    shop = "#%d" % tenant.shop_id

    @RANDOM
    @given(data=st.data())
    def check(data):
        prefix = f"RB{next(_examples):05d}"  # of one width: the file's length is the same each time
        content = data.draw(_random_bytes(shop, prefix))
        before = last_order_id(app)
        job_id = _accepted(upload(client, tenant, content))
        if job_id is None:
            event("refused at upload")
            assert lines_by_number(app, before) == {}
            return
        job = _finished(app, client, tenant, job_id)
        registered = lines_by_number(app, before)
        if job["state"] == "failed":
            event("the job failed")
            assert registered == {}, job
            return
        event(f"orders registered: {bool(registered)}")
        rows = _rows_of(content, job["result"]["encoding"], shop)
        for number, lines in registered.items():
            assert [line[0] for line in lines] == rows[manual_number(number).key], (number, job["result"])

    check()


TRICKY = st.sampled_from([",", '"', "\n", "\r\n", "😀", "①", "髙", "ｶﾅ", " ", "、", "\t", "'", "=", "～"])
TEXT = st.lists(st.one_of(TRICKY, st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
                max_size=10).map("".join)
GOOD_NUMBER = st.one_of(st.integers(1, 9999).map(str), st.integers(1000, 9999).map(lambda n: f"{n:,}"),
                        st.integers(1, 999).map(lambda n: str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))))
BAD_NUMBER = st.sampled_from(["", "0", "-1", "abc", "10000", "1.5", "１，２００", " 3 "])
NUMBER_CELL = st.one_of(*[GOOD_NUMBER] * 7, BAD_NUMBER)  # mostly good
ITEM_NAME = st.one_of(*[TEXT.map("煎茶".__add__)] * 3, TEXT)  # mostly not empty


@st.composite
def _random_rows(draw, shop: str, prefix: str) -> tuple[list[list[str]], str]:
    """Rows of up to four orders in any order, their cells drawn: texts with commas, quotes, line breaks and emoji,
    numbers written as people write them, empties, sometimes bad values and rows that disagree."""
    orders = {f"{prefix}-{n}": draw(TEXT.filter(str.strip)) for n in range(draw(st.integers(1, 4)))}
    rows = []
    for position in range(draw(st.integers(1, 10))):
        number = draw(st.sampled_from(sorted(orders)))
        same = st.sampled_from([orders[number], orders[number], ""])  # the order's buyer, or left empty
        buyer = draw(TEXT if draw(st.integers(0, 5)) == 0 else same)  # now and then a row that disagrees
        rows.append(order_row(shop, number, item=f"i{position}", quantity=draw(NUMBER_CELL),
                              price=draw(NUMBER_CELL), 購入者名=buyer, 商品名=draw(ITEM_NAME),
                              送料=draw(st.sampled_from(["", "500", "500", "５００", "500", "", "x"]))))
    encoding = draw(st.sampled_from(["cp932", "utf-8", "utf-8-sig"]))
    if encoding == "cp932":
        rows = [[cell.encode("cp932", errors="replace").decode("cp932") for cell in row] for row in rows]
    return rows, encoding


def test_random_rows_register_each_order_with_all_its_rows_in_file_order_or_refuse_it_whole(app, client, tenant):
    shop = "#%d" % tenant.shop_id

    @RANDOM
    @given(data=st.data())
    def check(data):
        prefix = f"RR{next(_examples):05d}"
        rows, encoding = data.draw(_random_rows(shop, prefix))
        content = csv_bytes(rows, encoding=encoding)
        before = last_order_id(app)
        job_id = _accepted(upload(client, tenant, content))
        assert job_id is not None, "a file of good shape was refused at upload"
        job = _finished(app, client, tenant, job_id)
        assert job["state"] == "finished", job
        registered = lines_by_number(app, before)
        refused_rows = {row for row, _, _ in stored_errors(app, job_id)}
        event(f"orders registered: {bool(registered)}, refused: {bool(job['result']['orders_refused'])}")
        for number in {row[NUMBER] for row in rows}:
            mine = [(position + 2, row[ITEM]) for position, row in enumerate(rows) if row[NUMBER] == number]
            if number in registered:
                assert [line[0] for line in registered[number]] == [item for _, item in mine]
                assert not refused_rows & {row for row, _ in mine}
            else:
                assert {row for row, _ in mine} <= refused_rows, (number, mine, job["result"]["errors"])
        assert job["result"]["orders_created"] == len(registered)

    check()
