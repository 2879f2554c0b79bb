"""郵便番号 as people type it: 7 digits however written come out as 123-4567; anything else is refused saying why."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from boss.postal import DASHES, InvalidPostalCode, normalise_postal_code

quick = settings(database=None, max_examples=300, deadline=None)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
SEPARATORS = ["", "-", "－", "‐", "ー", "−", " ", "　"]
SEVEN_DIGITS = st.text(alphabet="0123456789", min_size=7, max_size=7)


@st.composite
def typed_codes(draw):
    """Seven digits as a person may type them: some full-width, a separator between the 3 and the 4, a 〒."""
    digits = draw(SEVEN_DIGITS)
    typed = "".join(d.translate(FULL_WIDTH) if draw(st.booleans()) else d for d in digits)
    typed = typed[:3] + draw(st.sampled_from(SEPARATORS)) + typed[3:]
    return digits, draw(st.sampled_from(["", "〒", "〒 "])) + typed + draw(st.sampled_from(["", " "]))


@quick
@given(typed_codes())
@example(("1000001", "100-0001"))
@example(("1234567", "１２３４５６７"))
@example(("1234567", "〒123-4567"))
def test_seven_digits_however_typed_come_out_as_three_hyphen_four(case):
    digits, typed = case
    assert normalise_postal_code(typed) == f"{digits[:3]}-{digits[3:]}"


@quick
@given(SEVEN_DIGITS)
def test_a_normalised_code_stays_as_it_is(digits):
    once = normalise_postal_code(digits)
    assert normalise_postal_code(once) == once


@quick
@given(st.text(alphabet="0123456789０１２３４５６７８９", max_size=12).filter(lambda t: len(t) != 7))
def test_a_code_of_other_than_seven_digits_is_refused_saying_how_many_it_has(digits):
    with pytest.raises(InvalidPostalCode) as refused:
        normalise_postal_code(digits)
    if digits:
        assert refused.value.reason.ja.endswith(f"入力は{len(digits)}桁です。")


def _shows_as_something_else(character: str) -> bool:
    """Not a digit, space, dash or 〒 once NFKC has folded it (⁰ is a 0, ｰ a dash)."""
    folded = unicodedata.normalize("NFKC", character)
    return bool(folded.strip()) and not set(folded) <= set("0123456789〒" + DASHES)


@quick
@given(SEVEN_DIGITS, st.characters(blacklist_categories=("Cs",)).filter(_shows_as_something_else), st.integers(0, 7))
def test_a_character_other_than_digits_and_hyphens_is_refused(digits, other, at):
    with pytest.raises(InvalidPostalCode) as refused:
        normalise_postal_code(digits[:at] + other + digits[at:])
    assert "数字とハイフン以外の文字があります" in refused.value.reason.ja


def test_the_refusals_read_in_english():
    with pytest.raises(InvalidPostalCode) as refused:
        normalise_postal_code("123-456")
    assert refused.value.reason.en == "A postal code is 7 digits (e.g. 100-0001). This one has 6."
