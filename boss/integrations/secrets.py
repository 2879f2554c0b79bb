"""Credentials of an integration (an API key, a license key) for the database: encrypted with a key derived
from SECRET_KEY, never shown back but as their last characters."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

HINT_LENGTH = 4


def _fernet(app_secret_key) -> Fernet:
    raw = app_secret_key.encode("utf-8") if isinstance(app_secret_key, str) else bytes(app_secret_key)
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest()))


def encrypt_secret(app_secret_key, text: str) -> str:
    return _fernet(app_secret_key).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_secret(app_secret_key, token: str) -> str:
    try:
        return _fernet(app_secret_key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise ValueError("the stored credential cannot be decrypted with this SECRET_KEY") from exc


def secret_hint(text: str) -> str:
    """What settings show of a stored credential: its last 4 characters."""
    return text[-HINT_LENGTH:]
