"""Accounts, users and API tokens (used by the CLI, the demo data and the settings)."""
from __future__ import annotations

from sqlalchemy import select

from .errors import ServiceError, not_found, validation_error
from .extensions import db
from .models import ROLES, Account, ApiToken, User, hash_token, utcnow
from .orders.rules import Reason
from .orders.services import Actor, ensure_system_tags, valid_id


def get_or_create_account(name: str) -> Account:
    account = db.session.scalars(select(Account).where(Account.name == name)).first()
    if account is None:
        account = Account(name=name)
        db.session.add(account)
        db.session.flush()
        ensure_system_tags(account.id)
    return account


def create_user(email: str, password: str, account_name: str, admin: bool = False, name: str = "") -> User:
    email = email.strip().lower()
    if db.session.scalars(select(User).where(User.email == email)).first():
        raise ServiceError("already_exists", Reason(f"{email} は既に登録されています。", f"{email} exists already."))
    if len(password) < 8:
        raise ServiceError("validation_error", Reason("パスワードは8文字以上にしてください。",
                                                      "The password must have at least 8 characters."),
                           {"password": "8文字以上"})
    account = get_or_create_account(account_name)
    user = User(account_id=account.id, email=email, name=name or email.split("@")[0],
                role="admin" if admin else "staff")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def create_token(user: User, name: str = "") -> str:
    """Make a token for the user; the token itself is returned once and only its hash is kept."""
    token = ApiToken.generate()
    db.session.add(ApiToken(user_id=user.id, name=name or "CLI", token_hash=hash_token(token), last4=token[-4:],
                            created_at=utcnow()))
    db.session.commit()
    return token


def find_user(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == email.strip().lower())).first()


# ---------------------------------------------------------------- settings: users and tokens

# An admin may not demote or deactivate themselves: the acting admin always stays, so the account
# never ends up without anyone who can manage its shops, users and tokens.
REASON_SELF_ROLE = Reason(
    "自分自身の権限は変更できません。管理者がいなくなり設定を変更できなくなるのを防ぐため、別の管理者に依頼してください。",
    "You cannot change your own role: ask another admin, so the account is never left without an admin.")
REASON_SELF_DEACTIVATE = Reason(
    "自分自身を無効にすることはできません。管理者がいなくなり設定を変更できなくなるのを防ぐため、別の管理者に依頼してください。",
    "You cannot deactivate yourself: ask another admin, so the account is never left without an admin.")
REASON_OTHERS_TOKEN = Reason("他のユーザーのAPIトークンは管理者のみ操作できます。",
                             "Only an admin may act on another user's API token.")
REASON_INACTIVE_OWNER = Reason("無効なユーザーのトークンは作成できません。先にユーザーを有効に戻してください。",
                               "No token can be made for a deactivated user: reactivate the user first.")


def account_user(account_id: int, user_id) -> User:
    """A user of the account; another account's user is not found (R14)."""
    user = db.session.get(User, user_id) if valid_id(user_id) else None
    if user is None or user.account_id != account_id:
        raise not_found("ユーザー", "User")
    return user


def account_token(account_id: int, token_id) -> ApiToken:
    token = db.session.get(ApiToken, token_id) if valid_id(token_id) else None
    if token is None or token.user.account_id != account_id:
        raise not_found("APIトークン", "API token")
    return token


def change_role(actor: Actor, user_id: int, role: str) -> User:
    if role not in ROLES:
        raise validation_error({"role": "管理者またはスタッフを選んでください"})
    user = account_user(actor.account_id, user_id)
    if user.id == actor.user_id and role != user.role:
        raise ServiceError("invalid_transition", REASON_SELF_ROLE)
    user.role = role
    db.session.commit()
    return user


def set_active(actor: Actor, user_id: int, active: bool) -> User:
    """A deactivated user can no longer sign in (their session ends) and their tokens answer 401."""
    user = account_user(actor.account_id, user_id)
    if user.id == actor.user_id and not active:
        raise ServiceError("invalid_transition", REASON_SELF_DEACTIVATE)
    user.active = active
    db.session.commit()
    return user


def _may_act_on_tokens_of(actor: Actor, owner_id: int) -> bool:
    """A user manages their own tokens; an admin also those of the other users of the account."""
    if owner_id == actor.user_id:
        return True
    acting = db.session.get(User, actor.user_id) if actor.user_id else None
    return bool(acting and acting.is_admin)


def create_token_for(actor: Actor, user_id: int, name: str) -> tuple[ApiToken, str]:
    """The settings page's token: for oneself, or (an admin) for another active user of the account."""
    owner = account_user(actor.account_id, user_id)
    if not _may_act_on_tokens_of(actor, owner.id):
        raise ServiceError("forbidden", REASON_OTHERS_TOKEN)
    if not owner.active:
        raise ServiceError("invalid_transition", REASON_INACTIVE_OWNER)
    token = create_token(owner, name)
    return db.session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one(), token


def revoke_token(actor: Actor, token_id: int) -> ApiToken:
    """Revoke at once (the next request with it answers 401). Revoking twice changes nothing."""
    token = account_token(actor.account_id, token_id)
    if not _may_act_on_tokens_of(actor, token.user_id):
        raise ServiceError("forbidden", REASON_OTHERS_TOKEN)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token
