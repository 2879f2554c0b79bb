"""The sandbox's state in Redis: one licenseKey's orders, faults, calls and rate counter."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Callable, Optional

from ....integrations.sandbox import SandboxStore
from .contract import given_datetime

NAMESPACE = "rms-sandbox"

MOVE_SCRIPT = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return {0, -1} end
for i = 3, #ARGV do
  if ARGV[i] == current then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return {1, tonumber(current)}
  end
end
return {0, tonumber(current)}
"""

class Store(SandboxStore):
    """One licenseKey's orders in Redis, beside its faults, calls and rate counter."""

    def __init__(self, redis, license_key: str):
        super().__init__(redis, NAMESPACE, license_key)

    def shop_number(self) -> str:
        return str(100000 + int(hashlib.sha256(self.prefix.encode()).hexdigest()[:8], 16) % 900000)

    def next_sequences(self, count: int) -> range:
        last = self.redis.incrby(self.key("seq"), count)
        return range(last - count + 1, last + 1)

    def save(self, orders: list[dict]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for index, order in enumerate(orders, 1):
            number = order["orderNumber"]
            pipe.hset(self.key("orders"), number, json.dumps(order, ensure_ascii=False))
            pipe.hset(self.key("progress"), number, int(order.get("orderProgress") or 100))
            pipe.zadd(self.key("by-date"), {number: given_datetime(order["orderDatetime"]).timestamp()})
            if index % 2000 == 0:
                pipe.execute()
        pipe.execute()

    def load(self, numbers: list[str]) -> list[Optional[dict]]:
        if not numbers:
            return []
        raws = self.redis.hmget(self.key("orders"), numbers)
        progresses = self.redis.hmget(self.key("progress"), numbers)
        orders = []
        for raw, progress in zip(raws, progresses):
            if raw is None:
                orders.append(None)
                continue
            order = json.loads(raw)
            order["orderProgress"] = int(progress)
            orders.append(order)
        return orders

    def exists(self, number: str) -> bool:
        return bool(self.redis.hexists(self.key("orders"), number))

    def search(self, start: datetime, end: datetime, progresses: Optional[list[int]]) -> list[str]:
        numbers = [raw.decode() for raw in
                   self.redis.zrangebyscore(self.key("by-date"), start.timestamp(), end.timestamp())]
        if progresses and numbers:
            wanted = set(progresses)
            current = self.redis.hmget(self.key("progress"), numbers)
            numbers = [number for number, progress in zip(numbers, current)
                       if progress is not None and int(progress) in wanted]
        return numbers

    def move(self, number: str, allowed: tuple, to: int) -> tuple[bool, int]:
        """Atomically move an order's progress if it is one of `allowed`; (moved, progress before) or (False, -1)."""
        moved, current = self.redis.register_script(MOVE_SCRIPT)(
            keys=[self.key("progress")], args=[number, to, *allowed])
        return bool(moved), int(current)

    def set_progress(self, number: str, progress: int) -> None:
        self.redis.hset(self.key("progress"), number, progress)

    def update_order(self, number: str, change: Callable[[dict], None]) -> None:
        def apply(pipe):
            raw = pipe.hget(self.key("orders"), number)
            order = json.loads(raw)
            change(order)
            pipe.multi()
            pipe.hset(self.key("orders"), number, json.dumps(order, ensure_ascii=False))

        self.redis.transaction(apply, self.key("orders"))
