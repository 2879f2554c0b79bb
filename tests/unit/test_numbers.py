"""Mall order numbers (orders.md §1, R4–R6): the normalisation, the refusal of characters that show nothing
and the key, pure. The expectations are written down from the spec, never computed by the module."""
from __future__ import annotations

import importlib.util
import string
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from boss.orders.numbers import InvalidNumber, manual_number, number_key

CANCELLED = "CXL-777"

# Every look-alike of issue 11 item 3 that was registered beside a cancelled CXL-777.
LOOK_ALIKES = {
    "full-width": "ＣＸＬ－７７７",
    "minus sign U+2212 (a Mac's Shift_JIS hyphen)": "CXL\u2212777",
    "full-width hyphen U+FF0D (CP932's)": "CXL\uff0d777",
    "superscript digits": "CXL-\u2077\u2077\u2077",
    "lower case": "cxl-777",
    "mixed case and en dash": "Cxl\u2013777",
}
# The characters that show nothing, each appended to CXL-777 (position 8).
INVISIBLE = ["\ufe0f", "\u034f", "\u3164", "\u115f", "\u2800", "\U000e0100", "\uffa0"]

quick = settings(database=None, max_examples=300, deadline=None)


@pytest.mark.parametrize("label", LOOK_ALIKES)
def test_r4_every_look_alike_has_the_key_of_the_cancelled_number(label):
    assert number_key(LOOK_ALIKES[label]) == number_key(CANCELLED) == "cxl-777"


@pytest.mark.parametrize("raw, stored", [
    ("ＡＢＣ－１２３", "ABC-123"),
    ("  ＣＸＬ－７７７\u3000", "CXL-777"),
    ("CXL-\u00b2\u00b3", "CXL-23"),
    ("ｶﾞｷﾞ-1", "ガギ-1"),
    ("cxl\u2212777", "cxl\u2212777"),  # NFKC keeps U+2212: the number as typed, the key folds it
    ("Cafe\u0301", "Café"),  # a mark NFKC composes shows: accepted
])
def test_registration_stores_the_nfkc_normalised_trimmed_number(raw, stored):
    assert manual_number(raw).number == stored


@pytest.mark.parametrize("character", INVISIBLE + ["\u200b", "\u00ad", "\u2060", "\u1160", "\t", "\n", "\u2028",
                                                   "\u2029", "\ue000", "\U000e0041", "\u0301"],
                         ids=lambda ch: f"U+{ord(ch):04X}")
def test_r6_a_character_that_shows_nothing_is_refused_naming_its_position_and_code_point(character):
    with pytest.raises(InvalidNumber) as refused:
        manual_number(CANCELLED + character + "-1")
    code = f"U+{ord(character):04X}"
    assert refused.value.reason.ja.startswith(f"8文字目に表示されない文字（{code}）があります。")
    assert refused.value.reason.en.startswith(f"Character 8 ({code}) shows nothing.")


def test_the_position_counts_what_was_typed_when_nfkc_joins_characters():
    with pytest.raises(InvalidNumber) as refused:  # ｶﾞ is two characters typed, one stored
        manual_number("ｶﾞ-\u200b1")
    assert refused.value.reason.ja.startswith("4文字目に表示されない文字（U+200B）")


@pytest.mark.parametrize("raw", ["", "   ", "\u3000"])
def test_an_empty_number_is_refused(raw):
    with pytest.raises(InvalidNumber) as refused:
        manual_number(raw)
    assert refused.value.reason.ja == "モール注文番号を入力してください。"


def test_a_number_is_at_most_64_characters_once_normalised():
    assert manual_number("N" * 64).number == "N" * 64
    with pytest.raises(InvalidNumber) as refused:
        manual_number("\u3300" * 22)  # ㌀ is アパート: 22 typed, 88 stored
    assert "64文字以内" in refused.value.reason.ja and "88" in refused.value.reason.ja


def test_letters_of_other_scripts_that_look_latin_are_not_folded():
    assert number_key("\u0421XL-777") != number_key(CANCELLED)  # Cyrillic С


@pytest.mark.parametrize("dash", "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d-")
def test_the_dash_look_alikes_fold_to_a_hyphen(dash):
    assert number_key(f"A{dash}1") == "a-1"


@pytest.mark.parametrize("tilde", "\u301c\uff5e~")
def test_the_wave_dashes_fold_to_a_tilde(tilde):
    assert number_key(f"A{tilde}1") == "a~1"


# ---------------------------------------------------------------- properties

VISIBLE = st.text(alphabet=string.ascii_letters + string.digits + "-_#/.ｦ-ﾝあ-んア-ン", min_size=1, max_size=30)
ANY = st.text(max_size=40)


@quick
@given(VISIBLE)
def test_property_case_and_width_never_make_another_number(number):
    wide = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in number)
    assert number_key(number.upper()) == number_key(number.lower()) == number_key(wide) == number_key(number)


@quick
@given(VISIBLE, st.sampled_from(INVISIBLE + ["\u200b", "\u2060", "\ufeff"]), st.data())
def test_property_an_invisible_character_anywhere_is_refused_at_its_position(number, character, data):
    at = data.draw(st.integers(min_value=1, max_value=len(number)))  # after the first character, up to the end
    with pytest.raises(InvalidNumber) as refused:
        manual_number(number[:at] + character + number[at:])
    assert refused.value.reason.ja.startswith(f"{at + 1}文字目に表示されない文字（U+{ord(character):04X}）")


@quick
@given(ANY)
@example("ＣＸＬ－７７７")
@example("\u00a8x")
def test_property_the_stored_number_has_the_key_of_what_was_typed(raw):
    try:
        stored = manual_number(raw)
    except InvalidNumber:
        return
    assert number_key(stored.number) == number_key(raw) == stored.key
    assert unicodedata.normalize("NFKC", stored.number) == stored.number and stored.number == stored.number.strip()
    assert 1 <= len(stored.number) <= 64


@quick
@given(ANY)
def test_property_an_accepted_number_holds_no_character_that_shows_nothing(raw):
    try:
        stored = manual_number(raw).number
    except InvalidNumber:
        return
    for ch in stored:
        assert unicodedata.category(ch) not in {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Mn", "Mc", "Me"}, ch
        assert ch not in "\u115f\u1160\u3164\uffa0\u2800"


def _migration_0008():
    spec = importlib.util.spec_from_file_location(
        "migration_0008", Path(__file__).resolve().parents[2] / "migrations/versions/0008_mall_order_number_key.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


MIGRATION_0008 = _migration_0008()


@quick
@given(ANY)
@example("ＣＸＬ－７７７")
@example("CXL\u2212777\u301c")
def test_property_migration_0008_keys_numbers_as_the_app_does(number):
    assert MIGRATION_0008.number_key(number) == number_key(number)
