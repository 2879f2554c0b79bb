"""The plumbing of a stand-in server (the RMS sandbox, the warehouse simulator): its state in Redis under
a namespace per key (a licenseKey, an API key: `<namespace>:<key percent-encoded>:...`), a per-second
request counter, injected faults (for one key or for every key), the log of calls received and a reset;
and the control API's refusals and fault bodies."""
from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Iterable, Optional
from urllib.parse import quote

from flask import Blueprint, jsonify, request

from ..timefmt import JST

CALLS_KEPT = 2000
MAX_DELAY_MS = 60_000

RATE_SCRIPT = """
local now = redis.call('TIME')
local key = KEYS[1] .. ':' .. now[1]
local count = redis.call('INCR', key)
if count == 1 then redis.call('EXPIRE', key, 2) end
return count
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


REMOVE_FAULTS_SCRIPT = """
local removed = 0
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if cjson.decode(raw)['function'] == ARGV[1] then
    removed = removed + redis.call('LREM', KEYS[1], 1, raw)
  end
end
return removed
"""


def every_key_faults(namespace: str) -> str:
    """The list of faults that apply to every key of a stand-in."""
    return f"{namespace}-any:faults"


class SandboxStore:
    """One key's state of a stand-in in Redis; a stand-in adds its own data (orders, shipments) by `key()`."""

    def __init__(self, redis, namespace: str, key: str):
        self.redis = redis
        self.namespace = namespace
        self.prefix = f"{namespace}:{quote(key, safe='')}"

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def count_this_second(self) -> int:
        return int(self.redis.register_script(RATE_SCRIPT)(keys=[self.key("rate")]))

    def add_fault(self, fault: dict) -> None:
        self.redis.rpush(self.key("faults"), json.dumps(fault))

    def take_fault(self, function: str, order_numbers: Iterable[str]) -> Optional[dict]:
        """The first fault (this key's, then every key's) for `function` and either any order or one of
        `order_numbers`, used up once more; None when there is none."""
        raw = self.redis.register_script(TAKE_FAULT_SCRIPT)(
            keys=[self.key("faults"), every_key_faults(self.namespace)], args=[function, *order_numbers])
        return json.loads(raw) if raw else None

    def remove_faults(self, function: str) -> int:
        """Disarm this key's faults for `function` (a fault given `times: 0`); how many were removed."""
        return int(self.redis.register_script(REMOVE_FAULTS_SCRIPT)(keys=[self.key("faults")], args=[function]))

    def log_call(self, function: str, body, http_status: int, **fields) -> None:
        """Log a call received; `fields` are the stand-in's own (RMS: message_code; the warehouse: path)."""
        entry = {"at": datetime.now(JST).isoformat(timespec="microseconds"), "function": function,
                 "body": body, "http_status": http_status, **fields}
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self.key("calls"), json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(self.key("calls"), -CALLS_KEPT, -1)
        pipe.execute()

    def calls(self) -> list[dict]:
        return [json.loads(raw) for raw in self.redis.lrange(self.key("calls"), 0, -1)]

    def reset(self) -> int:
        """Forget this key's state (never another key's); the number of Redis keys deleted."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=1000))
        return self.redis.delete(*keys) if keys else 0


def add_fault_for_every_key(redis, namespace: str, fault: dict) -> None:
    redis.rpush(every_key_faults(namespace), json.dumps(fault))


def delay(fault: dict) -> None:
    """A fault's `delay_ms`, slept in the request (the stand-in's answer is late, as a slow server's)."""
    if fault.get("delay_ms"):
        time.sleep(fault["delay_ms"] / 1000)


# --------------------------------------------------------------------------------------------- control API

class ControlError(Exception):
    """A control call the stand-in refuses: 400 with the reason."""


def answer_control_errors(bp: Blueprint) -> None:
    @bp.errorhandler(ControlError)
    def _control_error(exc: ControlError):
        return jsonify({"error": str(exc)}), 400


def control_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ControlError("a JSON object is expected")
    return body


def is_int(value) -> bool:
    """A JSON integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def read_fault(body: dict, functions: Iterable[str], code_field: str = "message_code",
               disarm: bool = False) -> dict:
    """A fault to inject, from a control call: which `function` (one of `functions`) and `order_number`
    (null: any), how many `times`, and what instead — an `http_status`, a code (`code_field`: RMS's
    `message_code`, the warehouse's `error_code`), a raw `body` and/or a `delay_ms`. With `disarm`,
    `times: 0` is accepted (the caller removes the function's faults) and a fault may be only a delay of 0.
    ControlError says what is wrong."""
    fault = {
        "function": body.get("function"), "order_number": body.get("order_number"), "times": body.get("times", 1),
        "http_status": body.get("http_status"), code_field: body.get(code_field),
        "delay_ms": body.get("delay_ms", 0) if body.get("delay_ms") is not None else 0, "body": body.get("body"),
    }
    if fault["function"] not in functions:
        raise ControlError("function must be one of " + ", ".join(functions))
    least = 0 if disarm else 1
    if not is_int(fault["times"]) or fault["times"] < least:
        raise ControlError("times must be a positive integer" + (" (0 disarms)" if disarm else ""))
    status = fault["http_status"]
    if status is not None and (not is_int(status) or not 200 <= status <= 599):
        raise ControlError("http_status must be an HTTP status or null")
    if not is_int(fault["delay_ms"]) or not 0 <= fault["delay_ms"] <= MAX_DELAY_MS:
        raise ControlError(f"delay_ms must be 0..{MAX_DELAY_MS}")
    for name in ("order_number", code_field, "body"):
        if fault[name] is not None and not isinstance(fault[name], str):
            raise ControlError(f"{name} must be a string or null")
    if not disarm and not (fault["http_status"] or fault[code_field] or fault["delay_ms"] or fault["body"] is not None):
        raise ControlError(f"a fault needs http_status, {code_field}, body or delay_ms")
    return fault
