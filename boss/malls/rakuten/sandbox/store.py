"""The sandbox's state in Redis: one licenseKey's orders, faults, calls and rate counter."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Callable, Optional

from ....integrations.sandbox import SandboxStore
from .contract import given_datetime

NAMESPACE = "rms-sandbox"

PROCESSING = "200"  # 楽天処理中: an order there moves on to 300 by itself (see `finish_processing`)

MOVE_SCRIPT = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return {0, -1} end
for i = 3, #ARGV do
  if ARGV[i] == current then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    if ARGV[2] == '200' then
      local now = redis.call('TIME')
      redis.call('HSET', KEYS[2], ARGV[1], now[1] .. '.' .. string.format('%06d', now[2]))
    end
    return {1, tonumber(current)}
  end
end
return {0, tonumber(current)}
"""

# Orders at 200 for at least ARGV[1] seconds (by Redis's clock, since they reached 200) move to 300.
FINISH_PROCESSING_SCRIPT = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
local moved = 0
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == '200' then
    local since = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')
    if seconds - since >= tonumber(ARGV[1]) then
      redis.call('HSET', KEYS[1], ARGV[i], 300)
      redis.call('HDEL', KEYS[2], ARGV[i])
      moved = moved + 1
    end
  end
end
return moved
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

    def now(self) -> str:
        """Redis's clock (the same for every process that serves the sandbox), as seconds."""
        seconds, microseconds = self.redis.time()
        return f"{seconds}.{microseconds:06d}"

    def save(self, orders: list[dict]) -> None:
        """Store orders (replacing any of the same number); one stored at 200 starts processing now."""
        now = self.now()
        pipe = self.redis.pipeline(transaction=False)
        for index, order in enumerate(orders, 1):
            number = order["orderNumber"]
            progress = int(order.get("orderProgress") or 100)
            pipe.hset(self.key("orders"), number, json.dumps(order, ensure_ascii=False))
            pipe.hset(self.key("progress"), number, progress)
            if str(progress) == PROCESSING:
                pipe.hset(self.key("processing"), number, now)
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
            keys=[self.key("progress"), self.key("processing")], args=[number, to, *allowed])
        return bool(moved), int(current)

    def set_progress(self, number: str, progress: int) -> None:
        pipe = self.redis.pipeline()
        pipe.hset(self.key("progress"), number, progress)
        if str(progress) == PROCESSING:
            pipe.hset(self.key("processing"), number, self.now())
        pipe.execute()

    def finish_processing(self, numbers: list[str], seconds: float) -> int:
        """Move to 300 those of `numbers` at 200 for `seconds` or more (RMS has done its processing: payment,
        a check); how many moved."""
        if not numbers:
            return 0
        return int(self.redis.register_script(FINISH_PROCESSING_SCRIPT)(
            keys=[self.key("progress"), self.key("processing")], args=[seconds, *numbers]))

    def update_order(self, number: str, change: Callable[[dict], None]) -> None:
        def apply(pipe):
            raw = pipe.hget(self.key("orders"), number)
            order = json.loads(raw)
            change(order)
            pipe.multi()
            pipe.hset(self.key("orders"), number, json.dumps(order, ensure_ascii=False))

        self.redis.transaction(apply, self.key("orders"))
