"""schemathesis hooks for tests/api/test_api_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

A valid Idempotency-Key is made unique per request: a key sent again with another body is refused by
design (422, as the IETF Idempotency-Key draft says), and generated keys repeat ("0") across bodies.
An invalid key is sent as generated, so its refusal is still checked.
"""
from __future__ import annotations

import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and 0 < len(key.strip()) <= 255 and "\x00" not in key:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
