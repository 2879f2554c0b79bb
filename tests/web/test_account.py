"""アカウント (issue 18 item 8): the user menu leads to one's own page; a password change there ends every other session
and keeps this browser signed in (accounts.change_password); wrong current passwords are throttled as logins are;
an admin resets another user's password from 設定 › ユーザー, which ends that user's sessions."""
from __future__ import annotations

import re

import pytest

from tests.conftest import login
from tests.web.test_auth import _client, _post_login, _signed_in, _user

HTMX = {"HX-Request": "true"}
NEW = {"new_password": "a-new-password", "confirm_password": "a-new-password"}


def test_the_user_menu_leads_to_the_account_page_with_who_i_am(staff_client, tenant):
    page = staff_client.get("/orders").text
    menu = page.split('<nav class="user-menu"')[1].split("</nav>")[0]
    assert '<a href="/account">アカウント</a>' in menu
    account = " ".join(staff_client.get("/account").text.split())
    assert "<h1>アカウント</h1>" in account and tenant.staff_email in account and "スタッフ" in account
    assert "パスワードの変更" in account and "すべての端末からログアウト" in account


def test_the_users_page_points_to_the_account_page_for_ones_own_password(staff_client):
    page = staff_client.get("/settings/users").text
    assert 'href="/account"' in page and 'name="current_password"' not in page


def test_a_password_change_on_the_account_page_keeps_this_browser_and_ends_the_others(app, tenant):
    me = login(_client(app), tenant.staff_email)
    elsewhere = login(_client(app, "127.0.0.3"), tenant.staff_email)
    response = me.post("/account/password", data={"csrf_token": me.csrf, "current_password": "password-123", **NEW})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    assert "パスワードを変更しました。ほかの端末のログインはすべて終了しました。" in me.get("/account").text
    assert _signed_in(me) and not _signed_in(elsewhere)


def test_the_password_form_needs_the_csrf_token(app, tenant):
    me = login(app.test_client(), tenant.staff_email)
    before = _user(app, tenant.staff_email).password_hash
    assert me.post("/account/password", data={"current_password": "password-123", **NEW}).status_code == 400
    assert _user(app, tenant.staff_email).password_hash == before


def test_wrong_current_passwords_are_throttled_as_logins_are_and_a_right_one_is_not_counted(app, tenant):
    me = login(_client(app), tenant.staff_email)
    data = {"csrf_token": me.csrf, "current_password": "not-mine", **NEW}
    for _ in range(app.config["LOGIN_FAILURES_PER_ADDRESS"]):
        assert me.post("/account/password", data=data).status_code == 422
    refused = me.post("/account/password", data={**data, "current_password": "password-123"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 900
    assert "現在のパスワードを続けて間違えたため、パスワードの変更を一時的に受け付けません。" in refused.text
    assert re.search(r"あと約\d+分", refused.text) and 'name="current_password"' in refused.text
    assert _signed_in(me)
    assert _user(app, tenant.staff_email).check_password("password-123")
    # The login of the same user from elsewhere is not held by it.
    assert _post_login(_client(app, "127.0.0.9"), tenant.staff_email, "password-123").status_code == 302


def test_a_refused_change_never_counts_when_the_current_password_was_right(app, tenant):
    me = login(_client(app), tenant.staff_email)
    for _ in range(app.config["LOGIN_FAILURES_PER_ADDRESS"] + 1):
        short = me.post("/account/password", data={"csrf_token": me.csrf, "current_password": "password-123",
                                                   "new_password": "short", "confirm_password": "short"})
        assert short.status_code == 422


# ---------------------------------------------------------------- an admin resets another user's password

def test_an_admin_resets_a_users_password_from_their_row_and_their_sessions_end(admin_client, staff_client, app, tenant):
    staff = _user(app, tenant.staff_email)
    page = admin_client.get("/settings/users").text
    row = page.split(f'id="user-{staff.id}"')[1].split("</tr>")[0]
    assert f'hx-get="/settings/users/{staff.id}/password"' in row and "パスワード再設定" in row
    dialog = " ".join(admin_client.get(f"/settings/users/{staff.id}/password", headers=HTMX).text.split())
    assert "パスワードの再設定" in dialog and tenant.staff_email in dialog and "ログインはすべて終了します" in dialog
    assert 'data-close-dialog autofocus' in dialog and "data-success-closes-dialog" in dialog

    response = admin_client.post(f"/settings/users/{staff.id}/password", data={"csrf_token": admin_client.csrf, **NEW},
                                 headers=HTMX)

    assert response.status_code == 200 and response.text.lstrip().startswith(f'<tr id="user-{staff.id}"')
    assert f"{staff.name}さんのパスワードを再設定しました。" in response.text
    assert not _signed_in(staff_client) and _signed_in(admin_client)
    assert _post_login(app.test_client(), tenant.staff_email, "password-123").status_code == 200
    login(app.test_client(), tenant.staff_email, "a-new-password")


@pytest.mark.parametrize("fields, error", [
    ({"confirm_password": "something-else"}, "確認用のパスワードが新しいパスワードと一致しません。"),
    ({"new_password": "short", "confirm_password": "short"}, "パスワードは8文字以上（200文字以内）にしてください。"),
])
def test_a_refused_reset_says_why_in_the_dialog_and_changes_nothing(admin_client, staff_client, app, tenant, fields, error):
    staff = _user(app, tenant.staff_email)
    response = admin_client.post(f"/settings/users/{staff.id}/password",
                                 data={"csrf_token": admin_client.csrf, **NEW, **fields}, headers=HTMX)
    assert response.status_code == 422 and error in response.text
    assert response.headers["HX-Retarget"] == "#dialog" and "a-new-password" not in response.text
    assert _user(app, tenant.staff_email).password_hash == staff.password_hash and _signed_in(staff_client)


def test_an_admin_changes_their_own_password_on_the_account_page_not_by_a_reset(admin_client, app, tenant):
    admin = _user(app, tenant.admin_email)
    response = admin_client.post(f"/settings/users/{admin.id}/password", data={"csrf_token": admin_client.csrf, **NEW},
                                 headers=HTMX)
    assert response.status_code == 422 and "「アカウント」のページで" in response.text
    assert _user(app, tenant.admin_email).password_hash == admin.password_hash


def test_staff_cannot_reset_a_password_and_another_accounts_user_is_not_found(
        staff_client, admin_client, app, tenant, other_tenant):
    admin = _user(app, tenant.admin_email)
    assert staff_client.post(f"/settings/users/{admin.id}/password",
                             data={"csrf_token": staff_client.csrf, **NEW}).status_code == 403
    assert staff_client.get(f"/settings/users/{admin.id}/password").status_code == 403
    assert _user(app, tenant.admin_email).password_hash == admin.password_hash
    stranger = _user(app, other_tenant.staff_email)
    assert admin_client.post(f"/settings/users/{stranger.id}/password",
                             data={"csrf_token": admin_client.csrf, **NEW}).status_code == 404


def test_without_htmx_the_reset_is_a_page_and_answers_with_a_redirect(admin_client, app, tenant):
    staff = _user(app, tenant.staff_email)
    page = admin_client.get(f"/settings/users/{staff.id}/password").text
    assert "<h1>設定</h1>" in page and "パスワードの再設定" in page
    response = admin_client.post(f"/settings/users/{staff.id}/password", data={"csrf_token": admin_client.csrf, **NEW})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/settings/users#user-{staff.id}")
