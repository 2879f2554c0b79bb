"""Schema changes go through migrations that run on SQLite and PostgreSQL and match the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from boss.extensions import db


def _include(obj, name, type_, reflected, compare_to):
    return not (name or "").startswith("orders_fts") and name not in ("ix_orders_search_trgm", "ix_orders_search_bigrams")


def test_the_migrated_schema_matches_the_models(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": _include})
            assert compare_metadata(context, db.metadata) == []


def test_r4_the_one_holder_per_number_index_is_partial_on_not_deleted_orders_and_compares_keys(app):
    with app.app_context():
        indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("orders")}
        assert indexes["uq_orders_shop_number_key_active"]["unique"]
        assert indexes["uq_orders_shop_number_key_active"]["column_names"] == ["shop_id", "mall_order_number_key"]
        assert not any(ix["unique"] and "mall_order_number" in ix["column_names"] for ix in indexes.values())
        if db.engine.dialect.name == "postgresql":
            definition = db.session.scalar(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_orders_shop_number_key_active'"))
        else:
            definition = db.session.scalar(text(
                "SELECT sql FROM sqlite_master WHERE name = 'uq_orders_shop_number_key_active'"))
        assert "deleted_at IS NULL" in definition
        db.session.remove()


def test_the_name_search_has_an_index_on_both_databases(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            found = db.session.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_search_trgm'"))
            assert "gin_trgm_ops" in found
        else:
            found = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'orders_fts'"))
            assert "trigram" in found
        db.session.remove()


def test_two_character_name_searches_have_a_bigram_index_on_both_databases(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            found = db.session.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_search_bigrams'"))
            assert "gin" in found and "search_bigrams(search_text)" in found
        else:
            found = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'orders_fts_bigram'"))
            assert "fts5" in found and "detail='none'" in found
            triggers = set(db.session.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'orders_fts_bigram_%'")))
            assert triggers == {"orders_fts_bigram_insert", "orders_fts_bigram_delete", "orders_fts_bigram_update"}
        db.session.remove()
