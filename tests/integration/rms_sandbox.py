"""The RMS sandbox's control API as the Rakuten tests use it: one licenseKey's orders, faults and calls."""
from __future__ import annotations

from uuid import uuid4

import requests


class RmsSandbox:
    def __init__(self, base_url: str):
        self.rms_url = f"{base_url}/sandbox/rms"
        self.license_key = f"lk-{uuid4().hex[:16]}"

    def control(self, path: str, body: dict) -> dict:
        response = requests.post(f"{self.rms_url}/_control/{path}", json={"license_key": self.license_key,
                                                                          "service_secret": "secret", **body}, timeout=30)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def add(self, *orders: dict) -> list[str]:
        return self.control("orders", {"orders": list(orders)})["order_numbers"]
