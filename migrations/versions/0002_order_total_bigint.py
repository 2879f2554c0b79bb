"""orders.total as BIGINT: the largest valid order (200 lines x 9,999 x 10,000,000 yen) exceeds a 32-bit integer

Revision ID: 0002
Revises: 0001

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite's INTEGER is 64-bit already (and a batch rebuild would drop the FTS triggers).
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("orders", "total", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("orders", "total", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
