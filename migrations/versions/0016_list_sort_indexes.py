"""orders: indexes for 注文一覧's other sorts (合計, 購入者), shaped like the newest-first ones of 0001

GET /api/v1/orders `sort` (api.md) and the lists' column headers walk (account or shop, [status,] key, id) of the
not-deleted orders, either way, so a sorted page costs what a newest-first one does at any size.

Revision ID: 0016
Revises: 0015

"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

NOT_DELETED = sa.text('deleted_at IS NULL')
INDEXES = [(f"ix_orders_{scope}{'_status' if by_status else ''}_{name}_list",
            [scope_column, *(["status"] if by_status else []), column, "id"])
           for name, column in (("total", "total"), ("buyer", "buyer_name"))
           for scope, scope_column in (("account", "account_id"), ("shop", "shop_id")) for by_status in (False, True)]


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, "orders", columns, sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED)


def downgrade():
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="orders")
