"""A shop's RMS connection: credentials (encrypted, never shown back), the client, its state."""
from __future__ import annotations

from datetime import date
from typing import Optional
from urllib.parse import urlparse

from flask import current_app, request
from sqlalchemy import update

from ..errors import ServiceError, validation_error
from ..extensions import db, get_redis
from ..models import Shop
from ..reason import Reason
from ..urls import is_allowed_base_url
from .rakuten import RedisPacer, RmsAuthError, RmsClient, decrypt_secret, encrypt_secret

RAKUTEN_BASE_URL = "https://api.rms.rakuten.co.jp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def default_base_url() -> str:
    """With BOSS_SANDBOX=1 the sandbox of this very app, so no test or demo can reach Rakuten by accident."""
    if current_app.config["BOSS_SANDBOX"]:
        configured = current_app.config.get("RMS_SANDBOX_BASE_URL")
        if configured:
            return configured
        if request:
            return request.host_url.rstrip("/") + "/sandbox/rms"
        return f"http://127.0.0.1:{current_app.config.get('PORT', 5000)}/sandbox/rms"
    return RAKUTEN_BASE_URL


def allowed_base_urls() -> list[str]:
    """Where a shop's credentials may go with BOSS_SANDBOX=0: Rakuten, and what RMS_ALLOWED_BASE_URLS lists."""
    return [RAKUTEN_BASE_URL, *current_app.config["RMS_ALLOWED_BASE_URLS"]]


def check_base_url(url: str) -> str:
    """The credentials go to this URL at once, so it must be one we trust: with BOSS_SANDBOX=1 a URL on
    this machine (the sandbox); otherwise Rakuten's, or one listed in RMS_ALLOWED_BASE_URLS."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise validation_error({"rms.base_url": "http(s) のURLで指定してください"})
    if current_app.config["BOSS_SANDBOX"]:
        if parsed.hostname not in LOOPBACK:
            raise validation_error({"rms.base_url": "サンドボックスモードではこのマシン上のURLのみ指定できます"})
    elif not is_allowed_base_url(url, allowed_base_urls()):
        raise validation_error({"rms.base_url": f"楽天RMSのURL（{RAKUTEN_BASE_URL}）か、RMS_ALLOWED_BASE_URLSに"
                                                "登録したURLのみ指定できます"})
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
    shop.rms_license_key_last4 = license_key[-4:]
    shop.rms_license_key_expires_on = expires_on
    shop.rms_base_url = check_base_url(base_url) if base_url else default_base_url()
    shop.rms_connection_error = None


def client_for(shop: Shop, max_pace_wait: Optional[float] = None) -> RmsClient:
    """The shop's client, paced per license key across every worker process. A base URL stored before it
    was refused (or since unlisted) gets no credentials: the shop shows 「RMS接続エラー」 instead."""
    base_url = shop.rms_base_url or default_base_url()
    if not current_app.config["BOSS_SANDBOX"] and not is_allowed_base_url(base_url, allowed_base_urls()):
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


