"""The warehouse: shipments as the warehouse knows them, the events applied, the stock ledger, shops' 依頼主

Shipments gain what a shipping request and the warehouse's answers carry (warehouse.md §2, §4): the
request's state (`pending`, `sent`, `failed`; existing shipments, made by demo data, count as sent), the
warehouse's id, carrier, ship date, parcels, the refusal's reason, code and short lines, the last event
`seq` applied (stale events are not), the status before a withdrawal (a refused withdrawal goes back to it),
the cancellation notice's state and message, a cancel waiting for a withdrawal (取下げ後にキャンセル), and the
send's last error. `warehouse_events` keeps each applied event's id once per account (an event delivered
again is skipped); `stock_movements` is the stock ledger (every change of a product's stock or reserved
count, with its kind, order, actor and reason). Shops gain `auto_request_shipment` (off) and `sender` (依頼主).

Revision ID: 0013
Revises: 0012

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _shipment_columns():
    return [
        sa.Column('request_state', sa.String(length=16), nullable=False, server_default='sent'),
        sa.Column('warehouse_id', sa.String(length=64), nullable=True),
        sa.Column('carrier', sa.String(length=16), nullable=True),
        sa.Column('shipped_on', sa.Date(), nullable=True),
        sa.Column('parcels', sa.JSON(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('reason_code', sa.String(length=16), nullable=True),
        sa.Column('short_lines', sa.JSON(), nullable=True),
        sa.Column('last_seq', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('status_before_withdrawal', sa.String(length=32), nullable=True),
        sa.Column('notice', sa.String(length=16), nullable=False, server_default='none'),
        sa.Column('notice_message', sa.Text(), nullable=True),
        sa.Column('pending_cancel', sa.JSON(), nullable=True),
        sa.Column('request_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
    ]


def upgrade():
    for column in _shipment_columns():
        op.add_column('shipments', column)
    op.create_index('ix_shipments_warehouse_id', 'shipments', ['warehouse_id'])
    op.add_column('shops', sa.Column('auto_request_shipment', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('shops', sa.Column('sender', sa.JSON(), nullable=True))
    op.create_table(
        'warehouse_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('event_id', sa.String(length=100), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=True),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('account_id', 'event_id', name='uq_warehouse_events_account_event'),
    )
    op.create_table(
        'stock_movements',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('product_id', sa.Integer(), sa.ForeignKey('products.id', ondelete='CASCADE'), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('delta_stock', sa.Integer(), nullable=False),
        sa.Column('delta_reserved', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('actor_type', sa.String(length=10), nullable=False),
        sa.Column('actor_name', sa.String(length=160), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False, server_default=''),
    )
    op.create_index('ix_stock_movements_product', 'stock_movements', ['product_id', 'id'])


def downgrade():
    op.drop_index('ix_stock_movements_product', table_name='stock_movements')
    op.drop_table('stock_movements')
    op.drop_table('warehouse_events')
    op.drop_column('shops', 'sender')
    op.drop_column('shops', 'auto_request_shipment')
    op.drop_index('ix_shipments_warehouse_id', table_name='shipments')
    for column in reversed(_shipment_columns()):
        op.drop_column('shipments', column.name)
