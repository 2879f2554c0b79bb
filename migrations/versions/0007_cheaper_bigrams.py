"""orders.search_text's bigrams worked out per part: the same index for half the work of each write

The bigram index of 0006 costs every new order more than any other index: on PostgreSQL
`search_bigrams` took ~45 µs an order and the GIN index ~10 ms of server CPU per getOrder batch of 100
orders (half the batch's orders INSERT); on SQLite the insert trigger took ~150 µs an order (~15 ms of the
batch's ~24 ms INSERT), mostly in its recursive walk of every position of the text (bench/README.md, P6).
Most of that walk is wasted: search_text is `buyer name|kana|recipient name|kana|phone|phone`, the
recipient is the buyer in most orders, and the phones are digits only, whose bigrams the index leaves out.

Both databases now split the text on '|' first (no bigram spans a '|' anyway), take each part once, skip
the parts of ASCII digits only, and take the bigrams of what is left, still without those of two ASCII
digits: the same set of bigrams as 0006's, without its repeats.
- PostgreSQL: `search_bigrams` gets the new body (~20 µs an order), with the same name, signature,
  IMMUTABLE, COST 1000 (search.py relies on it being dear and on seeing it in plans: no inlining). The
  GIN index keeps its entries: a GIN index holds each row's set of keys, and the set is the same.
- SQLite: the three triggers of orders_fts_bigram get the new expression (~40 µs an order, and FTS5
  tokenizes ~10 bigrams instead of ~35). The contentless table forgets a row by being told its old tokens,
  and counts tokens per row, so it is filled again with the new expression (and again with 0006's on
  downgrade): ~1 minute at 1M orders.

Revision ID: 0007
Revises: 0006

"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


PG_BIGRAMS = """
    CREATE OR REPLACE FUNCTION search_bigrams(value text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
      SELECT coalesce(array_agg(gram), '{}')
      FROM (SELECT DISTINCT part FROM unnest(string_to_array(value, '|')) AS part
            WHERE translate(part, '0123456789', '') <> '') AS parts,
           LATERAL (SELECT substr(part, i, 2) AS gram FROM generate_series(1, length(part) - 1) AS i) AS grams
      WHERE translate(gram, '0123456789', '') <> ''
    $$"""

PG_BIGRAMS_0006 = """
    CREATE OR REPLACE FUNCTION search_bigrams(value text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
      SELECT coalesce(array_agg(gram), '{}')
      FROM (SELECT substr(value, i, 2) AS gram FROM generate_series(1, length(value) - 1) AS i) AS grams
      WHERE strpos(gram, '|') = 0 AND translate(gram, '0123456789', '') <> ''
    $$"""


def _sqlite_grams(value: str) -> str:
    """The bigram tokens of `value` (an SQL expression) as one text, NULL when it has none: its parts
    between '|' once each, without those of digits only, walked two characters at a time."""
    return (f"(WITH RECURSIVE parts(part, rest) AS ("
            f"SELECT NULL, {value} || '|' "
            f"UNION ALL SELECT substr(rest, 1, instr(rest, '|') - 1), substr(rest, instr(rest, '|') + 1) "
            f"FROM parts WHERE rest <> ''), "
            f"grams(gram, rest) AS ("
            f"SELECT substr(part, 1, 2), substr(part, 2) FROM (SELECT DISTINCT part FROM parts WHERE part GLOB '*[^0-9]*') "
            f"UNION ALL SELECT substr(rest, 1, 2), substr(rest, 2) FROM grams WHERE length(rest) > 1) "
            f"SELECT group_concat(hex(gram), ' ') FROM grams WHERE length(gram) = 2 AND gram NOT GLOB '[0-9][0-9]')")


def _sqlite_grams_0006(value: str) -> str:
    """0006's expression, for the downgrade."""
    return (f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < length({value}) - 1) "
            f"SELECT group_concat(hex(substr({value}, i, 2)), ' ') FROM n "
            f"WHERE length({value}) > 1 AND instr(substr({value}, i, 2), '|') = 0 "
            f"AND substr({value}, i, 2) NOT GLOB '[0-9][0-9]')")


def _sqlite_bigram_index(grams) -> None:
    """orders_fts_bigram's triggers with the expression `grams`, and its content made by it afresh."""
    for trigger in ("orders_fts_bigram_insert", "orders_fts_bigram_delete", "orders_fts_bigram_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("INSERT INTO orders_fts_bigram(orders_fts_bigram) VALUES ('delete-all')")
    op.execute(f"INSERT INTO orders_fts_bigram(rowid, grams) SELECT id, {grams('search_text')} FROM orders")
    insert = f"INSERT INTO orders_fts_bigram(rowid, grams) VALUES (new.id, {grams('new.search_text')});"
    delete = ("INSERT INTO orders_fts_bigram(orders_fts_bigram, rowid, grams) "
              f"VALUES ('delete', old.id, {grams('old.search_text')});")
    op.execute(f"CREATE TRIGGER orders_fts_bigram_insert AFTER INSERT ON orders BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER orders_fts_bigram_delete AFTER DELETE ON orders BEGIN {delete} END")
    op.execute(f"CREATE TRIGGER orders_fts_bigram_update AFTER UPDATE OF search_text ON orders "
               f"BEGIN {delete} {insert} END")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(PG_BIGRAMS)
    elif bind.dialect.name == "sqlite":
        _sqlite_bigram_index(_sqlite_grams)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(PG_BIGRAMS_0006)
    elif bind.dialect.name == "sqlite":
        _sqlite_bigram_index(_sqlite_grams_0006)
