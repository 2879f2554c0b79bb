"""WCAG 2.1 contrast (boss/colors.py): the figures axe reports, and a tag readable whatever its colour."""
from __future__ import annotations

import itertools

import pytest

from boss.colors import AA_TEXT, BLACK, WHITE, contrast_ratio, ink_on, relative_luminance
from boss.orders.rules import SYSTEM_TAGS


def test_luminance_runs_from_black_to_white():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#FFFFFF") == pytest.approx(1)
    assert relative_luminance("#808080") == pytest.approx(0.2159, abs=1e-4)


def test_the_contrast_ratio_is_wcags_in_either_order():
    assert contrast_ratio(BLACK, WHITE) == pytest.approx(21)
    assert contrast_ratio("#b7950b", WHITE) == pytest.approx(2.86, abs=0.01)  # 商品未マッピング before, as axe said
    assert contrast_ratio("#7f8c8d", WHITE) == pytest.approx(3.47, abs=0.01)  # モール出荷連携なし before
    assert contrast_ratio(WHITE, "#1f5fae") == contrast_ratio("#1f5fae", WHITE)


def test_a_tag_gets_white_on_dark_colours_and_black_on_light_ones():
    assert ink_on("#1f5fae") == WHITE
    assert ink_on("#c0392b") == WHITE
    assert ink_on("#f7dc6f") == BLACK
    assert ink_on("#e67e22") == BLACK  # an orange too light for white text (2.9:1)
    assert ink_on("#16a085") == BLACK


@pytest.mark.parametrize("channel", [f"{v:02x}" for v in range(0, 256, 15)])
def test_whatever_colour_a_user_picks_its_text_reads_at_aa(channel):
    for r, b in itertools.product(range(0, 256, 15), repeat=2):
        colour = f"#{r:02x}{channel}{b:02x}"
        assert contrast_ratio(ink_on(colour), colour) >= AA_TEXT, colour


def test_every_system_tag_reads_white_on_its_colour_at_aa():
    for tag in SYSTEM_TAGS:
        assert contrast_ratio(WHITE, tag.color) >= AA_TEXT, (tag.code, tag.color)
        assert ink_on(tag.color) == WHITE, tag.code


def test_a_colour_that_is_not_rrggbb_is_refused_or_drawn_with_black():
    with pytest.raises(ValueError):
        relative_luminance("red")
    assert ink_on("") == BLACK and ink_on("#12345") == BLACK
