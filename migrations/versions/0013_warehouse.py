"""THROWAWAY (helper `client`): the shops' warehouse settings only, for its tests; the lead's 0013 replaces it.

Shops gain `auto_request_shipment` (off) and `sender` (依頼主: {postal_code, address, phone}, {}).

Revision ID: 0013
Revises: 0012

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('shops', sa.Column('auto_request_shipment', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('shops', sa.Column('sender', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    op.drop_column('shops', 'sender')
    op.drop_column('shops', 'auto_request_shipment')
