"""The sandbox's state in Redis: one licenseKey's orders, faults, calls and rate counter."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Callable, Optional
from urllib.parse import quote

from ..reader import JST
from .contract import Answer, given_datetime

CALLS_KEPT = 2000
ANY_LICENSE_FAULTS = "rms-sandbox-any:faults"

RATE_SCRIPT = """
local now = redis.call('TIME')
local key = KEYS[1] .. ':' .. now[1]
local count = redis.call('INCR', key)
if count == 1 then redis.call('EXPIRE', key, 2) end
return count
"""

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

TAKE_FAULT_SCRIPT = """
local numbers = {}
for i = 2, #ARGV do numbers[ARGV[i]] = true end
for _, key in ipairs(KEYS) do
  local items = redis.call('LRANGE', key, 0, -1)
  for index, raw in ipairs(items) do
    local fault = cjson.decode(raw)
    local wanted = fault['order_number']
    if fault['function'] == ARGV[1] and (wanted == nil or wanted == cjson.null or numbers[wanted]) then
      fault['times'] = fault['times'] - 1
      if fault['times'] <= 0 then
        redis.call('LREM', key, 1, raw)
      else
        redis.call('LSET', key, index - 1, cjson.encode(fault))
      end
      return raw
    end
  end
end
return false
"""


class Store:
    """One licenseKey's orders, faults, calls and rate counter in Redis."""

    def __init__(self, redis, license_key: str):
        self.redis = redis
        self.prefix = f"rms-sandbox:{quote(license_key, safe='')}"

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    # -- rate

    def count_this_second(self) -> int:
        return int(self.redis.register_script(RATE_SCRIPT)(keys=[self.key("rate")]))

    # -- orders

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

    # -- faults and calls

    def add_fault(self, fault: dict) -> None:
        self.redis.rpush(self.key("faults"), json.dumps(fault))

    def take_fault(self, function: str, numbers: list[str]) -> Optional[dict]:
        raw = self.redis.register_script(TAKE_FAULT_SCRIPT)(
            keys=[self.key("faults"), ANY_LICENSE_FAULTS], args=[function, *numbers])
        return json.loads(raw) if raw else None

    def log_call(self, function: str, body, answer: Answer) -> None:
        entry = {"at": datetime.now(JST).isoformat(timespec="microseconds"), "function": function, "body": body,
                 "http_status": answer.status, "message_code": answer.message_code}
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self.key("calls"), json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(self.key("calls"), -CALLS_KEPT, -1)
        pipe.execute()

    def calls(self) -> list[dict]:
        return [json.loads(raw) for raw in self.redis.lrange(self.key("calls"), 0, -1)]

    def reset(self) -> int:
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=1000))
        return self.redis.delete(*keys) if keys else 0
