"""設定: ショップ, ユーザー and APIトークン of the signed-in user's account, one module a topic on one blueprint.

Everyone sees the account's shops and users; only admins change them (api.md: admin may create and
change shops, users and other users' tokens). Every user manages their own API tokens. Objects are
looked up through the account, so another account's id answers 404 (R14).
"""
from . import shops, tokens, users, warehouse  # each registers its views on bp
from .base import bp

__all__ = ["bp", "shops", "tokens", "users", "warehouse"]
