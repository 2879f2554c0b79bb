"""設定 › ショップ: the RMS API connection of a Rakuten shop (rakuten-rms.md §How our client uses it), its licenseKey
expiry warning, 「RMS接続エラー」, 今すぐ取込 with its progress and result, and the site-wide banner."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
import requests
from sqlalchemy import func, select

from boss.extensions import db
from boss.integrations.secrets import decrypt_secret
from boss.models import JobRecord, Shop, utcnow
from boss.timefmt import to_jst
from tests.conftest import login, wait_for
from tests.factories import set_rms_connection

HTMX = {"HX-Request": "true"}
SECRET = "SP338811_secretXYZ9q"
LICENSE_KEY = "SL338811_licenseAB7c2f"


def _post(client, path, data=None, htmx=False, csrf=True):
    data = {**({"csrf_token": client.csrf} if csrf else {}), **(data or {})}
    return client.post(path, data=data, headers=HTMX if htmx else {})


def _read(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _change_rms(app, shop_id: int, **fields) -> None:
    def change():
        set_rms_connection(shop_id, **fields)
        db.session.commit()
    _read(app, change)


SHOP_COLUMNS = ("name", "auto_confirm", "reflect_cancel_to_rms")
RMS_COLUMNS = ("base_url", "secrets_enc", "key_last4", "key_expires_on", "error", "interval_seconds", "settings")


def _shop(app, shop_id: int) -> dict:
    """The shop's settings and its RMS connection's (the defaults while it has none)."""
    def load():
        shop = db.session.get(Shop, shop_id)
        return {**{name: getattr(shop, name) for name in SHOP_COLUMNS},
                **{name: getattr(shop.rms, name) for name in RMS_COLUMNS}}
    return _read(app, load)


def _jobs(app, shop_id: int) -> list[JobRecord]:
    def load():
        jobs = list(db.session.scalars(select(JobRecord).where(JobRecord.shop_id == shop_id).order_by(JobRecord.created_at)))
        for job in jobs:
            db.session.expunge(job)
        return jobs
    return _read(app, load)


def _today():
    return to_jst(utcnow()).date()


def _connect(app, shop_id: int, **fields) -> None:
    """A connected Rakuten shop as the connection stores it, set directly (no first import)."""
    with app.app_context():
        from boss.integrations.secrets import encrypt_secret

        key = app.config["SECRET_KEY"]
        _change_rms(app, shop_id, secrets_enc={"service_secret": encrypt_secret(key, SECRET),
                                               "license_key": encrypt_secret(key, LICENSE_KEY)},
                    key_last4=LICENSE_KEY[-4:], base_url="http://localhost/sandbox/rms", **fields)


def _text(page: str) -> str:
    """What a person reads: tags gone, spaces collapsed."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def _form(name="テスト商店の楽天店", **fields) -> dict:
    return {"name": name, "import_interval_minutes": "10", "initial_lookback_days": "30", "inventory_restore_type": "0",
            **fields}


@pytest.fixture(params=["staff", "admin"])
def role(request):
    return request.param


@pytest.fixture
def user_client(app, tenant, role):
    return login(app.test_client(), tenant.admin_email if role == "admin" else tenant.staff_email)


# ---------------------------------------------------------------- the RMS API接続 form

def test_the_edit_dialog_of_a_rakuten_shop_has_the_rms_api_connection_form(admin_client, tenant):
    dialog = admin_client.get(f"/settings/shops/{tenant.shop_id}/edit", headers=HTMX).text
    text = _text(dialog)
    assert "RMS API接続" in text and "未接続" in text
    assert 'type="password" name="rms_service_secret" value=""' in dialog
    assert 'type="password" name="rms_license_key" value=""' in dialog
    assert 'type="date" name="rms_license_key_expires_on"' in dialog and 'name="rms_base_url"' in dialog
    assert 'name="import_interval_minutes" value="10"' in dialog and 'name="initial_lookback_days" value="30"' in dialog
    for value, label in (("0", "商品の設定に従う"), ("1", "在庫を戻す"), ("2", "在庫を戻さない")):
        assert f'<option value="{value}"' in dialog and f">{label}</option>" in dialog  # no API value in the label
    assert '<option value="0" selected>' in dialog
    assert "在庫の戻し方" in dialog and "inventoryRestoreType" not in dialog
    # the base URL's default is explained: this app's sandbox in sandbox mode
    assert "サンドボックスモードのため、空欄のときはこのアプリの /sandbox/rms（http://localhost/sandbox/rms）に接続します。" in text
    assert "licenseKeyは発行から90日で切れます" in text and "期限の14日前からお知らせします。" in text


def test_the_rms_form_is_only_offered_for_rakuten_shops(admin_client, app):
    _post(admin_client, "/settings/shops", {"name": "Yahoo店", "mall": "yahoo"})
    shop_id = _read(app, lambda: db.session.scalars(select(Shop.id).where(Shop.name == "Yahoo店")).one())
    dialog = admin_client.get(f"/settings/shops/{shop_id}/edit", headers=HTMX).text
    assert "RMS API接続" not in dialog and 'name="rms_license_key"' not in dialog
    page = admin_client.get("/settings").text
    assert f'action="/settings/shops/{shop_id}/import"' not in page


def test_credentials_are_saved_encrypted_and_never_rendered_back(admin_client, app, tenant):
    expiry = _today() + timedelta(days=90)
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}", _form(
        rms_service_secret=SECRET, rms_license_key=LICENSE_KEY, rms_license_key_expires_on=expiry.isoformat(),
        import_interval_minutes="15", initial_lookback_days="45", inventory_restore_type="2"), htmx=True)
    assert response.status_code == 200
    saved = _shop(app, tenant.shop_id)
    secrets = saved["secrets_enc"]
    assert SECRET not in secrets["service_secret"] and LICENSE_KEY not in secrets["license_key"]
    with app.app_context():
        assert decrypt_secret(app.config["SECRET_KEY"], secrets["service_secret"]) == SECRET
        assert decrypt_secret(app.config["SECRET_KEY"], secrets["license_key"]) == LICENSE_KEY
    assert saved["key_last4"] == "7c2f" and saved["key_expires_on"] == expiry
    assert saved["interval_seconds"] == 15 * 60
    assert saved["settings"] == {"initial_lookback_days": 45, "inventory_restore_type": 2}
    assert saved["base_url"] == "http://localhost/sandbox/rms"
    # the answer: the row says 接続済 with ••••7c2f, and the message that the first import has started
    assert "RMS API接続を登録しました（licenseKey 末尾 7c2f）。取込を開始しました。" in response.text
    assert "接続済" in response.text and "••••7c2f" in response.text
    pages = [response.text, admin_client.get("/settings").text,
             admin_client.get(f"/settings/shops/{tenant.shop_id}/edit", headers=HTMX).text,
             admin_client.get(f"/settings/shops/{tenant.shop_id}/edit").text, admin_client.get("/orders").text]
    for page in pages:
        assert SECRET not in page and LICENSE_KEY not in page and "secretXYZ" not in page
    assert "••••7c2f" in pages[1] and "••••7c2f" in pages[2]


def test_connecting_starts_the_first_import_and_the_row_shows_its_progress(admin_client, app, tenant):
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}",
                     _form(rms_service_secret=SECRET, rms_license_key=LICENSE_KEY), htmx=True)
    jobs = _jobs(app, tenant.shop_id)
    assert len(jobs) == 1 and jobs[0].kind == "import" and jobs[0].state == "queued"
    assert f'hx-get="/jobs/{jobs[0].id}/progress"' in response.text and "取込を待機中" in response.text
    assert f'hx-get="/jobs/{jobs[0].id}/progress"' in admin_client.get("/settings").text


def test_blank_credentials_keep_the_stored_ones_and_the_settings_are_saved(admin_client, app, tenant):
    expiry = _today() + timedelta(days=60)
    _connect(app, tenant.shop_id, key_expires_on=expiry)
    before = _shop(app, tenant.shop_id)
    dialog = admin_client.get(f"/settings/shops/{tenant.shop_id}/edit", headers=HTMX).text
    assert f'name="rms_license_key_expires_on" value="{expiry.isoformat()}"' in dialog
    assert 'name="rms_base_url" value=""' in dialog  # the default is not written into the field
    assert "変更しないときは空欄" in dialog
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}", _form(
        rms_service_secret="", rms_license_key="", rms_license_key_expires_on=expiry.isoformat(),
        import_interval_minutes="５", inventory_restore_type="1"), htmx=True)  # full-width digits as an IME types them
    assert response.status_code == 200 and "RMS API接続を登録しました" not in response.text
    after = _shop(app, tenant.shop_id)
    for name in ("secrets_enc", "key_last4", "key_expires_on", "base_url"):
        assert after[name] == before[name]
    assert after["interval_seconds"] == 5 * 60 and after["settings"]["inventory_restore_type"] == 1
    assert _jobs(app, tenant.shop_id) == []  # no new connection, no first import


def test_saving_the_credentials_again_clears_the_connection_error(admin_client, app, tenant):
    _connect(app, tenant.shop_id, error="searchOrder: RMS refused the shop's credentials (ES04-01)")
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}",
                     _form(rms_service_secret="SP-new-secret", rms_license_key="SL-new-key-9999"), htmx=True)
    assert response.status_code == 200
    saved = _shop(app, tenant.shop_id)
    assert saved["error"] is None and saved["key_last4"] == "9999"
    assert "RMS接続エラー" not in _text(response.text.split('id="messages"')[0])


@pytest.mark.parametrize("fields, field, error", [
    ({"rms_service_secret": SECRET}, "rms_license_key", "serviceSecretとlicenseKeyは2つそろえて入力してください"),
    ({"rms_license_key": LICENSE_KEY}, "rms_service_secret", "serviceSecretとlicenseKeyは2つそろえて入力してください"),
    ({"rms_service_secret": "SP 33 secret", "rms_license_key": LICENSE_KEY}, "rms_service_secret", "空白は使えません"),
    ({"rms_service_secret": SECRET, "rms_license_key": LICENSE_KEY, "rms_license_key_expires_on": "2027-13-45"},
     "rms_license_key_expires_on", "日付を「2027-01-31」の形で入力してください。"),
    ({"rms_service_secret": SECRET, "rms_license_key": LICENSE_KEY, "rms_license_key_expires_on": "2020-01-31"},
     "rms_license_key_expires_on", "有効期限が過ぎた日付です。"),
    ({"rms_license_key_expires_on": "2030-01-31"}, "rms_license_key_expires_on", "有効期限はserviceSecretとlicenseKeyといっしょに登録します。"),
    ({"rms_base_url": "http://127.0.0.1:9/sandbox/rms"}, "rms_base_url", "接続先URLはserviceSecretとlicenseKeyといっしょに登録します。"),
    # refused by the connection itself (ServiceError validation_error, field rms.base_url)
    ({"rms_service_secret": SECRET, "rms_license_key": LICENSE_KEY, "rms_base_url": "ftp://127.0.0.1/rms"},
     "rms_base_url", "http(s) のURLで指定してください"),
    ({"rms_service_secret": SECRET, "rms_license_key": LICENSE_KEY, "rms_base_url": "https://api.rms.rakuten.co.jp"},
     "rms_base_url", "サンドボックスモードではこのマシン上のURLのみ指定できます"),
    ({"import_interval_minutes": "0"}, "import_interval_minutes", "1〜1440（分）の整数で入力してください。"),
    ({"import_interval_minutes": "10分"}, "import_interval_minutes", "1〜1440（分）の整数で入力してください。"),
    ({"import_interval_minutes": ""}, "import_interval_minutes", "取込の間隔を分で入力してください。"),
    ({"initial_lookback_days": "731"}, "initial_lookback_days", "1〜730（日）の整数で入力してください。"),
    ({"inventory_restore_type": "3"}, "inventory_restore_type", "在庫の扱いを選んでください。"),
])
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_input_shows_the_field_error_and_changes_nothing(admin_client, app, tenant, fields, field, error, htmx):
    before = _shop(app, tenant.shop_id)
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}",
                     _form(name="改名されない", auto_confirm="y", **fields), htmx=htmx)
    assert response.status_code == 422
    if htmx:
        assert response.headers["HX-Retarget"] == "#dialog" and "<html" not in response.text
    # the error sits under its field, which is marked invalid
    input_at = response.text.index(f'name="{field}"')
    assert 'aria-invalid="true"' in response.text[input_at:input_at + 400]
    assert error in response.text[input_at:input_at + 1500]
    assert _shop(app, tenant.shop_id) == before and _jobs(app, tenant.shop_id) == []
    # what was typed stays, except the credentials
    assert 'value="改名されない"' in response.text
    assert SECRET not in response.text and LICENSE_KEY not in response.text and "SP 33 secret" not in response.text


def test_only_admins_change_the_rms_connection_staff_get_403_and_nothing_changes(staff_client, app, tenant):
    before = _shop(app, tenant.shop_id)
    for htmx in (False, True):
        response = _post(staff_client, f"/settings/shops/{tenant.shop_id}",
                         _form(rms_service_secret=SECRET, rms_license_key=LICENSE_KEY), htmx=htmx)
        assert response.status_code == 403 and "この操作は管理者のみ行えます。" in response.text
    assert _shop(app, tenant.shop_id) == before and _jobs(app, tenant.shop_id) == []
    assert staff_client.get(f"/settings/shops/{tenant.shop_id}/edit").status_code == 403


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(admin_client, app, tenant):
    _connect(app, tenant.shop_id)
    before = _shop(app, tenant.shop_id)
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}",
                     _form(rms_service_secret="SP-other", rms_license_key="SL-other-0000"), csrf=False)
    assert response.status_code == 400
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}/import", csrf=False, htmx=True)
    assert response.status_code == 400
    assert _shop(app, tenant.shop_id) == before and _jobs(app, tenant.shop_id) == []


def test_r14_another_accounts_shop_and_jobs_answer_404_and_nothing_happens(app, tenant, other_tenant):
    _connect(app, other_tenant.shop_id)
    theirs = _shop(app, other_tenant.shop_id)
    their_job = _read(app, lambda: _start_import(app, other_tenant))
    admin = login(app.test_client(), tenant.admin_email)
    assert admin.get(f"/settings/shops/{other_tenant.shop_id}/edit").status_code == 404
    assert _post(admin, f"/settings/shops/{other_tenant.shop_id}",
                 _form(rms_service_secret=SECRET, rms_license_key=LICENSE_KEY)).status_code == 404
    assert _post(admin, f"/settings/shops/{other_tenant.shop_id}/import", htmx=True).status_code == 404
    assert admin.get(f"/jobs/{their_job}/progress", headers=HTMX).status_code == 404
    assert _shop(app, other_tenant.shop_id) == theirs and len(_jobs(app, other_tenant.shop_id)) == 1


def _start_import(app, tenant) -> str:
    from boss.malls.rakuten.importer import start_import
    from boss.orders.actor import Actor

    return start_import(Actor("user", "よその管理者", tenant.account_id, None), tenant.shop_id).id


# ---------------------------------------------------------------- the shops table

def test_connection_states_are_named_in_the_table(user_client, app, tenant):
    page = _text(user_client.get("/settings").text)
    assert "未接続" in page and "楽天RMSとAPI接続されていないため、注文を取り込めません。" in page
    _connect(app, tenant.shop_id)
    page = _text(user_client.get("/settings").text)
    assert "接続済" in page and "••••7c2f" in page and "まだ取り込んでいません" in page
    _change_rms(app, tenant.shop_id, error="searchOrder: RMS refused the shop's credentials (ES04-01 Un-Authorised)")
    markup = user_client.get("/settings").text
    page = _text(markup)
    assert "RMS接続エラー" in page and "searchOrder: RMS refused the shop's credentials (ES04-01 Un-Authorised)" in page
    assert "licenseKeyとserviceSecret（licenseKeyの有効期限も）を確認し" in page
    assert 'class="chip chip-error">RMS接続エラー' in markup and 'class="shop-note note-error"' in markup


def test_what_to_do_about_a_connection_error_depends_on_the_role(user_client, app, tenant, role):
    _connect(app, tenant.shop_id, error="ES04-01")
    page = _text(user_client.get("/settings").text)
    if role == "admin":
        assert "「編集」→「RMS API接続」で登録し直してください。" in page
    else:
        assert "管理者に登録し直してもらってください。" in page


def test_the_last_import_is_shown_in_japan_time(user_client, app, tenant):
    _connect(app, tenant.shop_id, last_run_at=datetime(2026, 11, 27, 5, 5))
    assert "2026/11/27 14:05" in user_client.get("/settings").text


@pytest.mark.parametrize("days, warned", [(15, False), (14, True), (1, True)])
def test_the_license_key_expiry_is_warned_14_days_ahead(user_client, app, tenant, days, warned):
    _connect(app, tenant.shop_id, key_expires_on=_today() + timedelta(days=days))
    settings = _text(user_client.get("/settings").text)
    orders = _text(user_client.get("/orders").text)
    warning = f"ライセンスキーの有効期限まで残り{days}日です。RMSで新しいキーを発行して登録してください。"
    assert (warning in settings) is warned
    assert (warning in orders) is warned  # the banner over every page
    assert (f"残り{days}日" in settings) is warned


def test_an_expiry_of_today_and_an_expired_license_key_are_warned(user_client, app, tenant):
    _connect(app, tenant.shop_id, key_expires_on=_today())
    assert "ライセンスキーの有効期限は今日までです。" in _text(user_client.get("/orders").text)
    expired = _today() - timedelta(days=1)
    _change_rms(app, tenant.shop_id, key_expires_on=expired)
    settings = _text(user_client.get("/settings").text)
    assert f"ライセンスキーの有効期限（{expired:%Y/%m/%d}）が切れています。RMSで新しいキーを発行して登録してください。" in settings
    assert "期限切れ" in settings
    assert "ライセンスキーの有効期限が切れています。RMSで新しいキーを発行して登録してください。" in _text(user_client.get("/orders").text)


def test_the_banner_names_a_failing_shop_links_to_settings_and_counts_in_the_attention_badge(user_client, app, tenant):
    plain = user_client.get("/orders").text
    assert 'id="shop-alerts"' not in plain
    before = int(re.search(r'id="attention".*?<b>(\d+)</b>', plain, re.S).group(1))
    _connect(app, tenant.shop_id, error="ES04-01 <b>bad</b>")
    page = user_client.get("/orders").text
    banner = page[page.index('id="shop-alerts"'):page.index('id="messages"')]
    assert "テスト商店の楽天店" in banner and "楽天RMSに接続できません（RMS接続エラー）。" in banner
    assert f'href="/settings#shop-{tenant.shop_id}"' in banner
    assert int(re.search(r'id="attention".*?<b>(\d+)</b>', page, re.S).group(1)) == before + 1
    # not repeated on the shops page, where the row says it with what to do
    assert 'id="shop-alerts"' not in user_client.get("/settings").text
    assert "<b>bad</b>" not in user_client.get("/settings").text


def test_the_banner_concerns_only_the_accounts_own_shops(app, tenant, other_tenant):
    _connect(app, other_tenant.shop_id, error="ES04-01",
             key_expires_on=_today() - timedelta(days=3))
    client = login(app.test_client(), tenant.staff_email)
    assert 'id="shop-alerts"' not in client.get("/orders").text


# ---------------------------------------------------------------- 今すぐ取込

def test_a_shop_without_a_connection_shows_the_import_button_disabled_with_the_reason(user_client, tenant):
    markup = user_client.get("/settings").text
    button = re.search(r'<button[^>]*act-import[^>]*>', markup).group(0)
    assert "disabled" in button and f'aria-describedby="import-why-{tenant.shop_id}"' in button
    assert 'title="楽天RMSとAPI接続されていないため取り込めません。"' in button
    assert f'id="import-why-{tenant.shop_id}"' in markup


def test_importing_a_shop_without_a_connection_is_refused_with_the_reason(user_client, app, tenant):
    response = _post(user_client, f"/settings/shops/{tenant.shop_id}/import", htmx=True)
    assert response.status_code == 409
    assert "このショップは楽天RMSとAPI接続されていないため取り込めません。" in response.text
    assert _jobs(app, tenant.shop_id) == []


def test_staff_and_admins_start_one_import_and_a_second_click_shows_the_same_job(user_client, app, tenant):
    _connect(app, tenant.shop_id)
    markup = user_client.get("/settings").text
    assert f'hx-post="/settings/shops/{tenant.shop_id}/import"' in markup and f'hx-target="#import-{tenant.shop_id}"' in markup
    first = _post(user_client, f"/settings/shops/{tenant.shop_id}/import", htmx=True)
    assert first.status_code == 202
    jobs = _jobs(app, tenant.shop_id)
    assert len(jobs) == 1 and jobs[0].state == "queued"
    poller = f'hx-get="/jobs/{jobs[0].id}/progress" hx-trigger="load delay:1s"'
    assert poller in first.text and "取込を待機中" in first.text
    assert "すでに取込中です" not in first.text
    second = _post(user_client, f"/settings/shops/{tenant.shop_id}/import", htmx=True)
    assert second.status_code == 202 and poller in second.text
    assert "このショップはすでに取込中です。新しい取込は始めず、実行中の取込の進み具合を表示しています。" in second.text
    assert len(_jobs(app, tenant.shop_id)) == 1


def test_without_javascript_the_import_button_redirects_with_a_message(staff_client, app, tenant):
    _connect(app, tenant.shop_id)
    response = _post(staff_client, f"/settings/shops/{tenant.shop_id}/import")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/settings#shop-{tenant.shop_id}")
    page = staff_client.get("/settings").text
    assert "「テスト商店の楽天店」の取込を開始しました。" in page
    assert f'/jobs/{_jobs(app, tenant.shop_id)[0].id}/progress' in page


def _finish(app, job_id: str, state: str, result=None, error=None, progress=100) -> None:
    def change():
        job = db.session.get(JobRecord, job_id)
        job.state, job.progress, job.result, job.error, job.updated_at = state, progress, result, error, datetime(2026, 11, 27, 5, 6)
        db.session.commit()
    _read(app, change)


def test_the_progress_partial_polls_while_the_import_runs(staff_client, app, tenant):
    _connect(app, tenant.shop_id)
    job_id = _read(app, lambda: _start_import(app, tenant))
    _finish(app, job_id, "started", progress=45)
    response = staff_client.get(f"/jobs/{job_id}/progress", headers=HTMX)
    assert response.status_code == 200 and "HX-Reswap" not in response.headers
    assert f'hx-get="/jobs/{job_id}/progress"' in response.text and 'value="45"' in response.text
    assert "取込中" in response.text and "45%" in response.text


def test_a_finished_import_shows_its_counts_and_errors_and_refreshes_the_row(staff_client, app, tenant):
    _connect(app, tenant.shop_id, error="ES04-01")
    job_id = _read(app, lambda: _start_import(app, tenant))
    _change_rms(app, tenant.shop_id, error=None, last_run_at=datetime(2026, 11, 27, 5, 6))
    _finish(app, job_id, "finished", result={
        "fetched": 1234, "created": 10, "skipped": 1223, "failed": 1,
        "errors": [{"order_number": "338811-20261127-0000000042", "message": "<b>氏名がありません</b>"}]})
    response = staff_client.get(f"/jobs/{job_id}/progress", headers=HTMX)
    assert response.status_code == 200 and response.headers["HX-Reswap"] == "none"
    text = _text(response.text)
    assert "取込が完了しました" in text and "取得 1,234 件 · 新規 10 件 · スキップ 1,223 件 · 失敗 1 件" in text
    assert "338811-20261127-0000000042" in text and "&lt;b&gt;氏名がありません&lt;/b&gt;" in response.text
    assert "hx-trigger" not in response.text  # polling ends
    # the shop's row (last import, connection state) and the 要対応 badge come along, out of band
    assert f'<tr id="shop-{tenant.shop_id}" class="shop-row" hx-swap-oob="true">' in response.text
    assert f'<tr id="shop-{tenant.shop_id}-notes" class="shop-notes" hx-swap-oob="true">' in response.text
    assert "2026/11/27 14:06" in text and "接続済" in text and "RMS接続エラー" not in text
    assert 'id="attention"' in response.text and 'hx-swap-oob="true"' in response.text


def test_a_failed_import_shows_its_error_and_what_to_do(staff_client, app, tenant):
    _connect(app, tenant.shop_id)
    job_id = _read(app, lambda: _start_import(app, tenant))
    _change_rms(app, tenant.shop_id, error="searchOrder: RMS refused the shop's credentials (HTTP 401)")
    _finish(app, job_id, "failed", error="RMS接続エラー: searchOrder: RMS refused the shop's credentials (HTTP 401)")
    response = staff_client.get(f"/jobs/{job_id}/progress", headers=HTMX)
    text = _text(response.text)
    assert "取込に失敗しました" in text
    assert "RMS接続エラー: searchOrder: RMS refused the shop's credentials (HTTP 401)" in text
    assert "licenseKeyとserviceSecretを確認し、登録し直してください。" in text
    assert 'class="chip chip-error">RMS接続エラー' in response.text  # the row, out of band


# ---------------------------------------------------------------- a real import, end to end

def test_connecting_in_the_dialog_imports_from_the_sandbox_and_the_result_shows_the_counts(
        admin_client, app, tenant, live_server, worker, monkeypatch):
    monkeypatch.setitem(app.config, "RMS_SANDBOX_RATE_PER_SECOND", 1000)
    rms_url, license_key = f"{live_server}/sandbox/rms", f"SL-{uuid4().hex[:12]}"

    def control(body):
        answer = requests.post(f"{rms_url}/_control/orders", json={"service_secret": SECRET, "license_key": license_key, **body},
                               timeout=30)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["order_numbers"]

    recent = (to_jst(utcnow()) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+0900")  # inside the next run's overlap
    control({"orders": [{"orderProgress": 100, "orderDatetime": recent} for _ in range(4)]})
    control({"orders": [{"orderProgress": 100, "OrdererModel": {"familyName": "", "firstName": ""}}]})  # unreadable
    control({"generate": 1, "order_progress": 900})  # cancelled at Rakuten: not imported
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}", _form(
        rms_service_secret=SECRET, rms_license_key=license_key, rms_base_url=rms_url), htmx=True)
    assert response.status_code == 200, response.text
    job_id = _jobs(app, tenant.shop_id)[0].id

    def ended():
        answer = admin_client.get(f"/jobs/{job_id}/progress", headers=HTMX)
        return answer if answer.headers.get("HX-Reswap") == "none" else None

    text = _text(wait_for(ended, timeout=60, interval=0.3, message="the import to end").text)
    assert "取込が完了しました" in text, text
    assert "取得 5 件 · 新規 4 件 · スキップ 0 件 · 失敗 1 件" in text and "氏名がありません" in text
    imported = _read(app, lambda: db.session.get(Shop, tenant.shop_id).rms.last_run_at)
    assert imported is not None and to_jst(imported).strftime("%Y/%m/%d %H:%M") in text
    # a second import skips what the shop has (R5)
    _post(admin_client, f"/settings/shops/{tenant.shop_id}/import", htmx=True)
    job_id = _jobs(app, tenant.shop_id)[-1].id
    text = _text(wait_for(ended, timeout=60, interval=0.3, message="the second import to end").text)
    assert "取得 5 件 · 新規 0 件 · スキップ 4 件 · 失敗 1 件" in text
    count = _read(app, lambda: db.session.scalar(select(func.count()).select_from(JobRecord)))
    assert count == 2
