"""The history's texts (R12): stored in Japanese, read in English by an English reader — ours translated,
RMS's own words and users' names left as they were written."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from boss.orders import history, rules

ROOT = Path(__file__).resolve().parents[2]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.mark.parametrize("text", history._texts(), ids=lambda t: t.en[:40])
def test_every_text_has_an_english_with_the_same_values_and_no_japanese(text):
    names = sorted(re.findall(r"\{(\w+)\}", text.ja))
    assert sorted(re.findall(r"\{(\w+)\}", text.en)) == names
    assert not JAPANESE.search(text.en)
    values = {name: f"<{name}>" for name in names}
    assert history.english(text(**values)) == text.en.format(**values)


def test_r12_a_cancel_reads_with_its_reason_and_the_parcel_retrieval_in_english():
    for code, (ja, en) in rules.CANCEL_REASONS.items():
        assert history.english(history.CANCELLED(reason=ja)) == f"Cancel reason: {en}"
    stored = history.CANCELLED_RETRIEVE(reason=rules.CANCEL_REASONS[8][0])
    assert history.english(stored) == "Cancel reason: Shop: out of stock (the parcel is to be retrieved)"


def test_a_retry_for_a_reason_of_ours_reads_wholly_in_english():
    stored = history.REFLECTION_RETRY(n=2, tries=5, error=history.RMS_AWAITING_CHANGE.ja)
    assert history.english(stored) == "Temporary error, trying again (2 of 5): the order awaits the confirmation of a change (400)"


def test_a_bulk_jobs_name_reads_in_english_with_the_starters_name_as_written():
    stored = history.BULK_ACTORS["cancel"](job="1a2b3c4d", name="山田 花子")
    assert history.english(stored) == "Bulk cancel 1a2b3c4d (山田 花子)"
    assert history.english("冬セール（限定）") == "冬セール（限定）"  # a user's text with the same brackets


def test_rms_own_words_and_users_names_stay_as_written():
    stored = history.RMS_ERROR(error="ORDER_EXT_API_CANCEL_ORDER_ERROR_001: 注文が見つかりません")
    assert history.english(stored) == \
        "Rakuten RMS answered with an error: ORDER_EXT_API_CANCEL_ORDER_ERROR_001: 注文が見つかりません"
    assert history.english("電話確認") == "電話確認"  # a user's tag
    assert history.english("") == ""


def test_system_tag_names_read_in_english():
    for tag in rules.SYSTEM_TAGS:
        assert history.english(tag.name) == tag.name_en


def test_in_language_leaves_japanese_alone():
    assert history.in_language(history.DELETED.ja, "ja") == history.DELETED.ja
    assert history.in_language(history.DELETED.ja, "en") == history.DELETED.en


def test_no_module_writes_a_japanese_history_text_that_english_cannot_read():
    """Every string literal handed to record_event / raise_system_tag / clear_system_tag / Actor.* / _fail is
    one of history's texts (a plain Japanese literal there would stay Japanese for an English reader)."""
    calls = {"record_event", "raise_system_tag", "clear_system_tag", "system", "job", "_fail", "_confirm",
             "finish_registration", "import_mall_orders", "_event_row"}
    found = []
    for path in sorted((ROOT / "boss").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in calls or ast.unparse(node.func) == "self._fail":  # the API validator's, not history
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                for literal in ast.walk(arg):
                    if isinstance(literal, ast.Constant) and isinstance(literal.value, str) \
                            and JAPANESE.search(literal.value):
                        found.append(f"{path.relative_to(ROOT)}:{literal.lineno}: {literal.value}")
    assert not found, "\n".join(found)


def test_every_system_tag_says_what_it_means_in_english_too():
    for tag in rules.SYSTEM_TAGS:
        assert tag.meaning_en and not JAPANESE.search(tag.meaning_en), tag.code
        assert JAPANESE.search(tag.meaning), tag.code


def test_a_cancel_stored_when_the_reasons_said_tenpo_still_reads_in_english():
    stored = history.CANCELLED(reason="店舗都合（欠品）")
    assert history.english(stored) == "Cancel reason: Shop: out of stock"
    assert rules.CANCEL_REASONS[10][0] == "その他（ショップ都合）"
