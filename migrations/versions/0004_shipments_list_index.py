"""shipments: indexes for 出荷一覧's keyset pages, newest first, in all and per shipment status

Revision ID: 0004
Revises: 0003

"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_shipments_list", "shipments", ["requested_at", "id"])
    op.create_index("ix_shipments_status_list", "shipments", ["status", "requested_at", "id"])


def downgrade():
    op.drop_index("ix_shipments_status_list", table_name="shipments")
    op.drop_index("ix_shipments_list", table_name="shipments")
