"""Rakuten orders as RMS sends them: the amounts, pickup, 置き配, options, the last RMS read, 注文確認 at RMS

Orders gain what RMS's getOrder (version 10) says the buyer pays and where the parcel goes: `wrapping`,
`charges`, `discount`, `points_used` (0 for existing orders), `billed` (= total for existing orders),
`pickup` (JSON), `drop_off`, and the last RMS version read (`rms_read`, `rms_read_hash`; null until the
next re-read fills them quietly). Lines gain `options` (""). Shops gain `confirm_at_rms` (on).

A Rakuten single-SKU item comes with its variantId equal to its management number; the import stored
that as the line's サブコード, so a mapping without サブコード never matched it. Such a サブコード is
emptied on Rakuten orders' lines and on Rakuten shops' mappings (a mapping whose emptied key another
mapping of the shop already holds is left as it is, and said so); the migration prints what it changed.

Revision ID: 0012
Revises: 0011

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

orders = sa.table('orders', sa.column('id', sa.Integer), sa.column('shop_id', sa.Integer),
                  sa.column('total', sa.BigInteger), sa.column('billed', sa.BigInteger))
order_lines = sa.table('order_lines', sa.column('id', sa.Integer), sa.column('order_id', sa.Integer),
                       sa.column('mall_item_id', sa.String), sa.column('sub_code', sa.String))
shops = sa.table('shops', sa.column('id', sa.Integer), sa.column('mall', sa.String))
mappings = sa.table('item_mappings', sa.column('id', sa.Integer), sa.column('shop_id', sa.Integer),
                    sa.column('mall_item_id', sa.String), sa.column('sub_code', sa.String))


def _order_columns():
    """Plain columns: SQLite (3.35+) adds and drops them in place, so orders (and its search triggers) is not rebuilt."""
    return [*(sa.Column(name, sa.Integer(), nullable=False, server_default='0')
              for name in ('wrapping', 'charges', 'discount', 'points_used')),
            sa.Column('billed', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
            sa.Column('pickup', sa.JSON(), nullable=True),
            sa.Column('drop_off', sa.Text(), nullable=True),
            sa.Column('rms_read', sa.JSON(), nullable=True),
            sa.Column('rms_read_hash', sa.String(length=64), nullable=True)]


def upgrade():
    for column in _order_columns():
        op.add_column('orders', column)
    op.add_column('order_lines', sa.Column('options', sa.Text(), nullable=False, server_default=''))
    op.add_column('shops', sa.Column('confirm_at_rms', sa.Boolean(), nullable=False, server_default=sa.true()))
    connection = op.get_bind()
    connection.execute(orders.update().values(billed=orders.c.total))
    for line in fix_sub_codes(connection):
        print(line)


def fix_sub_codes(connection) -> list[str]:
    """Empty the サブコード equal to its モール商品ID on Rakuten orders' lines and Rakuten shops' mappings;
    what was changed, one line each (a mapping whose emptied key is taken stays, and is named)."""
    rakuten = sa.select(shops.c.id).where(shops.c.mall == 'rakuten')
    report = []
    lines = connection.execute(
        order_lines.update()
        .where(order_lines.c.sub_code == order_lines.c.mall_item_id, order_lines.c.sub_code != '',
               order_lines.c.order_id.in_(sa.select(orders.c.id).where(orders.c.shop_id.in_(rakuten))))
        .values(sub_code='')).rowcount
    if lines:
        report.append(f"0012: emptied the サブコード equal to the モール商品ID on {lines} Rakuten order line(s)")
    rows = connection.execute(sa.select(mappings.c.id, mappings.c.shop_id, mappings.c.mall_item_id).where(
        mappings.c.sub_code == mappings.c.mall_item_id, mappings.c.sub_code != '',
        mappings.c.shop_id.in_(rakuten)).order_by(mappings.c.id)).all()
    for mapping_id, shop_id, item_id in rows:
        taken = connection.execute(sa.select(mappings.c.id).where(
            mappings.c.shop_id == shop_id, mappings.c.mall_item_id == item_id, mappings.c.sub_code == '')).first()
        if taken is not None:
            report.append(f"0012: shop {shop_id}: mapping {mapping_id} ({item_id} / {item_id}) kept: "
                          f"mapping {taken.id} already maps {item_id} without サブコード")
            continue
        connection.execute(mappings.update().where(mappings.c.id == mapping_id).values(sub_code=''))
        report.append(f"0012: shop {shop_id}: mapping {mapping_id} of {item_id}: サブコード {item_id} emptied")
    return report


def downgrade():
    op.drop_column('shops', 'confirm_at_rms')
    op.drop_column('order_lines', 'options')
    for column in reversed(_order_columns()):
        op.drop_column('orders', column.name)
