"""``ordercare reorder``: thin, it parses ``--at``, calls ``stock.service`` and prints.

Mounted on the main app as a plain command::

    app.command("reorder")(reorder_cmd)

The service (and statsforecast behind it) is imported only when the command runs, so the
other commands do not pay for it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ordercare.cli_common import DbOpt, JsonOpt, err, error, open_store_or_exit, out, parse_moment, print_json
from ordercare.rules import RulesError

EXIT_BAD_INPUT = 2

AtOpt = Annotated[str, typer.Option("--at", help="as of this instant, ISO 8601 with an offset "
                                    "(e.g. 2026-06-08T08:00:00+02:00); local days are counted "
                                    "in that offset")]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="a reorder policy file instead "
                                                "of the packaged reorder_policy.yaml")]


def parse_at(value: str, name: str = "--at") -> datetime:
    """An aware instant, or a usage error (exit 2) saying what to write."""
    moment = parse_moment(value, name)
    assert moment is not None
    return moment


def fail(message: str) -> typer.Exit:
    """Print one ``error:`` line on stderr; the caller raises the returned exit (code 2)."""
    error(message)
    return typer.Exit(EXIT_BAD_INPUT)


def open_db(db: str | None) -> Any:
    return open_store_or_exit(db)


AllOpt = Annotated[bool, typer.Option("--all", help="every position (FC, SKU), also those with "
                                      "nothing to order: stock, on order, cover")]


def reorder_cmd(at: AtOpt, as_json: JsonOpt = False, db: DbOpt = None,
                policy: PolicyOpt = None, every: AllOpt = False) -> None:
    """Reorder suggestions per FC and SKU: forecast demand, reorder point, quantity to order."""
    from ordercare.stock import service
    from ordercare.stock.reorder_policy import load_reorder_policy

    moment = parse_at(at)
    try:
        rules = load_reorder_policy(policy) if policy is not None else None
    except RulesError as exc:
        raise fail(str(exc)) from None
    store = open_db(db)
    rows = service.reorder_rows(store, moment, policy=rules, every=every)
    if (clock := service.clock_after(store, moment)) is not None:
        err.print(f"note: the store has played events up to {clock}; stock is as of then, "
                  f"demand up to {moment.isoformat()}", highlight=False)
    if as_json:
        print_json(rows)
        return
    table = Table("fc", "sku", "supplier", "available", "on order", "per day", "reorder point", "order qty",
                  "days of cover", "model", title=f"Reorder suggestions at {moment.isoformat()}")
    for r in rows:
        cover = "-" if r["days_of_cover"] is None else f"{r['days_of_cover']:.1f}"
        table.add_row(r["fc_id"], r["sku"], r["supplier_id"] or "-", str(r["available"]), str(r["on_order"]),
                      f"{r['forecast_per_day']:.2f}", str(r["reorder_point"]), str(r["order_qty"]),
                      cover, r["model"])
    out.print(table)


def purchase_orders_cmd(at: AtOpt, as_json: JsonOpt = False, db: DbOpt = None,
                        every: Annotated[bool, typer.Option("--all", help="also the received and the "
                                                            "cancelled ones")] = False) -> None:
    """Purchase orders as of --at: what is still on its way, the late ones first."""
    from ordercare.stock.purchase_orders import listing
    moment = parse_at(at)
    with open_db(db).connect() as conn:
        rows = listing(conn, moment, every)
    if as_json:
        print_json(rows)
        return
    table = Table("po", "supplier", "fc", "placed", "expected", "state", "outstanding", "lines",
                  title=f"Purchase orders at {moment.isoformat()}")
    for r in rows:
        state = f"late {r['days_late']} d" if r["state"] == "late" else r["state"]
        lines = ", ".join(f"{ln['sku']} {ln['received']}/{ln['ordered']}" for ln in r["lines"])
        table.add_row(r["po_id"], r["supplier_id"], r["fc_id"], r["placed_at"] or "", r["expected_at"] or "-",
                      state, str(r["outstanding"]), lines)
    out.print(table)
