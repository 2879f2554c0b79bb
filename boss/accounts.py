"""Accounts, users and API tokens (used by the CLI, the demo data and the settings)."""
from __future__ import annotations

from sqlalchemy import select

from .errors import ServiceError
from .extensions import db
from .models import Account, ApiToken, User, hash_token, utcnow
from .orders.rules import Reason
from .orders.services import ensure_system_tags


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
