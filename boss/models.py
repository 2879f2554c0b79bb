"""Accounts, users, tokens, shops, products, mappings, and the job plumbing (outbox, jobs, idempotency)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from typing import Optional

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import JSON, Index, UniqueConstraint, false, text, true
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def utcnow() -> datetime:
    """Naive UTC: both databases store it the same way; the API shows it in Japan time."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


MALLS = ("rakuten", "yahoo", "amazon", "makeshop", "qoo10", "shopify", "other")
ROLES = ("admin", "staff")


class Account(db.Model):
    __tablename__ = "accounts"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, unique=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False, index=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    name = db.Column(db.String(120), nullable=False, default="")
    role = db.Column(db.String(10), nullable=False, default="staff")
    password_hash = db.Column(db.String(255), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    account = db.relationship(Account)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserSession(db.Model):
    """A signed-in browser. Its cookie carries the token, only the token's hash is kept here; the session
    counts while it has not ended and has been used within SESSION_IDLE_HOURS."""

    __tablename__ = "user_sessions"
    id = db.Column(db.String(64), primary_key=True)  # hash_token(the cookie's token)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    ended_at = db.Column(db.DateTime)
    user_agent = db.Column(db.String(255), nullable=False, default="")

    user = db.relationship(User)

    @staticmethod
    def generate() -> str:
        return secrets.token_urlsafe(32)


class ApiToken(db.Model):
    """A bearer token; only its hash is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    name = db.Column(db.String(120), nullable=False, default="")
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    last4 = db.Column(db.String(4), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime)
    revoked_at = db.Column(db.DateTime)

    user = db.relationship(User)

    @staticmethod
    def generate() -> str:
        return "boss_" + secrets.token_urlsafe(32)


class Shop(db.Model):
    __tablename__ = "shops"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False, index=True)
    name = db.Column(db.String(120), nullable=False)
    mall = db.Column(db.String(20), nullable=False)
    auto_confirm = db.Column(db.Boolean, nullable=False, default=False)
    reflect_cancel_to_rms = db.Column(db.Boolean, nullable=False, default=False)
    confirm_at_rms = db.Column(db.Boolean, nullable=False, default=True, server_default=true())  # confirmOrder at 確認済
    # warehouse.md §1: request a shipment as soon as an order becomes 確認済; the 依頼主 of its parcels.
    auto_request_shipment = db.Column(db.Boolean, nullable=False, default=False, server_default=false())
    sender = db.Column(JSON(none_as_null=True))  # {postal_code, address, phone}; None: not set
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    # lazy="select": an order's shop (joined into every order query) never brings its connection along;
    # the pages' header loads it with the account's shops, in the same query (web.common.account_shops).
    rms_connection = db.relationship(
        "Connection", uselist=False,
        primaryjoin="and_(Connection.shop_id == Shop.id, Connection.provider == 'rakuten_rms')")

    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_shops_account_name"),)

    @property
    def rms(self) -> "Connection":
        """The shop's RMS connection; before its credentials or settings were first set, an unsaved one
        with the defaults (malls.rakuten.connection.rms_connection_for creates the row)."""
        return self.rms_connection or Connection.blank(RAKUTEN_RMS, self.account_id, self.id)

    @property
    def rms_connected(self) -> bool:
        return self.mall == "rakuten" and self.rms_connection is not None and self.rms_connection.connected


RAKUTEN_RMS = "rakuten_rms"
RSL = "rsl"  # the account's warehouse (楽天スーパーロジスティクス)
# Each provider's defaults: how often it runs, and its own settings (kept in Connection.settings).
PROVIDER_DEFAULTS = {
    RAKUTEN_RMS: {"interval_seconds": 600, "settings": {"initial_lookback_days": 30, "inventory_restore_type": 0}},
    RSL: {"interval_seconds": 60, "settings": {}},
}
ACCOUNT_LEVEL = "shop_id IS NULL"


class Connection(db.Model):
    """An integration's connection, per shop (Rakuten RMS) or per account (the warehouse): where it goes,
    its secrets (each encrypted with SECRET_KEY; only the key's last 4 characters are ever shown),
    the error that stops it (「RMS接続エラー」), where its last run got to, and its settings.

    The columns are what every provider has and what queries filter on; `settings` holds the provider's
    own knobs (RMS: initial_lookback_days, inventory_restore_type), read through `setting()`."""

    __tablename__ = "connections"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    shop_id = db.Column(db.Integer, db.ForeignKey("shops.id"))  # None: the account's (the warehouse)
    provider = db.Column(db.String(32), nullable=False)
    base_url = db.Column(db.String(255))
    secrets_enc = db.Column(JSON(none_as_null=True))  # {name: encrypted value}, RMS: service_secret, license_key; None: not connected
    key_last4 = db.Column(db.String(4))
    key_expires_on = db.Column(db.Date)
    error = db.Column(db.Text)
    interval_seconds = db.Column(db.Integer, nullable=False)
    cursor = db.Column(db.Text)  # where the next run starts (RMS: the end of its last window, ISO, naive UTC)
    last_run_at = db.Column(db.DateTime)
    settings = db.Column(JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("shop_id", "provider", name="uq_connections_shop_provider"),
        Index("uq_connections_account_provider", "account_id", "provider", unique=True,
              sqlite_where=text(ACCOUNT_LEVEL), postgresql_where=text(ACCOUNT_LEVEL)),
    )

    @classmethod
    def blank(cls, provider: str, account_id: int, shop_id: Optional[int] = None) -> "Connection":
        defaults = PROVIDER_DEFAULTS[provider]
        return cls(provider=provider, account_id=account_id, shop_id=shop_id,
                   interval_seconds=defaults["interval_seconds"], settings=dict(defaults["settings"]))

    @property
    def connected(self) -> bool:
        return bool(self.secrets_enc)

    def setting(self, name: str):
        return (self.settings or {}).get(name, PROVIDER_DEFAULTS[self.provider]["settings"][name])

    def set_setting(self, name: str, value) -> None:
        """Only the provider's own names; a new dict, so the JSON column sees the change."""
        if name not in PROVIDER_DEFAULTS[self.provider]["settings"]:
            raise KeyError(f"{self.provider} has no setting {name}")
        self.settings = {**(self.settings or {}), name: value}


class Product(db.Model):
    __tablename__ = "products"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    sku = db.Column(db.String(64), nullable=False)
    code = db.Column(db.String(64), nullable=False, default="")
    name = db.Column(db.String(255), nullable=False)
    stock = db.Column(db.Integer, nullable=False, default=0)
    reserved = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "sku", name="uq_products_account_sku"),)

    @property
    def available(self) -> int:
        return self.stock - self.reserved


class StockMovement(db.Model):
    """The stock ledger (warehouse.md §4): every change of a product's stock or reserved count, and why."""

    __tablename__ = "stock_movements"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    product_id = db.Column(db.Integer, db.ForeignKey("products.id", ondelete="CASCADE"), nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    kind = db.Column(db.String(16), nullable=False)  # adjustment, reserve, release, ship, return
    delta_stock = db.Column(db.Integer, nullable=False)
    delta_reserved = db.Column(db.Integer, nullable=False)
    order_id = db.Column(db.Integer)  # no foreign key: never joined for writes
    actor_type = db.Column(db.String(10), nullable=False)
    actor_name = db.Column(db.String(160), nullable=False)
    reason = db.Column(db.Text, nullable=False, default="", server_default="")

    __table_args__ = (Index("ix_stock_movements_product", "product_id", "id"),)


class WarehouseEvent(db.Model):
    """An event of the warehouse seen by the sync, once per account (warehouse.md §4: an id seen before is
    skipped): its outcome `applied`, `stale` (its seq not above the last applied), `unknown` (no such
    shipment) or `ignored` (a type or a moment the rules do not apply)."""

    __tablename__ = "warehouse_events"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    event_id = db.Column(db.String(100), nullable=False)
    shipment_id = db.Column(db.Integer)
    type = db.Column(db.String(40), nullable=False)
    seq = db.Column(db.Integer)
    outcome = db.Column(db.String(16), nullable=False)
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "event_id", name="uq_warehouse_events_account_event"),)


class ItemMapping(db.Model):
    """A mall item (shop, モール商品ID, サブコード) → product. Many mall items may map to one product."""

    __tablename__ = "item_mappings"
    id = db.Column(db.Integer, primary_key=True)
    shop_id = db.Column(db.Integer, db.ForeignKey("shops.id"), nullable=False)
    mall_item_id = db.Column(db.String(255), nullable=False)
    sub_code = db.Column(db.String(255), nullable=False, default="")  # "" = no サブコード
    product_id = db.Column(db.Integer, db.ForeignKey("products.id"), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    shop = db.relationship(Shop)
    product = db.relationship(Product)

    __table_args__ = (UniqueConstraint("shop_id", "mall_item_id", "sub_code", name="uq_item_mappings_key"),)


class OrderCount(db.Model):
    """Not-deleted orders per shop and status, kept by the services so tab counts never scan orders."""

    __tablename__ = "order_counts"
    shop_id = db.Column(db.Integer, db.ForeignKey("shops.id"), primary_key=True)
    status = db.Column(db.String(32), primary_key=True)
    n = db.Column(db.Integer, nullable=False, default=0)


class OutboxMessage(db.Model):
    """A side effect recorded in the same transaction as the change; dispatched to RQ after commit."""

    __tablename__ = "outbox"
    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(64), nullable=False)
    payload = db.Column(JSON, nullable=False, default=dict)
    job_id = db.Column(db.String(36), index=True)  # the JobRecord this effect reports to, if any
    state = db.Column(db.String(16), nullable=False, default="pending")  # pending, done, failed
    dispatches = db.Column(db.Integer, nullable=False, default=0)
    rq_job_id = db.Column(db.String(80))
    dispatched_at = db.Column(db.DateTime)
    run_after = db.Column(db.DateTime)  # a scheduled retry: not re-dispatched before this
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    done_at = db.Column(db.DateTime)
    error = db.Column(db.Text)

    __table_args__ = (Index("ix_outbox_state", "state", "dispatched_at"),)


class JobRecord(db.Model):
    """What `GET /api/v1/jobs/{id}` shows: the state and progress of a long piece of work."""

    __tablename__ = "jobs"
    id = db.Column(db.String(36), primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False, index=True)
    kind = db.Column(db.String(32), nullable=False)
    shop_id = db.Column(db.Integer, index=True)  # imports: one running per shop
    state = db.Column(db.String(16), nullable=False, default="queued")
    progress = db.Column(db.Integer, nullable=False, default=0)
    params = db.Column(JSON, nullable=False, default=dict)
    checkpoint = db.Column(JSON)
    result = db.Column(JSON)
    error = db.Column(db.Text)
    created_by = db.Column(db.String(160))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class JobItem(db.Model):
    """One item of a job run in chunks (job_runner): what was done with it, or why it was refused. Written with
    its chunk's checkpoint, so a resumed job writes no item twice (the key) and loses none."""

    __tablename__ = "job_items"
    job_id = db.Column(db.String(36), db.ForeignKey("jobs.id"), primary_key=True)
    position = db.Column(db.Integer, primary_key=True)  # the item's index in the job's list
    ref = db.Column(db.Integer, nullable=False)  # what the item is: an order id, a CSV row number
    done = db.Column(db.Boolean, nullable=False)
    code = db.Column(db.String(64))  # why it was refused
    message = db.Column(db.Text, nullable=False)
    mall_order_number = db.Column(db.String(64))


class StoredFile(db.Model):
    """A file every worker can read (csv.md §4): an uploaded CSV, an error report, an export; its bytes are
    `file_chunks` rows (boss.csv.files). Deleted after FILE_KEEP_DAYS."""

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_created", "created_at"), Index("ix_files_job", "job_id"))
    id = db.Column(db.String(36), primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    kind = db.Column(db.String(32), nullable=False)  # csv_upload, error_report, export
    name = db.Column(db.String(255), nullable=False)
    size = db.Column(db.BigInteger, nullable=False, default=0)
    job_id = db.Column(db.String(36))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class FileChunk(db.Model):
    __tablename__ = "file_chunks"
    file_id = db.Column(db.String(36), db.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    seq = db.Column(db.Integer, primary_key=True)
    data = db.Column(db.LargeBinary, nullable=False)


class CsvRowError(db.Model):
    """A refused row of a CSV import: the row as Excel shows it, the column as the file writes it, why."""

    __tablename__ = "import_errors"
    __table_args__ = (Index("ix_import_errors_job", "job_id", "row", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    job_id = db.Column(db.String(36), db.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    file_name = db.Column(db.String(255))
    row = db.Column(db.Integer, nullable=False)
    column = db.Column(db.String(255), nullable=False, default="")
    code = db.Column(db.String(40), nullable=False)
    message = db.Column(db.Text, nullable=False)


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_keys"
    id = db.Column(db.Integer, primary_key=True)
    account_id = db.Column(db.Integer, db.ForeignKey("accounts.id"), nullable=False)
    key = db.Column(db.String(255), nullable=False)
    request_fingerprint = db.Column(db.String(64), nullable=False)
    status_code = db.Column(db.Integer)
    body = db.Column(JSON)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),)
