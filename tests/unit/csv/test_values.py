"""Reading one CSV cell (csv.md §1): integers, 注文日時, お届け日, お届け時間帯 and text as people write them in
Excel. The expectations are written down from the spec, never computed by the module."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boss.csv.values import CODES, CellError, delivery_date, integer, order_datetime, text, time_slot

quick = settings(database=None, max_examples=300, deadline=None)


def code_of(read, *args) -> str:
    with pytest.raises(CellError) as refused:
        read(*args)
    assert refused.value.reason.ja and refused.value.reason.en
    return refused.value.code


@pytest.mark.parametrize("cell, value", [
    ("1200", 1200), (" 1200 ", 1200), ("１２００", 1200), ("1,200", 1200), ("１，２００", 1200),
    ("¥1,200", 1200), ("￥１，２００", 1200), ("1200.00", 1200), ("0", 0), ("10,000,000", 10_000_000),
])
def test_integers_are_read_as_excel_and_people_write_them(cell, value):
    assert integer(cell, 0, 10_000_000) == value


@pytest.mark.parametrize("cell", ["abc", "12a", "1,20", "1.5", "1 200", "¥", "--1", "1e3"])
def test_what_is_not_a_whole_number_is_invalid_number(cell):
    assert code_of(integer, cell, 0, 9999) == "invalid_number"


@pytest.mark.parametrize("cell", ["0", "10000", "-1", "－１", "99999999999999999999999999999999999999999"])
def test_numbers_outside_the_range_are_out_of_range_and_the_message_names_it(cell):
    with pytest.raises(CellError) as refused:
        integer(cell, 1, 9999)
    assert refused.value.code == "out_of_range"
    assert "1以上9,999以下" in refused.value.reason.ja and "1 to 9,999" in refused.value.reason.en


def test_an_empty_cell_is_missing():
    assert code_of(integer, "  ", 0, 1) == "missing"
    assert code_of(order_datetime, "") == "missing"
    assert code_of(delivery_date, None) == "missing"


@pytest.mark.parametrize("cell, utc", [
    ("2026/11/27 14:05", datetime(2026, 11, 27, 5, 5)),
    ("2026/11/27 14:05:30", datetime(2026, 11, 27, 5, 5, 30)),
    ("2026-11-27 14:05:00", datetime(2026, 11, 27, 5, 5)),
    ("2026/11/27", datetime(2026, 11, 26, 15, 0)),
    ("2026/1/5 9:05", datetime(2026, 1, 5, 0, 5)),
    ("2026-11-27T14:05:00+09:00", datetime(2026, 11, 27, 5, 5)),
    ("2026-11-27 05:05:00 -0000", datetime(2026, 11, 27, 5, 5)),
    ("2026-11-27T05:05:00Z", datetime(2026, 11, 27, 5, 5)),
    ("2026-11-27T00:05:00-05:00", datetime(2026, 11, 27, 5, 5)),
    ("２０２６／１１／２７　１４：０５", datetime(2026, 11, 27, 5, 5)),
])
def test_order_datetimes_of_every_form_are_read_as_utc_and_japan_time_without_an_offset(cell, utc):
    assert order_datetime(cell) == utc


@pytest.mark.parametrize("cell", ["2026/02/30", "2026/13/01", "2026/11/27 25:00", "2026/11/27 14:60",
                                  "27/11/2026", "yesterday", "2026/11-27", "0001-01-01", "2026-11-27T14:05+25:00"])
def test_what_is_no_date_and_time_is_invalid_date(cell):
    assert code_of(order_datetime, cell) == "invalid_date"


@pytest.mark.parametrize("cell, day", [
    ("2026-12-10", date(2026, 12, 10)), ("2026/12/10", date(2026, 12, 10)), ("2026/1/5", date(2026, 1, 5)),
    ("２０２６／１２／１０", date(2026, 12, 10)), ("2026/12/10 14:00", date(2026, 12, 10)),
    ("2026-12-10T00:00:00+09:00", date(2026, 12, 10)),
])
def test_delivery_dates_are_read_and_a_time_after_them_ignored(cell, day):
    assert delivery_date(cell) == day


@pytest.mark.parametrize("cell", ["2026/02/29", "12/10", "2026年12月10日", "20261210"])
def test_what_is_no_delivery_date_is_invalid_date(cell):
    assert code_of(delivery_date, cell) == "invalid_date"


@pytest.mark.parametrize("cell, slot", [
    ("", None), (None, None), ("指定なし", None), ("時間帯指定[指定なし]", None),
    ("午前中", "午前中"), ("AM", "午前中"), ("am", "午前中"), ("0812", "午前中"), ("０８１２", "午前中"),
    ("午後", "午後"), ("その他", "その他"),
    ("14-16", "14-16"), ("14時-16時", "14-16"), ("14:00～16:00", "14-16"), ("14:00-16:00", "14-16"),
    ("時間帯指定[14時-16時]", "14-16"), ("1416", "14-16"), ("１４－１６", "14-16"), ("１４時～１６時", "14-16"),
    ("9-12", "09-12"), ("19〜21", "19-21"), ("時間帯指定【午前中】", "午前中"), ("20-24", "20-24"),
])
def test_time_slots_are_read_the_ways_files_write_them(cell, slot):
    assert time_slot(cell) == slot


@pytest.mark.parametrize("cell", ["16-14", "14-25", "14:30-16:00", "夜", "14", "141", "14-16-18", "1614"])
def test_what_is_no_time_slot_is_invalid_choice(cell):
    assert code_of(time_slot, cell) == "invalid_choice"


def test_text_is_trimmed_keeps_inner_line_breaks_and_is_refused_past_its_length():
    assert text("  カラー:赤\r\nサイズ:M ", 20) == "カラー:赤\nサイズ:M"
    assert text("  字下げ\n", 20, strip=False) == "  字下げ\n"
    with pytest.raises(CellError) as refused:
        text("あ" * 6, 5)
    assert refused.value.code == "too_long" and "5文字以内" in refused.value.reason.ja


@quick
@given(st.text(max_size=30))
def test_any_cell_is_a_value_or_a_cell_error_with_a_code_of_the_spec(cell):
    for read in (lambda c: integer(c, 0, 10_000_000), order_datetime, delivery_date, time_slot,
                 lambda c: text(c, 10)):
        try:
            read(cell)
        except CellError as refused:
            assert refused.code in CODES
