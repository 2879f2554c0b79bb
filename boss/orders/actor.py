"""Who acts: a signed-in user, an API token, a job or the system (R12: the history names them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Actor:
    type: str
    name: str
    account_id: int
    user_id: Optional[int] = None

    @classmethod
    def system(cls, account_id: int, name: str = "システム") -> "Actor":
        return cls("system", name, account_id)

    @classmethod
    def job(cls, account_id: int, name: str) -> "Actor":
        return cls("job", name, account_id)
