"""The demo's report: one self-contained HTML file (plotly's JavaScript inlined, no CDN),
so it opens offline, from a mail attachment or a CI artefact."""

from __future__ import annotations

import html
import math
from collections import Counter
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from ordercare.sim.clock import DAY
from ordercare.sim.marketplace import SimWorld
from ordercare.sim.people import Contact
from ordercare.sim.present import STOCK_ROUTINES, hours, ratio, stock_notes, stock_rows
from ordercare.sim.scorecard import Scorecard
from ordercare.sim.truth import DESCRIPTION

CARE, TWIN = "#1f77b4", "#d62728"
_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
td:first-child,th:first-child{text-align:left}h1{margin-bottom:0}.note{color:#555;font-size:90%}"""


def _table(head: list[str], rows: list[list[Any]]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in r) + "</tr>")
    return "".join(out) + "</table>"


def _headline(card: Scorecard) -> str:
    t, c, f, rf, d = card.totals, card.contacts, card.fix, card.refunds, card.delay
    rows = [
        ["recall (problems the platform can see)", ratio(t["recall"]), ""],
        ["precision (proactive cases)", ratio(t["precision"]), ""],
        ["proactive rate (we wrote before they did)", ratio(t["proactive_rate"]), "0 %"],
        ["told before they noticed", ratio(t["told_before_noticed"]), "0 %"],
        ["detection delay after the broken promise (median / p90)",
         f"{hours(d['median_h'])} / {hours(d['p90_h'])}", ""],
        ["contacts per order", f"{c['with']['per_order']:.4f}", f"{c['without']['per_order']:.4f}"],
        ["contacts per order: fewer than the twin", ratio(c["reduction"]), ""],
        ["one-click choices instead of a letter (made good at once)",
         f"{c.get('self_service', {}).get('clicks', 0)} ({c.get('self_service', {}).get('made_good', 0)})",
         "none offered"],
        ["problems in the box reported in one click (made good at once)",
         f"{c.get('self_service', {}).get('reports', 0)} ({c.get('self_service', {}).get('reports_made_good', 0)})",
         "none offered"],
        ["time to a fix (median / p90)", f"{hours(f['with']['median_h'])} / {hours(f['with']['p90_h'])}",
         f"{hours(f['without']['median_h'])} / {hours(f['without']['p90_h'])}"],
        ["refunds issued", f"{rf['count']} · {rf['amount']:,.2f} EUR", ""],
        ["seller cancellations: wait for the refund (median)", hours(rf["median_wait_h_with"]),
         hours(rf["median_wait_h_without"])],
        ["help-desk cost (contacts; callbacks)", f"{c['with']['desk_cost']:,.0f} EUR "
         f"({c['with'].get('callbacks', 0)} callbacks)", f"{c['without']['desk_cost']:,.0f} EUR"],
    ]
    ew = card.early_warning
    if ew:
        rows.append(["early warning 'trending late': precision / recall",
                     f"{ratio(ew.get('precision'))} / {ratio(ew.get('recall'))}", ""])
        rows.append(["early warning: warnings sent (false alarms)", f"{ew.get('warnings')} ({ew.get('false_alarms')})",
                     ""])
        rows.append(["early warning: late orders nothing else told before the deliver-by, warned",
                     ratio(ew.get("blind_recall")), ""])
        rows.append(["early warning: before the deliver-by (median / p90)",
                     f"{hours(ew.get('lead_median_h'))} / {hours(ew.get('lead_p90_h'))}", ""])
        if ew.get("offline"):
            off = ew["offline"]
            rows.append(["early warning offline, same model refreshed weekly: precision / recall",
                         f"{ratio(off.get('precision'))} / {ratio(off.get('recall'))}", ""])
    rp = card.replacements
    if rp:
        rows.append(["replacements asked of the warehouse and the sellers (of the warehouse)",
                     f"{rp['requests']} ({rp['to_platform']})", ""])
        rows.append(["replacements not shipped by their ship-by: chased at that instant (false chases)",
                     f"{rp['chased']} of {rp['broken']} ({rp['false_chases']})", ""])
    return _table(["measure", "with ordercare", "without (twin)"], rows)


def _kinds_table(card: Scorecard) -> str:
    rows = [[r["kind"], DESCRIPTION[r["kind"]][0], "yes" if r["visible"] else "customer-only", r["injected"],
             r["caught"], ratio(r["recall"]), hours(r["delay_median_h"]), hours(r["delay_p90_h"])]
            for r in card.kinds if r["injected"]]
    return _table(["kind", "what happened", "meant to catch", "injected", "caught", "recall", "delay median",
                   "delay p90"], rows)


def _fig_caught(card: Scorecard) -> go.Figure:
    ks = [r for r in card.kinds if r["injected"]]
    fig = go.Figure([go.Bar(name="injected", x=[r["kind"] for r in ks], y=[r["injected"] for r in ks],
                            marker_color="#bbbbbb"),
                     go.Bar(name="caught by a case", x=[r["kind"] for r in ks], y=[r["caught"] for r in ks],
                            marker_color=CARE)])
    fig.update_layout(title="Problems injected and caught, by kind", barmode="group", height=420)
    return fig


def _fig_weekly(card: Scorecard) -> go.Figure:
    w = [r for r in card.weekly if r["orders"]]
    fig = go.Figure([go.Scatter(name="with ordercare", x=[r["week"] for r in w], y=[r["with_per_order"] for r in w],
                                mode="lines+markers", line_color=CARE),
                     go.Scatter(name="without (twin)", x=[r["week"] for r in w],
                                y=[r["without_per_order"] for r in w], mode="lines+markers", line_color=TWIN)])
    fig.update_layout(title="Contacts per order, by the week the orders were placed", xaxis_title="week",
                      yaxis_title="contacts per order", height=400)
    return fig


def _fig_daily(world: SimWorld, contacts: list[Contact], twin: list[Contact]) -> go.Figure:
    def per_day(cs: list[Contact]) -> list[int]:
        days = Counter((c.at - world.start_us) // DAY for c in cs)
        return [days.get(d, 0) for d in range(world.days)]

    x = list(range(1, world.days + 1))
    fig = go.Figure([go.Bar(name="with ordercare", x=x, y=per_day(contacts), marker_color=CARE),
                     go.Bar(name="without (twin)", x=x, y=per_day(twin), marker_color=TWIN, opacity=0.6)])
    fig.update_layout(title="Help-desk contacts per day", barmode="overlay", xaxis_title="day", height=400)
    return fig


def _fig_delay(samples: dict[str, list[float]]) -> go.Figure:
    fig = go.Figure()
    for kind, xs in samples.items():
        if xs:
            fig.add_trace(go.Box(name=kind, y=xs, boxpoints=False))
    fig.update_layout(title="Detection delay after the broken promise (hours), by kind", yaxis_title="hours",
                      showlegend=False, height=420)
    return fig


def _ecdf(xs: list[float]) -> tuple[list[float], list[float]]:
    finite = sorted(x for x in xs if not math.isinf(x))
    n = len(xs) or 1
    return [max(x, 0.1) for x in finite], [(i + 1) / n for i in range(len(finite))]


def _fig_fix(with_h: list[float], without_h: list[float]) -> go.Figure:
    a, b = _ecdf(with_h), _ecdf(without_h)
    fig = go.Figure([go.Scatter(name="with ordercare", x=a[0], y=a[1], line_color=CARE, line_shape="hv"),
                     go.Scatter(name="without (twin)", x=b[0], y=b[1], line_color=TWIN, line_shape="hv")])
    fig.update_layout(title="Time from the broken promise to a fix (share of noticed problems)",
                      xaxis_title="hours (log scale)", xaxis_type="log", yaxis_title="share fixed",
                      yaxis_range=[0, 1], height=420)
    return fig


def _fig_causes(rows: list[dict[str, Any]], dim: str, problem: str, top: int) -> go.Figure:
    part = [r for r in rows if r["dimension"] == dim and r.get("problem", "all") == problem][:top][::-1]
    fig = go.Figure(go.Bar(
        x=[r["rate"] for r in part], y=[f"{r['name']} ({r['key']})" for r in part], orientation="h",
        marker_color=[TWIN if r["systemic"] else "#999999" for r in part],
        error_x={"type": "data", "symmetric": False, "array": [r["ci_high"] - r["rate"] for r in part],
                 "arrayminus": [r["rate"] - r["ci_low"] for r in part]}))
    what = "problems" if problem == "all" else f"{problem} problems"
    fig.update_layout(title=f"Rate of {what} by {dim}, 95 % Wilson interval (red: systemic)", xaxis_tickformat=".0%",
                      height=max(260, 40 * len(part) + 120))
    return fig


def _stock_section(card: Scorecard) -> str:
    st = card.stock
    if not st:
        return ""
    names = [label for n, label in STOCK_ROUTINES if n in st["routines"]]
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in stock_notes(st))
    return (f"<h2>Stock: hot items and the weekly purchases</h2>"
            f"{_table(['measure', *names], [list(r) for r in stock_rows(st)])}<ul class='note'>{notes}</ul>")


def _fig_stock(card: Scorecard) -> go.Figure:
    st = card.stock.get("routines", {})
    fig = go.Figure()
    labels = [label for n, label in STOCK_ROUTINES if n in st and n != "none"]
    names = [n for n, _ in STOCK_ROUTINES if n in st and n != "none"]
    for part, title in (("hot", "hot items"), ("other", "other SKUs bought weekly")):
        fig.add_bar(name=f"stock-out days, {title}", x=labels, y=[st[n][part]["stockout_days"] for n in names])
    fig.update_layout(barmode="stack", title="Stock-out days (SKU × FC × day) by purchasing routine, same orders",
                      height=380)
    return fig


def write_report(card: Scorecard, world: SimWorld, contacts: list[Contact], twin: list[Contact],
                 path: Path) -> None:
    samples = getattr(card, "samples", {"delay": {}, "fix_with": [], "fix_without": []})
    rows = card.meta.get("insights_all", [])
    figs = [_fig_caught(card), _fig_weekly(card), _fig_daily(world, contacts, twin), _fig_delay(samples["delay"]),
            _fig_fix(samples["fix_with"], samples["fix_without"]), _fig_causes(rows, "carrier", "carrier", 5),
            _fig_causes(rows, "seller", "all", 12), _fig_causes(rows, "fc", "all", 5)]
    if card.stock:
        figs.append(_fig_stock(card))
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    m = card.meta
    flags = _table(["flagged", "name", "on", "rate", "95 % CI", "simulator's truth"],
                   [[f"{r['dimension']} {r['key']}", r["name"], r.get("problem") or "",
                     ratio(r["rate"]) if r["rate"] is not None else "–",
                     f"{ratio(r['ci_low'])}–{ratio(r['ci_high'])}" if r["rate"] is not None else "–",
                     "missed" if r.get("missed") else ("truly bad" if r["truly_bad"] else
                                                       "ran out of stock" if r.get("ran_out") else
                                                       "not injected as bad")]
                    for r in card.flags])
    doc = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ordercare demo</title>
<style>{_STYLE}</style></head><body>
<h1>ordercare demo</h1>
<p class="note">{m['orders']:,} orders over {m['days']} days, seed {m['seed']} — {html.escape(m.get('horizon', ''))}.
{m.get('events', 0):,} events, {m.get('contact_events', 0):,} customer contacts, {m['cases']:,} cases,
{m['messages']:,} messages. Run time {card.seconds.get('total', 0):.0f} s.</p>
<h2>Scorecard</h2>{_headline(card)}
<h2>Problems injected vs cases</h2>{_kinds_table(card)}
{_stock_section(card)}
<h2>Causes the data flags</h2>{flags}
{''.join(parts)}
<p class="note">Generated by <code>ordercare demo</code>. Matching: a case is about an injected problem when
it is about the same order and the same kind family. The twin is the same world without ordercare: no
message at all, every customer finds out alone; its fixes come when a human agent handles the contact
(desk open Monday–Saturday 9:00–19:00; median pick-up 8 opening hours by e-mail, 2 on chat, 1 by phone).</p>
</body></html>"""
    path.write_text(doc, encoding="utf-8")
