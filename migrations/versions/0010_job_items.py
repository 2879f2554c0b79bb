"""job_items: a chunked job's per-item results as rows; its checkpoint is an index only

A bulk job wrote every item so far into jobs.checkpoint after each chunk (O(n²) JSON for 10,000 orders); its
items are now rows written with each chunk. A bulk job still queued or running at this migration keeps the
items its checkpoint holds: they become its rows, and its checkpoint its index. Downgrading folds an
unfinished job's rows back into its checkpoint.

Revision ID: 0010
Revises: 0009

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

UNFINISHED = ('queued', 'started')
jobs = sa.table('jobs', sa.column('id', sa.String), sa.column('state', sa.String), sa.column('checkpoint', sa.JSON))
job_items = sa.table('job_items', sa.column('job_id', sa.String), sa.column('position', sa.Integer),
                     sa.column('ref', sa.Integer), sa.column('done', sa.Boolean), sa.column('code', sa.String),
                     sa.column('message', sa.Text), sa.column('mall_order_number', sa.String))


def upgrade():
    op.create_table(
        'job_items',
        sa.Column('job_id', sa.String(length=36), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('ref', sa.Integer(), nullable=False),
        sa.Column('done', sa.Boolean(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('mall_order_number', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_items_job_id_jobs')),
        sa.PrimaryKeyConstraint('job_id', 'position', name=op.f('pk_job_items')),
    )
    connection = op.get_bind()
    for job_id, checkpoint in _unfinished(connection):
        if not checkpoint or 'items' not in checkpoint:
            continue
        if checkpoint['items']:
            connection.execute(job_items.insert(), [
                {'job_id': job_id, 'position': position, 'ref': item['order_id'], 'done': item['done'],
                 'code': item['code'], 'message': item['message'], 'mall_order_number': item['mall_order_number']}
                for position, item in enumerate(checkpoint['items'])])
        connection.execute(jobs.update().where(jobs.c.id == job_id).values(checkpoint={'index': checkpoint['index']}))


def downgrade():
    connection = op.get_bind()
    for job_id, checkpoint in _unfinished(connection):
        if not checkpoint:
            continue
        rows = connection.execute(sa.select(job_items).where(job_items.c.job_id == job_id)
                                  .order_by(job_items.c.position)).all()
        items = [{'order_id': row.ref, 'mall_order_number': row.mall_order_number, 'done': row.done,
                  'code': row.code, 'message': row.message} for row in rows]
        connection.execute(jobs.update().where(jobs.c.id == job_id).values(
            checkpoint={'index': checkpoint['index'], 'items': items}))
    op.drop_table('job_items')


def _unfinished(connection):
    return connection.execute(sa.select(jobs.c.id, jobs.c.checkpoint).where(jobs.c.state.in_(UNFINISHED))).all()
