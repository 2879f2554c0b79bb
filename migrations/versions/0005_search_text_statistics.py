"""orders.search_text: a finer statistics sample on PostgreSQL, so the planner sees how rare a name is

With the default target (100) a name that happens to be in ANALYZE's 100-value histogram is
estimated at ~1 % of the orders whatever its real share, and `q` then walks the list index newest
first instead of using the trigram index: 佐藤花子 (391 of 1M orders) scanned 119,000 orders,
60–270 ms, where the bitmap plan takes ~3 ms (bench/p3_search). At 1000 the estimates follow the
data (サトウ 17,552 estimated / 17,777 real; ワタヌキ 976 / 1,144). SQLite has no equivalent: its
name search picks its plan from the FTS5 hit count (boss/orders/search.py).

Revision ID: 0005
Revises: 0004

"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders ALTER COLUMN search_text SET STATISTICS 1000")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders ALTER COLUMN search_text SET STATISTICS -1")
