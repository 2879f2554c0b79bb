"""orders.mall_order_number_key: R4's one holder per number compares numbers by key, not by their bytes

`ＣＸＬ－７７７`, `cxl-777`, `CXL−777` (U+2212) and `CXL-⁷⁷⁷` were each a number of their own beside a
cancelled `CXL-777`. The key (orders.md §1) is the casefold of the NFKC-normalised, trimmed number with
the dash look-alikes folded to `-` and the wave dashes to `~`; R4's partial unique index, R5's and R6's
look-ups and the search's exact-number match use it.

Upgrade: the column, filled for every order in batches of BATCH (the key worked out here in Python, by
the frozen copy below of boss.orders.numbers.number_key, which a test keeps equal to it); where not-deleted
orders of a shop collide under the key, the oldest (lowest id) keeps it and the others get
`<key>#<order id>`, and each collision is printed (shop, numbers, order ids) for the shop to resolve;
then the indexes on the key, and the old ones on the raw number go. SQLite adds a NOT NULL column only
with a default, so the column keeps DEFAULT '' there (the app always writes the key).
Downgrade: the indexes on the raw number again, and the column goes.

Revision ID: 0008
Revises: 0007

"""
import unicodedata

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BATCH = 5000
NOT_DELETED = sa.text("deleted_at IS NULL")
_FOLD = str.maketrans({**{ch: "-" for ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"},
                       **{ch: "~" for ch in "\u301c\uff5e"}})


def number_key(number: str) -> str:
    """boss.orders.numbers.number_key as of this revision (frozen: a later change of the app's needs its own migration)."""
    return unicodedata.normalize("NFKC", number.strip()).strip().casefold().translate(_FOLD)


def upgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        op.add_column("orders", sa.Column("mall_order_number_key", sa.Text(), nullable=True))
    else:
        op.add_column("orders", sa.Column("mall_order_number_key", sa.Text(), nullable=False, server_default=""))
    _fill_keys(bind, postgresql)
    _resolve_collisions(bind)
    if postgresql:
        op.alter_column("orders", "mall_order_number_key", existing_type=sa.Text(), nullable=False)
    op.create_index("uq_orders_shop_number_key_active", "orders", ["shop_id", "mall_order_number_key"], unique=True,
                    sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED)
    op.create_index("ix_orders_shop_number_key", "orders", ["shop_id", "mall_order_number_key"])
    op.create_index("ix_orders_account_number_key", "orders", ["account_id", "mall_order_number_key"])
    op.drop_index("uq_orders_shop_number_active", table_name="orders")
    op.drop_index("ix_orders_shop_number", table_name="orders")
    op.drop_index("ix_orders_account_number", table_name="orders")


def _fill_keys(bind, postgresql: bool) -> None:
    """Every order's key, BATCH orders at a time in id order."""
    last = 0
    while True:
        rows = bind.execute(sa.text("SELECT id, mall_order_number FROM orders WHERE id > :last ORDER BY id LIMIT :n"),
                            {"last": last, "n": BATCH}).all()
        if not rows:
            return
        keys = [(order_id, number_key(number)) for order_id, number in rows]
        if postgresql:
            bind.execute(sa.text(
                "UPDATE orders SET mall_order_number_key = v.k "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:keys AS text[])) AS v(id, k) WHERE orders.id = v.id"),
                {"ids": [i for i, _ in keys], "keys": [k for _, k in keys]})
        else:
            bind.execute(sa.text("UPDATE orders SET mall_order_number_key = :k WHERE id = :id"),
                         [{"id": i, "k": k} for i, k in keys])
        last = rows[-1][0]


def _resolve_collisions(bind) -> None:
    """R4 under the key: the oldest not-deleted holder keeps it, the others get `<key>#<order id>`; each printed."""
    groups = bind.execute(sa.text(
        "SELECT shop_id, mall_order_number_key FROM orders WHERE deleted_at IS NULL "
        "GROUP BY shop_id, mall_order_number_key HAVING COUNT(*) > 1 ORDER BY shop_id, mall_order_number_key")).all()
    for shop_id, key in groups:
        shop = bind.execute(sa.text("SELECT name FROM shops WHERE id = :s"), {"s": shop_id}).scalar()
        holders = bind.execute(sa.text(
            "SELECT id, mall_order_number FROM orders WHERE shop_id = :s AND mall_order_number_key = :k "
            "AND deleted_at IS NULL ORDER BY id"), {"s": shop_id, "k": key}).all()
        (keeper_id, keeper_number), others = holders[0], holders[1:]
        bind.execute(sa.text("UPDATE orders SET mall_order_number_key = :k WHERE id = :id"),
                     [{"id": order_id, "k": f"{key}#{order_id}"} for order_id, _ in others])
        listed = ", ".join(f"order {order_id} {_shown(number)} gets key {_shown(f'{key}#{order_id}')}"
                           for order_id, number in others)
        print(f"mall order number collision in shop {shop_id} ({shop}): key {_shown(key)} kept by order {keeper_id} "
              f"{_shown(keeper_number)}; {listed}. Resolve it in the shop (cancel or delete the orders that repeat a number).")


def _shown(number: str) -> str:
    """A number quoted with its characters that show nothing written as <U+FE0F> (their code point), so look-alikes read apart."""
    return "「" + "".join(f"<U+{ord(ch):04X}>" if unicodedata.category(ch)[0] in "CMZ" and ch != " " else ch
                          for ch in number) + "」"


def downgrade():
    op.create_index("ix_orders_account_number", "orders", ["account_id", "mall_order_number"])
    op.create_index("ix_orders_shop_number", "orders", ["shop_id", "mall_order_number"])
    op.create_index("uq_orders_shop_number_active", "orders", ["shop_id", "mall_order_number"], unique=True,
                    sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED)
    op.drop_index("ix_orders_account_number_key", table_name="orders")
    op.drop_index("ix_orders_shop_number_key", table_name="orders")
    op.drop_index("uq_orders_shop_number_key_active", table_name="orders")
    op.drop_column("orders", "mall_order_number_key")
