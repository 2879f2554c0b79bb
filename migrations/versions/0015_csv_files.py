"""CSV: the files every worker reads, and the refused rows of an import

`files` holds an uploaded CSV, an error report or an export, and `file_chunks` its bytes in chunks of up to
1 MB, so a worker on another machine (a Heroku dyno has no shared disk) reads what the web process received;
both go after 7 days. `import_errors` holds each refused row of a CSV import: its row as Excel shows it, the
column as the file writes it, the code and the message in the uploader's language.

Revision ID: 0015
Revises: 0014

"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'files',
        sa.Column('id', sa.String(length=36), primary_key=True),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('job_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_files_created', 'files', ['created_at'])
    op.create_index('ix_files_job', 'files', ['job_id'])
    op.create_table(
        'file_chunks',
        sa.Column('file_id', sa.String(length=36), sa.ForeignKey('files.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('seq', sa.Integer(), primary_key=True),
        sa.Column('data', sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        'import_errors',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('job_id', sa.String(length=36), sa.ForeignKey('jobs.id', ondelete='CASCADE'), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=True),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.Column('column', sa.String(length=255), nullable=False, server_default=''),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
    )
    op.create_index('ix_import_errors_job', 'import_errors', ['job_id', 'row', 'id'])


def downgrade():
    op.drop_index('ix_import_errors_job', table_name='import_errors')
    op.drop_table('import_errors')
    op.drop_table('file_chunks')
    op.drop_index('ix_files_job', table_name='files')
    op.drop_index('ix_files_created', table_name='files')
    op.drop_table('files')
