"""The ``ordercare`` command line: thin, it parses, calls a service function, prints."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ordercare import services
from ordercare.cli_common import DbOpt, JsonOpt, err, error, open_store_or_exit, out, parse_moment, print_json
from ordercare.domain.events import AGENT_ACTIONS
from ordercare.domain.order import REQUEST_STATUSES
from ordercare.follow import Follower, follow_once
from ordercare.rules import RulesError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="ordercare: every order watched against its promise.")


def _read_lines(file: str) -> list[tuple[int, bytes]]:
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        error(f"cannot read {file}: {exc.strerror}")
        raise typer.Exit(2) from None
    return list(enumerate(data.split(b"\n"), start=1))


def _waiting() -> None:
    err.print("waiting for another engine pass on this store to finish (a replay, a watch tick, a click)…")


@app.command()
def replay(file: Annotated[str, typer.Argument(help="JSON Lines file of events, or - for stdin")],
           batch: Annotated[int, typer.Option(help="events per transaction", hidden=True)] = services.BATCH,
           until: Annotated[str | None, typer.Option(help="play the world up to this instant (ISO)")] = None,
           strict: Annotated[bool, typer.Option(help="exit 1 when any line was rejected")] = False,
           as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """Ingest events and play the world forward in event time, deadlines included."""
    until_at = parse_moment(until, "--until")
    lines = _read_lines(file)
    store = open_store_or_exit(db, existing=False)
    started = time.perf_counter()
    report = services.replay(store, Path(file).name if file != "-" else "stdin", lines, until_at,
                             batch=batch, on_wait=_waiting)
    if until_at is not None and report.clock is not None and datetime.fromisoformat(report.clock) > until_at:
        err.print(f"note: the store's clock stood at {report.clock} already, after --until {until}: "
                  "time does not go back (what the events change is applied at the clock)")
    if as_json:
        print_json(report.as_contract())
    else:
        secs = time.perf_counter() - started
        out.print(f"applied {report.applied} events, {report.duplicates} duplicates, "
                  f"{len(report.rejected)} rejected, {report.deferred} after --until; "
                  f"{report.deadlines_fired} deadlines fired; clock {report.clock} ({secs:.2f} s)")
        for r in report.rejected:
            out.print(f"  line {r['line']}: {r['reason']}")
        if report.rejected:
            out.print("Rejected lines are kept: `ordercare rejected` lists them, "
                      "`ordercare resubmit` retries them.")
    if strict and report.rejected:
        raise typer.Exit(1)


@app.command()
def cases(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """Every case: reason, origin, status, actions."""
    rows = services.list_cases(open_store_or_exit(db))
    if as_json:
        print_json(rows)
        return
    table = Table("case", "order", "reason", "origin", "status", "opened", "actions")
    for c in rows:
        table.add_row(c["id"], c["order_id"] or "", c["reason"], c["origin"], c["status"], c["opened_at"],
                      ", ".join(a["type"] for a in c["actions"]))
    out.print(table)


@app.command()
def messages(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """Messages sent to customers."""
    rows = services.list_messages(open_store_or_exit(db))
    if as_json:
        print_json(rows)
        return
    for m in rows:
        out.print(Text.assemble((m["at"], "bold"), f" {m['id']} → {m['customer_id']} ({m['lang']}, {m['kind']})"))
        out.print(f"  {m['subject']}")


@app.command()
def rejected(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """Rejected lines kept in the dead-letter store, with their reasons."""
    rows = services.list_rejected(open_store_or_exit(db))
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no rejected lines")
    for r in rows:
        out.print(f"{r['source']}:{r['line']}: {r['reason']}")
        out.print(f"  {r['raw'][:160]}")


@app.command()
def resubmit(until: Annotated[str | None, typer.Option(help="play up to this instant (ISO)")] = None,
             as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """Retry the rejected lines (for instance once the missing order has arrived)."""
    report, cleared = services.resubmit(open_store_or_exit(db), parse_moment(until, "--until"), _waiting)
    if as_json:
        print_json({**report.as_contract(), "cleared": cleared})
        return
    out.print(f"{cleared} dead letters accepted ({report.applied} applied, {report.duplicates} "
              f"already stored); {len(report.rejected)} still rejected")
    for r in report.rejected:
        out.print(f"  {r['source']}:{r['line']} (dead letter {r['dead_letter']}): {r['reason']}")


@app.command()
def watch(file: Annotated[str | None, typer.Option("--events", help="a JSON Lines file to follow")] = None,
          interval: Annotated[float, typer.Option(help="seconds between ticks")] = 60.0,
          once: Annotated[bool, typer.Option(help="run one tick and stop")] = False,
          db: DbOpt = None) -> None:
    """Live: follow new events and fire deadlines on the wall clock."""
    store = open_store_or_exit(db, existing=False)
    live = services.Live(store)  # one session kept between ticks while nobody else writes
    follower = Follower(file) if file else None
    if follower is not None:
        follower.restore(store)  # carry on where the last watch of this file stopped
    while True:
        now = datetime.now(UTC)
        if follower is not None:
            report = follow_once(store, follower, now, live)
            if report is not None:
                out.print(f"{now:%H:%M:%S} applied {report.applied}, rejected {len(report.rejected)}"
                          + (f", {report.deferred} not due yet" if report.deferred else ""))
        fired = services.tick(store, now, live=live)
        out.print(f"{now:%H:%M:%S} tick: {fired} deadlines handled")
        if once:
            if follower is not None:
                follower.close()
            return
        time.sleep(interval)


@app.command()
def callbacks(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """Due human callbacks, each with a one-screen dossier summary."""
    rows = services.list_callbacks(open_store_or_exit(db))
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no callbacks due")
    for cb in rows:
        c, d = cb["customer"], cb["dossier"]
        out.rule(f"{cb['case_id']} · {cb['reason']} · due {cb['due_at']}")
        reach = c.get("phone") or f"(no phone: e-mail {c.get('email')})"
        out.print(f"Call {c.get('name') or cb['customer_id']} at {reach} — speaks {c.get('lang') or '?'}")
        for tried in cb["attempts"]:
            said = f" ({tried['note']})" if tried["note"] else ""
            out.print(f"  tried {tried['at']} by {tried['agent']}: no answer{said}")
        if cb["order_id"] is None:  # a contact about no order of theirs: what they wrote, what they have
            for contact in d.get("contacts", []):
                named = f" (names order {contact['named_order']})" if contact.get("named_order") else ""
                out.print(f"  {contact['at']} by {contact['channel']}{named}: {contact['text']}")
            out.print(f"  their orders: {', '.join(d.get('their_orders', [])) or 'none'}")
            continue
        out.print(f"Order {cb['order_id']} placed {d.get('placed_at')}, Prime: {d.get('prime')}, paid "
                  f"{d.get('paid')} {d.get('currency')}; promised ship-by {d.get('ship_by')}, "
                  f"deliver-by {d.get('deliver_by')}")
        for ln in d.get("lines", []):
            out.print(f"  line {ln['line_id']}: {ln['qty']} × {ln['title']} from {ln['seller_id']}"
                      + (f" (cancelled by {ln['cancelled']['by']})" if ln["cancelled"] else ""))
        for s in d.get("shipments", []):
            scan = s["last_scan"]
            out.print(f"  parcel {s['shipment_id']}: {s['carrier'] or 'not shipped'} {s['tracking'] or ''}"
                      + (f", last scan {scan['status']} {scan['at']} {scan['location'] or ''}" if scan else ""))


@app.command()
def requests(status: Annotated[str | None, typer.Option(
                 help="only those in this state: open, overdue, preparing, shipped, delivered, "
                      "cancelled")] = None,
             to: Annotated[str | None, typer.Option(help="only those for 'platform' (our warehouse) or a seller id")]
             = None,
             order: Annotated[str | None, typer.Option(help="only those of this order")] = None,
             as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """Requests to send lines again (the desk's replacements and re-sendings), for the
    warehouse and the sellers: what to send, to whom, by when, and where each stands."""
    if status is not None and status not in REQUEST_STATUSES:
        error(f"unknown status {status!r}: one of {', '.join(REQUEST_STATUSES)}")
        raise typer.Exit(2)
    rows = services.list_requests(open_store_or_exit(db), status, to, order)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no requests")
        return
    table = Table("request", "order", "to", "kind", "lines", "ship by", "status", "parcels")
    for r in rows:
        table.add_row(r["id"], r["order_id"], r["to"], r["kind"],
                      ", ".join(f"{ln['qty']} × {ln['sku']}" for ln in r["lines"]), r["ship_by"], r["status"],
                      ", ".join(r["shipment_ids"]))
    out.print(table)


@app.command("callback-done")
def callback_done(case_id: Annotated[str, typer.Argument(help="the case whose callback was made")],
                  agent: Annotated[str, typer.Option(help="who called")],
                  outcome: Annotated[str, typer.Option(
                      help="reached: done; no_answer: stays due; resolved: done and the case settled")] = "reached",
                  note: Annotated[str | None, typer.Option(help="what was said or agreed")] = None,
                  at: Annotated[str | None, typer.Option(help="when (ISO); default: now")] = None,
                  db: DbOpt = None) -> None:
    """Record a callback a person made (it leaves `ordercare callbacks` unless nobody answered)."""
    if outcome not in ("reached", "no_answer", "resolved"):
        raise typer.BadParameter("reached, no_answer or resolved", param_hint="--outcome")
    store = open_store_or_exit(db)
    report = _person_acted(lambda: services.record_callback(store, case_id, agent, outcome, note,
                                                            parse_moment(at, "--at"), on_wait=_waiting))
    out.print(f"callback on {case_id}: {outcome} was recorded already" if report.duplicates
              else f"callback on {case_id} recorded: {outcome}")


@app.command()
def inspected(shipment_id: Annotated[str, typer.Argument(help="the parcel opened")],
              outcome: Annotated[str, typer.Option(
                  help="ok: it was right; repacked, wrong_item, missing_item: a mis-pack, put right")],
              note: Annotated[str | None, typer.Option(help="what was found")] = None,
              at: Annotated[str | None, typer.Option(help="when (ISO); default: now")] = None,
              db: DbOpt = None) -> None:
    """Record a pack-station inspection (a parcel held by the weight check, or an audit): its
    case is settled, the check learns; a parcel put right is checked again when re-weighed."""
    if outcome not in ("ok", "repacked", "wrong_item", "missing_item"):
        raise typer.BadParameter("ok, repacked, wrong_item or missing_item", param_hint="--outcome")
    store = open_store_or_exit(db)
    report = _person_acted(lambda: services.record_inspection(store, shipment_id, outcome, note,
                                                              parse_moment(at, "--at"), on_wait=_waiting))
    out.print(f"inspection of {shipment_id}: {outcome} was recorded already" if report.duplicates
              else f"inspection of {shipment_id} recorded: {outcome}")


def _person_acted(record: Callable[[], services.ReplayReport]) -> services.ReplayReport:
    """Record what a person did (``record``); a refusal is an error line and exit 2 (nothing
    recorded), a rejected event exit 1."""
    try:
        report = record()
    except (LookupError, ValueError) as exc:
        error(str(exc.args[0]))
        raise typer.Exit(2) from None
    if report.rejected:
        error(str(report.rejected[0]['reason']))
        raise typer.Exit(1)
    return report


@app.command()
def act(case_id: Annotated[str, typer.Argument(help="the case acted on")],
        action: Annotated[str, typer.Argument(help=", ".join(AGENT_ACTIONS))],
        agent: Annotated[str, typer.Option(help="who acted")],
        lines: Annotated[str | None, typer.Option(
            help="comma-separated line ids (default: the case's lines still owed)")] = None,
        line1: Annotated[str | None, typer.Option(help="update_address: street")] = None,
        postcode: Annotated[str | None, typer.Option(help="update_address: postcode")] = None,
        city: Annotated[str | None, typer.Option(help="update_address: city")] = None,
        country: Annotated[str, typer.Option(help="update_address: country code")] = "FR",
        note: Annotated[str | None, typer.Option(help="what was said or agreed")] = None,
        silent: Annotated[bool, typer.Option("--silent", help="do not write to the customer")] = False,
        at: Annotated[str | None, typer.Option(help="when (ISO); default: now")] = None,
        db: DbOpt = None) -> None:
    """A person acts on a case (a refund, a replacement, a new address...): done by the desk's
    own code, recorded on the case and in the event log, told to the customer."""
    if action not in AGENT_ACTIONS:
        raise typer.BadParameter(", ".join(AGENT_ACTIONS), param_hint="ACTION")
    address = None
    if action == "update_address":
        if not (line1 and postcode and city):
            raise typer.BadParameter("update_address needs --line1, --postcode and --city", param_hint="--line1")
        address = {"name": "", "line1": line1, "postcode": postcode, "city": city, "country": country}
    store = open_store_or_exit(db)
    picked = [x.strip() for x in lines.split(",") if x.strip()] if lines else None
    report = _person_acted(lambda: services.record_agent_action(store, case_id, agent, action, picked, address, note,
                                                                not silent, parse_moment(at, "--at"),
                                                                on_wait=_waiting))
    if report.duplicates:
        out.print(f"{action} on {case_id} was recorded already")
    elif not report.done:
        out.print(f"{action} on {case_id} recorded, but there was nothing to do: its lines are made good already, "
                  "or what was sent again is still to come (see `ordercare dossier`)")
    else:
        out.print(f"{action} on {case_id} done and recorded: {', '.join(report.done)}")


@app.command()
def dossier(order_id: Annotated[str, typer.Argument(help="the order")], as_json: JsonOpt = False,
            db: DbOpt = None) -> None:
    """An order's whole file: lines, parcels and every scan, the promise, contacts, cases, the customer."""
    from ordercare.desk.dossier import build_dossier
    found = build_dossier(open_store_or_exit(db), order_id)
    if found is None:
        error(f"no order {order_id!r} in the store")
        raise typer.Exit(2)
    if as_json:
        print_json(found)
        return
    c = found["customer"]
    out.rule(f"order {order_id} · {c['name'] or c['customer_id']} ({c['lang']}) · {c['orders']} orders, "
             f"{c['refunds']} refunds")
    out.print(f"placed {found['placed_at']}, Prime: {found['prime']}, paid {found['paid']} {found['currency']}, "
              f"refunded {found['refunded']}; promised ship-by {found['ship_by']}, deliver-by {found['deliver_by']}")
    for ln in found["lines"]:
        out.print(f"  line {ln['line_id']}: {ln['qty']} × {ln['title']} from {ln['seller_id']} ({ln['fulfilled_by']})"
                  + (f", cancelled by {ln['cancelled']['by']}" if ln["cancelled"] else ""))
    for s in found["shipments"]:
        p = s.get("packed")
        packed = "" if p is None else (
            f" [packed {p['at']} at {p['station'] or '-'}, {p['weight_g']} g"
            + (f", weighed {p['weighings']} times" if p["weighings"] > 1 else "")
            + (f", inspected: {p['inspection']}" if p["inspection"] else "") + "]")
        out.print(f"  parcel {s['shipment_id']} {s['carrier'] or ''} {s['tracking'] or ''}{packed}: "
                  + "; ".join(f"{x['status']} {x['at']} {x['location'] or ''}".strip() for x in s["scans"]))
    for k in found["contacts"]:
        out.print(f"  contact {k['at']} ({k['channel']}): {k['text'][:100]}")
    for case in found["cases"]:
        out.print(f"  case {case['id']} {case['reason']} ({case['origin']}, {case['status']}): "
                  + ", ".join(case["actions"]))


@app.command()
def check(policy_dir: Annotated[str | None, typer.Option(help="a folder of rules files")] = None) -> None:
    """Validate every rules file (policies, playbooks, thresholds); exit 1 naming what is wrong."""
    from ordercare.desk.playbook import load_desk_playbook
    from ordercare.desk.service_levels import load_service_levels
    from ordercare.fulfil.packcheck_policy import load_policy as load_packcheck_policy
    from ordercare.notify.sender_config import load_sender_config
    from ordercare.policy import load_policies
    from ordercare.sellers.policy import load_seller_policy
    from ordercare.stock.plan_policy import load_plan_policy
    from ordercare.stock.reorder_policy import load_reorder_policy

    loaders: list[Callable[[], object]] = [
        lambda: load_policies(policy_dir), load_desk_playbook, load_service_levels, load_seller_policy,
        load_packcheck_policy, load_reorder_policy, load_plan_policy, load_sender_config]
    problems = []
    for load in loaders:
        try:
            load()
        except (RulesError, ValueError) as exc:
            problems.append(str(exc))
    if problems:
        err.print(Text.assemble(("invalid rules:", "red"), *(f"\n{p}" for p in problems)))
        raise typer.Exit(1)
    out.print(f"rules OK ({len(loaders)} sets of rules checked)")


@app.command()
def bench(events: Annotated[int, typer.Option(help="events to ingest")] = 1_000_000,
          open_orders: Annotated[int, typer.Option(help="open orders for the big tick")] = 1_000_000,
          small_orders: Annotated[int, typer.Option(help="open orders for the small tick")] = 10_000,
          due: Annotated[int, typer.Option(help="deadlines falling due in each tick")] = 1_000,
          as_json: JsonOpt = False) -> None:
    """The core benchmark: ingest vs the raw insert floor, tick cost vs open orders."""
    from ordercare.bench import run
    say = (lambda text: err.print(text)) if as_json else out.print
    result = run(events, open_orders, small_orders, due, say)
    if as_json:
        print_json(result)
        return
    for key, value in result.items():
        out.print(f"{key:24s} {value:,.3f}" if isinstance(value, float) else f"{key:24s} {value:,}")


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
          db: DbOpt = None) -> None:
    """The self-service pages our messages link to (a customer's choice: wait, refund, replacement),
    the agents' console under /desk (opened by ORDERCARE_DESK_TOKEN), and the sellers' API under
    /seller/api (opened by ORDERCARE_SELLER_SECRET; `ordercare seller ID --api-token`)."""
    import uvicorn

    from ordercare.notify.links import Links
    from ordercare.web.app import create_app
    links = Links.from_env()
    if links.dev_secret and host not in ("127.0.0.1", "localhost", "::1"):
        err.print("[red]error:[/red] set ORDERCARE_LINK_SECRET before serving on a public address: "
                  "with the development secret anyone could sign a link")
        raise typer.Exit(2)
    uvicorn.run(create_app(open_store_or_exit(db, existing=False), links), host=host, port=port, log_level="info")


@app.command("desk-report")
def desk_report(as_json: JsonOpt = False, db: DbOpt = None) -> None:
    """CSAT, first response and resolution times, breaches: per reason and per playbook."""
    from ordercare.desk.report import desk_report as build
    report = build(services.list_cases(open_store_or_exit(db)))
    if as_json:
        print_json(report)
        return
    for title, key, rows in (("by reason", "reason", report["by_reason"]),
                             ("by playbook", "playbook", report["by_playbook"])):
        table = Table(title, "cases", "resolved", "CSAT", "answers", "resolution h (median)", "breached",
                      title=title)
        for r in rows:
            table.add_row(r[key], str(r["cases"]), str(r["resolved"]), str(r["csat_mean"] or "-"),
                          str(r["csat_answers"]), str(r["resolution_hours_median"] or "-"), str(r["breached"]))
        out.print(table)


from ordercare.fulfil.cli import inventory_cmd, warehouse_cmd  # noqa: E402
from ordercare.insights.cli import insights_cmd  # noqa: E402
from ordercare.notify.send_cli import send  # noqa: E402
from ordercare.sellers.cli import seller_cmd, sellers_cmd  # noqa: E402
from ordercare.sim.demo_cli import demo  # noqa: E402
from ordercare.stock.milkrun_cli import milkrun_app  # noqa: E402  (pyvrp is imported lazily)
from ordercare.stock.reorder_cli import purchase_orders_cmd, reorder_cmd  # noqa: E402

app.command("inventory", help="Stock per fulfilment centre and SKU: on hand, reserved, available.")(inventory_cmd)
app.command("warehouse", help="Pack accuracy per station, mismatches, inspections, stock-outs.")(warehouse_cmd)
app.command("sellers", help="Seller health: the contract's metrics and status per seller, at any --at.")(sellers_cmd)
app.command("seller", help="One seller: each metric, its window, the orders behind it; reinstatement.")(seller_cmd)
app.command("demo", help="Simulate a marketplace with realistic faults, run ordercare on it, print its scorecard.")(
    demo)
app.command("insights", help="Problems by cause (seller, carrier, FC, SKU): rates with confidence intervals, ranked.")(
    insights_cmd)
app.command("reorder", help="Reorder suggestions per FC and SKU: forecast, reorder point, quantity.")(reorder_cmd)
app.command("purchase-orders", help="Purchase orders: on their way, late, received, cancelled.")(
    purchase_orders_cmd)
app.command("send", help="Deliver pending customer messages (SMTP or signed webhook), with retries.")(send)

app.add_typer(milkrun_app, name="milkrun")


def main() -> None:
    app()
