"""Reason: a text in Japanese and English — why something is refused and what to do instead, or what was done."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    """Why an action is refused, in both languages, with what to do instead."""

    ja: str
    en: str

    def text(self, lang: str = "ja") -> str:
        return self.en if lang == "en" else self.ja
