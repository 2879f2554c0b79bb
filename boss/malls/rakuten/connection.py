"""A shop's RMS connection: credentials (encrypted, never shown back), the client, its state."""
from __future__ import annotations

from datetime import date
from typing import Optional

from flask import current_app
from sqlalchemy import update

from ...errors import ServiceError, validation_error
from ...extensions import db, get_redis
from ...integrations.base_urls import (NOT_HTTP, NOT_LISTED, NOT_LOCAL, base_url_refusal, may_send_credentials,
                                       sandbox_base_url)
from ...integrations.pacing import RedisPacer
from ...integrations.secrets import decrypt_secret, encrypt_secret, secret_hint
from ...models import Shop
from ...reason import Reason
from .client import RmsAuthError, RmsClient

RAKUTEN_BASE_URL = "https://api.rms.rakuten.co.jp"


def default_base_url() -> str:
    """With BOSS_SANDBOX=1 the sandbox of this very app, so no test or demo can reach Rakuten by accident."""
    if current_app.config["BOSS_SANDBOX"]:
        return sandbox_base_url("/sandbox/rms", current_app.config.get("RMS_SANDBOX_BASE_URL"))
    return RAKUTEN_BASE_URL


def allowed_base_urls() -> list[str]:
    """Where a shop's credentials may go with BOSS_SANDBOX=0: Rakuten, and what RMS_ALLOWED_BASE_URLS lists."""
    return [RAKUTEN_BASE_URL, *current_app.config["RMS_ALLOWED_BASE_URLS"]]


BASE_URL_REFUSALS = {
    NOT_HTTP: "http(s) のURLで指定してください",
    NOT_LOCAL: "サンドボックスモードではこのマシン上のURLのみ指定できます",
    NOT_LISTED: f"楽天RMSのURL（{RAKUTEN_BASE_URL}）か、RMS_ALLOWED_BASE_URLSに登録したURLのみ指定できます",
}


def check_base_url(url: str) -> str:
    """The credentials go to this URL at once, so it must be one we trust: with BOSS_SANDBOX=1 a URL on
    this machine (the sandbox); otherwise Rakuten's, or one listed in RMS_ALLOWED_BASE_URLS."""
    refusal = base_url_refusal(url, allowed_base_urls())
    if refusal is not None:
        raise validation_error({"rms.base_url": BASE_URL_REFUSALS[refusal]})
    return url.rstrip("/")


def set_credentials(shop: Shop, service_secret: str, license_key: str,
                    expires_on: Optional[date] = None, base_url: Optional[str] = None) -> None:
    """Store the pair encrypted (no commit: part of the caller's unit of work)."""
    if shop.mall != "rakuten":
        raise ServiceError("validation_error", Reason("RMS接続は楽天市場のショップのみ設定できます。",
                                                      "Only Rakuten shops connect to RMS."), {"rms": "楽天市場のみ"})
    key = current_app.config["SECRET_KEY"]
    shop.rms_service_secret_enc = encrypt_secret(key, service_secret)
    shop.rms_license_key_enc = encrypt_secret(key, license_key)
    shop.rms_license_key_last4 = secret_hint(license_key)
    shop.rms_license_key_expires_on = expires_on
    shop.rms_base_url = check_base_url(base_url) if base_url else default_base_url()
    shop.rms_connection_error = None


def client_for(shop: Shop, max_pace_wait: Optional[float] = None) -> RmsClient:
    """The shop's client, paced per license key across every worker process. A base URL stored before it
    was refused (or since unlisted) gets no credentials: the shop shows 「RMS接続エラー」 instead."""
    base_url = shop.rms_base_url or default_base_url()
    if not may_send_credentials(base_url, allowed_base_urls()):
        raise RmsAuthError(f"接続先URL {base_url} は許可されていません。設定で接続先URLを変更するか、"
                           "RMS_ALLOWED_BASE_URLSに登録してください。")
    key = current_app.config["SECRET_KEY"]
    license_key = decrypt_secret(key, shop.rms_license_key_enc)
    pacer = RedisPacer(get_redis(), f"rms-pace:{shop.rms_license_key_last4}:{shop.id}", current_app.config["RMS_MIN_INTERVAL"])
    return RmsClient(base_url, decrypt_secret(key, shop.rms_service_secret_enc),
                     license_key, timeout=current_app.config["RMS_TIMEOUT"], pacer=pacer, max_pace_wait=max_pace_wait)


def mark_connection_failed(shop_id: int, message: str) -> None:
    """「RMS接続エラー」: the shop's connection fails (shown in settings and the 要対応 count)."""
    db.session.execute(update(Shop).where(Shop.id == shop_id).values(rms_connection_error=message[:1000] or "認証エラー"))
    db.session.commit()


def mark_connection_ok(shop_id: int) -> None:
    db.session.execute(update(Shop).where(Shop.id == shop_id, Shop.rms_connection_error.is_not(None))
                       .values(rms_connection_error=None))


