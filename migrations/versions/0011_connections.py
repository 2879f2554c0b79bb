"""Connections: an integration's connection state moves off shops into its own table

The 11 rms_* columns of shops become one row of `connections` per shop (provider 'rakuten_rms'), the
shape the warehouse's per-account connection takes too: base_url, the secrets (the two encrypted
values copied as they are, under their names, into one JSON column: no key is needed here), the key's
last 4 and expiry, the error, the interval (minutes become seconds), the cursor (the last window's
end as ISO text) and the last run, and the provider's own settings as JSON. A row is made for every
Rakuten shop and for any other shop whose RMS values differ from the defaults (the API shows them
for every shop); the downgrade puts the values back, the defaults where a shop has no row.
SQLite (3.35+) drops and adds plain columns in place, so shops is not rebuilt.

Revision ID: 0011
Revises: 0010

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PROVIDER = 'rakuten_rms'
DEFAULTS = {'rms_import_interval_minutes': 10, 'rms_initial_lookback_days': 30, 'rms_inventory_restore_type': 0}


def _shop_columns():
    return [
        sa.Column('rms_base_url', sa.String(length=255), nullable=True),
        sa.Column('rms_service_secret_enc', sa.Text(), nullable=True),
        sa.Column('rms_license_key_enc', sa.Text(), nullable=True),
        sa.Column('rms_license_key_last4', sa.String(length=4), nullable=True),
        sa.Column('rms_license_key_expires_on', sa.Date(), nullable=True),
        sa.Column('rms_connection_error', sa.Text(), nullable=True),
        sa.Column('rms_import_interval_minutes', sa.Integer(), nullable=False, server_default='10'),
        sa.Column('rms_initial_lookback_days', sa.Integer(), nullable=False, server_default='30'),
        sa.Column('rms_inventory_restore_type', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('rms_last_window_end', sa.DateTime(), nullable=True),
        sa.Column('rms_last_import_at', sa.DateTime(), nullable=True),
    ]


def _shops():
    return sa.table('shops', sa.column('id', sa.Integer), sa.column('account_id', sa.Integer),
                    sa.column('mall', sa.String), *(sa.column(c.name, c.type) for c in _shop_columns()))


def _connections():
    return sa.table('connections', *(sa.column(c.name, c.type) for c in _connection_columns()))


def _connection_columns():
    return [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=True),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('base_url', sa.String(length=255), nullable=True),
        sa.Column('secrets_enc', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('key_last4', sa.String(length=4), nullable=True),
        sa.Column('key_expires_on', sa.Date(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('interval_seconds', sa.Integer(), nullable=False),
        sa.Column('cursor', sa.Text(), nullable=True),
        sa.Column('last_run_at', sa.DateTime(), nullable=True),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    ]


def _has_rms_values(shop) -> bool:
    return shop.mall == 'rakuten' or any(
        getattr(shop, c.name) != DEFAULTS.get(c.name) for c in _shop_columns())


def _connection_of(shop, now: datetime) -> dict:
    secrets = {name: value for name, value in (('service_secret', shop.rms_service_secret_enc),
                                               ('license_key', shop.rms_license_key_enc)) if value is not None}
    return {
        'account_id': shop.account_id, 'shop_id': shop.id, 'provider': PROVIDER, 'base_url': shop.rms_base_url,
        'secrets_enc': secrets or None, 'key_last4': shop.rms_license_key_last4,
        'key_expires_on': shop.rms_license_key_expires_on, 'error': shop.rms_connection_error,
        'interval_seconds': shop.rms_import_interval_minutes * 60,
        'cursor': shop.rms_last_window_end.isoformat() if shop.rms_last_window_end else None,
        'last_run_at': shop.rms_last_import_at,
        'settings': {'initial_lookback_days': shop.rms_initial_lookback_days,
                     'inventory_restore_type': shop.rms_inventory_restore_type},
        'created_at': now,
    }


def _shop_values_of(connection) -> dict:
    secrets = connection.secrets_enc or {}
    settings = connection.settings or {}
    return {
        'rms_base_url': connection.base_url, 'rms_service_secret_enc': secrets.get('service_secret'),
        'rms_license_key_enc': secrets.get('license_key'), 'rms_license_key_last4': connection.key_last4,
        'rms_license_key_expires_on': connection.key_expires_on, 'rms_connection_error': connection.error,
        'rms_import_interval_minutes': connection.interval_seconds // 60,
        'rms_initial_lookback_days': settings.get('initial_lookback_days', 30),
        'rms_inventory_restore_type': settings.get('inventory_restore_type', 0),
        'rms_last_window_end': datetime.fromisoformat(connection.cursor) if connection.cursor else None,
        'rms_last_import_at': connection.last_run_at,
    }


def upgrade():
    account_level = sa.text('shop_id IS NULL')
    op.create_table(
        'connections', *_connection_columns(),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_connections_account_id_accounts')),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_connections_shop_id_shops')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
        sa.UniqueConstraint('shop_id', 'provider', name='uq_connections_shop_provider'),
    )
    op.create_index('uq_connections_account_provider', 'connections', ['account_id', 'provider'], unique=True,
                    sqlite_where=account_level, postgresql_where=account_level)
    bind = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [_connection_of(shop, now) for shop in bind.execute(sa.select(_shops()).order_by(sa.text('id')))
            if _has_rms_values(shop)]
    if rows:
        bind.execute(_connections().insert(), rows)
    for column in reversed(_shop_columns()):
        op.drop_column('shops', column.name)


def downgrade():
    for column in _shop_columns():
        op.add_column('shops', column)
    bind = op.get_bind()
    connections = _connections()
    shops = _shops()
    for connection in bind.execute(sa.select(connections).where(connections.c.provider == PROVIDER,
                                                               connections.c.shop_id.is_not(None))):
        bind.execute(shops.update().where(shops.c.id == connection.shop_id).values(**_shop_values_of(connection)))
    op.drop_index('uq_connections_account_provider', table_name='connections')
    op.drop_table('connections')
