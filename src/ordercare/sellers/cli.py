"""``ordercare sellers`` and ``ordercare seller ID``: thin, they parse, call the service, print.

Plain functions with Typer annotations, mounted by the main app::

    app.command("sellers")(sellers_cmd)
    app.command("seller")(seller_cmd)
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from ordercare.cli_common import DbOpt, JsonOpt, error, open_store_or_exit, parse_moment
from ordercare.cli_common import out as _out
from ordercare.sellers import service

AtOpt = Annotated[str | None, typer.Option("--at", help="as of this instant (ISO 8601 with an "
                                           "offset; default: the engine clock)")]


def sellers_cmd(as_json: JsonOpt = False, at: AtOpt = None, db: DbOpt = None) -> None:
    """Seller health: order defect, late shipment, cancel and valid tracking rates, status."""
    rows = service.list_sellers(open_store_or_exit(db), parse_moment(at, "--at"))
    if as_json:
        _print_json(rows)
        return
    if not rows:
        _out.print("no sellers yet")
        return
    table = Table("seller", "orders", "ODR", "late ship", "cancel", "valid tracking", "status",
                  "flagged")
    for r in rows:
        table.add_row(r["seller_id"], str(r["orders"]), _pct(r["order_defect_rate"]),
                      _pct(r["late_shipment_rate"]), _pct(r["cancel_rate"]),
                      _pct(r["valid_tracking_rate"]), r["status"], str(r["flagged_orders"]))
    _out.print(table)
    _out.print(f"as of {rows[0]['at']}")


def seller_cmd(
    seller_id: Annotated[str, typer.Argument(help="the seller id")],
    reinstate: Annotated[bool, typer.Option("--reinstate", help="record the decision to "
                                            "reinstate a suspended seller (needs --note)")] = False,
    note: Annotated[str | None, typer.Option("--note", help="why (e.g. 'plan of action "
                                             "accepted')")] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    at: AtOpt = None,
    by: Annotated[str | None, typer.Option("--by", help="who decides (default: the "
                                           "logged-in user)")] = None,
    api_token: Annotated[bool, typer.Option("--api-token", help="print the seller's token for the "
                                            "sellers' API of `ordercare serve` (ORDERCARE_SELLER_SECRET)")] = False,
) -> None:
    """One seller: each metric with its window, counts and orders; reinstatement; API token."""
    store = open_store_or_exit(db)
    if api_token:
        _print_token(store, seller_id)
        return
    if reinstate:
        if at is not None:
            raise typer.BadParameter("a decision is recorded at the engine clock; --at only "
                                     "shows a past state", param_hint="--at")
        if not note or not note.strip():
            raise typer.BadParameter("a reinstatement is a recorded decision: say why with "
                                     "--note \"...\"", param_hint="--note")
        try:
            done = service.reinstate(store, seller_id, note.strip(), by or _user())
        except (service.UnknownSeller, service.NotSuspended) as exc:
            error(str(exc.args[0]))
            raise typer.Exit(1) from None
        if as_json:
            _print_json(done)
        else:
            r = done["reinstated"]
            _out.print(f"{seller_id} reinstated at {r['at']} by {r['by']}: {r['note']}")
        return
    try:
        detail = service.seller_detail(store, seller_id, parse_moment(at, "--at"))
    except service.UnknownSeller as exc:
        error(str(exc.args[0]))
        raise typer.Exit(1) from None
    if as_json:
        _print_json(detail)
        return
    _print_detail(detail)


def _print_token(store: Engine, seller_id: str) -> None:
    from ordercare.sellers.keys import SECRET_ENV, SellerKeys
    keys = SellerKeys.from_env()
    if keys is None:
        error(f"set {SECRET_ENV} (the sellers' API signs its tokens with it)")
        raise typer.Exit(2)
    if not service.is_registered(store, seller_id):
        error(f"no seller {seller_id!r} registered in this store")
        raise typer.Exit(1)
    print(keys.token(seller_id))


def _print_detail(d: dict[str, Any]) -> None:
    _out.print(Text.assemble((d["seller_id"], "bold"), f" {d['name'] or ''} — {d['status']} as of {d['at']}"))
    for reason in d["reasons"]:
        _out.print(f"  ! {reason}")
    table = Table("metric", "window", "rate", "target", "num", "den", "orders against")
    for m in d["metrics"]:
        orders = ", ".join(m["order_ids"][:6]) + (" …" if len(m["order_ids"]) > 6 else "")
        table.add_row(m["metric"], f"{m['window_days']} d", _pct(m["rate"]), m["target"],
                      str(m["numerator"]), str(m["denominator"]), orders)
    _out.print(table)
    masked, msgs = d["masked_contact_details"], d["messages"]
    _out.print(f"messages: {msgs['from_buyer']} from buyers, {msgs['from_seller']} from the "
               f"seller; contact details masked: {masked['from_seller']} sent by the seller, "
               f"{masked['from_buyer']} by buyers; "
               f"{len(msgs['taken_over_by_guarantee'])} taken over by the guarantee")
    if d["flagged_orders"]:
        _out.print(f"{len(d['flagged_orders'])} orders flagged while suspended")
    for h in d["history"]:
        who = f" by {h['by']}: {h['note']}" if h["kind"] == "reinstatement" else ""
        case = f" ({h['case_id']})" if h["case_id"] else ""
        _out.print(f"  {h['at']} {h['previous']} → {h['status']}{case}{who}")


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
