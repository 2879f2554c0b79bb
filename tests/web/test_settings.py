"""設定: ショップ, ユーザー, APIトークン — who may do what, R9's switch, R14, CSRF, field errors, escaping."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from boss.extensions import db
from boss.models import ApiToken, Shop, User
from boss.orders.models import Order
from boss.outbox import commit_and_dispatch
from tests.conftest import login
from tests.factories import set_rms_connection

HTMX = {"HX-Request": "true"}


def _post(client, path, data=None, htmx=False, csrf=True):
    data = {**({"csrf_token": client.csrf} if csrf else {}), **(data or {})}
    return client.post(path, data=data, headers=HTMX if htmx else {})


def _read(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _shop(app, shop_id: int) -> dict:
    def load():
        shop = db.session.get(Shop, shop_id)
        return {"name": shop.name, "mall": shop.mall, "auto_confirm": shop.auto_confirm,
                "reflect_cancel_to_rms": shop.reflect_cancel_to_rms}
    return _read(app, load)


def _user(app, email: str) -> User:
    def load():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        db.session.expunge(user)
        return user
    return _read(app, load)


def _count(app, model) -> int:
    return _read(app, lambda: db.session.scalar(select(func.count()).select_from(model)))


def _tokens(app, email: str) -> list[ApiToken]:
    def load():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        tokens = list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))
        for token in tokens:
            db.session.expunge(token)
        return tokens
    return _read(app, load)


def _connect_rms(app, shop_id: int, **fields) -> None:
    """What the Rakuten connection stores (encrypted secrets, key's last 4 and expiry), set directly."""
    def change():
        set_rms_connection(shop_id, secrets_enc={"service_secret": "enc-secret", "license_key": "enc-license"},
                           key_last4="7c2f", **fields)
        db.session.commit()
    _read(app, change)


def _mall_order(app, shop_id: int, number: str) -> int:
    """A mall-linked order as the mall import makes it (R7)."""
    from boss.orders import registration
    from boss.orders.actor import Actor
    from boss.orders.registration import NewOrder

    def make():
        shop = db.session.get(Shop, shop_id)
        new = NewOrder(shop_id=shop_id, mall_order_number=number, buyer={"name": "楽天 太郎"},
                       lines=[{"mall_item_id": "item-1", "name": "煎茶", "quantity": 1, "unit_price": 1200}])
        order = registration.build_order(shop, new, source="mall_import", mall_linked=True)
        registration.finish_registration(order, Actor.system(shop.account_id, "楽天RMS取込"), "imported", "テスト")
        commit_and_dispatch()
        return order.id
    return _read(app, make)


def _captured_reflect(app, order_id: int):
    return _read(app, lambda: db.session.get(Order, order_id).reflect_cancel_to_rms)


@pytest.fixture(params=["staff", "admin"])
def role(request):
    return request.param


@pytest.fixture
def user_client(app, tenant, role):
    return login(app.test_client(), tenant.admin_email if role == "admin" else tenant.staff_email)


# ---------------------------------------------------------------- pages

@pytest.mark.parametrize("path, fragment_id", [
    ("/settings", 'id="shops-section"'), ("/settings/users", 'id="users-section"'),
    ("/settings/tokens", 'id="tokens-section"'),
])
def test_each_settings_section_is_a_full_page_and_its_partial_for_htmx(user_client, path, fragment_id):
    page = user_client.get(path)
    fragment = user_client.get(path, headers=HTMX)
    assert page.status_code == fragment.status_code == 200
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.text and fragment_id in page.text and 'aria-current="page"' in page.text
    assert "<html" not in fragment.text and fragment_id in fragment.text


def test_every_page_answer_varies_on_hx_request_also_the_partials_only_htmx_asks_for_but_the_api_does_not(
        admin_client, app, tenant):
    answers = [admin_client.get("/settings/users"), admin_client.get("/mapping/products?q=a", headers=HTMX),
               _post(admin_client, f"/settings/shops/{tenant.shop_id}/import", htmx=True),
               _post(admin_client, "/settings/tokens", {"name": ""}, htmx=True)]
    for response in answers:
        assert "HX-Request" in response.headers["Vary"], response.request.path
    api = app.test_client().get("/api/v1/shops", headers=tenant.headers())
    assert api.status_code == 200 and "HX-Request" not in api.headers.get("Vary", "")


def test_settings_need_a_login(client):
    response = client.get("/settings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_shop_list_shows_mall_switches_and_the_rms_connection(user_client, app, tenant):
    _connect_rms(app, tenant.shop_id, key_expires_on=date.today() + timedelta(days=200))
    page = " ".join(user_client.get("/settings").text.split())
    assert "テスト商店の楽天店" in page and "楽天市場" in page
    assert "注文キャンセルをRMS注文情報へ反映" in page and "自動確認" in page
    assert "接続済み" in page and "••••7c2f" in page
    expiry = (date.today() + timedelta(days=200)).strftime("%Y/%m/%d")
    assert f"{expiry}まで" in page
    # the effect of the switch is explained on the page (R9) and so is 自動確認
    assert "変更は保存した時点から有効です。" in page
    assert "これまでのキャンセルが反映されたり、反映が取り消されたりすることはありません。" in page
    assert "手動で登録した注文（画面・CSV・API）は反映されません。" in page and "「モール反映エラー」" in page
    assert "保留タグ（出荷依頼を制限するタグ）が付いていない注文を、自動で「確認済」にします。" in page


def test_a_failing_rms_connection_and_a_license_key_near_its_expiry_are_shown(admin_client, app, tenant):
    _connect_rms(app, tenant.shop_id, error="ライセンスキーが無効です（401）",
                 key_expires_on=date.today() + timedelta(days=10))
    page = admin_client.get("/settings").text
    assert "接続エラー" in page and "ライセンスキーが無効です（401）" in page
    assert "残り" in page and "日</span>" in page


def test_staff_see_shops_and_users_read_only_with_a_note_admins_get_the_forms(user_client, role):
    shops = user_client.get("/settings").text
    users = user_client.get("/settings/users").text
    if role == "staff":
        assert "ショップの追加・設定の変更は管理者のみ行えます。" in shops
        assert "ユーザーの追加・権限の変更・無効化・パスワードの再設定は管理者のみ行えます。" in users
        assert 'action="/settings/shops"' not in shops and "/edit" not in shops
        assert 'action="/settings/users"' not in users and "/role" not in users and "/active" not in users
    else:
        assert "管理者のみ行えます" not in shops and "管理者のみ行えます" not in users
        assert 'action="/settings/shops"' in shops and "/edit" in shops
        assert 'action="/settings/users"' in users and "/role" in users and "/active" in users


# ---------------------------------------------------------------- admin-only actions

def _admin_actions(tenant, staff_id):
    return [
        ("create shop", "post", "/settings/shops", {"name": "新しい店", "mall": "yahoo"}),
        ("edit shop form", "get", f"/settings/shops/{tenant.shop_id}/edit", None),
        ("change shop", "post", f"/settings/shops/{tenant.shop_id}", {"name": "改名", "auto_confirm": "y",
                                                                       "reflect_cancel_to_rms": "y"}),
        ("add user", "post", "/settings/users", {"email": "new@example.com", "name": "新人", "password": "password-123",
                                                 "role": "admin"}),
        ("change role", "post", f"/settings/users/{staff_id}/role", {"role": "admin"}),
        ("deactivate", "post", f"/settings/users/{staff_id}/active", {"active": "0"}),
    ]


def _snapshot(app, tenant):
    staff = _user(app, tenant.staff_email)
    return (_shop(app, tenant.shop_id), _count(app, Shop), _count(app, User), staff.role, staff.active,
            _count(app, ApiToken))


@pytest.mark.parametrize("action", ["create shop", "edit shop form", "change shop", "add user", "change role",
                                    "deactivate"])
@pytest.mark.parametrize("htmx", [False, True])
def test_every_admin_only_action_by_staff_answers_403_and_changes_nothing(staff_client, app, tenant, action, htmx):
    staff_id = _user(app, tenant.staff_email).id
    _, method, path, data = next(a for a in _admin_actions(tenant, staff_id) if a[0] == action)
    before = _snapshot(app, tenant)
    if method == "get":
        response = staff_client.get(path, headers=HTMX if htmx else {})
    else:
        response = _post(staff_client, path, data, htmx=htmx)
    assert response.status_code == 403
    assert "この操作は管理者のみ行えます。" in response.text
    assert _snapshot(app, tenant) == before


def test_staff_cannot_make_a_token_for_someone_else(staff_client, app, tenant):
    admin_id = _user(app, tenant.admin_email).id
    before = _count(app, ApiToken)
    response = _post(staff_client, "/settings/tokens", {"name": "なりすまし", "user_id": str(admin_id)})
    assert response.status_code == 403 and _count(app, ApiToken) == before


@pytest.mark.parametrize("acting", ["tenant", "other_tenant"])
def test_r14_ids_of_another_account_answer_404_and_change_nothing(app, tenant, other_tenant, acting):
    me, them = (tenant, other_tenant) if acting == "tenant" else (other_tenant, tenant)
    admin = login(app.test_client(), me.admin_email)
    their_staff = _user(app, them.staff_email)
    their_token = _tokens(app, them.staff_email)[0]
    before = (_shop(app, them.shop_id), their_staff.role, their_staff.active, _count(app, ApiToken))
    assert admin.get(f"/settings/shops/{them.shop_id}/edit").status_code == 404
    assert _post(admin, f"/settings/shops/{them.shop_id}", {"name": "乗っ取り", "auto_confirm": "y"}).status_code == 404
    assert _post(admin, f"/settings/users/{their_staff.id}/role", {"role": "admin"}).status_code == 404
    assert _post(admin, f"/settings/users/{their_staff.id}/active", {"active": "0"}).status_code == 404
    assert _post(admin, f"/settings/tokens/{their_token.id}/revoke").status_code == 404
    assert _post(admin, "/settings/tokens", {"name": "よその", "user_id": str(their_staff.id)}).status_code == 404
    staff = login(app.test_client(), me.staff_email)
    assert _post(staff, f"/settings/tokens/{their_token.id}/revoke").status_code == 404
    after_staff = _user(app, them.staff_email)
    assert (_shop(app, them.shop_id), after_staff.role, after_staff.active, _count(app, ApiToken)) == before
    assert _tokens(app, them.staff_email)[0].revoked_at is None
    # and nothing of theirs is listed
    for path in ("/settings", "/settings/users", "/settings/tokens"):
        page = admin.get(path).text
        assert them.staff_email not in page and them.admin_email not in page
        assert _shop(app, them.shop_id)["name"] not in page


@pytest.mark.parametrize("path, data", [
    ("/settings/shops", {"name": "CSRFなし", "mall": "rakuten"}),
    ("/settings/shops/{shop_id}", {"name": "CSRFなし", "reflect_cancel_to_rms": "y"}),
    ("/settings/users", {"email": "csrf@example.com", "password": "password-123", "role": "staff"}),
    ("/settings/users/{staff_id}/role", {"role": "admin"}),
    ("/settings/users/{staff_id}/active", {"active": "0"}),
    ("/settings/tokens", {"name": "CSRFなし"}),
    ("/settings/tokens/{token_id}/revoke", {}),
])
def test_a_post_without_the_csrf_token_is_refused_with_400_and_changes_nothing(admin_client, app, tenant, path, data):
    staff = _user(app, tenant.staff_email)
    path = path.format(shop_id=tenant.shop_id, staff_id=staff.id, token_id=_tokens(app, tenant.staff_email)[0].id)
    before = _snapshot(app, tenant), _tokens(app, tenant.staff_email)[0].revoked_at
    response = _post(admin_client, path, data, csrf=False)
    assert response.status_code == 400
    assert (_snapshot(app, tenant), _tokens(app, tenant.staff_email)[0].revoked_at) == before


# ---------------------------------------------------------------- ショップ

def test_an_admin_adds_a_shop_with_a_mall(admin_client, client, app, tenant):
    form = admin_client.get("/settings").text
    for label in ("楽天市場", "Yahoo!ショッピング", "Amazon", "MakeShop", "Qoo10", "Shopify", "その他"):
        assert f">{label}</option>" in form
    response = _post(admin_client, "/settings/shops", {"name": " 本店Yahoo ", "mall": "yahoo"})
    assert response.status_code == 303
    page = admin_client.get(response.headers["Location"]).text
    assert "ショップ「本店Yahoo」を追加しました。" in page
    shops = client.get("/api/v1/shops", headers=tenant.headers()).json["items"]
    added = next(s for s in shops if s["name"] == "本店Yahoo")
    assert added["mall"] == "yahoo" and added["auto_confirm"] is False and added["reflect_cancel_to_rms"] is False


@pytest.mark.parametrize("data, error", [
    ({"name": "", "mall": "rakuten"}, "ショップ名を入力してください。"),
    ({"name": "x" * 121, "mall": "rakuten"}, "120文字以内で入力してください。"),
    ({"name": "新店", "mall": "ebay"}, "モールを選んでください。"),
    ({"name": "テスト商店の楽天店", "mall": "rakuten"}, "ショップ「テスト商店の楽天店」は既にあります。"),
])
def test_a_new_shop_with_bad_input_shows_the_field_error_and_creates_nothing(admin_client, app, data, error):
    before = _count(app, Shop)
    response = _post(admin_client, "/settings/shops", data)
    assert response.status_code == 422
    assert f'<span class="field-error">{error}</span>' in response.text
    assert 'aria-invalid="true"' in response.text
    assert _count(app, Shop) == before


def test_the_edit_form_is_a_dialog_for_htmx_and_a_page_without(admin_client, tenant):
    dialog = admin_client.get(f"/settings/shops/{tenant.shop_id}/edit", headers=HTMX).text
    assert "<html" not in dialog and 'id="dialog-title"' in dialog and f'hx-target="#shop-{tenant.shop_id}"' in dialog
    assert 'name="reflect_cancel_to_rms"' in dialog and 'aria-describedby="help-reflect"' in dialog
    assert "このショップは楽天RMSにAPIで接続されていないため、オンにしても今は反映されません。" in dialog
    page = admin_client.get(f"/settings/shops/{tenant.shop_id}/edit").text
    assert "<html" in page and "hx-post" not in page.split('class="dialog-body')[1].split(">")[0]


def test_an_admin_changes_a_shop_inline_and_gets_its_row_and_a_message(admin_client, app, tenant):
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}",
                     {"name": "改名した楽天店", "auto_confirm": "y"}, htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="shop-{tenant.shop_id}"')
    assert "ショップ「改名した楽天店」の設定を保存しました。" in response.text and 'hx-swap-oob="true"' in response.text
    assert _shop(app, tenant.shop_id) == {"name": "改名した楽天店", "mall": "rakuten", "auto_confirm": True,
                                          "reflect_cancel_to_rms": False}


def test_a_shop_change_with_bad_input_shows_the_errors_in_the_dialog_and_changes_nothing(admin_client, app, tenant):
    before = _shop(app, tenant.shop_id)
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}",
                     {"name": "  ", "auto_confirm": "y", "reflect_cancel_to_rms": "y"}, htmx=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#dialog"
    assert "ショップ名を入力してください。" in response.text and 'name="reflect_cancel_to_rms"' in response.text
    assert _shop(app, tenant.shop_id) == before
    plain = _post(admin_client, f"/settings/shops/{tenant.shop_id}", {"name": ""})
    assert plain.status_code == 422 and "<html" in plain.text and "ショップ名を入力してください。" in plain.text
    assert _shop(app, tenant.shop_id) == before


def test_renaming_a_shop_to_the_name_of_another_is_refused(admin_client, app, tenant):
    _post(admin_client, "/settings/shops", {"name": "二号店", "mall": "amazon"})
    response = _post(admin_client, f"/settings/shops/{tenant.shop_id}", {"name": "二号店"}, htmx=True)
    assert response.status_code == 409 and "ショップ「二号店」は既にあります。" in response.text
    assert _shop(app, tenant.shop_id)["name"] == "テスト商店の楽天店"


def test_r9_the_reflect_switch_takes_effect_for_the_next_cancel_at_once_and_never_for_earlier_ones(
        admin_client, staff_client, app, tenant):
    _connect_rms(app, tenant.shop_id)
    shop_path = f"/settings/shops/{tenant.shop_id}"
    assert _post(admin_client, shop_path, {"name": "テスト商店の楽天店", "reflect_cancel_to_rms": "y"}).status_code == 303
    earlier = _mall_order(app, tenant.shop_id, "R9-EARLIER")
    assert _post(staff_client, f"/orders/{earlier}/cancel", {}).status_code == 303
    assert _captured_reflect(app, earlier) is True

    response = _post(admin_client, shop_path, {"name": "テスト商店の楽天店"}, htmx=True)
    assert "次のキャンセルから楽天RMSへは反映しません。" in response.text
    assert "これまでのキャンセルは変わりません。" in response.text
    assert _shop(app, tenant.shop_id)["reflect_cancel_to_rms"] is False
    assert _captured_reflect(app, earlier) is True  # turning it off never un-reflects an earlier cancel

    nxt = _mall_order(app, tenant.shop_id, "R9-NEXT")  # no waiting: the very next cancel sees the new value
    assert "楽天RMSには反映しません" in staff_client.get(f"/orders/{nxt}/cancel", headers=HTMX).text
    assert _post(staff_client, f"/orders/{nxt}/cancel", {}).status_code == 303
    assert _captured_reflect(app, nxt) is False

    _post(admin_client, shop_path, {"name": "テスト商店の楽天店", "reflect_cancel_to_rms": "y"})
    assert _captured_reflect(app, nxt) is False  # turning it on never reflects an earlier cancel
    third = _mall_order(app, tenant.shop_id, "R9-THIRD")
    assert "楽天RMSにもキャンセルを反映します。" in staff_client.get(f"/orders/{third}/cancel", headers=HTMX).text
    _post(staff_client, f"/orders/{third}/cancel", {})
    assert _captured_reflect(app, third) is True


def test_r9_the_switch_is_only_offered_for_rakuten_shops_and_left_alone_for_others(admin_client, app):
    _post(admin_client, "/settings/shops", {"name": "Qoo10店", "mall": "qoo10"})
    shop_id = _read(app, lambda: db.session.scalars(select(Shop.id).where(Shop.name == "Qoo10店")).one())
    dialog = admin_client.get(f"/settings/shops/{shop_id}/edit", headers=HTMX).text
    assert 'name="reflect_cancel_to_rms"' not in dialog
    _post(admin_client, f"/settings/shops/{shop_id}", {"name": "Qoo10店", "reflect_cancel_to_rms": "y"}, htmx=True)
    assert _shop(app, shop_id)["reflect_cancel_to_rms"] is False
    assert "—（楽天市場のショップのみ）" in admin_client.get("/settings").text


# ---------------------------------------------------------------- ユーザー

def test_the_user_list_shows_name_email_role_and_state(user_client, app, tenant):
    def add_a_deactivated_user():
        from boss.accounts import create_user
        account_name = db.session.scalars(select(User).where(User.email == tenant.staff_email)).one().account.name
        create_user("former@example.com", "password-123", account_name).active = False
        db.session.commit()
    _read(app, add_a_deactivated_user)
    page = user_client.get("/settings/users").text
    assert tenant.admin_email in page and tenant.staff_email in page and "former@example.com" in page
    assert ">管理者</span>" in page and ">スタッフ</span>" in page
    assert ">無効</span>" in page and ">有効</span>" in page


def test_an_admin_adds_a_user_who_can_then_sign_in(admin_client, app):
    response = _post(admin_client, "/settings/users", {"email": " New.Staff@Example.com ", "name": "新人 花子",
                                                       "password": "long-enough", "role": "staff"})
    assert response.status_code == 303
    page = admin_client.get(response.headers["Location"]).text
    assert "ユーザー「新人 花子」（new.staff@example.com）を追加しました。" in page
    assert _user(app, "new.staff@example.com").role == "staff"
    newcomer = login(app.test_client(), "new.staff@example.com", "long-enough")
    assert "新人 花子" in newcomer.get("/settings/users").text


def test_an_added_user_joins_the_admins_account(admin_client, app, tenant):
    _post(admin_client, "/settings/users", {"email": "boss2@example.com", "password": "password-123", "role": "admin"})
    user = _user(app, "boss2@example.com")
    assert user.account_id == tenant.account_id and user.role == "admin" and user.name == "boss2"


@pytest.mark.parametrize("data, error", [
    ({"email": "", "password": "password-123"}, "メールアドレスを入力してください。"),
    ({"email": "not-an-email", "password": "password-123"}, "メールアドレスの形式で入力してください。"),
    ({"email": "short@example.com", "password": "1234567"}, "パスワードは8文字以上（200文字以内）にしてください。"),
    ({"email": "role@example.com", "password": "password-123", "role": "owner"}, "管理者またはスタッフを選んでください。"),
    ({"email": "{staff}", "password": "password-123"}, "は既に登録されています。"),
])
def test_a_new_user_with_bad_input_shows_the_field_error_and_adds_nobody(admin_client, app, tenant, data, error):
    data = {"role": "staff", **data, "email": data["email"].replace("{staff}", tenant.staff_email)}
    before = _count(app, User)
    response = _post(admin_client, "/settings/users", data)
    assert response.status_code == 422 and error in response.text
    assert 'class="field-error"' in response.text and 'type="password" name="password"' in response.text
    assert 'value="password-123"' not in response.text  # a password is never sent back
    assert _count(app, User) == before


def test_an_admin_changes_a_role_and_it_applies_at_the_next_request(admin_client, staff_client, app, tenant):
    staff = _user(app, tenant.staff_email)
    assert 'action="/settings/shops"' not in staff_client.get("/settings").text
    response = _post(admin_client, f"/settings/users/{staff.id}/role", {"role": "admin"}, htmx=True)
    assert response.status_code == 200 and response.text.lstrip().startswith(f'<tr id="user-{staff.id}"')
    assert f"{staff.name}さんの権限を「管理者」に変更しました。" in response.text
    assert _user(app, tenant.staff_email).role == "admin"
    assert 'action="/settings/shops"' in staff_client.get("/settings").text


def test_a_deactivated_user_is_signed_out_and_their_tokens_answer_401_until_reactivated(
        admin_client, staff_client, client, app, tenant):
    staff = _user(app, tenant.staff_email)
    response = _post(admin_client, f"/settings/users/{staff.id}/active", {"active": "0"}, htmx=True)
    assert response.status_code == 200 and ">無効</span>" in response.text and "有効に戻す" in response.text
    assert staff_client.get("/settings").status_code == 302
    assert client.get("/api/v1/shops", headers=tenant.headers("staff")).status_code == 401
    assert _post(admin_client, f"/settings/users/{staff.id}/active", {"active": "1"}).status_code == 303
    assert client.get("/api/v1/shops", headers=tenant.headers("staff")).status_code == 200
    assert _user(app, tenant.staff_email).active is True


@pytest.mark.parametrize("path, data", [("role", {"role": "staff"}), ("active", {"active": "0"})])
def test_an_admin_cannot_demote_or_deactivate_themselves_and_is_told_why(admin_client, app, tenant, path, data):
    me = _user(app, tenant.admin_email)
    response = _post(admin_client, f"/settings/users/{me.id}/{path}", data, htmx=True)
    assert response.status_code == 409
    assert "管理者がいなくなり設定を変更できなくなるのを防ぐため、別の管理者に依頼してください。" in response.text
    after = _user(app, tenant.admin_email)
    assert after.role == "admin" and after.active is True
    page = admin_client.get("/settings/users").text
    row = page.split(f'id="user-{me.id}"')[1].split("</tr>")[0]
    assert "disabled" in row and 'aria-describedby="self-why"' in row and "<form" not in row
    assert "管理者がいなくなり、ショップやユーザーの設定を誰も変更できなくなるのを防ぐためです。" in page


# ---------------------------------------------------------------- APIトークン

def test_a_new_token_is_shown_once_and_works_against_the_api(user_client, client, app, tenant, role):
    email = tenant.admin_email if role == "admin" else tenant.staff_email
    response = _post(user_client, "/settings/tokens", {"name": "倉庫連携"})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    token = response.text.split('id="new-token-value" type="text" readonly value="')[1].split('"')[0]
    assert token.startswith("boss_")
    assert "このトークンが表示されるのは今回だけです。" in response.text and "コピー" in response.text
    answer = client.get("/api/v1/shops", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json["items"][0]["id"] == tenant.shop_id
    listing = user_client.get("/settings/tokens").text
    assert token not in listing and "倉庫連携" in listing and f"…{token[-4:]}" in listing
    created = next(t for t in _tokens(app, email) if t.name == "倉庫連携")
    assert created.last_used_at is not None  # the list's 最終使用 shows the call
    row = listing.split(f'id="token-{created.id}"')[1].split("</tr>")[0]
    assert "未使用" not in row


def test_a_new_token_over_htmx_replaces_the_section_and_shows_the_token_there(user_client):
    response = user_client.post("/settings/tokens", data={"name": "スクリプト", "csrf_token": user_client.csrf},
                                headers=HTMX)
    assert response.status_code == 201 and "<html" not in response.text
    assert response.text.lstrip().startswith('<section id="tokens-section"') and 'id="new-token-value"' in response.text


@pytest.mark.parametrize("name, error", [("", "用途がわかる名前を入力してください。"), ("x" * 121, "120文字以内で入力してください。")])
def test_a_token_without_a_proper_name_is_refused_with_the_field_error(user_client, app, name, error):
    before = _count(app, ApiToken)
    response = _post(user_client, "/settings/tokens", {"name": name})
    assert response.status_code == 422 and error in response.text and 'id="new-token-value"' not in response.text
    assert _count(app, ApiToken) == before


def test_a_revoked_token_answers_401(user_client, client, app, tenant, role):
    email = tenant.admin_email if role == "admin" else tenant.staff_email
    token = _tokens(app, email)[0]
    headers = tenant.headers(role)
    assert client.get("/api/v1/shops", headers=headers).status_code == 200
    response = _post(user_client, f"/settings/tokens/{token.id}/revoke", htmx=True)
    assert response.status_code == 200 and ">失効</span>" in response.text
    assert f"（末尾 {token.last4}）を失効させました。" in response.text
    assert client.get("/api/v1/shops", headers=headers).status_code == 401
    assert _tokens(app, email)[0].revoked_at is not None
    again = _post(user_client, f"/settings/tokens/{token.id}/revoke")  # a second revoke changes nothing
    assert again.status_code == 303


def test_staff_see_only_their_own_tokens_and_cannot_revoke_someone_elses(staff_client, client, app, tenant):
    admin_token = _tokens(app, tenant.admin_email)[0]
    page = staff_client.get("/settings/tokens").text
    assert f'id="token-{admin_token.id}"' not in page and "他のユーザーのAPIトークン" not in page
    assert 'name="user_id"' not in page
    response = _post(staff_client, f"/settings/tokens/{admin_token.id}/revoke")
    assert response.status_code == 403
    assert _tokens(app, tenant.admin_email)[0].revoked_at is None
    assert client.get("/api/v1/shops", headers=tenant.headers("admin")).status_code == 200


def test_an_admin_sees_revokes_and_makes_other_users_tokens(admin_client, client, app, tenant):
    staff = _user(app, tenant.staff_email)
    staff_token = _tokens(app, tenant.staff_email)[0]
    page = admin_client.get("/settings/tokens").text
    assert "アカウントの他のユーザーのAPIトークン" in page and f'id="token-{staff_token.id}"' in page
    assert _post(admin_client, f"/settings/tokens/{staff_token.id}/revoke", htmx=True).status_code == 200
    assert client.get("/api/v1/shops", headers=tenant.headers("staff")).status_code == 401

    response = _post(admin_client, "/settings/tokens", {"name": "スタッフ用", "user_id": str(staff.id)})
    assert response.status_code == 201 and f"{staff.name}さんのトークン「スタッフ用」です。" in response.text
    token = response.text.split('id="new-token-value" type="text" readonly value="')[1].split('"')[0]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/shops", headers=headers).status_code == 200
    # the token acts with its user's role: a staff token may not create shops
    assert client.post("/api/v1/shops", json={"name": "x", "mall": "other"}, headers=headers).status_code == 403
    assert [t.name for t in _tokens(app, tenant.staff_email)] == ["CLI", "スタッフ用"]


def test_no_token_is_made_for_a_deactivated_user(admin_client, app, tenant):
    staff = _user(app, tenant.staff_email)
    _post(admin_client, f"/settings/users/{staff.id}/active", {"active": "0"})
    before = _count(app, ApiToken)
    response = _post(admin_client, "/settings/tokens", {"name": "無効な人", "user_id": str(staff.id)})
    assert response.status_code == 422 and "無効なユーザーのトークンは作成できません。" in response.text
    assert _count(app, ApiToken) == before


# ---------------------------------------------------------------- escaping

def test_names_with_markup_stay_text_on_every_settings_page(admin_client, app, tenant):
    evil = "<script>alert(1)</script>"
    _post(admin_client, "/settings/shops", {"name": evil, "mall": "rakuten"})
    _post(admin_client, "/settings/users", {"email": "evil@example.com", "name": evil, "password": "password-123",
                                            "role": "staff"})
    _post(admin_client, "/settings/tokens", {"name": evil})
    _connect_rms(app, tenant.shop_id, error=evil)
    for path in ("/settings", "/settings/users", "/settings/tokens"):
        page = admin_client.get(path).text
        assert evil not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
    shop_id = _read(app, lambda: db.session.scalars(select(Shop.id).where(Shop.name == evil)).one())
    assert evil not in admin_client.get(f"/settings/shops/{shop_id}/edit", headers=HTMX).text
    renamed = _post(admin_client, f"/settings/shops/{shop_id}", {"name": evil + "!"}, htmx=True).text
    assert evil not in renamed and "&lt;script&gt;" in renamed

