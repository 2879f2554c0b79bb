"""After shipping: the shipping info's reflection to the mall, and returns

Orders gain the state of their shipping info's reflection to the mall (`shipping_reflection_state`: none,
pending, done, failed; existing orders none) and the mall's message. `returns` holds a cancelled 完了 order's
return (返品待ち → 検品済) and `return_lines` its lines with what came back and what is sellable, per SKU.

Revision ID: 0014
Revises: 0013

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('orders', sa.Column('shipping_reflection_state', sa.String(length=16), nullable=False,
                                      server_default='none'))
    op.add_column('orders', sa.Column('shipping_reflection_message', sa.Text(), nullable=True))
    op.create_table(
        'returns',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('order_id', sa.Integer(), sa.ForeignKey('orders.id', ondelete='CASCADE'), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('inspected_at', sa.DateTime(), nullable=True),
        sa.Column('inspected_by', sa.String(length=160), nullable=True),
    )
    op.create_index('ix_returns_order', 'returns', ['order_id'])
    op.create_index('ix_returns_account_list', 'returns', ['account_id', 'id'])
    op.create_index('ix_returns_account_status_list', 'returns', ['account_id', 'status', 'id'])
    op.create_table(
        'return_lines',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('return_id', sa.Integer(), sa.ForeignKey('returns.id', ondelete='CASCADE'), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=True),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('returned', sa.Integer(), nullable=True),
        sa.Column('sellable', sa.Integer(), nullable=True),
    )
    op.create_index('ix_return_lines_return', 'return_lines', ['return_id'])


def downgrade():
    op.drop_index('ix_return_lines_return', table_name='return_lines')
    op.drop_table('return_lines')
    op.drop_index('ix_returns_account_status_list', table_name='returns')
    op.drop_index('ix_returns_account_list', table_name='returns')
    op.drop_index('ix_returns_order', table_name='returns')
    op.drop_table('returns')
    op.drop_column('orders', 'shipping_reflection_message')
    op.drop_column('orders', 'shipping_reflection_state')
