"""Server-side sessions (user_sessions); the login lock's columns go (login throttling lives in Redis)

A signed-in browser's cookie now carries a session token whose hash is a row of user_sessions: logout,
a password change, a deactivation and 「すべての端末からログアウト」 end rows, and a row unused for
SESSION_IDLE_HOURS no longer counts. Cookies signed before this migration carry no token, so every
browser signs in once more.

users.failed_logins and users.locked_until held the old lock (5 failures locked the account for
everyone, admins too); failed logins are now counted per address and client by Flask-Limiter in Redis.
SQLite (3.35+) drops a plain column in place, so no table is rebuilt.

Revision ID: 0009
Revises: 0008

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('user_agent', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    )
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)
    op.drop_column('users', 'failed_logins')
    op.drop_column('users', 'locked_until')


def downgrade():
    op.add_column('users', sa.Column('locked_until', sa.DateTime(), nullable=True))
    op.add_column('users', sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_table('user_sessions')
