"""Accounts, users, their sessions and API tokens (used by the CLI, the demo data, the login and the settings)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from .errors import ServiceError, not_found, validation_error
from .extensions import db
from .models import ROLES, Account, ApiToken, User, UserSession, hash_token, utcnow
from .orders.actor import Actor
from .orders.frame import ensure_system_tags, owned, valid_id
from .reason import Reason
from .unit_of_work import unit_of_work


def get_or_create_account(name: str) -> Account:
    account = db.session.scalars(select(Account).where(Account.name == name)).first()
    if account is None:
        account = Account(name=name)
        db.session.add(account)
        db.session.flush()
        ensure_system_tags(account.id)
    return account


def normalise_email(email: str) -> str:
    """An address as users are stored and found: outer spaces off, lower case."""
    return email.strip().lower()


def create_user(email: str, password: str, account_name: str, admin: bool = False, name: str = "") -> User:
    email = normalise_email(email)
    with unit_of_work() as uow:
        if db.session.scalars(select(User).where(User.email == email)).first():
            raise ServiceError("already_exists", Reason(f"{email} は既に登録されています。", f"{email} exists already."))
        _check_new_password(password, "password")
        account = get_or_create_account(account_name)
        user = User(account_id=account.id, email=email, name=name or email.split("@")[0],
                    role="admin" if admin else "staff")
        user.set_password(password)
        db.session.add(user)
        uow.commit()
    return user


def create_token(user: User, name: str = "") -> str:
    """Make a token for the user; the token itself is returned once and only its hash is kept."""
    token = ApiToken.generate()
    with unit_of_work() as uow:
        db.session.add(ApiToken(user_id=user.id, name=name or "CLI", token_hash=hash_token(token), last4=token[-4:],
                                created_at=utcnow()))
        uow.commit()
    return token


def _check_new_password(password: str, field: str) -> None:
    if len(password) < 8:
        raise ServiceError("validation_error", Reason("パスワードは8文字以上にしてください。",
                                                      "The password must have at least 8 characters."),
                           {field: "8文字以上"})


def find_user(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == normalise_email(email))).first()


# ---------------------------------------------------------------- sessions (a signed-in browser each)

SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often: one write a minute, not a request
KEEP_ENDED = timedelta(days=30)  # a user's ended sessions are forgotten after this (at their next login)

REASON_WRONG_PASSWORD = Reason("現在のパスワードが正しくありません。", "The current password is not right.")
REASON_PASSWORDS_DIFFER = Reason("確認用のパスワードが新しいパスワードと一致しません。",
                                 "The confirmation does not match the new password.")
REASON_OTHERS_SESSIONS = Reason("他のユーザーのログインは管理者のみ終了できます。",
                                "Only an admin may sign another user out.")
REASON_OTHERS_PASSWORD = Reason("他のユーザーのパスワードは管理者のみ再設定できます。",
                                "Only an admin may reset another user's password.")
REASON_OWN_PASSWORD = Reason("自分のパスワードは「アカウント」のページで、現在のパスワードを入力して変更してください。",
                             "Change your own password on the Account page, with your current password.")


TOKEN_USE_NOTED_EVERY = timedelta(minutes=5)


def token_user(token: str) -> User | None:
    """The active user whose API token this is (not revoked), else None. The token's last use is noted at most
    every five minutes, so a busy integration does not write on every request."""
    if not token:
        return None
    record = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))  # one query, not two
                               .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)))
    if record is None or not record.user.is_active:
        return None
    if record.last_used_at is None or utcnow() - record.last_used_at > TOKEN_USE_NOTED_EVERY:
        with unit_of_work() as uow:
            record.last_used_at = utcnow()
            uow.commit(keep=(record, record.user))  # the request goes on with them: no second read
    return record.user


def _idle_limit() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_IDLE_HOURS"])


def start_session(user: User, user_agent: str = "") -> str:
    """A new session for a user who has just proved who they are; returns the token for the cookie."""
    with unit_of_work() as uow:
        token = _add_session(user.id, user_agent)
        uow.commit()
    return token


def _add_session(user_id: int, user_agent: str) -> str:
    now = utcnow()
    db.session.execute(delete(UserSession).where(
        UserSession.user_id == user_id,
        or_(UserSession.ended_at < now - KEEP_ENDED, UserSession.last_seen_at < now - KEEP_ENDED)))
    token = UserSession.generate()
    db.session.add(UserSession(id=hash_token(token), user_id=user_id, created_at=now, last_seen_at=now,
                               user_agent=(user_agent or "")[:255]))
    return token


def session_user(token: str | None, user_id) -> User | None:
    """The user of a browser's session when it is theirs, has not ended, is not idle for SESSION_IDLE_HOURS
    and the user is active; else None (the browser is signed out). Called once a request, before the view."""
    if not token:
        return None
    record = db.session.scalars(select(UserSession).where(UserSession.id == hash_token(token))
                                .options(joinedload(UserSession.user).joinedload(User.account))).first()
    if record is None or record.ended_at is not None or str(record.user_id) != str(user_id) or not record.user.active:
        return None
    now = utcnow()
    idle = now - record.last_seen_at > _idle_limit()
    if idle or now - record.last_seen_at >= SEEN_EVERY:
        with unit_of_work() as uow:
            if idle:
                record.ended_at = now
            else:
                record.last_seen_at = now
            uow.commit()
    return None if idle else record.user


def end_session(token: str | None) -> None:
    """Logout: this browser's session ends (a copy of its cookie no longer signs anyone in)."""
    if token:
        with unit_of_work() as uow:
            db.session.execute(update(UserSession).where(UserSession.id == hash_token(token),
                                                         UserSession.ended_at.is_(None)).values(ended_at=utcnow()))
            uow.commit()


def _end_all_sessions(user_id: int) -> None:
    """End every session of the user (no commit: part of the caller's unit of work)."""
    db.session.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))


def active_session_count(user_id: int) -> int:
    """The user's sessions that still sign a browser in (not ended, not idle)."""
    since = utcnow() - _idle_limit()
    return db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None), UserSession.last_seen_at >= since))


def _acting_admin(actor: Actor) -> bool:
    acting = db.session.get(User, actor.user_id) if actor.user_id else None
    return bool(acting and acting.is_admin)


def sign_out_everywhere(actor: Actor, user_id: int) -> User:
    """「すべての端末からログアウト」: every session of the user ends (oneself, or an admin for a user of the account)."""
    with unit_of_work() as uow:
        user = account_user(actor.account_id, user_id)
        if user.id != actor.user_id and not _acting_admin(actor):
            raise ServiceError("forbidden", REASON_OTHERS_SESSIONS)
        _end_all_sessions(user.id)
        uow.commit()
    return user


def change_password(actor: Actor, current: str, new: str, confirm: str, user_agent: str = "") -> str:
    """A user changes their own password: every session of theirs ends (a stolen cookie too), and the
    browser that changed it gets a new one, whose token is returned."""
    with unit_of_work() as uow:
        user = account_user(actor.account_id, actor.user_id)
        if not user.check_password(current):
            raise ServiceError("validation_error", REASON_WRONG_PASSWORD, {"current_password": REASON_WRONG_PASSWORD.ja})
        _set_new_password(user, new, confirm)
        token = _add_session(user.id, user_agent)
        uow.commit()
    return token


def reset_password(actor: Actor, user_id: int, new: str, confirm: str) -> User:
    """An admin sets another user's password (forgotten, or perhaps known to someone else): every session of that
    user ends, as on their own change; their API tokens stay (the tokens page revokes them). One's own password is
    changed with the current one (change_password)."""
    with unit_of_work() as uow:
        user = account_user(actor.account_id, user_id)
        if not _acting_admin(actor):
            raise ServiceError("forbidden", REASON_OTHERS_PASSWORD)
        if user.id == actor.user_id:
            raise ServiceError("invalid_transition", REASON_OWN_PASSWORD)
        _set_new_password(user, new, confirm)
        uow.commit()
    return user


def _set_new_password(user: User, new: str, confirm: str) -> None:
    """The password rule, then the new password; every session of the user ends (no commit: the caller's)."""
    _check_new_password(new, "new_password")
    if new != confirm:
        raise ServiceError("validation_error", REASON_PASSWORDS_DIFFER, {"confirm_password": REASON_PASSWORDS_DIFFER.ja})
    user.set_password(new)
    _end_all_sessions(user.id)


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
    return owned(User, account_id, user_id, "ユーザー", "User")


def account_token(account_id: int, token_id) -> ApiToken:
    token = db.session.get(ApiToken, token_id) if valid_id(token_id) else None
    if token is None or token.user.account_id != account_id:
        raise not_found("APIトークン", "API token")
    return token


def change_role(actor: Actor, user_id: int, role: str) -> User:
    if role not in ROLES:
        raise validation_error({"role": "管理者またはスタッフを選んでください"})
    with unit_of_work() as uow:
        user = account_user(actor.account_id, user_id)
        if user.id == actor.user_id and role != user.role:
            raise ServiceError("invalid_transition", REASON_SELF_ROLE)
        user.role = role
        uow.commit()
    return user


def set_active(actor: Actor, user_id: int, active: bool) -> User:
    """A deactivated user can no longer sign in (all their sessions end, for good: reactivating does not
    bring them back) and their tokens answer 401."""
    with unit_of_work() as uow:
        user = account_user(actor.account_id, user_id)
        if user.id == actor.user_id and not active:
            raise ServiceError("invalid_transition", REASON_SELF_DEACTIVATE)
        user.active = active
        if not active:
            _end_all_sessions(user.id)
        uow.commit()
    return user


def _may_act_on_tokens_of(actor: Actor, owner_id: int) -> bool:
    """A user manages their own tokens; an admin also those of the other users of the account."""
    return owner_id == actor.user_id or _acting_admin(actor)


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
        with unit_of_work() as uow:
            token.revoked_at = utcnow()
            uow.commit()
    return token
