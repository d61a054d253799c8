"""``ordercare insights [--json]``: problems by cause, ranked, and the weekly trend."""

from __future__ import annotations

import json as jsonlib
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ordercare.cli_common import open_store_or_exit, out
from ordercare.insights.causes import insights

TOP = 5


def _fmt_rate(r: dict[str, Any]) -> str:
    return f"{r['rate']:.1%} [{r['ci_low']:.1%}–{r['ci_high']:.1%}]"


def print_insights(rows: list[dict[str, Any]], console: Console, top: int = TOP) -> None:
    causes = [r for r in rows if r["dimension"] != "week"]
    flagged = [r for r in causes if r["systemic"]]
    table = Table("cause", "name", "problem", "problems / units", "rate [95 % CI]", "peers", "excess",
                  title="Systemic failures (worse than their peers beyond doubt)")
    for r in flagged:
        table.add_row(f"{r['dimension']} {r['key']}", r["name"], r["problem"], f"{r['problems']} / {r['units']}",
                      _fmt_rate(r), f"{r['peer_rate']:.1%}", f"+{r['excess']:.0f}")
    if flagged:
        console.print(table)
    else:
        console.print("No cause is worse than its peers beyond doubt.")
    for dim, problem in (("carrier", "carrier"), ("seller", "all"), ("fc", "all"), ("sku", "product")):
        part = [r for r in causes if r["dimension"] == dim and r["problem"] == problem][:top]
        if not part:
            continue
        what = "all problems" if problem == "all" else f"{problem} problems"
        t = Table("rank", dim, "name", "problems / units", "rate [95 % CI]", "systemic",
                  title=f"Top {len(part)} by {dim} ({what})")
        for i, r in enumerate(part, 1):
            t.add_row(str(i), r["key"], r["name"], f"{r['problems']} / {r['units']}", _fmt_rate(r),
                      "yes" if r["systemic"] else "")
        console.print(t)
    weeks = [r for r in rows if r["dimension"] == "week"]
    if weeks:
        t = Table("week", "orders", "contacts / order", "orders with a case", title="Weekly trend (by order week)")
        for r in weeks:
            t.add_row(r["key"], str(r["orders"]), f"{r['contacts_per_order']:.3f}", f"{r['rate']:.1%}")
        console.print(t)


def insights_cmd(
    json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: $ORDERCARE_DB, "
                                           "else sqlite:///ordercare.db)")] = None,
) -> None:
    """Problems by cause (seller, carrier, FC, SKU) as rates with confidence intervals, ranked."""
    rows = insights(open_store_or_exit(db))
    if json:
        sys.stdout.write(jsonlib.dumps(rows, ensure_ascii=False) + "\n")
        return
    print_insights(rows, out)
