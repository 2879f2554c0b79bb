"""Where an integration's credentials may be sent. With BOSS_SANDBOX on: only to this machine (the
integration's stand-in in this app); otherwise only to the system's own URL or one an operator listed."""
from __future__ import annotations

from typing import Optional, Sequence
from urllib.parse import urlparse

from flask import current_app, request

from ..urls import is_allowed_base_url

LOOPBACK = ("127.0.0.1", "localhost", "::1")
NOT_HTTP = "not_http"
NOT_LOCAL = "not_local"
NOT_LISTED = "not_listed"


def sandbox_base_url(path: str, configured: Optional[str] = None) -> str:
    """The stand-in mounted at `path` in this very app (`configured` when set), so that no test or demo
    reaches the real system by accident."""
    if configured:
        return configured
    if request:
        return request.host_url.rstrip("/") + path
    return f"http://127.0.0.1:{current_app.config.get('PORT', 5000)}{path}"


def base_url_refusal(url: str, allowed: Sequence[str]) -> Optional[str]:
    """Why a base URL a user gives is refused (NOT_HTTP, NOT_LOCAL in sandbox mode, NOT_LISTED otherwise),
    None when credentials may go there."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return NOT_HTTP
    if current_app.config["BOSS_SANDBOX"]:
        return None if parsed.hostname in LOOPBACK else NOT_LOCAL
    return None if is_allowed_base_url(url, allowed) else NOT_LISTED


def may_send_credentials(url: str, allowed: Sequence[str]) -> bool:
    """Whether a stored base URL still gets the credentials (one stored before it was refused, or since
    unlisted, does not)."""
    return current_app.config["BOSS_SANDBOX"] or is_allowed_base_url(url, list(allowed))
