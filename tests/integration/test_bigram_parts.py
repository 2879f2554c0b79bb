"""Migration 0007 works the bigram index out per part of search_text: the same set of bigrams as 0006's
(every 2 characters not across a '|', but two ASCII digits), and a downgrade and upgrade keep the answers."""
from __future__ import annotations

import importlib.util

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from boss.extensions import db
from boss.orders import search
from boss.orders.models import Order
from tests.integration.test_two_character_search import (  # noqa: F401  (population is a fixture)
    _found, _needles, _substring_scan, population)

MIGRATION = importlib.util.spec_from_file_location(
    "migration_0007", __import__("pathlib").Path(__file__).resolve().parents[2] / "migrations/versions/0007_cheaper_bigrams.py")

TEXTS = [
    "", "a", "ab", "abc", "a|b", "|", "||", "||ab||", "ab|ab|ab", "xxx", "12", "12|ab", "1a2", "ab12x|99|y",
    "12345|1a2|x9", "１２|٣٤", "加藤太郎|カトウタロウ|加藤太郎|カトウタロウ|0117736219|0117736219",
    "ｱ𠮷x|", "ab%_c|\\%|'\"", "田田田|デンデン|", "鬼瓦権造|オニガワラ",
]


def _bigrams_0006(value: str) -> set[str]:
    """What 0006 indexed: every 2 characters of the text, but those holding a '|' and those of two ASCII digits."""
    grams = {value[i:i + 2] for i in range(len(value) - 1)}
    return {g for g in grams if "|" not in g and not all(ch in "0123456789" for ch in g)}


def _indexed(value: str) -> set[str]:
    """The bigrams the head revision indexes for `value`."""
    if db.engine.dialect.name == "postgresql":
        return set(db.session.scalar(text("SELECT search_bigrams(:v)"), {"v": value}))
    migration = importlib.util.module_from_spec(MIGRATION)
    MIGRATION.loader.exec_module(migration)
    tokens = db.session.scalar(text(f"SELECT {migration._sqlite_grams(':v')}"), {"v": value}) or ""
    return {bytes.fromhex(token).decode() for token in tokens.split()}


def test_the_bigrams_per_part_are_the_set_0006_indexed(ctx):
    for value in TEXTS:
        assert _indexed(value) == _bigrams_0006(value), value


def _found_by_name(app, account_id: int, needle: str) -> list[int]:
    """_found's answer from the name index alone, reading only columns that 0006 has too (not the number's key)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # the GIN index, not a scan of these few rows
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            db.session.execute(text("SET LOCAL enable_indexscan = off"))
        ids = list(db.session.scalars(
            select(Order.id).where(Order.account_id == account_id, Order.deleted_at.is_(None),
                                   search._substring_condition(search.normalise(needle)))
            .order_by(Order.ordered_at.desc(), Order.id.desc())))
        db.session.remove()
    return ids


def test_a_downgrade_to_0006_and_back_keeps_every_two_character_answer(app, tenant, population):
    needles = _needles(population)
    expected = {needle: _substring_scan(population, needle) for needle in needles}
    for revision in ("0006", None):
        with app.app_context():
            if revision:
                downgrade(revision=revision)
            else:
                upgrade()
            db.session.remove()
        for needle in needles:
            assert _found_by_name(app, tenant.account_id, needle) == expected[needle], (revision, needle)
    for needle in needles:
        assert _found(app, tenant.account_id, needle, index_only=True) == expected[needle], needle


@pytest.mark.parametrize("change", ["update", "delete"])
def test_a_row_indexed_before_the_upgrade_is_forgotten_when_it_changes(app, tenant, population, change):
    """SQLite's contentless table is told a row's old tokens to forget it: the upgrade refills it, so a
    row indexed by 0006's expression is forgotten by 0007's."""
    target = next(o for o in population if o.deleted_at is None and "柳岡" in o.search_text)
    with app.app_context():
        downgrade(revision="0006")
        upgrade()
        if change == "update":
            db.session.execute(text("UPDATE orders SET search_text = :t WHERE id = :i"), {"t": "鬼瓦権造|オニガワラ", "i": target.id})
        else:
            db.session.execute(text("DELETE FROM orders WHERE id = :i"), {"i": target.id})
        db.session.commit()
        db.session.remove()
    assert target.id not in _found(app, tenant.account_id, "柳岡", index_only=True, include_deleted=True)
    assert (target.id in _found(app, tenant.account_id, "鬼瓦", index_only=True)) == (change == "update")
    with app.app_context():
        if db.engine.dialect.name == "sqlite":  # the table itself, not only the answer its hits give after the re-check
            def hits(gram: str) -> set[int]:
                return set(db.session.scalars(text("SELECT rowid FROM orders_fts_bigram WHERE orders_fts_bigram MATCH :t"),
                                              {"t": '"' + gram.encode().hex().upper() + '"'}))
            assert target.id not in hits("柳岡") and (target.id in hits("鬼瓦")) == (change == "update")
            db.session.execute(text("INSERT INTO orders_fts_bigram(orders_fts_bigram) VALUES ('integrity-check')"))
        db.session.remove()
