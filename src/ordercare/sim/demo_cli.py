"""The ``ordercare demo`` command (mounted by the main CLI): thin, it parses, runs, prints."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from ordercare.cli_common import error
from ordercare.store.db import StoreError


def demo(
    orders: Annotated[int, typer.Option(help="orders to simulate", min=50)] = 20_000,
    days: Annotated[int, typer.Option(help="days of marketplace life", min=10, max=120)] = 60,
    seed: Annotated[int, typer.Option(help="random seed: the same seed, the same world")] = 7,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of an empty database "
                                           "(default: $ORDERCARE_DB, else a fresh ./ordercare-demo.db)")] = None,
    report: Annotated[str | None, typer.Option("--report", help="where to write the HTML report "
                                               "(default: ./ordercare-demo.html)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the scorecard as JSON")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Simulate a marketplace with realistic faults, run ordercare on it, print the scorecard."""
    from ordercare.sim.demo import DemoError, run_demo
    from ordercare.sim.present import print_scorecard

    out, err = Console(), Console(stderr=True)
    try:
        card = run_demo(orders=orders, days=days, seed=seed, db_url=db, report_path=report,
                        progress=not quiet and not as_json, console=err)
    except (DemoError, StoreError) as exc:
        error(str(exc))
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(card.as_dict(), default=str) + "\n")
        return
    print_scorecard(card, out)
