"""Issue 11 item 6: the OpenAPI document is exact, and schemathesis proves it.

schemathesis (pinned in requirements-dev.txt) runs against the live app (served over HTTP by the suite's
live_server) with an admin token of a tenant that has shops (one connected to the RMS sandbox), orders in
several states, tags, a product and a mapping, while another tenant's data sits beside it: every check,
the coverage, fuzzing and stateful phases (the document's links), a bounded number of examples per
operation and a fixed seed, so the whole run stays within CI's budget; zero failures. The exceptions a
check cannot hold by the contract are in tests/schemathesis.toml, each with its reason.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.api.api_helpers import API, create_tag
from tests.factories import create_order, create_product, map_item, set_state

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "schemathesis.toml"
# The run's cost in CPU seconds (schemathesis and the app answering it), not in wall time: the suite's
# xdist processes share the cores, so a run's wall time says more about its neighbours than about itself.
BUDGET_CPU_SECONDS = 150
HANG_SECONDS = 900


def _seed(app, client, tenant) -> dict:
    """What an account has after a while; returns the ids a run may name."""
    product = create_product(client, tenant)
    mapping = map_item(client, tenant)
    tag = create_tag(client, tenant, name="要確認")
    orders = [create_order(client, tenant) for _ in range(4)]
    client.post(f"{API}/orders/{orders[0]['id']}/tags/{tag['id']}", headers=tenant.headers())
    client.post(f"{API}/orders/{orders[1]['id']}/cancel", json={}, headers=tenant.headers())
    client.delete(f"{API}/orders/{orders[2]['id']}", headers=tenant.headers())
    set_state(app, orders[3]["id"], "completed", "shipped")  # shipped, then cancelled: a return 返品待ち
    returned = client.post(f"{API}/orders/{orders[3]['id']}/cancel", json={}, headers=tenant.headers()).json
    admin = tenant.headers("admin")
    client.post(f"{API}/shops", json={"name": "ヤフー店", "mall": "yahoo"}, headers=admin)
    connected = client.post(f"{API}/shops", json={"name": "楽天RMS店", "mall": "rakuten", "rms": {
        "service_secret": "SP000000_secret", "license_key": "SL000000_license"}}, headers=admin).json
    job = client.post(f"{API}/shops/{connected['id']}/import", headers=admin).json
    return {"order_ids": [o["id"] for o in orders], "product_ids": [product["id"]], "tag_ids": [tag["id"]], "mapping_ids": [mapping["id"]],
            "return_ids": [returned["return"]["id"]],
            "shop_ids": [tenant.shop_id, connected["id"]], "job_ids": [job["job_id"]]}


def _config(path: Path, ids: dict) -> Path:
    """tests/schemathesis.toml with the seeded ids as its dictionaries."""
    lines = [CONFIG.read_text()]
    for name, values in ids.items():
        lines.append(f"\n[dictionaries.{name}]\nvalues = {json.dumps(values)}\n")
    path.write_text("".join(lines))
    return path


@pytest.mark.slow
def test_the_api_holds_to_its_openapi_document_under_schemathesis(app, live_server, client, tenant, other_tenant,
                                                                  tmp_path):
    ids = _seed(app, client, tenant)
    _seed(app, client, other_tenant)
    cursor = client.get(f"{API}/orders", query_string={"limit": 1}, headers=tenant.headers()).json["next_cursor"]
    config = _config(tmp_path / "schemathesis.toml", ids)
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config), "--no-color", "run",
               f"{live_server}/api/openapi.json", "--checks", "all", "--seed", "20261205", "--workers", "1"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(ROOT),
           "BOSS_API_TOKEN": tenant.admin_token, "BOSS_ORDERS_CURSOR": cursor}
    before = _cpu_seconds()
    started = time.monotonic()
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=HANG_SECONDS)
    took, cpu = time.monotonic() - started, _cpu_seconds() - before
    print(result.stdout[-6000:])  # the run's summary, shown with -s or when the test fails
    print(f"schemathesis: {took:.0f} s, {cpu:.0f} CPU s")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
    assert cpu < BUDGET_CPU_SECONDS, f"schemathesis and the app served it {cpu:.0f} CPU s"


def _cpu_seconds() -> float:
    """The CPU this process (the live server's threads) and its finished children (schemathesis) have used."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
