"""RMS connection: import settings per shop, jobs per shop

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Plain ADD COLUMN (no batch rebuild): SQLite adds columns in place, and a rebuild of a table that
# orders reference would trip the foreign keys.
SHOP_COLUMNS = [
    sa.Column('rms_import_interval_minutes', sa.Integer(), nullable=False, server_default='10'),
    sa.Column('rms_initial_lookback_days', sa.Integer(), nullable=False, server_default='30'),
    sa.Column('rms_inventory_restore_type', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('rms_last_window_end', sa.DateTime(), nullable=True),
    sa.Column('rms_last_import_at', sa.DateTime(), nullable=True),
]


def upgrade():
    for column in SHOP_COLUMNS:
        op.add_column('shops', column)
    op.add_column('jobs', sa.Column('shop_id', sa.Integer(), nullable=True))
    op.create_index('ix_jobs_shop_id', 'jobs', ['shop_id'], unique=False)


def downgrade():
    op.drop_index('ix_jobs_shop_id', table_name='jobs')
    with op.batch_alter_table('jobs') as batch_op:
        batch_op.drop_column('shop_id')
    with op.batch_alter_table('shops') as batch_op:
        for column in reversed(SHOP_COLUMNS):
            batch_op.drop_column(column.name)
