"""The demo as a benchmark: the default marketplace through the whole system, on one core.

    python benchmarks/bench_demo.py [--orders 20000] [--days 60] [--seed 7]

Runs in a temporary directory (a fresh SQLite store, the HTML report beside it), prints the
scorecard tables on stderr and the scorecard as one JSON object on the last line of stdout:
recall, precision, proactive rate, contacts per order with and without ordercare, time to a
fix, flags, ``stock`` (stock-out days and promises missed because of stock under ordercare's
reorder plan and under a naive rule, on the same orders; forecast WAPE/MASE against the
seasonal naive), and ``seconds`` (wall clock per stage, ``cpu``: CPU time of the whole run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from ordercare.sim.demo import run_demo
from ordercare.sim.present import print_scorecard


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", help="a folder to keep the store and the report in")
    args = parser.parse_args()
    _one_core()
    err = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="ordercare-bench-demo-") as tmp:
        where = Path(args.keep or tmp)
        where.mkdir(parents=True, exist_ok=True)
        card = run_demo(orders=args.orders, days=args.days, seed=args.seed,
                        db_url=f"sqlite:///{where}/demo.db",
                        report_path=str(where / "ordercare-demo.html"), progress=True, console=err)
        print_scorecard(card, err)
    out = card.as_dict()
    out["meta"].pop("insights_all", None)
    sys.stdout.write(json.dumps(out, default=str) + "\n")


if __name__ == "__main__":
    main()
