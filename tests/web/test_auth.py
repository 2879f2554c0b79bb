"""ログイン / ログアウト: hashed passwords, server-side sessions that end when they should (issue 11 item 8), a
login throttle that neither leaks nor locks out (item 9), and `next=` only to a path on this site (item 10)."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from boss.extensions import db, redis_connection
from boss.models import User, UserSession, utcnow
from boss.web.auth import limiter_storage_uri
from tests.conftest import csrf_token_from, login

WRONG = "メールアドレスまたはパスワードが正しくありません。"
THROTTLED = "ログインに続けて失敗したため、この接続元からは一時的にログインできません。"


def _post_login(client, email, password, next_path=None):
    page = client.get("/login")
    path = "/login" if next_path is None else f"/login?next={next_path}"
    return client.post(path, data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)})


def _client(app, address="127.0.0.2"):
    """A browser at `address` (request.remote_addr)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _user(app, email) -> User:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        db.session.expunge(user)
        return user


def _sessions(app, email) -> list[UserSession]:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        rows = list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)
                                       .order_by(UserSession.created_at)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _age_sessions(app, email, by: timedelta) -> None:
    """Move the user's sessions' last use back in time."""
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        for row in db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
            row.last_seen_at = row.last_seen_at - by
        db.session.commit()


def _signed_in(client) -> bool:
    response = client.get("/orders")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def _copy_of(app, client):
    """Another browser holding a copy of `client`'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


# ---------------------------------------------------------------- signing in and out

def test_a_right_password_signs_in_and_goes_where_the_visitor_was_going(app, tenant):
    client = app.test_client()
    assert "/login" in client.get("/orders/search").headers["Location"]
    response = _post_login(client, tenant.staff_email, "password-123", next_path="/tags")
    assert response.status_code == 302 and response.headers["Location"] == "/tags"
    assert client.get("/tags").status_code == 200


def test_a_deactivated_user_cannot_sign_in_and_is_answered_as_a_wrong_password(app, tenant):
    with app.app_context():
        db.session.scalars(select(User).where(User.email == tenant.staff_email)).one().active = False
        db.session.commit()
    response = _post_login(app.test_client(), tenant.staff_email, "password-123")
    assert response.status_code == 200 and WRONG in response.text


def test_logout_needs_the_csrf_token_and_then_every_page_asks_for_a_login(app, tenant):
    client = login(app.test_client(), tenant.staff_email)
    assert client.post("/logout").status_code == 400
    assert client.get("/orders").status_code == 200
    assert client.post("/logout", data={"csrf_token": client.csrf}).status_code == 302
    assert "/login" in client.get("/orders").headers["Location"]


def test_passwords_are_stored_hashed(app, tenant):
    stored = _user(app, tenant.staff_email).password_hash
    assert "password-123" not in stored and stored.startswith("pbkdf2:")  # the suite's method (conftest)


# ---------------------------------------------------------------- item 8: sessions end when they should

def test_item8_logout_ends_the_session_so_a_copied_cookie_signs_no_one_in(app, tenant):
    client = login(app.test_client(), tenant.staff_email)
    thief = _copy_of(app, client)
    assert _signed_in(thief)
    client.post("/logout", data={"csrf_token": client.csrf})
    assert not _signed_in(thief) and not _signed_in(client)
    assert [row.ended_at is not None for row in _sessions(app, tenant.staff_email)] == [True]


def test_item8_the_session_id_is_kept_hashed_and_each_login_is_a_session_of_its_own(app, tenant):
    first = login(_client(app), tenant.staff_email)
    login(_client(app), tenant.staff_email)
    rows = _sessions(app, tenant.staff_email)
    assert len(rows) == 2 and all(row.ended_at is None for row in rows)
    with first.session_transaction() as cookie:
        token = cookie["sid"]
    assert token not in {row.id for row in rows} and all(len(row.id) == 64 for row in rows)


def test_item8_a_cookie_without_a_live_session_or_a_remember_me_cookie_signs_no_one_in(app, tenant):
    staff = _user(app, tenant.staff_email)
    forged = app.test_client()
    with forged.session_transaction() as cookie:  # what a cookie signed before sessions existed holds
        cookie["_user_id"] = str(staff.id)
        cookie["_fresh"] = True
    assert not _signed_in(forged)
    with app.test_request_context():
        from flask_login.utils import encode_cookie
        remember = encode_cookie(str(staff.id))
    other = app.test_client()
    other.set_cookie("remember_token", remember)
    assert not _signed_in(other)


def test_item8_a_password_change_ends_every_session_of_the_user_and_this_browser_stays_signed_in(app, tenant):
    changing = login(_client(app), tenant.staff_email)
    elsewhere = login(_client(app, "127.0.0.3"), tenant.staff_email)
    thief = _copy_of(app, changing)
    response = changing.post("/account/password", data={
        "csrf_token": changing.csrf, "current_password": "password-123", "new_password": "a-new-password",
        "confirm_password": "a-new-password"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    page = changing.get(response.headers["Location"]).text
    assert "パスワードを変更しました。ほかの端末のログインはすべて終了しました。" in page
    assert not _signed_in(elsewhere) and not _signed_in(thief)
    assert _signed_in(changing)
    assert [row.ended_at is None for row in _sessions(app, tenant.staff_email)] == [False, False, True]
    assert _post_login(app.test_client(), tenant.staff_email, "password-123").status_code == 200
    login(app.test_client(), tenant.staff_email, "a-new-password")


@pytest.mark.parametrize("fields, field, error", [
    ({"current_password": "not-my-password"}, "current_password", "現在のパスワードが正しくありません。"),
    ({"confirm_password": "something-else"}, "confirm_password", "確認用のパスワードが新しいパスワードと一致しません。"),
    ({"new_password": "short", "confirm_password": "short"}, "new_password", "パスワードは8文字以上（200文字以内）にしてください。"),
    ({"new_password": ""}, "new_password", "新しいパスワードを入力してください。"),
])
def test_item8_a_refused_password_change_says_why_and_changes_nothing(app, tenant, fields, field, error):
    client = login(app.test_client(), tenant.staff_email)
    elsewhere = login(app.test_client(), tenant.staff_email)
    before = _user(app, tenant.staff_email).password_hash
    data = {"csrf_token": client.csrf, "current_password": "password-123", "new_password": "a-new-password",
            "confirm_password": "a-new-password", **fields}
    response = client.post("/account/password", data=data)
    assert response.status_code == 422 and error in response.text
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', response.text)
    assert "a-new-password" not in response.text  # a password is never sent back
    assert _user(app, tenant.staff_email).password_hash == before
    assert _signed_in(client) and _signed_in(elsewhere)


def test_item8_a_password_change_reads_in_english_too(app, tenant):
    client = login(app.test_client(), tenant.staff_email)
    with client.session_transaction() as cookie:
        cookie["lang"] = "en"
    response = client.post("/account/password", data={
        "csrf_token": client.csrf, "current_password": "wrong-one", "new_password": "a-new-password",
        "confirm_password": "a-new-password"})
    assert response.status_code == 422 and "The current password is not right." in response.text


def test_item8_deactivation_ends_the_users_sessions_for_good_even_once_reactivated(admin_client, staff_client, app, tenant):
    staff = _user(app, tenant.staff_email)
    admin_client.post(f"/settings/users/{staff.id}/active", data={"csrf_token": admin_client.csrf, "active": "0"})
    assert not _signed_in(staff_client)
    admin_client.post(f"/settings/users/{staff.id}/active", data={"csrf_token": admin_client.csrf, "active": "1"})
    assert not _signed_in(staff_client)
    assert all(row.ended_at is not None for row in _sessions(app, tenant.staff_email))
    login(app.test_client(), tenant.staff_email)  # a new login works again


def test_item8_sign_out_everywhere_ends_all_my_sessions_this_one_too(app, tenant):
    client = login(_client(app), tenant.staff_email)
    elsewhere = login(_client(app, "127.0.0.3"), tenant.staff_email)
    other_user = login(app.test_client(), tenant.admin_email)
    page = client.get("/account").text
    assert "ログイン中のブラウザ: 2" in page and "すべての端末からログアウト" in page
    response = client.post("/account/sessions/end", data={"csrf_token": client.csrf})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert "すべての端末からログアウトしました。" in client.get("/login").text
    assert not _signed_in(client) and not _signed_in(elsewhere)
    assert _signed_in(other_user)


def test_item8_an_admin_signs_a_user_out_everywhere_from_their_row(admin_client, staff_client, app, tenant):
    staff = _user(app, tenant.staff_email)
    response = admin_client.post(f"/settings/users/{staff.id}/sessions/end", data={"csrf_token": admin_client.csrf},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.text.lstrip().startswith(f'<tr id="user-{staff.id}"')
    assert f"{staff.name}さんをすべての端末からログアウトしました。" in response.text
    assert not _signed_in(staff_client) and _signed_in(admin_client)
    login(app.test_client(), tenant.staff_email)  # the user is not locked out: only their sessions ended


def test_item8_staff_cannot_sign_someone_else_out(staff_client, admin_client, app, tenant):
    admin = _user(app, tenant.admin_email)
    response = staff_client.post(f"/settings/users/{admin.id}/sessions/end", data={"csrf_token": staff_client.csrf})
    assert response.status_code == 403
    assert _signed_in(admin_client)


def test_item8_another_accounts_user_cannot_be_signed_out(admin_client, app, tenant, other_tenant):
    stranger = login(app.test_client(), other_tenant.staff_email)
    stranger_id = _user(app, other_tenant.staff_email).id
    response = admin_client.post(f"/settings/users/{stranger_id}/sessions/end", data={"csrf_token": admin_client.csrf})
    assert response.status_code == 404
    assert _signed_in(stranger)


def test_item8_a_session_idle_for_session_idle_hours_ends_and_one_in_use_does_not(app, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_HOURS", 12)
    used = login(_client(app), tenant.staff_email)
    _age_sessions(app, tenant.staff_email, timedelta(hours=11, minutes=59))
    assert _signed_in(used)  # used just within the limit: still signed in, and the clock starts again
    assert utcnow() - _sessions(app, tenant.staff_email)[0].last_seen_at < timedelta(minutes=1)
    _age_sessions(app, tenant.staff_email, timedelta(hours=12, minutes=1))
    assert not _signed_in(used)
    assert _sessions(app, tenant.staff_email)[0].ended_at is not None


def test_item8_the_last_use_is_written_at_most_once_a_minute(app, tenant):
    client = login(app.test_client(), tenant.staff_email)
    _age_sessions(app, tenant.staff_email, timedelta(seconds=30))
    seen = _sessions(app, tenant.staff_email)[0].last_seen_at
    assert _signed_in(client) and _sessions(app, tenant.staff_email)[0].last_seen_at == seen
    _age_sessions(app, tenant.staff_email, timedelta(seconds=31))
    assert _signed_in(client) and _sessions(app, tenant.staff_email)[0].last_seen_at > seen


# ---------------------------------------------------------------- item 9: login throttling that neither leaks nor locks out

class Clock:
    """The throttle's clock (the limits library stamps each counted failure with time.time())."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr("limits.storage.redis.time", fake)
    return fake


def _retry_minutes(response) -> int:
    found = re.search(r"あと約(\d+)分でもう一度お試しいただけます。", response.text)
    assert found, "no wait in words"
    return int(found.group(1))


def test_item9_five_failures_for_an_address_from_one_client_answer_429_with_retry_after_and_the_wait(app, tenant):
    client = _client(app)
    for _ in range(5):
        response = _post_login(client, tenant.staff_email, "wrong-password")
        assert response.status_code == 200 and WRONG in response.text
    refused = _post_login(client, tenant.staff_email, "password-123")  # even the right password waits
    assert refused.status_code == 429 and THROTTLED in refused.text
    assert 895 <= int(refused.headers["Retry-After"]) <= 900 and _retry_minutes(refused) == 15
    assert not _signed_in(client)


def test_item9_the_wait_runs_until_the_oldest_failure_leaves_the_15_minute_window(app, tenant, clock):
    client = _client(app)
    clock.offset = -10 * 60
    _post_login(client, tenant.staff_email, "wrong-password")  # ten minutes ago
    clock.offset = 0
    for _ in range(4):
        _post_login(client, tenant.staff_email, "wrong-password")
    refused = _post_login(client, tenant.staff_email, "password-123")
    assert refused.status_code == 429 and _retry_minutes(refused) == 5
    assert 295 <= int(refused.headers["Retry-After"]) <= 300
    clock.offset = 5 * 60 + 1  # the first failure has left the window
    assert _post_login(client, tenant.staff_email, "password-123").status_code == 302


def test_item9_only_failures_count_a_successful_login_never_does(app, tenant):
    client = _client(app)
    for _ in range(8):
        login(client, tenant.staff_email)
        client.post("/logout", data={"csrf_token": client.csrf})
    for _ in range(4):
        assert _post_login(client, tenant.staff_email, "wrong-password").status_code == 200
    login(client, tenant.staff_email)  # the fifth failure has not happened: still allowed


def test_item9_failures_from_elsewhere_never_keep_the_user_out(app, tenant):
    attacker = _client(app, "127.0.0.9")
    for _ in range(6):
        _post_login(attacker, tenant.admin_email, "guess")
    assert _post_login(attacker, tenant.admin_email, "password-123").status_code == 429
    login(_client(app, "127.0.0.2"), tenant.admin_email)  # the admin, at their own desk


def test_item9_fifty_failures_from_one_client_over_any_addresses_answer_429(app, tenant):
    client = _client(app, "127.0.0.9")
    for n in range(50):
        assert _post_login(client, f"guess{n}@example.com", "guess").status_code == 200
    refused = _post_login(client, tenant.staff_email, "password-123")
    assert refused.status_code == 429 and THROTTLED in refused.text and "Retry-After" in refused.headers
    login(_client(app, "127.0.0.2"), tenant.staff_email)


def test_item9_an_unknown_address_is_counted_checked_and_answered_as_a_known_one(app, tenant, monkeypatch):
    checked = []
    real = User.check_password
    monkeypatch.setattr(User, "check_password", lambda self, password: checked.append(self.email) or real(self, password))
    unknown, known = [], []
    for email, answers, address in (("nobody@example.com", unknown, "127.0.0.2"), (tenant.staff_email, known, "127.0.0.3")):
        client = _client(app, address)
        for _ in range(6):
            response = _post_login(client, email, "wrong-password")
            body = response.text.replace(csrf_token_from(response.text), "").replace(email, "")  # both aside
            answers.append((response.status_code, body, "Retry-After" in response.headers))
    assert [status for status, _, _ in unknown] == [200] * 5 + [429]
    assert unknown == known
    assert checked == [None] * 5 + [tenant.staff_email] * 5  # a password check each time (a decoy hash for no one)


def test_item9_the_wait_is_never_slept_in_the_request_thread(app, tenant, monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    client = _client(app)
    for _ in range(6):
        _post_login(client, tenant.staff_email, "wrong-password")
    assert slept == []


def test_item9_the_throttle_reads_in_english_too(app, tenant):
    client = _client(app)
    with client.session_transaction() as cookie:
        cookie["lang"] = "en"
    for _ in range(5):
        _post_login(client, tenant.staff_email, "wrong-password")
    refused = _post_login(client, tenant.staff_email, "wrong-password")
    assert refused.status_code == 429 and "You can try again in about 15 min." in refused.text


def test_item9_the_failures_are_counted_in_the_apps_redis(app, tenant):
    _post_login(_client(app), tenant.staff_email, "wrong-password")
    keys = redis_connection(app.config["REDIS_URL"]).keys("LIMITS*")
    assert keys and any(tenant.staff_email.encode() in key for key in keys)
    assert limiter_storage_uri("unix:///tmp/data/redis.socket") == "redis+unix:///tmp/data/redis.socket"
    assert limiter_storage_uri("redis://127.0.0.1:6379/14") == "redis://127.0.0.1:6379/14"
    assert limiter_storage_uri(None) == "memory://"


def test_item9_while_redis_is_down_logins_still_work_unthrottled(app, tenant, own_redis, database_url):
    from boss import create_app

    outage_app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
                             "REDIS_URL": own_redis.url, "PASSWORD_HASH_METHOD": app.config["PASSWORD_HASH_METHOD"]})
    own_redis.stop()
    client = outage_app.test_client()
    for _ in range(6):
        assert _post_login(client, tenant.staff_email, "wrong-password").status_code == 200
    login(client, tenant.staff_email)


# ---------------------------------------------------------------- item 10: next= only to a path on this site

@pytest.mark.parametrize("target", [
    "//evil.example/", "/\\evil.example", "/%09/evil.example", "/%0d/x", "/%0a/x", "https://evil.example/",
    "javascript:alert(1)", "/orders%5C..%5Cevil", "/%E2%80%8B/x", "", "orders",
])
def test_item10_a_next_address_that_is_not_a_path_on_this_site_is_ignored(app, tenant, target):
    response = _post_login(app.test_client(), tenant.staff_email, "password-123", next_path=target)
    assert response.status_code == 302 and response.headers["Location"] == "/orders"


def test_item10_a_next_path_with_its_query_is_followed(app, tenant):
    response = _post_login(app.test_client(), tenant.staff_email, "password-123", next_path="/orders%3Fstatus%3Dconfirmed")
    assert response.headers["Location"] == "/orders?status=confirmed"
