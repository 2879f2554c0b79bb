"""With BOSS_SANDBOX=0 a shop's RMS credentials go only to Rakuten's base URL or one listed in
RMS_ALLOWED_BASE_URLS, through the API, the settings form and the client itself (issue 11 item 10)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from boss.errors import ServiceError
from boss.extensions import db
from boss.malls.rakuten import connection
from boss.malls.rakuten.client import RmsAuthError
from boss.models import JobRecord, Shop
from tests.api.api_helpers import API, error_of
from tests.conftest import login
from tests.factories import set_rms_connection

RAKUTEN = "https://api.rms.rakuten.co.jp"
LISTED = "http://127.0.0.1:9/rms-proxy"


@pytest.fixture
def production(app, monkeypatch):
    """BOSS_SANDBOX=0, with one URL listed in RMS_ALLOWED_BASE_URLS."""
    monkeypatch.setitem(app.config, "BOSS_SANDBOX", False)
    monkeypatch.setitem(app.config, "RMS_ALLOWED_BASE_URLS", [LISTED])
    return app


def _shop(app, shop_id: int) -> dict:
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        jobs = db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.shop_id == shop_id))
        state = {"base_url": shop.rms.base_url, "secrets": shop.rms.secrets_enc, "jobs": jobs}
        db.session.remove()
        return state


def _connect(client, tenant, base_url):
    return client.patch(f"{API}/shops/{tenant.shop_id}", headers=tenant.headers("admin"), json={
        "rms": {"service_secret": "SP-secret", "license_key": "SL-license-7c2f", "base_url": base_url}})


@pytest.mark.parametrize("base_url", [
    "https://evil.example", "https://api.rms.rakuten.co.jp.evil.example", "https://api.rms.rakuten.co.jp@evil.example",
    "http://api.rms.rakuten.co.jp", "https://api.rms.rakuten.co.jp:8443", "http://127.0.0.1:9/sandbox/rms",
])
def test_item10_an_unlisted_base_url_is_refused_naming_rms_base_url_and_nothing_is_stored(production, client, tenant,
                                                                                        base_url):
    before = _shop(production, tenant.shop_id)
    error = error_of(_connect(client, tenant, base_url), 422, "validation_error")
    assert "rms.base_url" in error["fields"] and "RMS_ALLOWED_BASE_URLS" in error["fields"]["rms.base_url"]
    assert _shop(production, tenant.shop_id) == before  # no credentials kept, no import started


def test_item10_a_base_url_listed_in_rms_allowed_base_urls_is_accepted(production, client, tenant):
    response = _connect(client, tenant, LISTED + "/")
    assert response.status_code == 200, response.json
    assert response.json["rms_base_url"] == LISTED and _shop(production, tenant.shop_id)["base_url"] == LISTED


def test_item10_rakutens_own_base_url_and_the_default_are_accepted(production):
    with production.test_request_context():
        assert connection.check_base_url(RAKUTEN + "/") == RAKUTEN
        assert connection.default_base_url() == RAKUTEN
        with pytest.raises(ServiceError) as refused:
            connection.check_base_url("https://evil.example")
        assert refused.value.status == 422 and list(refused.value.fields) == ["rms.base_url"]


def test_item10_the_settings_form_refuses_an_unlisted_base_url_under_its_field(production, tenant):
    admin = login(production.test_client(), tenant.admin_email)
    before = _shop(production, tenant.shop_id)
    response = admin.post(f"/settings/shops/{tenant.shop_id}", data={
        "csrf_token": admin.csrf, "name": "テスト商店の楽天店", "import_interval_minutes": "10",
        "initial_lookback_days": "30", "inventory_restore_type": "0", "rms_service_secret": "SP-secret",
        "rms_license_key": "SL-license-7c2f", "rms_base_url": "https://evil.example/rms"})
    assert response.status_code == 422
    field_at = response.text.index('name="rms_base_url"')
    assert "RMS_ALLOWED_BASE_URLS" in response.text[field_at:field_at + 1500]
    assert _shop(production, tenant.shop_id) == before


def test_item10_a_stored_base_url_that_is_no_longer_allowed_gets_no_credentials(production, tenant):
    with production.app_context():
        shop = db.session.get(Shop, tenant.shop_id)
        rms = set_rms_connection(shop.id, secrets_enc={"service_secret": "never-decrypted", "license_key": "never-decrypted"})
        rms.base_url = "https://evil.example"  # stored before the rule, or since unlisted
        with pytest.raises(RmsAuthError, match="許可されていません"):
            connection.client_for(shop)
        rms.base_url = LISTED
        production.config["RMS_ALLOWED_BASE_URLS"] = []
        with pytest.raises(RmsAuthError):
            connection.client_for(shop)
        db.session.rollback()
        db.session.remove()
