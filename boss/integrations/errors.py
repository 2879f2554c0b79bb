"""The kinds of failure of a call to an external system, so that jobs decide without reading HTTP.

- `TransientError` — timeout, connection error, 5xx, 429, or our own pacer asking to wait: try later
  (`retry_after` seconds when the answer or the pacer said how long); `PacingDelay` when nothing was sent.
- `AuthError` — the system refused our credentials: a problem of the connection, not of one request.
- `RequestRefused` — the system refused the request itself: final.
- `ProtocolBroken` — the answer is not the contract: final.
Each integration subclasses them (RMS: `malls/rakuten/client.py`), so its code names its own kinds.
"""
from __future__ import annotations

from typing import Optional


class IntegrationError(Exception):
    final = True

    def __init__(self, text: str, *, function: Optional[str] = None, http_status: Optional[int] = None):
        super().__init__(text)
        self.function = function  # what was called (an API function, an endpoint)
        self.http_status = http_status


class TransientError(IntegrationError):
    """Try again later; `retry_after` (seconds) when the answer or the pacer said how long."""

    final = False

    def __init__(self, text: str, *, retry_after: Optional[float] = None, **context):
        super().__init__(text, **context)
        self.retry_after = retry_after


class PacingDelay(TransientError):
    """The shared pacer has no free slot within the wait this client may spend; nothing was sent."""


class AuthError(IntegrationError):
    def __init__(self, text: str, *, code: Optional[str] = None, **context):
        super().__init__(text, **context)
        self.code = code


class RequestRefused(IntegrationError):
    pass


class ProtocolBroken(IntegrationError):
    pass
