"""Where the app may send a browser or credentials: pure rules, no app or request needed."""
from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def safe_next_path(target: str | None) -> str | None:
    """A `next=` target when it is a path on this site, else None.

    It must start with a single '/' (not '//' nor '/\\', which browsers read as another host), hold no
    backslash, space or control character anywhere (a tab or CR/LF after '/' is dropped or split by
    browsers and servers), and have neither a scheme nor a host once parsed."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(char == "\\" or char.isspace() or unicodedata.category(char).startswith("C") for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _base_url_key(url: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path) of an http(s) base URL without credentials, query or fragment; else None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 host
        return None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme], parts.path.rstrip("/")


def is_allowed_base_url(url: str, allowed: list[str] | tuple[str, ...]) -> bool:
    """Whether `url` is one of the `allowed` base URLs: the same scheme, host, port and path (letter case
    of scheme and host, a default port and a trailing '/' aside). A look-alike host, another port, a
    longer path, a user name or a query is not the same URL."""
    key = _base_url_key(url)
    return key is not None and any(key == _base_url_key(entry) for entry in allowed)
