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
from ...models import RAKUTEN_RMS, Connection, Shop
from ...reason import Reason
from ...unit_of_work import unit_of_work
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


def rms_connection_for(shop: Shop) -> Connection:
    """The shop's RMS connection row, made when its credentials or settings are first set."""
    if shop.rms_connection is None:
        shop.rms_connection = Connection.blank(RAKUTEN_RMS, shop.account_id, shop.id)
    return shop.rms_connection


def set_credentials(shop: Shop, service_secret: str, license_key: str,
                    expires_on: Optional[date] = None, base_url: Optional[str] = None) -> None:
    """Store the pair encrypted (no commit: part of the caller's unit of work)."""
    if shop.mall != "rakuten":
        raise ServiceError("validation_error", Reason("RMS接続は楽天市場のショップのみ設定できます。",
                                                      "Only Rakuten shops connect to RMS."), {"rms": "楽天市場のみ"})
    key = current_app.config["SECRET_KEY"]
    rms = rms_connection_for(shop)
    rms.base_url = check_base_url(base_url) if base_url else default_base_url()
    rms.secrets_enc = {"service_secret": encrypt_secret(key, service_secret),
                       "license_key": encrypt_secret(key, license_key)}
    rms.key_last4 = secret_hint(license_key)
    rms.key_expires_on = expires_on
    rms.error = None


def client_for(shop: Shop, max_pace_wait: Optional[float] = None) -> RmsClient:
    """The shop's client, paced per license key across every worker process. A base URL stored before it
    was refused (or since unlisted) gets no credentials: the shop shows 「RMS接続エラー」 instead."""
    rms = shop.rms
    base_url = rms.base_url or default_base_url()
    if not may_send_credentials(base_url, allowed_base_urls()):
        raise RmsAuthError(f"接続先URL {base_url} は許可されていません。設定で接続先URLを変更するか、"
                           "RMS_ALLOWED_BASE_URLSに登録してください。")
    key = current_app.config["SECRET_KEY"]
    secrets = rms.secrets_enc or {}
    pacer = RedisPacer(get_redis(), f"rms-pace:{rms.key_last4}:{shop.id}", current_app.config["RMS_MIN_INTERVAL"])
    return RmsClient(base_url, decrypt_secret(key, secrets.get("service_secret")),
                     decrypt_secret(key, secrets.get("license_key")), timeout=current_app.config["RMS_TIMEOUT"],
                     pacer=pacer, max_pace_wait=max_pace_wait)


def _of_shop(shop_id: int):
    return update(Connection).where(Connection.shop_id == shop_id, Connection.provider == RAKUTEN_RMS)


def mark_connection_failed(shop_id: int, message: str) -> None:
    """「RMS接続エラー」: the shop's connection fails (shown in settings and the 要対応 count)."""
    with unit_of_work() as uow:
        db.session.execute(_of_shop(shop_id).values(error=message[:1000] or "認証エラー"))
        uow.commit()


def mark_connection_ok(shop_id: int) -> None:
    db.session.execute(_of_shop(shop_id).where(Connection.error.is_not(None)).values(error=None))
