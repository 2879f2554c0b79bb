"""ログイン / ログアウト: hashed passwords, a slow-down after failures, a temporary lock, and no hint of which
addresses have an account."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from boss.extensions import db
from boss.models import User, utcnow
from boss.web import auth
from tests.conftest import csrf_token_from, login

WRONG = "ログインに続けて失敗したため"  # the lock message begins so


def _post_login(client, email, password):
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)})


def _user(app, email) -> User:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        db.session.expunge(user)
        return user


@pytest.fixture
def waits(app, monkeypatch):
    """The waits the login asks for (no real sleeping in the suite), with its production step of 0.3 s."""
    asked = []
    monkeypatch.setitem(app.config, "LOGIN_DELAY_STEP", 0.3)
    monkeypatch.setattr(auth.time, "sleep", asked.append)
    return asked


def test_a_right_password_signs_in_and_goes_where_the_visitor_was_going(app, tenant):
    client = app.test_client()
    assert "/login" in client.get("/orders/search").headers["Location"]
    page = client.get("/login?next=/tags")
    response = client.post("/login?next=/tags", data={"email": tenant.staff_email, "password": "password-123",
                                                      "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302 and response.headers["Location"] == "/tags"
    assert client.get("/tags").status_code == 200


def test_a_next_address_outside_this_site_is_ignored(app, tenant):
    client = app.test_client()
    page = client.get("/login?next=//evil.example/")
    response = client.post("/login?next=//evil.example/", data={"email": tenant.staff_email, "password": "password-123",
                                                                "csrf_token": csrf_token_from(page.text)})
    assert response.headers["Location"].endswith("/orders")


def test_failures_in_a_row_are_slowed_down_more_each_time(app, tenant, waits):
    client = app.test_client()
    for _ in range(3):
        response = _post_login(client, tenant.staff_email, "wrong-password")
        assert response.status_code == 200 and "メールアドレスまたはパスワードが正しくありません。" in response.text
    assert waits == pytest.approx([0.3, 0.6, 0.9])
    assert _user(app, tenant.staff_email).failed_logins == 3
    login(client, tenant.staff_email)  # a success starts the count again
    assert _user(app, tenant.staff_email).failed_logins == 0


def test_five_failures_lock_the_user_even_against_the_right_password_until_the_lock_ends(app, tenant, waits):
    client = app.test_client()
    for _ in range(auth.LOCK_AFTER):
        _post_login(client, tenant.staff_email, "wrong-password")
    locked = _user(app, tenant.staff_email).locked_until
    assert locked is not None and timedelta(minutes=14) < locked - utcnow() <= timedelta(minutes=auth.LOCK_MINUTES)
    refused = _post_login(client, tenant.staff_email, "password-123")
    assert refused.status_code == 200 and WRONG in refused.text and "15分後" in refused.text
    assert client.get("/orders").status_code == 302  # still signed out
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == tenant.staff_email)).one()
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    login(client, tenant.staff_email)


def test_an_unknown_address_is_answered_as_a_wrong_password_after_the_same_check_and_wait(app, tenant, waits, monkeypatch):
    checked = []
    real = User.check_password
    monkeypatch.setattr(User, "check_password", lambda self, password: checked.append(self.email) or real(self, password))
    client = app.test_client()
    unknown = _post_login(client, "nobody@example.com", "password-123")
    known = _post_login(client, tenant.staff_email, "wrong-password")
    assert unknown.status_code == known.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありません。" in unknown.text
    assert len(checked) == 2  # a password check for the unknown address too (against a decoy hash)
    assert waits == pytest.approx([0.3, 0.3])


def test_a_deactivated_user_cannot_sign_in(app, tenant, waits):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == tenant.staff_email)).one()
        user.active = False
        db.session.commit()
    response = _post_login(app.test_client(), tenant.staff_email, "password-123")
    assert response.status_code == 200 and "メールアドレスまたはパスワードが正しくありません。" in response.text


def test_logout_needs_the_csrf_token_and_then_every_page_asks_for_a_login(app, tenant):
    client = login(app.test_client(), tenant.staff_email)
    assert client.post("/logout").status_code == 400
    assert client.get("/orders").status_code == 200
    assert client.post("/logout", data={"csrf_token": client.csrf}).status_code == 302
    assert "/login" in client.get("/orders").headers["Location"]


def test_passwords_are_stored_hashed(app, tenant):
    stored = _user(app, tenant.staff_email).password_hash
    assert "password-123" not in stored and stored.startswith("pbkdf2:")  # the suite's method (conftest)
