"""The account's warehouse connection (warehouse/connection.py): the key encrypted and shown by its last 4,
the base URL rules of both modes, the events cursor starting over, the client it makes, 「倉庫接続エラー」."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from boss.errors import ServiceError
from boss.extensions import db
from boss.models import RSL, Connection
from boss.orders.actor import Actor
from boss.orders.search import status_counts
from boss.warehouse import connection
from boss.warehouse.port import WarehouseAuthError

KEY = "rsl_live_key_Q7x9"


@pytest.fixture
def actor(ctx, tenant):
    return Actor("user", "admin", tenant.account_id)


@pytest.fixture
def production(app):
    """BOSS_SANDBOX=0 with one listed warehouse URL, for one test."""
    before = app.config["BOSS_SANDBOX"], app.config["WAREHOUSE_ALLOWED_BASE_URLS"]
    app.config["BOSS_SANDBOX"], app.config["WAREHOUSE_ALLOWED_BASE_URLS"] = False, ["https://api.rsl.example/"]
    yield
    app.config["BOSS_SANDBOX"], app.config["WAREHOUSE_ALLOWED_BASE_URLS"] = before


def _row(account_id: int) -> Connection:
    db.session.expire_all()
    return db.session.scalars(select(Connection).where(Connection.account_id == account_id,
                                                       Connection.provider == RSL)).one()


def test_an_account_without_a_row_reads_as_not_connected_with_the_defaults(actor):
    shown = connection.warehouse_json(connection.warehouse_for(actor.account_id))
    assert shown == {"connected": False, "provider": "rsl", "base_url": "http://127.0.0.1:5000/sandbox/warehouse",
                     "api_key_last4": None, "sync_interval_seconds": 60, "last_synced_at": None, "error": None}


def test_the_key_is_stored_encrypted_and_shown_only_by_its_last_4(actor, app):
    connection.update_warehouse(actor, {"api_key": KEY})
    row = _row(actor.account_id)
    assert KEY not in str(row.secrets_enc) and row.key_last4 == "Q7x9"
    assert connection.api_key_of(row) == KEY
    shown = connection.warehouse_json(row)
    assert shown["connected"] is True and shown["api_key_last4"] == "Q7x9" and KEY not in str(shown)


def test_a_new_key_or_base_url_starts_the_events_from_the_beginning_the_interval_does_not(actor):
    connection.update_warehouse(actor, {"api_key": KEY})
    for changes, reset in (({"sync_interval_seconds": 300}, False), ({"api_key": KEY}, False),
                           ({"api_key": KEY + "2"}, True),
                           ({"base_url": "http://127.0.0.1:5000/sandbox/warehouse"}, False),
                           ({"base_url": "http://localhost:8000/sandbox/warehouse"}, True), ({"base_url": None}, True),
                           ({"api_key": None}, True)):
        _row(actor.account_id).cursor = "c-17"
        db.session.commit()
        connection.update_warehouse(actor, changes)
        assert (_row(actor.account_id).cursor is None) == reset, changes
    row = _row(actor.account_id)
    assert row.interval_seconds == 300 and not row.connected and row.key_last4 is None


def test_in_sandbox_mode_the_key_may_only_go_to_this_machine(actor):
    with pytest.raises(ServiceError) as refused:
        connection.update_warehouse(actor, {"api_key": KEY, "base_url": "https://api.rsl.example"})
    assert refused.value.code == "validation_error" and "base_url" in refused.value.fields
    assert connection.warehouse_for(actor.account_id).connected is False  # nothing of the change was kept
    connection.update_warehouse(actor, {"base_url": "http://[::1]:8080/sim/"})
    assert _row(actor.account_id).base_url == "http://[::1]:8080/sim"


def test_with_sandbox_off_only_a_listed_url_is_taken_and_the_default_is_the_first_listed(actor, production):
    shown = connection.warehouse_json(connection.warehouse_for(actor.account_id))
    assert shown["base_url"] == "https://api.rsl.example"
    for url in ("http://127.0.0.1:5000/sandbox/warehouse", "https://evil.example", "ftp://api.rsl.example"):
        with pytest.raises(ServiceError) as refused:
            connection.update_warehouse(actor, {"base_url": url})
        assert list(refused.value.fields) == ["base_url"], url
    connection.update_warehouse(actor, {"base_url": "https://api.rsl.example", "api_key": KEY})
    assert connection.client_for(actor.account_id).base_url == "https://api.rsl.example"


def test_a_url_stored_in_sandbox_mode_gets_no_key_once_sandbox_is_off(actor, app, production):
    app.config["BOSS_SANDBOX"] = True
    connection.update_warehouse(actor, {"api_key": KEY, "base_url": "http://127.0.0.1:9/sim"})
    app.config["BOSS_SANDBOX"] = False
    with pytest.raises(WarehouseAuthError):
        connection.client_for(actor.account_id)


@pytest.mark.parametrize("key", ["", " ", "key with space", "鍵", "k" * 256, "tab\tkey"])
def test_a_key_that_cannot_go_into_a_header_is_refused_naming_api_key(actor, key):
    with pytest.raises(ServiceError) as refused:
        connection.update_warehouse(actor, {"api_key": key})
    assert list(refused.value.fields) == ["api_key"]


def test_the_interval_is_30_to_3600_seconds(actor):
    for seconds in (29, 3601, True, "60"):
        with pytest.raises(ServiceError):
            connection.update_warehouse(actor, {"sync_interval_seconds": seconds})
    connection.update_warehouse(actor, {"sync_interval_seconds": 30})
    assert _row(actor.account_id).interval_seconds == 30


def test_the_client_is_refused_without_a_key_and_made_with_one(actor, app):
    with pytest.raises(WarehouseAuthError):
        connection.client_for(actor.account_id)
    connection.update_warehouse(actor, {"api_key": KEY})
    client = connection.client_for(actor.account_id, max_pace_wait=0)
    assert client.session.headers["Authorization"] == f"Bearer {KEY}"
    assert client.base_url == "http://127.0.0.1:5000/sandbox/warehouse" and client.max_pace_wait == 0
    assert KEY not in client.pacer.key and client.pacer.interval_seconds == app.config["WAREHOUSE_MIN_INTERVAL"]


def test_a_connection_error_counts_in_the_attention_count_until_it_clears(actor, tenant):
    connection.update_warehouse(actor, {"api_key": KEY})
    before = status_counts(tenant.account_id)["attention"]
    connection.mark_connection_failed(tenant.account_id, "401 APIキーが無効です")
    assert _row(tenant.account_id).error == "401 APIキーが無効です"
    assert status_counts(tenant.account_id)["attention"] == before + 1
    assert status_counts(tenant.account_id, tenant.shop_id)["attention"] == before + 1  # every shop's sends wait
    assert connection.warehouse_json(_row(tenant.account_id))["connected"] is True  # an auth failure keeps the key
    connection.mark_connection_ok(tenant.account_id)
    db.session.commit()
    assert _row(tenant.account_id).error is None
    assert status_counts(tenant.account_id)["attention"] == before


def test_a_new_key_clears_the_connection_error(actor):
    connection.update_warehouse(actor, {"api_key": KEY})
    connection.mark_connection_failed(actor.account_id, "401")
    connection.update_warehouse(actor, {"api_key": KEY + "x"})
    assert _row(actor.account_id).error is None
