"""Routine updates render only the facts their template shows: the text is the same as
formatting the template with every fact (perf-notify)."""

from __future__ import annotations

from typing import Any

import pytest

from ordercare.domain.order import DAY_US, Line, Order, Shipment
from ordercare.notify.milestones import MilestonePolicy, Milestones, Template
from ordercare.notify.render import format_day
from ordercare.policy import load_policies

STEPS = ["confirmed", "payment_received", "preparing", "shipped", "in_transit", "out_for_delivery",
         "delivered", "cancelled"]


def _every_fact(m: Milestones, order: Order, step: str, ship: Shipment | None, cust: dict[str, Any],
                lang: str, happened: int) -> dict[str, str]:
    """The facts as the plain renderer computed them, all of them for every template."""
    if ship is None:
        items = ", ".join(m.title(ln.sku) for ln in order.lines)
        carrier_name = tracking = link = ""
    else:
        items = ", ".join(m.title(ln.sku) for ln in order.lines if ln.line_id in ship.line_ids)
        tracking = ship.tracking or ""
        carrier = m.policy.carriers.get(ship.carrier or "")
        carrier_name = carrier.name if carrier else ship.carrier or ""
        link = f" — {carrier.tracking_url.format(tracking=tracking)}" if carrier and carrier.tracking_url else ""
    return {"name": cust.get("name") or {"en": "there", "fr": "client"}[lang], "order_id": order.order_id,
            "items": items, "carrier": carrier_name, "tracking": tracking, "link": link,
            "day": format_day(happened, order.tz_min, lang),
            "report": m.links.report_url(order.order_id) if step == "delivered" else ""}


@pytest.mark.parametrize("carrier", ["colissimo", "unknown-co", None])
@pytest.mark.parametrize("lang", ["en", "fr", "de", None])
def test_each_step_reads_as_with_every_fact(lang: str | None, carrier: str | None) -> None:
    policy = load_policies().milestones
    cust = {"notify": "every_step", "lang": lang, "name": "Ada" if lang == "fr" else None}
    m = Milestones(policy, lambda _c: cust, lambda sku: f"Title {sku}")
    t0 = 20_000 * DAY_US + 3_600_000_000
    for step in STEPS:
        order = Order("O-1", customer_id="c-1", placed_us=t0, tz_min=120,
                      lines=[Line("l1", "sku-a", "s", 1, 5.0, "seller"), Line("l2", "sku-b", "s", 1, 5.0, "seller")])
        ship = None
        if step in ("preparing", "shipped", "in_transit", "out_for_delivery", "delivered"):
            ship = Shipment("sh-1", line_ids=["l2"], carrier=carrier, tracking="TRK 1" if carrier else None)
        m.step(order, step, t0 + DAY_US, ship, t0 + 7)
        msg = m.messages.pop()
        want_lang = "fr" if lang == "fr" else "en"
        tpl = policy.templates[want_lang][step]  # type: ignore[index]
        facts = _every_fact(m, order, step, ship, cust, want_lang, t0 + 7)
        assert (msg.subject, msg.text) == (tpl.subject.format_map(facts), tpl.body.format_map(facts))
        assert (msg.id, msg.lang, msg.at_us, msg.tz_min, msg.kind, msg.channel, msg.case_id, msg.order_id,
                msg.customer_id) == (f"M-O-1-{step}:{'sh-1' if ship else ''}", want_lang, t0 + DAY_US, 120,
                                     "milestone", "email", None, "O-1", "c-1")


def test_a_template_with_every_placeholder() -> None:
    body = "{name} {order_id} {items} {carrier} {tracking} {link} {day} {report} {{braces}}"
    base = load_policies().milestones
    templates = {lang: {s: Template(subject="{order_id} {day}", body=body) for s in STEPS} for lang in ("en", "fr")}
    policy = MilestonePolicy(daily_cap=99, steps=base.steps, templates=templates,  # type: ignore[arg-type]
                             carriers=base.carriers)
    cust = {"notify": "every_step", "lang": "en"}
    m = Milestones(policy, lambda _c: cust, lambda sku: sku.upper())
    order = Order("O-2", customer_id="c", placed_us=0, lines=[Line("l1", "a", "s", 1, 1.0, "seller")])
    for step in STEPS:
        ship = Shipment("sh", line_ids=["l1"], carrier="ups", tracking="1Z") if step != "confirmed" else None
        m.step(order, step, DAY_US, ship, 5)
        msg = m.messages.pop()
        facts = _every_fact(m, order, step, ship, cust, "en", 5)
        assert msg.text == body.format_map(facts) and msg.subject == "{order_id} {day}".format_map(facts)
