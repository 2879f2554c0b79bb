"""The outbox kinds, each declared once (architecture.md): what carries a message out, how long the outbox
waits before it dispatches an unfinished one again, and, for a kind handed to a lane, the lane.

Each integration or topic declares its kinds, lanes and periodic duties in its own module; DECLARING_MODULES
(here, and nowhere else) lists those modules, and the registry imports them the first time it is asked.
The outbox, the worker, the job functions and the sweeper read the registry and name no integration.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Optional

DECLARING_MODULES = ("boss.malls.rakuten.importer", "boss.malls.rakuten.reflection", "boss.orders.bulk",
                     "boss.warehouse.sync", "boss.warehouse.shipping", "boss.warehouse.notices",
                     "boss.csv.files", "boss.csv.order_import", "boss.csv.exports",
                     "boss.csv.mapping_import")
DEFAULT_TIMEOUT_SETTING = "OUTBOX_REDISPATCH_SECONDS"


@dataclass(frozen=True)
class Kind:
    """An outbox kind. `handler` carries out one message in an RQ job of its own (a forked work horse), or
    `dispatcher` hands a batch of messages to a runner of the kind's own, setting each one's rq_job_id to
    what the sweeper can check (a lane's marker). `timeout_setting` names the setting of seconds after which
    a dispatched message that has not finished is dispatched again."""

    name: str
    handler: Optional[Callable[[Any], Any]] = None
    dispatcher: Optional[Callable[[list], None]] = None
    timeout_setting: str = DEFAULT_TIMEOUT_SETTING


@dataclass(frozen=True)
class LaneKind:
    """A kind of lane (boss.lanes); one lane per key, e.g. per shop. `step(key)` does one step and returns when
    the lane should run next (epoch seconds; None: idle). `step_timeout_setting` names the setting that bounds
    one step (its longest request): the lane's lock outlives it. `in_process`: steps run in the worker itself
    rather than a forked work horse (jobs/worker.py), cheaper than a fork for a step of one request."""

    name: str
    step: Callable[[Any], Optional[float]]
    step_timeout_setting: str
    in_process: bool = True


@dataclass(frozen=True)
class Periodic:
    """A duty the sweeper does every OUTBOX_SWEEP_SECONDS (in one worker): `run()` returns how many things it
    started, logged with `log_line` (a %d format) when some."""

    run: Callable[[], int]
    log_line: str


_kinds: dict[str, Kind] = {}
_lanes: dict[str, LaneKind] = {}
_periodic: list[Periodic] = []
_loaded = False


def declare(name: str, *, handler: Optional[Callable] = None, dispatcher: Optional[Callable] = None,
            timeout_setting: str = DEFAULT_TIMEOUT_SETTING) -> Kind:
    if name in _kinds:
        raise ValueError(f"outbox kind {name!r} is declared twice")
    if (handler is None) == (dispatcher is None):
        raise ValueError(f"outbox kind {name!r} needs a handler or a dispatcher, not both")
    _kinds[name] = Kind(name, handler, dispatcher, timeout_setting)
    return _kinds[name]


def handler(name: str, *, timeout_setting: str = DEFAULT_TIMEOUT_SETTING):
    """Declare the kind `name`, carried out by the decorated function (which must be idempotent)."""
    def register(fn):
        declare(name, handler=fn, timeout_setting=timeout_setting)
        return fn
    return register


def declare_lane(name: str, step: Callable[[Any], Optional[float]], step_timeout_setting: str,
                 in_process: bool = True) -> LaneKind:
    if name in _lanes:
        raise ValueError(f"lane {name!r} is declared twice")
    _lanes[name] = LaneKind(name, step, step_timeout_setting, in_process)
    return _lanes[name]


def periodic(log_line: str):
    """Declare the decorated function a periodic duty of the sweeper."""
    def register(fn):
        _periodic.append(Periodic(fn, log_line))
        return fn
    return register


def load() -> None:
    """Import the declaring modules (once); the worker does it before it forks, the others when first asked."""
    global _loaded
    if not _loaded:
        for module in DECLARING_MODULES:
            importlib.import_module(module)
        _loaded = True


def kind(name: str) -> Kind:
    """The declared kind; a kind no module declares (a message left by an older release) is carried out by
    nothing, and waits with the default timeout."""
    load()
    return _kinds.get(name) or Kind(name)


def lane(name: str) -> LaneKind:
    load()
    return _lanes[name]


def periodic_duties() -> list[Periodic]:
    load()
    return list(_periodic)
