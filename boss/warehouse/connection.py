"""The account's warehouse connection (warehouse.md §1): API key (encrypted, never shown back but its last 4
characters), base URL, sync interval, its state (「倉庫接続エラー」), the client, and its JSON.

The row is the account's `Connection` of provider RSL (shop_id None). `base_url` None means the default:
with BOSS_SANDBOX=1 this app's simulator, otherwise the first of WAREHOUSE_ALLOWED_BASE_URLS; it is resolved
when used, so a stored row follows the app to another host or port in sandbox mode.
"""
from __future__ import annotations

import re
from typing import Optional

from flask import current_app
from sqlalchemy import select, update

from ..errors import validation_error
from ..extensions import db, get_redis
from ..integrations.base_urls import (NOT_HTTP, NOT_LISTED, NOT_LOCAL, base_url_refusal, may_send_credentials,
                                      sandbox_base_url)
from ..integrations.secrets import decrypt_secret, encrypt_secret, secret_hint
from ..models import RSL, Connection
from ..orders.actor import Actor
from ..reason import Reason
from ..timefmt import iso_jst
from ..unit_of_work import unit_of_work
from .client import RslClient, pacer_for
from .port import WarehouseAuthError

SANDBOX_PATH = "/sandbox/warehouse"
MIN_INTERVAL, MAX_INTERVAL = 30, 3600  # sync_interval_seconds
MAX_KEY_LENGTH = 255
API_KEY_PATTERN = f"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$"
NOT_CONNECTED = "倉庫のAPIキーが登録されていません。設定 › 倉庫で登録してください。"


def allowed_base_urls() -> list[str]:
    return list(current_app.config["WAREHOUSE_ALLOWED_BASE_URLS"])


def default_base_url() -> str:
    """With BOSS_SANDBOX=1 the simulator of this very app, so no test or demo can reach a real warehouse;
    otherwise the first URL an operator listed ("" when none is: then a URL must be given)."""
    if current_app.config["BOSS_SANDBOX"]:
        return sandbox_base_url(SANDBOX_PATH, current_app.config.get("WAREHOUSE_SANDBOX_BASE_URL"))
    listed = allowed_base_urls()
    return listed[0].rstrip("/") if listed else ""


BASE_URL_REFUSALS = {
    NOT_HTTP: Reason("http(s) のURLで指定してください", "Give an http(s) URL"),
    NOT_LOCAL: Reason("サンドボックスモードではこのマシン上のURL（倉庫シミュレーター）のみ指定できます",
                      "In sandbox mode only a URL on this machine (the warehouse simulator) may be given"),
    NOT_LISTED: Reason("WAREHOUSE_ALLOWED_BASE_URLSに登録したURLのみ指定できます",
                       "Only a URL listed in WAREHOUSE_ALLOWED_BASE_URLS may be given"),
}


def base_url_problem(url: str) -> Optional[Reason]:
    """Why the API key may not go to `url` (None: it may): with BOSS_SANDBOX=1 only this machine, otherwise
    only a URL listed in WAREHOUSE_ALLOWED_BASE_URLS."""
    refusal = base_url_refusal(url, allowed_base_urls())
    return None if refusal is None else BASE_URL_REFUSALS[refusal]


def check_base_url(url: str) -> str:
    problem = base_url_problem(url)
    if problem is not None:
        raise validation_error({"base_url": problem.ja})
    return url.rstrip("/")


def warehouse_for(account_id: int) -> Connection:
    """The account's warehouse connection; before it was first set, an unsaved one with the defaults."""
    return _row(account_id) or Connection.blank(RSL, account_id)


def _row(account_id: int) -> Optional[Connection]:
    return db.session.scalars(select(Connection).where(
        Connection.account_id == account_id, Connection.shop_id.is_(None), Connection.provider == RSL)).first()


def effective_base_url(conn: Connection) -> str:
    return conn.base_url or default_base_url()


def api_key_of(conn: Connection) -> Optional[str]:
    secrets = conn.secrets_enc or {}
    if not secrets.get("api_key"):
        return None
    return decrypt_secret(current_app.config["SECRET_KEY"], secrets["api_key"])


def api_key_problem(key: str) -> Optional[str]:
    """Why `key` is no API key (None: it may be one): it goes into an HTTP header as it is, so only
    printable ASCII (API_KEY_PATTERN), 1 to MAX_KEY_LENGTH characters."""
    if not re.fullmatch(API_KEY_PATTERN, key):
        return f"半角の英数字と記号（空白なし）{MAX_KEY_LENGTH}文字以内で指定してください（接続を解除するときは null）"
    return None


def set_api_key(conn: Connection, api_key: str) -> None:
    """Store the key encrypted; a new key starts the events from the beginning (events already applied are
    skipped by their id) and clears the connection's error. No commit: part of the caller's unit of work."""
    if api_key_of(conn) != api_key:
        conn.cursor = None
    conn.secrets_enc = {"api_key": encrypt_secret(current_app.config["SECRET_KEY"], api_key)}
    conn.key_last4 = secret_hint(api_key)
    conn.error = None


def disconnect(conn: Connection) -> None:
    conn.secrets_enc = None
    conn.key_last4 = None
    conn.error = None
    conn.cursor = None


def set_base_url(conn: Connection, url: Optional[str]) -> None:
    """`url` None or blank: the default. Another warehouse (a changed URL) starts its events from the beginning."""
    stored = check_base_url(url) if url and url.strip() else None
    if (stored or default_base_url()) != effective_base_url(conn):
        conn.cursor = None
    conn.base_url = stored


def update_warehouse(actor: Actor, changes: dict) -> Connection:
    """PATCH /warehouse and 設定 › 倉庫: any of `api_key` (None: disconnect), `base_url` (None: the default),
    `sync_interval_seconds` (30..3600). Commits; refuses with validation_error naming the field."""
    with unit_of_work() as uow:
        conn = _row(actor.account_id)
        if conn is None:
            conn = Connection.blank(RSL, actor.account_id)
            db.session.add(conn)
        if "base_url" in changes:
            set_base_url(conn, changes["base_url"])
        if "api_key" in changes:
            key = changes["api_key"]
            if key is None:
                disconnect(conn)
            else:
                if api_key_problem(key):
                    raise validation_error({"api_key": api_key_problem(key)})
                set_api_key(conn, key)
        if changes.get("sync_interval_seconds") is not None:
            seconds = changes["sync_interval_seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, int) or not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
                raise validation_error({"sync_interval_seconds": f"{MIN_INTERVAL}以上{MAX_INTERVAL}以下で指定してください"})
            conn.interval_seconds = seconds
        uow.commit(keep=[conn])
    if conn.connected and ("api_key" in changes or "base_url" in changes):
        wake_lanes(actor.account_id)  # sends and notices that waited for the connection go now
    return conn


def wake_lanes(account_id: int) -> None:
    """The account's send and notice lanes run now (after the connection was set or came back)."""
    from redis.exceptions import RedisError

    from . import notices, shipping

    try:
        shipping.lane(account_id).wake()
        notices.lane(account_id).wake()
    except RedisError as exc:  # the outbox's sweeper hands their messages over again later
        current_app.logger.warning("could not wake the warehouse lanes of account %s: %s", account_id, exc)


def client_for(account_id: int, max_pace_wait: Optional[float] = None) -> RslClient:
    """The account's client, paced per API key across every worker process. No key, or a base URL stored
    before it was refused (or since unlisted), raises WarehouseAuthError: the connection, not a request, fails."""
    conn = warehouse_for(account_id)
    api_key = api_key_of(conn)
    if api_key is None:
        raise WarehouseAuthError(NOT_CONNECTED)
    base_url = effective_base_url(conn)
    if not base_url or not may_send_credentials(base_url, allowed_base_urls()):
        raise WarehouseAuthError(f"接続先URL {base_url or '（未設定）'} は許可されていません。設定 › 倉庫で接続先URLを"
                                 "変更するか、WAREHOUSE_ALLOWED_BASE_URLSに登録してください。")
    pacer = pacer_for(get_redis(), api_key, current_app.config["WAREHOUSE_MIN_INTERVAL"])
    return RslClient(base_url, api_key, timeout=current_app.config["WAREHOUSE_TIMEOUT"], pacer=pacer,
                     max_pace_wait=max_pace_wait)


def _of_account(account_id: int):
    return update(Connection).where(Connection.account_id == account_id, Connection.shop_id.is_(None),
                                    Connection.provider == RSL)


def mark_connection_failed(account_id: int, message: str) -> None:
    """「倉庫接続エラー」: the account's warehouse refuses the key (settings, the 要対応 count); sends wait."""
    with unit_of_work() as uow:
        db.session.execute(_of_account(account_id).values(error=(message or "")[:1000] or "認証エラー"))
        uow.commit()


def mark_connection_ok(account_id: int) -> None:
    """A call went through: the error clears (no commit: part of the caller's unit of work)."""
    db.session.execute(_of_account(account_id).where(Connection.error.is_not(None)).values(error=None))


def warehouse_json(conn: Connection) -> dict:
    """warehouse.md §1's object, exactly."""
    return {"connected": conn.connected, "provider": RSL, "base_url": effective_base_url(conn),
            "api_key_last4": conn.key_last4 if conn.connected else None,
            "sync_interval_seconds": conn.interval_seconds, "last_synced_at": iso_jst(conn.last_run_at),
            "error": conn.error}

