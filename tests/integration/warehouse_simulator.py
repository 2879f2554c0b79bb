"""The warehouse simulator as tests use it over HTTP: one API key's contract calls and control API."""
from __future__ import annotations

from uuid import uuid4

import requests


def shipment_request(reference: str, **changes) -> dict:
    """A shipping request the contract accepts (warehouse.md §2), with `changes` on top."""
    body = {
        "client_reference": reference, "order_number": f"o-{reference}", "shop_code": "1",
        "sender": {"name": "テスト商店", "postal_code": "1000001", "address": "東京都千代田区1-1", "phone": "0300000000"},
        "recipient": {"name": "山田 太郎", "name_kana": "ヤマダ タロウ", "phone": "09000000000",
                      "postal_code": "150-0001", "address": "東京都渋谷区神宮前1-1-1"},
        "delivery_date": None, "delivery_time_slot": None, "remarks": "", "cod_amount": None, "pickup": None,
        "drop_off": None, "lines": [{"sku": "SKU-1", "quantity": 2, "options": None}],
    }
    body.update(changes)
    return body


class WarehouseSimulator:
    def __init__(self, base_url: str, api_key: str | None = None):
        self.url = f"{base_url}/sandbox/warehouse"
        self.api_key = api_key or f"wk-{uuid4().hex[:16]}"

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"}

    def post(self, path: str, body=None) -> requests.Response:
        return requests.post(f"{self.url}/v1/{path}", json=body, headers=self.headers, timeout=30,
                             allow_redirects=False)

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(f"{self.url}/v1/{path}", params=params, headers=self.headers, timeout=30,
                            allow_redirects=False)

    def create(self, reference: str, **changes) -> dict:
        response = self.post("shipments", shipment_request(reference, **changes))
        assert response.status_code in (200, 201), response.text
        return response.json()["shipment"]

    def events(self, after: str | None = None, limit: int | None = None) -> dict:
        params = {key: value for key, value in (("after", after), ("limit", limit)) if value is not None}
        response = self.get("events", **params)
        assert response.status_code == 200, response.text
        return response.json()

    def control_raw(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.url}/_control/{path}", json={"api_key": self.api_key, **body}, timeout=30)

    def control(self, path: str, body: dict) -> dict:
        response = self.control_raw(path, body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def advance(self, reference: str, kind: str, **fields) -> dict:
        return self.control("advance", {"client_reference": reference, "type": kind, **fields})["event"]

    def shipments(self) -> list[dict]:
        response = requests.get(f"{self.url}/_control/shipments", params={"api_key": self.api_key}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def calls(self) -> list[dict]:
        response = requests.get(f"{self.url}/_control/calls", params={"api_key": self.api_key}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["items"]
