"""The simulator's state in Redis, one API key's apart from another's (`wh-sim:<key>:...`):

- `shipments` (hash id → JSON as `contract.new_shipment` stores it), `refs` (client_reference → id),
  `by-order` (order_number → the newest id);
- `received`, `in-progress` (sorted sets by creation time) and `pending` (a set: a withdrawal or cancellation
  not answered, a parcel pulled back and not yet inspected): the shipments auto mode may move, so a touch looks
  only at those due;
- `events` (a list, append-only: the cursor is a position in it), `conf` (mode, item master on/off, the
  redeliver and out-of-order switches), `items` (the item master), `lock` (one writer of shipments at a time).

A new shipment is made by one Lua script (`CREATE_SCRIPT`), so two processes sending the same
client_reference at once make one shipment. Every other change of a shipment (withdrawal, cancellation,
advance, auto mode) happens under the key's lock, so an event is never produced twice.
Shipment ids (`WS-…`) come from one counter for every key, so no key can see another key's shipment by id.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Iterable, Optional

from ...integrations.sandbox import SandboxStore
from .auto import due_events
from .contract import DEFAULT_SHIP_AFTER_S, DEFAULT_START_AFTER_S, dumps

NAMESPACE = "wh-sim"
SHIPMENT_COUNTER = f"{NAMESPACE}-any:shipment-seq"
LOCK_TIMEOUT_S = 60

# KEYS: shipments, refs, by-order, received, counter. ARGV: created_ts, then per request: client_reference,
# order_number, the stored JSON ('' for a request refused: a known client_reference still answers 200).
# Returns per request: status (201, 200, 422), id, stored JSON.
CREATE_SCRIPT = """
local out = {}
for i = 2, #ARGV, 3 do
  local ref = ARGV[i]
  local id = redis.call('HGET', KEYS[2], ref)
  if id then
    out[#out + 1] = 200; out[#out + 1] = id; out[#out + 1] = redis.call('HGET', KEYS[1], id)
  elseif ARGV[i + 2] == '' then
    out[#out + 1] = 422; out[#out + 1] = ''; out[#out + 1] = ''
  else
    id = 'WS-' .. string.format('%08d', redis.call('INCR', KEYS[5]))
    redis.call('HSET', KEYS[1], id, ARGV[i + 2])
    redis.call('HSET', KEYS[2], ref, id)
    redis.call('HSET', KEYS[3], ARGV[i + 1], id)
    redis.call('ZADD', KEYS[4], ARGV[1], id)
    out[#out + 1] = 201; out[#out + 1] = id; out[#out + 1] = ARGV[i + 2]
  end
end
return out
"""

# Whether auto mode has anything due (KEYS: conf, received, in-progress, pending; ARGV: now).
DUE_SCRIPT = """
if redis.call('HGET', KEYS[1], 'auto') ~= '1' then return 0 end
if redis.call('SCARD', KEYS[4]) > 0 then return 1 end
local now = tonumber(ARGV[1])
local start_after = tonumber(redis.call('HGET', KEYS[1], 'start_after_s') or '%(start)s')
local ship_after = tonumber(redis.call('HGET', KEYS[1], 'ship_after_s') or '%(ship)s')
if #redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - start_after, 'LIMIT', 0, 1) > 0 then return 1 end
if #redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - math.max(start_after, ship_after), 'LIMIT', 0, 1) > 0 then
  return 1
end
return 0
""" % {"start": DEFAULT_START_AFTER_S, "ship": DEFAULT_SHIP_AFTER_S}

# A page of events (KEYS: events, conf; ARGV: position, limit). A redeliver switch, used up here, starts the
# page at the first event. Returns {start, total, out_of_order, events...}; start -1: the position is past the end.
EVENTS_SCRIPT = """
local start = tonumber(ARGV[1])
local total = redis.call('LLEN', KEYS[1])
if redis.call('HDEL', KEYS[2], 'redeliver') == 1 then start = 0 end
if start > total then return {-1, total, '0'} end
local page = redis.call('LRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
local out = {start, total, redis.call('HGET', KEYS[2], 'out_of_order') or '0'}
for _, raw in ipairs(page) do out[#out + 1] = raw end
return out
"""


class Store(SandboxStore):
    """One API key's shipments, events, mode and item master, beside its faults, calls and rate counter."""

    def __init__(self, redis, api_key: str):
        super().__init__(redis, NAMESPACE, api_key)

    # ---------------------------------------------------------------------------------------- shipments

    def create(self, requests: list[tuple[str, str, Optional[dict]]], created_ts: float) -> list[tuple]:
        """Make the shipments of `requests` (client_reference, order_number, stored shipment or None when the
        request was refused), one per client_reference ever: [(201|200|422, id, stored shipment)]."""
        if not requests:
            return []
        args = [repr(created_ts)]
        for reference, number, shipment in requests:
            args += [reference, number, dumps(shipment) if shipment is not None else ""]
        out = self.redis.register_script(CREATE_SCRIPT)(
            keys=[self.key("shipments"), self.key("refs"), self.key("by-order"), self.key("received"),
                  SHIPMENT_COUNTER], args=args)
        return [(int(out[i]), out[i + 1].decode(), json.loads(out[i + 2]) if out[i + 2] else None)
                for i in range(0, len(out), 3)]

    def load(self, ids: list[str]) -> list[Optional[dict]]:
        if not ids:
            return []
        return [json.loads(raw) if raw else None for raw in self.redis.hmget(self.key("shipments"), ids)]

    def find(self, client_reference=None, shipment_id=None, order_number=None) -> Optional[str]:
        """A shipment's id by one of its names (by order_number: the newest of that number); None: unknown."""
        if shipment_id is not None:
            return shipment_id if self.redis.hexists(self.key("shipments"), shipment_id) else None
        if client_reference is not None:
            found = self.redis.hget(self.key("refs"), client_reference)
        else:
            found = self.redis.hget(self.key("by-order"), order_number)
        return found.decode() if found else None

    def find_many(self, names: list[tuple[str, str]]) -> list[Optional[str]]:
        """`find` for many (kind, value) pairs at once (kind: client_reference, shipment_id, order_number)."""
        pipe = self.redis.pipeline(transaction=False)
        for kind, value in names:
            if kind == "shipment_id":
                pipe.hexists(self.key("shipments"), value)
            else:
                pipe.hget(self.key("refs" if kind == "client_reference" else "by-order"), value)
        found = []
        for (kind, value), answer in zip(names, pipe.execute()):
            if kind == "shipment_id":
                found.append(value if answer else None)
            else:
                found.append(answer.decode() if answer else None)
        return found

    def all_shipments(self) -> list[tuple[str, dict]]:
        return sorted(((key.decode(), json.loads(raw)) for key, raw in
                       self.redis.hgetall(self.key("shipments")).items()), key=lambda pair: pair[0])

    @contextmanager
    def locked(self):
        """The key's writer lock: changes of existing shipments and the events they produce, one at a time."""
        lock = self.redis.lock(self.key("lock"), timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_TIMEOUT_S)
        if not lock.acquire():
            raise TimeoutError("the simulator's key lock was not free")
        try:
            yield
        finally:
            lock.release()

    def save(self, shipments: dict[str, dict], events: Iterable[dict]) -> None:
        """Write changed shipments (and where auto mode looks for them) and append their events, at once."""
        pipe = self.redis.pipeline(transaction=True)
        for shipment_id, shipment in shipments.items():
            pipe.hset(self.key("shipments"), shipment_id, dumps(shipment))
            for status, name in (("received", "received"), ("in_progress", "in-progress")):
                if shipment["status"] == status:
                    pipe.zadd(self.key(name), {shipment_id: shipment["_ts"]})
                else:
                    pipe.zrem(self.key(name), shipment_id)
            if shipment.get("_wd") is not None or shipment.get("_cx") is not None or shipment.get("_ri") is not None:
                pipe.sadd(self.key("pending"), shipment_id)
            else:
                pipe.srem(self.key("pending"), shipment_id)
        events = [dumps(event) for event in events]
        for start in range(0, len(events), 1000):
            pipe.rpush(self.key("events"), *events[start:start + 1000])
        pipe.execute()

    # ---------------------------------------------------------------------------------------- auto mode

    def touch(self, now: Optional[float] = None) -> int:
        """Produce the events auto mode has due (none in manual mode); how many. Cheap when nothing is due."""
        now = time.time() if now is None else now
        if not self._due(now):
            return 0
        with self.locked():
            return self.produce_due(now)

    def _due(self, now: float) -> bool:
        return bool(self.redis.register_script(DUE_SCRIPT)(
            keys=[self.key("conf"), self.key("received"), self.key("in-progress"), self.key("pending")],
            args=[repr(now)]))

    def produce_due(self, now: float) -> int:
        """Auto mode's due events, under the lock (the caller holds it): read again what is due, produce,
        save. Events are appended in the order they were due."""
        conf = self.conf()
        if not conf["auto"]:
            return 0
        start_after, ship_after = conf["start_after_s"], conf["ship_after_s"]
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrangebyscore(self.key("received"), "-inf", now - start_after)
        pipe.zrangebyscore(self.key("in-progress"), "-inf", now - max(start_after, ship_after))
        pipe.smembers(self.key("pending"))
        ids = sorted({raw.decode() for found in pipe.execute() for raw in found})
        changed, events = {}, []
        for shipment_id, shipment in zip(ids, self.load(ids)):
            if shipment is None:
                continue
            produced = due_events(shipment_id, shipment, now, start_after, ship_after)
            if produced:
                changed[shipment_id] = shipment
                events += produced
        events.sort(key=lambda event: (event["at"], event["shipment_id"], event["seq"]))
        if changed:
            self.save(changed, events)
        return len(events)

    # ---------------------------------------------------------------------------------------- events

    def events_page(self, position: int, limit: int) -> Optional[tuple[int, list[dict], bool]]:
        """(the position served from, the events, newest first?) — None when `position` is past the end."""
        out = self.redis.register_script(EVENTS_SCRIPT)(keys=[self.key("events"), self.key("conf")],
                                                        args=[position, limit])
        start = int(out[0])
        if start < 0:
            return None
        return start, [json.loads(raw) for raw in out[3:]], out[2] in (b"1", "1")

    def redeliver(self) -> None:
        self.redis.hset(self.key("conf"), "redeliver", "1")

    # ---------------------------------------------------------------------------------------- settings

    def conf(self) -> dict:
        raw = {key.decode(): value.decode() for key, value in self.redis.hgetall(self.key("conf")).items()}
        return {"auto": raw.get("auto") == "1",
                "start_after_s": float(raw.get("start_after_s", DEFAULT_START_AFTER_S)),
                "ship_after_s": float(raw.get("ship_after_s", DEFAULT_SHIP_AFTER_S)),
                "out_of_order": raw.get("out_of_order") == "1", "items_set": raw.get("items_set") == "1"}

    def set_mode(self, auto: bool, start_after_s: Optional[float] = None, ship_after_s: Optional[float] = None) -> None:
        mapping = {"auto": "1" if auto else "0"}
        if start_after_s is not None:
            mapping["start_after_s"] = repr(float(start_after_s))
        if ship_after_s is not None:
            mapping["ship_after_s"] = repr(float(ship_after_s))
        self.redis.hset(self.key("conf"), mapping=mapping)

    def set_out_of_order(self, on: bool) -> None:
        self.redis.hset(self.key("conf"), "out_of_order", "1" if on else "0")

    def set_items(self, skus: Optional[list[str]]) -> None:
        """The key's item master (None: none, every SKU accepted; a list, even empty: only those)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.key("items"))
        if skus is None:
            pipe.hdel(self.key("conf"), "items_set")
        else:
            if skus:
                pipe.sadd(self.key("items"), *skus)
            pipe.hset(self.key("conf"), "items_set", "1")
        pipe.execute()

    def known_skus(self, skus: list[str]) -> Optional[set[str]]:
        """Those of `skus` in the item master; None when the key has no item master (every SKU is known)."""
        unique = sorted(set(skus))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(self.key("conf"), "items_set")
        if unique:
            pipe.smismember(self.key("items"), unique)
        answers = pipe.execute()
        if answers[0] is None:
            return None
        return {sku for sku, known in zip(unique, answers[1] if unique else []) if known}


def configure(redis, api_key: str, auto: Optional[bool] = None, start_after_s: Optional[float] = None,
              ship_after_s: Optional[float] = None, skus: Optional[list[str]] = None) -> Store:
    """Set a key's mode and item master directly in Redis (the demo does this before the app serves)."""
    store = Store(redis, api_key)
    if auto is not None:
        store.set_mode(auto, start_after_s, ship_after_s)
    if skus is not None:
        store.set_items(list(skus))
    return store
