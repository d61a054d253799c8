"""The scorecard on a terminal: rich tables, plain words."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from ordercare.sim.scorecard import Scorecard


def hours(h: float | None) -> str:
    if h is None:
        return "–"
    if math.isinf(h):
        return "never"
    if abs(h) < 48:
        return f"{h:.0f} h"
    return f"{h / 24:.1f} d"


def ratio(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}%}"


def print_scorecard(card: Scorecard, console: Console) -> None:
    m, t = card.meta, card.totals
    console.print(f"[bold]ordercare demo[/bold] — {m['orders']:,} orders over {m['days']} days "
                  f"(seed {m['seed']}), {m.get('events', 0):,} events, {m.get('contact_events', 0):,} "
                  f"customer contacts; {m['cases']:,} cases, {m['messages']:,} messages", soft_wrap=True)

    kinds = Table("injected problem", "visible to ordercare", "injected", "caught", "recall", "delay median",
                  "delay p90", title="Problems injected vs cases (matched by order and kind family)")
    for r in card.kinds:
        if not r["injected"]:
            continue
        kinds.add_row(r["kind"], "yes" if r["visible"] else "[dim]customer-only[/dim]",
                      str(r["injected"]), str(r["caught"]), ratio(r["recall"]),
                      hours(r["delay_median_h"]), hours(r["delay_p90_h"]))
    console.print(kinds)

    reasons = Table("case reason", "cases", "on a real problem", "precision",
                    title="Proactive cases (opened by ordercare before anyone wrote)")
    others = Table("case reason", "origin", "cases", "on an order with such a problem",
                   title="Other cases (opened from contacts, by the warehouse, about sellers)")
    for r in card.reasons:
        if r["origin"] == "proactive":
            reasons.add_row(r["reason"], str(r["cases"]), str(r["real"]), ratio(r["precision"]))
        else:
            others.add_row(r["reason"], r["origin"], str(r["cases"]),
                           "–" if r["real"] is None else f"{r['real']} ({ratio(r['precision'], 0)})")
    console.print(reasons)
    console.print(others)

    c, f, rf = card.contacts, card.fix, card.refunds
    head = Table("measure", "with ordercare", "without (twin)", title="Scorecard")
    head.add_row("recall (problems the platform can see)", ratio(t["recall"]), "")
    head.add_row("precision (proactive cases)", ratio(t["precision"]), "")
    head.add_row("proactive rate (we wrote before they did)", ratio(t["proactive_rate"]), "0 %")
    head.add_row("told before they noticed", ratio(t["told_before_noticed"]), "0 %")
    head.add_row("detection delay after the broken promise (median / p90)",
                 f"{hours(card.delay['median_h'])} / {hours(card.delay['p90_h'])}", "")
    head.add_row("contacts per order", f"{c['with']['per_order']:.4f}", f"{c['without']['per_order']:.4f}")
    head.add_row("  … fewer than the twin", ratio(c["reduction"]), "")
    head.add_row("  … about problems the platform sees", str(c["with"]["visible"]), str(c["without"]["visible"]))
    head.add_row("  … about problems only the customer sees", str(c["with"]["customer_only"]),
                 str(c["without"]["customer_only"]))
    head.add_row("  … other questions", str(c["with"]["other"]), str(c["without"]["other"]))
    head.add_row("  … second contacts", str(c["with"]["second"]), str(c["without"]["second"]))
    if (ss := c.get("self_service")) is not None:
        picks = ", ".join(f"{n} {choice}" for choice, n in sorted(ss["by_choice"].items()))
        head.add_row("one-click choices instead of a letter (made good at once)",
                     f"{ss['clicks']}{f' ({picks})' if picks else ''} · {ss['made_good']}", "none offered")
        head.add_row("problems in the box reported in one click (made good at once)",
                     f"{ss.get('reports', 0)} · {ss.get('reports_made_good', 0)}", "none offered")
    head.add_row("time to a fix (median / p90)", f"{hours(f['with']['median_h'])} / {hours(f['with']['p90_h'])}",
                 f"{hours(f['without']['median_h'])} / {hours(f['without']['p90_h'])}")
    head.add_row("  … noticed problems nobody acted on", ratio(f["with"]["never"]), ratio(f["without"]["never"]))
    head.add_row("refunds issued", f"{rf['count']} · {rf['amount']:,.2f} EUR "
                 f"({ratio(rf['share_of_sales'])} of sales)", "")
    for origin, (n, amount) in sorted(rf.get("by_origin", {}).items()):
        head.add_row(f"  … on {origin} cases", f"{n} · {amount:,.2f} EUR", "")
    head.add_row("  … seller cancellations: wait for the refund (median)", hours(rf["median_wait_h_with"]),
                 hours(rf["median_wait_h_without"]))
    head.add_row("help-desk cost (contacts, callbacks)", f"{c['with']['desk_cost']:,.0f} EUR "
                 f"({c['with'].get('callbacks', 0)} callbacks)", f"{c['without']['desk_cost']:,.0f} EUR")
    if card.early_warning:
        ew = card.early_warning
        head.add_row("early warning 'trending late' (precision / recall)",
                     f"{ratio(ew.get('precision'))} / {ratio(ew.get('recall'))}", "")
        head.add_row("  … warnings sent (false alarms) · late orders nothing else told", f"{ew.get('warnings')} "
                     f"({ew.get('false_alarms')}) · {ratio(ew.get('blind_recall'))} warned", "")
        head.add_row("  … before the deliver-by (median / p90)",
                     f"{hours(ew.get('lead_median_h'))} / {hours(ew.get('lead_p90_h'))}", "")
        if ew.get("offline"):
            off = ew["offline"]
            head.add_row("  … offline, same model refreshed weekly (precision / recall)",
                         f"{ratio(off.get('precision'))} / {ratio(off.get('recall'))}", "")
    console.print(head)

    if card.stock:
        print_stock(card.stock, console)

    flags = Table("flagged", "name", "on", "rate [95 % CI]", "peers", "excess", "simulator's truth",
                  title="Causes the data flags (insights, from the store alone)")
    for cells in _flag_rows(card.flags):
        flags.add_row(*cells)
    console.print(flags)
    secs = card.seconds
    console.print(f"run time {secs.get('total', 0):.0f} s, {secs.get('cpu', 0):.0f} s of CPU on one core "
                  f"(simulate {secs.get('simulate', 0):.0f} s, watch {secs.get('watch', 0):.0f} s, "
                  f"replay with contacts {secs.get('replay', 0):.0f} s)")
    if card.report_path:
        console.print(f"report: [bold]{card.report_path}[/bold]", soft_wrap=True)


STOCK_ROUTINES = (("plan", "ordercare's plan"), ("naive", "naive rule"), ("plan_no_surge", "plan, no surge answer"),
                  ("none", "no purchase"))


def stock_rows(stock: dict[str, Any]) -> list[tuple[str, ...]]:
    """The stock table's rows: measure, then one cell per routine of ``STOCK_ROUTINES``."""
    r = stock["routines"]
    names = [n for n, _ in STOCK_ROUTINES if n in r]

    def row(label: str, get: Any) -> tuple[str, ...]:
        return (label, *(str(get(r[n])) for n in names))

    return [
        row("stock-out days (SKU × FC × day)", lambda x: x["stockout_days"]),
        row("  … on hot items", lambda x: x["hot"]["stockout_days"]),
        row("orders that missed their promise because of stock", lambda x: x["missed_promises"]),
        row("  … on hot items", lambda x: x["hot"]["missed_promises"]),
        row("lines that waited for stock", lambda x: x["short_lines"]),
        row("average free stock (units)", lambda x: f"{x['avg_free_units']:,}"),
        row("  … of hot items", lambda x: f"{x['hot']['avg_free_units']:,}"),
        row("purchase orders · units bought", lambda x: f"{x['purchase_orders']} · {x['units_bought']:,}"),
    ]


def stock_notes(stock: dict[str, Any]) -> list[str]:
    eq, acc, seen = stock["naive_at_plan_stock"], stock["forecast_accuracy"], stock.get("seen_by_ordercare", {})
    out = [f"naive rule with the plan's stock (safety % swept, interpolated): {eq['all']['stockout_days']} "
           f"stock-out days, {eq['all']['missed_promises']} missed promises; hot items alone, at the plan's "
           f"{eq['hot']['avg_free_units']:,} units: {eq['hot']['stockout_days']} and {eq['hot']['missed_promises']}"]
    if acc.get("wape") is not None:
        out.append(f"forecasts of the next 7 days at each weekly review ({acc['forecasts']}): WAPE {acc['wape']:.3f} "
                   f"vs seasonal naive {acc['wape_seasonal_naive']:.3f}, MASE {acc['mase']:.3f} vs "
                   f"{acc['mase_seasonal_naive']:.3f}; hot items WAPE {acc.get('wape_hot', 0):.3f} vs "
                   f"{acc.get('wape_seasonal_naive_hot', 0):.3f}")
    if seen:
        out.append(f"ordercare saw it: {seen['out_of_stock_cases']} out_of_stock cases ({seen['proactive']} proactive, "
                   f"{seen['resolved']} resolved when their lines shipped) on the {seen['world_short_orders']} orders "
                   f"that ran short; of the {seen['world_missed_promises']} orders that missed their ship-by "
                   f"because of stock, {seen['missed_promises_told']} told at once by that case, "
                   f"{seen['missed_promises_with_delivery_case']} with a delivery case (their deliver-by passed too)")
        dates = seen.get("restock_dates")
        if dates and dates["judged"]:
            out.append(f"restock dates told to customers waiting for stock (the last each was given): "
                       f"{dates['kept']} of {dates['judged']} kept, a median {dates['kept_days_early_median']:.1f} d "
                       f"early; {dates['told_later']} told at once of a supplier's later date, "
                       f"{dates['told_again']} written to again (with a call) when theirs passed, "
                       f"{dates.get('told_arrived', 0)} told the stock was in but the parcel not left yet "
                       "when it passed")
    return out


def print_stock(stock: dict[str, Any], console: Console) -> None:
    names = [label for n, label in STOCK_ROUTINES if n in stock["routines"]]
    table = Table("measure", *names, title=f"Stock: {stock['managed_skus']} SKUs bought by the week "
                  f"({len(stock['hot_skus'])} hot items), the same orders under each purchasing routine")
    for cells in stock_rows(stock):
        table.add_row(*cells)
    console.print(table)
    for line in stock_notes(stock):
        console.print(f"  {line}", soft_wrap=True)


def _flag_rows(flags: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in flags:
        if r.get("missed"):
            rows.append((f"{r['dimension']} {r['key']}", r["name"], "", "–", "", "", "[red]bad, not flagged[/red]"))
            continue
        truth = ("[green]truly bad[/green]" if r["truly_bad"] else
                 "[green]a bad seller's product[/green]" if r.get("via_seller") else
                 ("[green]hot item, ran out[/green]" if r.get("hot") else "[green]ran out of stock[/green]")
                 if r.get("ran_out") else "[yellow]not injected as bad[/yellow]")
        rows.append((f"{r['dimension']} {r['key']}", r["name"], r.get("problem") or "",
                     f"{r['rate']:.1%} [{r['ci_low']:.1%}–{r['ci_high']:.1%}]", f"{r['peer_rate']:.1%}",
                     f"+{r['excess']:.0f}", truth))
    return rows
