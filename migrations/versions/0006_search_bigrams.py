"""orders.search_text: an index of its 2-character substrings, for name searches of 2 characters

The trigram indexes of 0001 (pg_trgm, FTS5 trigram) cannot answer a needle of 2 characters, so 柳岡,
服部 or ゾゾ read the whole table: ~400 ms on PostgreSQL and 640 ms (p95) on SQLite at 1M orders,
holding a web worker meanwhile (bench/README.md, P3 and P8). This indexes the bigrams of search_text,
leaving out those that span the '|' between its parts (a needle never holds '|': `normalise` drops it)
and those of two ASCII digits: the phones give ~20 of an order's ~40 bigrams, and each of the 100 digit
pairs is in a good part of all orders, so such a needle walks the list index anyway (search.py). The
app re-checks each hit with a substring test, so the answer is exactly the substring match's.

- PostgreSQL: `search_bigrams(text)`, the list of its bigrams, and a GIN index on that expression;
  a search asks `search_bigrams(search_text) @> ARRAY[needle]`. The index follows every write.
- SQLite: `orders_fts_bigram`, a contentless FTS5 table (rowids only: detail=none) whose text is the
  bigrams, each written as the hex of its UTF-8 bytes — one ASCII token per bigram whatever its
  characters (punctuation or symbols would otherwise split or vanish in a tokenizer). Triggers keep it
  like orders_fts; a contentless table forgets a row by being told its old tokens, which the same
  expression recomputes from old.search_text.

Revision ID: 0006
Revises: 0005

"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _sqlite_grams(value: str) -> str:
    """The bigram tokens of `value` (an SQL expression) as one text, NULL when it has none."""
    return (f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < length({value}) - 1) "
            f"SELECT group_concat(hex(substr({value}, i, 2)), ' ') FROM n "
            f"WHERE length({value}) > 1 AND instr(substr({value}, i, 2), '|') = 0 "
            f"AND substr({value}, i, 2) NOT GLOB '[0-9][0-9]')")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # COST: ~30-60 µs a call, so the planner tests the cheap substring test first when it walks a list index.
        op.execute("""
            CREATE FUNCTION search_bigrams(value text) RETURNS text[]
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
              SELECT coalesce(array_agg(gram), '{}')
              FROM (SELECT substr(value, i, 2) AS gram FROM generate_series(1, length(value) - 1) AS i) AS grams
              WHERE strpos(gram, '|') = 0 AND translate(gram, '0123456789', '') <> ''
            $$""")
        op.execute("CREATE INDEX ix_orders_search_bigrams ON orders USING gin (search_bigrams(search_text))")
    elif bind.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE orders_fts_bigram USING fts5(grams, content='', detail='none', "
                   "columnsize=0, tokenize='ascii')")
        op.execute("INSERT INTO orders_fts_bigram(rowid, grams) "
                   f"SELECT id, {_sqlite_grams('search_text')} FROM orders")
        insert = f"INSERT INTO orders_fts_bigram(rowid, grams) VALUES (new.id, {_sqlite_grams('new.search_text')});"
        delete = ("INSERT INTO orders_fts_bigram(orders_fts_bigram, rowid, grams) "
                  f"VALUES ('delete', old.id, {_sqlite_grams('old.search_text')});")
        op.execute(f"CREATE TRIGGER orders_fts_bigram_insert AFTER INSERT ON orders BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER orders_fts_bigram_delete AFTER DELETE ON orders BEGIN {delete} END")
        op.execute(f"CREATE TRIGGER orders_fts_bigram_update AFTER UPDATE OF search_text ON orders "
                   f"BEGIN {delete} {insert} END")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_orders_search_bigrams")
        op.execute("DROP FUNCTION IF EXISTS search_bigrams(text)")
    elif bind.dialect.name == "sqlite":
        for trigger in ("orders_fts_bigram_insert", "orders_fts_bigram_delete", "orders_fts_bigram_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS orders_fts_bigram")
