"""Reading a CSV file as Excel writes it (csv.md §1, §4): encodings, quoting, row numbers, header matching and
the refusals of the file itself, pure. Files are written here as bytes, the way Excel saves them."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boss.csv.reading import Column, FileRefused, detect_encoding, header_key, open_table, peek_header

COLUMNS = (
    Column("shop", "ショップ"),
    Column("mall_order_number", "モール注文番号", required=True),
    Column("buyer_name", "購入者名", required=True),
    Column("remarks", "備考", aliases=("メモ",)),
    Column("quantity", "数量", required=True),
)
HEADER = "ショップ,モール注文番号,購入者名,備考,数量\r\n"

quick = settings(database=None, max_examples=200, deadline=None)


def chunked(data: bytes, size: int = 1024 * 1024):
    """open_chunks for `data` in chunks of `size` bytes."""
    return lambda: (data[start:start + size] for start in range(0, len(data), size))


def read(data: bytes, size: int = 1024 * 1024, **options):
    table = open_table(chunked(data, size), COLUMNS, **options)
    return table, list(table.rows())


# ---------------------------------------------------------------- encodings


def test_a_utf8_file_is_detected_and_read():
    table, rows = read((HEADER + "本店,A-1,山田 太郎,ありがとう,1\r\n").encode("utf-8"))
    assert table.encoding == "utf-8"
    assert rows[0].cells == ("本店", "A-1", "山田 太郎", "ありがとう", "1")


def test_a_utf8_file_with_bom_is_detected_and_the_bom_is_not_part_of_the_first_header():
    table, rows = read(b"\xef\xbb\xbf" + (HEADER + "本店,A-1,山田,,1\r\n").encode("utf-8"))
    assert table.encoding == "utf-8-sig"
    assert table.header.names[0] == "ショップ"
    assert table.header.index["shop"] == 0


def test_a_cp932_file_is_detected_and_read():
    table, rows = read((HEADER + "本店,A-1,髙橋 ①,～ｶﾅ,1\r\n").encode("cp932"))
    assert table.encoding == "cp932"
    assert rows[0].cells[2:4] == ("髙橋 ①", "～ｶﾅ")


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_a_cp932_file_split_inside_its_characters_by_the_chunks_reads_the_same(size):
    data = (HEADER + "本店,注文ー１,山田太郎,ソ表能,２\r\n").encode("cp932")
    table, rows = read(data, size=size)
    assert table.encoding == "cp932"
    assert rows[0].cells == ("本店", "注文ー１", "山田太郎", "ソ表能", "２")


def test_a_utf8_file_split_inside_its_characters_is_still_detected_as_utf8():
    table, rows = read((HEADER + "本店,A-1,山田,,1\r\n").encode("utf-8"), size=1)
    assert table.encoding == "utf-8"
    assert rows[0].cells[2] == "山田"


def test_a_chosen_encoding_is_used_and_utf8_with_a_bom_reads_as_utf8_sig():
    data = (HEADER + "本店,A-1,山田,,1\r\n").encode("utf-8")
    assert detect_encoding(chunked(data), "utf-8") == "utf-8"
    assert detect_encoding(chunked(b"\xef\xbb\xbf" + data), "utf-8") == "utf-8-sig"
    assert detect_encoding(chunked(data), "cp932") == "cp932"


def test_an_encoding_that_is_not_a_choice_is_refused_naming_the_choices():
    with pytest.raises(FileRefused) as refused:
        detect_encoding(chunked(b"a,b\r\n"), "latin-1")
    assert "auto" in refused.value.reason.en and "cp932" in refused.value.reason.ja


# ---------------------------------------------------------------- Excel's CSV


def test_quoted_cells_keep_commas_quotes_and_line_breaks_and_rows_count_records():
    data = (HEADER + '本店,A-1,"山田, 太郎","1行目\r\n2行目 ""引用""",1\r\n'
            '本店,A-2,佐藤,"a\nb\nc",2\r\n'
            '本店,A-3,鈴木,,3\r\n').encode("utf-8")
    _, rows = read(data)
    assert [row.number for row in rows] == [2, 3, 4]
    assert rows[0].cells[2:4] == ("山田, 太郎", '1行目\r\n2行目 "引用"')
    assert rows[1].cells[3] == "a\nb\nc"


def test_lf_and_crlf_line_ends_read_alike():
    crlf = (HEADER + "本店,A-1,山田,,1\r\n").encode("utf-8")
    _, with_crlf = read(crlf)
    _, with_lf = read(crlf.replace(b"\r\n", b"\n"))
    assert with_crlf == with_lf


def test_blank_rows_are_skipped_but_counted_as_excel_counts_them():
    _, rows = read((HEADER + "\r\n,,,,\r\n本店,A-1,山田,,1\r\n").encode("utf-8"))
    assert [(row.number, row.cells[1]) for row in rows] == [(4, "A-1")]


def test_a_row_with_fewer_cells_reads_them_as_empty():
    _, rows = read((HEADER + "本店,A-1,山田\r\n").encode("utf-8"))
    assert rows[0].cells == ("本店", "A-1", "山田", "", "")


def test_empty_cells_right_of_the_header_are_not_ragged():
    _, rows = read((HEADER + "本店,A-1,山田,,1,,\r\n").encode("utf-8"))
    assert rows[0].cells == ("本店", "A-1", "山田", "", "1")


def test_rows_can_be_read_again_in_a_fresh_pass():
    table, first = read((HEADER + "本店,A-1,山田,,1\r\n").encode("utf-8"))
    assert list(table.rows()) == first


def test_an_empty_file_and_a_header_alone_are_zero_rows():
    assert read(b"")[1] == []
    assert read(HEADER.encode("cp932"))[1] == []


# ---------------------------------------------------------------- header


def test_headers_match_after_nfkc_without_spaces_and_in_any_case():
    data = '"ショップ "," モール 注文番号",購入者\u3000名,ﾒﾓ,ＱＵＡＮtity\r\n本店,A-1,山田,,1\r\n'.encode("utf-8")
    table, _ = read(data)
    assert table.header.index == {"shop": 0, "mall_order_number": 1, "buyer_name": 2, "remarks": 3, "quantity": 4}
    assert table.header.name_of("mall_order_number") == " モール 注文番号"
    assert header_key("購入者　名") == header_key("購入者名")


def test_english_headers_are_accepted_in_any_order():
    table, rows = read(b"quantity,buyer_name,mall_order_number\r\n2,Yamada,A-1\r\n")
    assert table.header.index == {"quantity": 0, "buyer_name": 1, "mall_order_number": 2}
    assert table.header.cell(rows[0], "mall_order_number") == "A-1"
    assert table.header.cell(rows[0], "shop") == ""


def test_unknown_columns_are_listed_and_empty_trailing_header_cells_ignored():
    table, _ = read(("ショップ,モール注文番号,購入者名,数量,ポイント倍率,,\r\n").encode("cp932"))
    assert table.header.unknown == ("ポイント倍率",)
    assert table.header.names == ("ショップ", "モール注文番号", "購入者名", "数量", "ポイント倍率")


def test_blank_rows_before_the_header_are_skipped():
    table, rows = read(("\r\n" + HEADER + "本店,A-1,山田,,1\r\n").encode("utf-8"))
    assert table.header.index["shop"] == 0
    assert rows[0].number == 3


def test_a_tab_separated_file_is_read_without_quote_handling_when_sniffed():
    data = 'order-id\tsku\tproduct-name\r\n1\tS-1\t"a" b\r\n'.encode("utf-8")
    assert peek_header(chunked(data), delimiter="auto")[1] == "\t"
    table = open_table(chunked(data), (Column("order_id", "order-id"), Column("sku", "sku"),
                                       Column("name", "product-name")), delimiter="\t")
    assert list(table.rows())[0].cells == ("1", "S-1", '"a" b')


def test_required_defaults_to_the_columns_marked_and_can_be_given():
    table, _ = read(b"mall_order_number,buyer_name,quantity\r\n")
    assert table.header.index.keys() == {"mall_order_number", "buyer_name", "quantity"}
    with pytest.raises(FileRefused):
        read(b"mall_order_number,buyer_name,quantity\r\n", required=["shop"])


# ---------------------------------------------------------------- refusals


def refusal(data: bytes, **options) -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        read(data, **options)
    return refused.value


def test_a_binary_file_is_refused():
    zipped = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256))
    reason = refusal(zipped).reason
    assert "バイナリ" in reason.ja and "binary" in reason.en


def test_a_utf16_file_is_refused_saying_how_to_save_it():
    reason = refusal(HEADER.encode("utf-16")).reason
    assert "UTF-16" in reason.ja and "CSV UTF-8" in reason.en


def test_bytes_cp932_cannot_read_are_refused_naming_the_row_and_the_other_encoding():
    data = (HEADER + "本店,A-1,山田,,1\r\n").encode("cp932") + b"\x85\x40,A-2,x,,1\r\n"
    refused = refusal(data, encoding="cp932")
    assert refused.row == 3
    assert "3行目" in refused.reason.ja and "「UTF-8」を選ぶ" in refused.reason.ja


def test_a_file_neither_utf8_nor_cp932_reads_is_refused_naming_the_row_and_both():
    data = (HEADER + "本店,A-1,山田,,1\r\n").encode("cp932") + b"\x85\x40,A-2,x,,1\r\n"
    refused = refusal(data)
    assert refused.row == 3
    assert "3行目は UTF-8 としても Shift_JIS（CP932）としても読めません" in refused.reason.ja


def test_a_cp932_file_read_as_chosen_utf8_is_refused_suggesting_shift_jis():
    data = (HEADER + "本店,A-1,山田,,1\r\n本店,A-2,佐藤,,1\r\n").encode("cp932")
    refused = refusal(data.replace("本店".encode("cp932"), b"shop", 1).replace("山田".encode("cp932"), b"x"),
                      encoding="utf-8")
    assert refused.row == 1  # the header itself is in CP932
    assert "Shift_JIS" in refused.reason.ja
    refused = refusal(b"mall_order_number,buyer_name,quantity\r\nA-1,x,1\r\nA-2," + "佐藤".encode("cp932") + b",1\r\n",
                      encoding="utf-8")
    assert refused.row == 3 and "Row 3" in refused.reason.en


def test_a_header_of_one_column_is_refused_as_the_wrong_delimiter():
    reason = refusal((HEADER.replace(",", ";") + "本店;A-1;山田;;1\r\n").encode("utf-8")).reason
    assert "区切り文字" in reason.ja and "delimiter" in reason.en


def test_missing_required_columns_are_named_by_their_japanese_header():
    reason = refusal("ショップ,購入者名\r\n".encode("utf-8")).reason
    assert "必須の列がありません: モール注文番号, 数量" in reason.ja


def test_a_column_given_twice_is_refused():
    reason = refusal("モール注文番号,購入者名,数量,mall_order_number\r\n".encode("utf-8")).reason
    assert "モール注文番号" in reason.ja and "mall_order_number" in reason.ja


def test_a_row_with_more_cells_than_the_header_is_refused_naming_the_row():
    refused = refusal((HEADER + "本店,A-1,山田,,1\r\n本店,A-2,東京都,港区,佐藤,,1\r\n").encode("utf-8"))
    assert refused.row == 3
    assert "3行目" in refused.reason.ja and "Row 3" in refused.reason.en


def test_a_nul_after_the_start_of_the_file_is_refused_naming_its_row():
    data = (HEADER + "本店,A-1,山田,,1\r\n" * 10_000).encode("utf-8") + b"x\x00y,A-2,x,,1\r\n"
    refused = refusal(data)
    assert refused.row == 10_002 and "NUL" in refused.reason.ja


def test_a_quote_left_open_is_refused_not_read_to_the_end():
    data = (HEADER + '本店,A-1,"山田,,1\r\n' + "本店,A-2,佐藤,,1\r\n" * 20_000).encode("utf-8")
    refused = refusal(data)
    assert refused.row == 2


# ---------------------------------------------------------------- properties


@quick
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64), st.sampled_from(["auto", "utf-8", "cp932"]))
def test_random_bytes_are_read_or_refused_never_anything_else(data, size, encoding):
    try:
        table = open_table(chunked(data, size), COLUMNS, encoding=encoding, required=())
        for row in table.rows():
            assert len(row.cells) == len(table.header.names)
    except FileRefused as refused:
        assert refused.reason.ja and refused.reason.en


@quick
@given(st.lists(st.lists(st.text(max_size=8), max_size=7), max_size=6), st.sampled_from(["utf-8", "cp932"]))
def test_random_tables_of_text_are_read_or_refused_never_anything_else(table_cells, encoding):
    text = HEADER + "\r\n".join(",".join(row) for row in table_cells)
    data = text.encode(encoding, errors="replace")
    try:
        list(open_table(chunked(data, 3), COLUMNS).rows())
    except FileRefused as refused:
        assert refused.reason.ja and refused.reason.en
