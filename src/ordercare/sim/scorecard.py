"""The scorecard: what ordercare caught of the problems the simulator injected, how early,
whether customers heard from us before they had to write, and what that did to the help
desk, compared with the twin world that has no proactive care.

A case matches an injected problem when it is about the same order and the same kind
family (every trouble getting the parcel home is one ``delivery`` case per order). Only
problems that broke at least ``SETTLE_DAYS`` before the end of the horizon are scored for
recall: every detector had time to speak (the slowest waits 72 h of silence). A delivery
problem on lines ordercare had already refunded before it broke is not scored either: the
customer had their money back and nothing was owed any more (the simulated seller, who does
not read refunds, may still ship the line late).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ordercare.domain.cases import family_of
from ordercare.domain.moments import to_us
from ordercare.notify.links import found_in
from ordercare.sim.clock import DAY, HOUR, from_iso
from ordercare.sim.marketplace import SimWorld
from ordercare.sim.people import Click, Contact, Inbox, by_stock, desk_answer, restock_day, told_first
from ordercare.sim.resend import Resent
from ordercare.sim.truth import CUSTOMER_KINDS, PLATFORM_KINDS, Problem
from ordercare.sim.world import FLAKY_CARRIER
from ordercare.watch.casework import REPLACEMENT_LATE

SETTLE_DAYS = 4
# A problem only the customer can see is "understood" when a case opened from their contact
# names it with one of these reasons.
UNDERSTOOD_AS = {"damaged": {"damaged_or_defective"}, "not_as_described": {"not_as_described"},
                 "wrong_item": {"not_as_described", "missing_item", "damaged_or_defective"},
                 "wrong_address": {"wrong_address"}}
# A case opened from a contact is about a real problem when the order has one of these
# families of problem (None: any problem at all).
ABOUT: dict[str, set[str] | None] = {
    "where_is_my_order": {"delivery"}, "late_delivery": {"delivery"}, "not_received": {"delivery"},
    "missing_item": {"delivery", "not_as_described"}, "damaged_or_defective": {"damaged_or_defective"},
    "not_as_described": {"not_as_described"}, "wrong_address": {"wrong_address"},
    "seller_cancellation": {"seller_cancellation"}}
# What a contact costs the help desk (EUR, fully loaded), and a human callback.
CONTACT_COST = {"email": 3.5, "chat": 2.5, "phone": 6.0}
CALLBACK_COST = 6.0
AUTO_REFUND_DAYS = 7  # the twin: a cancelled line nobody asks about is refunded at reconciliation


@dataclass
class Scorecard:
    meta: dict[str, Any] = field(default_factory=dict)
    kinds: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    delay: dict[str, Any] = field(default_factory=dict)
    contacts: dict[str, Any] = field(default_factory=dict)
    fix: dict[str, Any] = field(default_factory=dict)
    refunds: dict[str, Any] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)
    early_warning: dict[str, Any] | None = None
    stock: dict[str, Any] = field(default_factory=dict)
    replacements: dict[str, Any] = field(default_factory=dict)
    weekly: list[dict[str, Any]] = field(default_factory=list)
    report_path: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict, repr=False)  # per-problem figures, for charts

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("samples")
        return out


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation; infinities allowed, ``None`` if empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    if math.isinf(xs[hi]) or math.isinf(xs[lo]):
        return math.inf if xs[hi] == math.inf else xs[lo]
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def inbox_of(cases: list[dict[str, Any]], messages: list[dict[str, Any]]) -> Inbox:
    """Non-routine messages (about a case) by (order, family): what a customer was told."""
    family = {c["id"]: family_of(c["reason"]) for c in cases}
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    routine: dict[str, list[int]] = defaultdict(list)
    offers: dict[tuple[str, str], tuple[int, str, tuple[str, ...]]] = {}
    reports: dict[str, int] = {}
    dates: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for m in messages:
        if not m.get("order_id"):
            continue
        at = from_iso(m["at"])
        if (day := restock_day(m["text"], at, in_time=True)) is not None:
            dates[m["order_id"]].append((at, day))
        if m.get("case_id"):
            key = (m["order_id"], family.get(m["case_id"], "other"))
            by[key].append(at)
            links = found_in(m["text"]) if "/choice/" in m["text"] else []
            if links and (key not in offers or at < offers[key][0]):
                offers[key] = (at, links[0][0], tuple(c for _, c, _ in links))
        elif m.get("kind") == "milestone":
            routine[m["order_id"]].append(at)
        if "/report/" in m["text"]:  # (the routine "delivered", or a case's "it has arrived")
            reports[m["order_id"]] = min(reports.get(m["order_id"], at), at)
    for times in [*by.values(), *routine.values()]:
        times.sort()
    for said in dates.values():
        said.sort()
    return Inbox(dict(by), dict(routine), offers, reports, dict(dates))


class Judge:
    """Scores one run: the world's truth against the store's cases and messages."""

    def __init__(self, world: SimWorld, cases: list[dict[str, Any]], inbox: Inbox,
                 contacts: list[Contact], twin: list[Contact], resent: Iterable[Resent] = ()) -> None:
        self.world, self.cases, self.inbox = world, cases, inbox
        self.contacts, self.twin = contacts, twin
        self.end = world.end_us
        self.case_at: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.customer_cases: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for c in cases:
            c["_opened"] = from_iso(c["opened_at"])
            c["_family"] = family_of(c["reason"])
            if c["origin"] == "proactive":
                self.case_at[(c["order_id"], c["_family"])].append(c)
            elif c["origin"] == "customer":
                self.customer_cases[c["order_id"]].append(c)
        for found in [*self.case_at.values(), *self.customer_cases.values()]:
            found.sort(key=lambda c: c["_opened"])
        self.truth_keys = {(p.order_id, p.family) for p in world.problems}
        # A replacement its sender sent late or never, or its carrier lost, stalled or held:
        # a delivery promise broken in the world.
        self.truth_keys |= {(r.order_id, "delivery") for r in resent if r.fate != "on_time" or r.fault}
        self.truth_families: dict[str, set[str]] = defaultdict(set)
        for p in world.problems:
            self.truth_families[p.order_id].add(p.family)
        self.problems = world.problems
        refunded: dict[str, list[tuple[int, set[str]]]] = defaultdict(list)
        for c in cases:
            for a in c["actions"]:
                if a["type"] == "refund" and a.get("line_ids"):
                    refunded[c["order_id"]].append((from_iso(a["at"]), set(a["line_ids"])))
        self.released = [p for p in self.problems if p.family == "delivery" and p.line_ids and set(p.line_ids) <= {
            lid for at, lids in refunded.get(p.order_id, ()) if at <= p.broken_at for lid in lids}]
        gone = {id(p) for p in self.released}
        self.scored = [p for p in self.problems if p.broken_at + SETTLE_DAYS * DAY <= self.end and id(p) not in gone]
        self.first_care = self._first_contact(contacts)
        self.first_twin = self._first_contact(twin)
        self.delays: dict[str, list[float]] = {}
        self.fix_with: list[float] = []
        self.fix_without: list[float] = []

    @staticmethod
    def _first_contact(contacts: list[Contact]) -> dict[int, Contact]:
        out: dict[int, Contact] = {}
        for c in contacts:
            if c.problem is not None and id(c.problem) not in out:
                out[id(c.problem)] = c
        return out

    def case_for(self, p: Problem) -> dict[str, Any] | None:
        """The proactive case about a problem the platform can see; for a problem only the
        customer sees, the case opened from their contact that names it."""
        if p.visible:
            found = self.case_at.get((p.order_id, p.family))
            if by_stock(p) and (stock := self.case_at.get((p.order_id, "out_of_stock"))):
                # Late because its item is out of stock: the stock-out case said so at once
                # (it would miss its ship-by, and when stock is expected), as the customer
                # reads it (people.told_first): the first of the two cases.
                return min([*(found or ()), *stock], key=lambda c: c["_opened"])
            return found[0] if found else None
        wanted = UNDERSTOOD_AS.get(p.kind, set())
        return next((c for c in self.customer_cases.get(p.order_id, ())
                     if set(c.get("reasons") or [c["reason"]]) & wanted), None)

    def _real(self, c: dict[str, Any]) -> bool | None:
        """Is this case about a real problem? (None: not a question the truth can answer.)"""
        if c["origin"] == "proactive":
            return (c["order_id"], c["_family"]) in self.truth_keys
        if c["origin"] != "customer":
            return None
        families = self.truth_families.get(c["order_id"], set())
        wanted = ABOUT.get(c["reason"])
        return bool(families) if wanted is None else bool(families & wanted)

    # ---- detection -----------------------------------------------------------------------

    def by_kind(self) -> list[dict[str, Any]]:
        rows = []
        for kind in PLATFORM_KINDS + CUSTOMER_KINDS:
            ps = [p for p in self.scored if p.kind == kind]
            caught = [p for p in ps if self.case_for(p) is not None]
            delays = [(self.case_for(p)["_opened"] - p.broken_at) / HOUR for p in caught]  # type: ignore[index]
            self.delays[kind] = delays
            rows.append({"kind": kind, "visible": kind in PLATFORM_KINDS, "injected": len(ps),
                         "caught": len(caught), "recall": _ratio(len(caught), len(ps)),
                         "delay_median_h": pct(delays, 0.5), "delay_p90_h": pct(delays, 0.9)})
        return rows

    def by_reason(self) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for c in self.cases:
            groups[(c["origin"], c["reason"])].append(c)
        rows = []
        for (origin, reason), cs in sorted(groups.items(), key=lambda kv: (kv[0][0] != "proactive", -len(kv[1]))):
            verdicts = [self._real(c) for c in cs]
            judged = [v for v in verdicts if v is not None]
            rows.append({"reason": reason, "origin": origin, "cases": len(cs),
                         "real": sum(judged) if judged else None,
                         "precision": _ratio(sum(judged), len(judged)) if judged else None})
        return rows

    def totals(self) -> dict[str, Any]:
        visible = [p for p in self.scored if p.visible]
        caught = [p for p in visible if self.case_for(p)]
        proactive = [c for c in self.cases if c["origin"] == "proactive"]
        real = [c for c in proactive if (c["order_id"], c["_family"]) in self.truth_keys]
        first_msg = {id(p): told_first(self.inbox, p.order_id, p) for p in visible}
        reached = []
        for p in visible:
            msg, contact = first_msg[id(p)], self.first_care.get(id(p))
            reached.append(msg is not None and (contact is None or msg < contact.at))
        noticed = [p for p in visible if p.notice_at is not None]
        before_notice = [p for p in noticed if (m := first_msg[id(p)]) is not None and m <= p.notice_at]  # type: ignore[operator]
        return {"problems": len(self.problems), "scored": len(self.scored), "released": len(self.released),
                "visible": len(visible),
                "caught": len(caught), "recall": _ratio(len(caught), len(visible)),
                "proactive_cases": len(proactive), "precision": _ratio(len(real), len(proactive)),
                "proactive_rate": _ratio(sum(reached), len(visible)),
                "noticed": len(noticed), "told_before_noticed": _ratio(len(before_notice), len(noticed)),
                "customer_only": len([p for p in self.scored if not p.visible])}

    def delay(self) -> dict[str, Any]:
        hours, before_due = [], 0
        for p in self.scored:
            case = self.case_for(p) if p.visible else None
            if case is None:
                continue
            hours.append((case["_opened"] - p.broken_at) / HOUR)
            before_due += p.notice_at is None or case["_opened"] < p.notice_at
        return {"median_h": pct(hours, 0.5), "p90_h": pct(hours, 0.9), "n": len(hours),
                "before_customer_noticed": _ratio(before_due, len(hours))}

    # ---- the customer's side ---------------------------------------------------------------

    def contacts_summary(self) -> dict[str, Any]:
        n = len(self.world.orders)

        def split(cs: list[Contact]) -> dict[str, Any]:
            groups = {"visible": 0, "customer_only": 0, "other": 0, "second": 0, "date_missed": 0}
            for c in cs:
                groups["other" if c.problem is None else "visible" if c.problem.visible else "customer_only"] += 1
                groups["second"] += c.nth > 1
                groups["date_missed"] += c.told == "date_missed"  # (a stock date passed in silence)
            return {"contacts": len(cs), "per_order": len(cs) / n if n else 0.0, **groups,
                    "desk_cost": round(sum(CONTACT_COST[c.channel] for c in cs), 2)}

        care, twin = split(self.contacts), split(self.twin)
        booked = sum(1 for c in self.cases for a in c["actions"] if a["type"] == "schedule_callback")
        called_off = sum(1 for c in self.cases for a in c["actions"] if a["type"] == "callback_withdrawn")
        # A call costs a person's time unless the case was resolved before anyone had to ring.
        care["callbacks"] = callbacks = booked - called_off
        care["callbacks_called_off"] = called_off
        care["desk_cost"] = round(care["desk_cost"] + callbacks * CALLBACK_COST, 2)
        drop = None if not twin["per_order"] else 1 - care["per_order"] / twin["per_order"]
        return {"orders": n, "with": care, "without": twin, "reduction": drop}

    def _answer(self, c: Contact) -> int:
        rng = random.Random(f"{self.world.seed}:desk:{c.order_id}:{c.problem.kind if c.problem else c.topic}:{c.nth}")
        return desk_answer(c.at, c.channel, rng)

    def time_to_fix(self) -> dict[str, Any]:
        """Hours from the broken promise to the first action for the customer: ordercare's
        playbook on the case, or a human agent handling the customer's contact."""
        care_h, twin_h = [], []
        for p in self.scored:
            if p.notice_at is None:
                continue
            options = []
            case = self.case_for(p)
            if case is not None and case["actions"]:
                options.append(min(from_iso(a["at"]) for a in case["actions"]))
            if (c := self.first_care.get(id(p))) is not None:
                options.append(self._answer(c))
            care_h.append(max(0.0, (min(options) - p.broken_at) / HOUR) if options else math.inf)
            t = self.first_twin.get(id(p))
            twin_h.append(max(0.0, (self._answer(t) - p.broken_at) / HOUR) if t else math.inf)

        def stats(xs: list[float]) -> dict[str, Any]:
            return {"median_h": pct(xs, 0.5), "p90_h": pct(xs, 0.9),
                    "never": _ratio(sum(math.isinf(x) for x in xs), len(xs)), "n": len(xs)}

        self.fix_with, self.fix_without = care_h, twin_h
        return {"with": stats(care_h), "without": stats(twin_h)}

    def refunds(self) -> dict[str, Any]:
        amount, count = 0.0, 0
        by_origin: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for c in self.cases:
            for a in c["actions"]:
                if a["type"] == "refund" and a.get("amount"):
                    count += 1
                    amount += a["amount"]
                    by_origin[c["origin"]][0] += 1
                    by_origin[c["origin"]][1] += a["amount"]
        cancels = [p for p in self.scored if p.kind == "seller_cancellation"]
        care_wait, twin_wait = [], []
        for p in cancels:
            case = self.case_for(p)
            refund = [from_iso(a["at"]) for a in (case or {}).get("actions", []) if a["type"] == "refund"]
            care_wait.append((refund[0] - p.broken_at) / HOUR if refund else math.inf)
            t = self.first_twin.get(id(p))
            twin_wait.append(((self._answer(t) if t else p.broken_at + AUTO_REFUND_DAYS * DAY) - p.broken_at) / HOUR)
        gmv = sum(o.amount for o in self.world.orders)
        return {"count": count, "amount": round(amount, 2), "share_of_sales": amount / gmv if gmv else None,
                "by_origin": {k: (int(v[0]), round(v[1], 2)) for k, v in by_origin.items()},
                "median_wait_h_with": pct(care_wait, 0.5), "median_wait_h_without": pct(twin_wait, 0.5),
                "cancelled_amount": round(sum(p.amount for p in cancels), 2)}

    def weekly(self) -> list[dict[str, Any]]:
        start = self.world.start_us
        weeks: dict[int, dict[str, int]] = defaultdict(lambda: {"orders": 0, "with": 0, "without": 0})
        for o in self.world.orders:
            weeks[max(0, o.placed_at - start) // (7 * DAY)]["orders"] += 1
        # A contact counts in the week its order was placed: a cohort view, so that the last
        # weeks are not inflated by orders placed before them.
        placed = {o.order_id: o.placed_at for o in self.world.orders}
        for key, cs in (("with", self.contacts), ("without", self.twin)):
            for c in cs:
                weeks[max(0, placed[c.order_id] - start) // (7 * DAY)][key] += 1
        return [{"week": w + 1, **v, "with_per_order": _ratio(v["with"], v["orders"]),
                 "without_per_order": _ratio(v["without"], v["orders"])} for w, v in sorted(weeks.items())]


def self_service(cases: list[dict[str, Any]], clicks: list[Click]) -> dict[str, Any]:
    """The choices customers clicked instead of writing, and how many were made good by
    the click alone (a refund, a replacement or a cancellation recorded at that instant)."""
    by_id = {c["id"]: c for c in cases}
    by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cases:
        by_order[c["order_id"]].append(c)
    by_choice: dict[str, int] = defaultdict(int)
    made_good = reported = reports_made_good = 0

    def fixed(case: dict[str, Any] | None, at: int) -> bool:
        return case is not None and any(
            a["type"] in ("refund", "replace", "reship") and from_iso(a["at"]) == at for a in case["actions"])

    for k in clicks:
        if k.report:
            reported += 1
            reports_made_good += any(fixed(c, k.at) for c in by_order.get(k.order_id, ()))
            continue
        by_choice[k.choice] += 1
        made_good += fixed(by_id.get(k.case_id), k.at)
    return {"clicks": sum(by_choice.values()), "by_choice": dict(by_choice), "made_good": made_good,
            "reports": reported, "reports_made_good": reports_made_good}


def score(world: SimWorld, cases: list[dict[str, Any]], messages: list[dict[str, Any]],
          contacts: list[Contact], twin: list[Contact], clicks: list[Click] = (),  # type: ignore[assignment]
          resent: Iterable[Resent] = ()) -> Scorecard:
    resent = list(resent)
    judge = Judge(world, cases, inbox_of(cases, messages), contacts, twin, resent)
    card = Scorecard()
    card.kinds = judge.by_kind()
    card.reasons = judge.by_reason()
    card.totals = judge.totals()
    card.delay = judge.delay()
    card.contacts = judge.contacts_summary()
    card.contacts["self_service"] = self_service(cases, list(clicks))
    card.fix = judge.time_to_fix()
    card.refunds = judge.refunds()
    card.weekly = judge.weekly()
    card.stock = stock_card(world, cases)
    card.replacements = replacement_card(resent, cases, world.end_us)
    card.samples = {"delay": {k: v for k, v in judge.delays.items() if v}, "fix_with": judge.fix_with,
                    "fix_without": judge.fix_without}
    card.meta = {"orders": len(world.orders), "days": world.days, "seed": world.seed,
                 "cases": len(cases), "messages": len(messages),
                 "exception_messages": sum(m.get("kind") != "milestone" for m in messages),
                 "settle_days": SETTLE_DAYS, "median_of": "hours", "unit": "EUR"}
    return card


def replacement_card(resent: list[Resent], cases: list[dict[str, Any]], end_us: int) -> dict[str, Any]:
    """The desk's replacements as the world answered them, against ordercare's chase. One not
    shipped by its ship-by (sent late or never; ship-by before the horizon's end) is a broken
    promise: it must get a proactive ``late_shipment`` case on its lines at its ship-by (or,
    on a case another parcel keeps open, the message saying so). One
    shipped in time must get none (a case opened at the ship-by of another request of the
    same order that was broken is that one's: the lines of an order's trouble share a case)."""
    chases: dict[str, list[tuple[int, set[str]]]] = defaultdict(list)
    for c in cases:
        if c["origin"] == "proactive" and c["reason"] == "late_shipment":
            chases[c["order_id"]].append((from_iso(c["opened_at"]), set(c["line_ids"])))
        for a in c["actions"]:  # said on a case another parcel kept open
            if a.get("rule") == REPLACEMENT_LATE:
                chases[c["order_id"]].append((from_iso(a["at"]), set(c["line_ids"])))

    def chase(r: Resent) -> int | None:
        return min((at for at, lines in chases.get(r.order_id, ()) if at >= r.ship_by
                    and lines & set(r.line_ids)), default=None)

    due = [r for r in resent if r.ship_by < end_us]
    broken = [r for r in due if r.shipped_at is None or r.shipped_at > r.ship_by]
    kept = [r for r in due if r not in broken]
    broken_at = {(r.order_id, r.ship_by) for r in broken}
    caught = [(r, at) for r in broken if (at := chase(r)) is not None]
    delays = [(at - r.ship_by) / HOUR for r, at in caught]
    return {"requests": len(resent), "to_platform": sum(r.to == "platform" for r in resent),
            "sent_on_time": sum(r.fate == "on_time" for r in resent),
            "sent_late": sum(r.fate == "late" for r in resent), "never_sent": sum(r.fate == "never" for r in resent),
            "broken": len(broken), "kept": len(kept),
            "chased": len(caught), "recall": _ratio(len(caught), len(broken)), "delay_median_h": pct(delays, 0.5),
            "false_chases": sum((at := chase(r)) is not None and (r.order_id, at) not in broken_at for r in kept)}


def stock_card(world: SimWorld, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Stock-outs with and without ordercare's plan (the stockroom's routines on the same
    orders), the forecasts' accuracy, and what ordercare itself saw of the played run:
    its ``out_of_stock`` cases, and how many of those orders then missed their ship-by."""
    if world.stock is None:
        return {}
    out = world.stock.figures()
    played = world.stock.played
    stock_cases = [c for c in cases if c["reason"] == "out_of_stock"]
    orders = {c["order_id"] for c in stock_cases}
    late = {c["order_id"] for c in cases if c["reason"] == "late_shipment"}
    delivery = {c["order_id"] for c in cases if c["origin"] == "proactive" and family_of(c["reason"]) == "delivery"}
    out["seen_by_ordercare"] = {
        "out_of_stock_cases": len(stock_cases), "orders": len(orders),
        "proactive": sum(c["origin"] == "proactive" for c in stock_cases),
        "resolved": sum(c["status"] == "resolved" for c in stock_cases),
        "then_late_shipment_case": len(orders & late),
        "missed_promises_told": len(set(played.missed) & orders),
        "missed_promises_with_delivery_case": len(set(played.missed) & delivery),
        "world_short_orders": len({o for o, _ in played.short_at}),
        "world_missed_promises": len(played.missed),
        "same_orders": orders == {o for o, _ in played.short_at},
        "restock_dates": restock_dates(stock_cases, played.ready, cases)}
    return out


def restock_dates(stock_cases: list[dict[str, Any]], ready: dict[tuple[str, str], int | None],
                  cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The dates ordercare gave customers waiting for stock, against when the world's stock
    reached their lines: kept (by the end of the day said), missed, and how many days early
    a kept date was (a date far too late is a customer who cancels for nothing); how many
    times customers heard again because the date passed, because the supplier moved it, and
    that the stock was in but the parcel not left yet, on whichever case spoke (a delivery
    case open about the lines speaks for them). The date judged is the last one they were
    given."""
    kept: list[float] = []
    missed = 0
    for c in stock_cases:
        said = c.get("restock_expected_at")
        came = [ready.get((c["order_id"], lid)) for lid in c["line_ids"]]
        if said is None or not came or any(t is None for t in came):
            continue
        day = datetime.fromisoformat(said)
        end = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        late = max(t for t in came if t is not None) - to_us(end)
        if late <= 0:
            kept.append(-late / DAY)
        else:
            missed += 1
    waiting = {c["order_id"] for c in stock_cases}
    told = [a.get("rule") for c in cases if c["order_id"] in waiting for a in c["actions"]
            if a["type"] == "message_customer"]
    return {"judged": len(kept) + missed, "kept": len(kept), "missed": missed,
            "kept_days_early_median": pct(kept, 0.5), "told_again": told.count("restock_overdue"),
            "told_later": told.count("restock_later"), "told_arrived": told.count("restock_arrived")}


def flag_check(rows: list[dict[str, Any]], world: SimWorld) -> list[dict[str, Any]]:
    """The causes the insights flag as systemic (each once, on its worst kind of problem),
    next to what the simulator knows. A seller selling a defective product is answerable for
    its listing: it counts as truly bad."""
    m = world.market
    truth = {("seller", s) for s in m.bad_sellers} | {("carrier", c.carrier_id) for c in m.carriers.values()
                                                      if c.carrier_id == FLAKY_CARRIER}
    truth |= {("fc", f.fc_id) for f in m.fcs.values() if f.backlog}
    truth |= {("sku", k.sku) for k in m.skus if k.defect} | {("seller", k.seller_id) for k in m.skus if k.defect}
    must = {("seller", s) for s in m.bad_sellers} | {("carrier", FLAKY_CARRIER)}
    must |= {("fc", f.fc_id) for f in m.fcs.values() if f.backlog} | {("sku", k.sku) for k in m.skus if k.defect}
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    bad_sellers_skus = {("sku", k.sku) for k in m.skus if ("seller", k.seller_id) in truth}
    ran_out = {("sku", k) for k, _fc, _day in world.stock.played.stockout_days} if world.stock else set()
    hot = {("sku", k.sku) for k in m.hot_skus}
    for r in rows:
        key = (r.get("dimension", ""), r.get("key", ""))
        if key[0] in ("seller", "carrier", "fc", "sku") and r.get("systemic") and key not in seen:
            seen.add(key)
            out.append({"dimension": key[0], "key": key[1], "name": r.get("name", key[1]),
                        "problem": r.get("problem", "all"), "rate": r["rate"], "ci_low": r["ci_low"],
                        "ci_high": r["ci_high"], "peer_rate": r.get("peer_rate"), "excess": r.get("excess"),
                        "truly_bad": key in truth, "via_seller": key in bad_sellers_skus,
                        "ran_out": key in ran_out and r.get("problem") in ("stock", "all"),
                        "hot": key in hot})
    for dim, name in sorted(must - seen):
        out.append({"dimension": dim, "key": name, "name": name, "problem": None, "rate": None, "ci_low": None,
                    "ci_high": None, "peer_rate": None, "excess": None, "truly_bad": True, "missed": True})
    return out


def early_warning(world: SimWorld, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """What the engine's early warning ("trending late") really said, against the truth.

    A warning is the first message a customer got from the ``trending_late`` detector (a
    ``message_customer`` action with rule ``trending_late`` on the order's proactive delivery
    case): it always comes before the deliver-by. It was **right** when the order really
    missed its deliver-by (a parcel home after it, or never); a warning followed by an
    on-time delivery is a false alarm, counted against it (and its case against the
    proactive cases' precision, as any case opened for nothing). Only orders whose deliver-by
    falls inside the horizon are judged. **Recall**: the late orders, with a parcel on its way
    before the deliver-by, that were warned before it; ``blind_recall``: the same over the late
    orders no other message about their delivery reached before the deliver-by.
    """
    warned: dict[str, int] = {}
    other: dict[str, int] = {}
    for c in cases:
        if c["origin"] != "proactive" or family_of(c["reason"]) != "delivery":
            continue
        for a in c["actions"]:
            if a["type"] == "message_customer":
                seen = warned if a.get("rule") == "trending_late" else other
                at = from_iso(a["at"])
                if at < seen.get(c["order_id"], at + 1):
                    seen[c["order_id"]] = at
    right = late_n = caught = blind_n = blind_caught = 0
    judged, leads = 0, []
    for o in world.orders:
        if o.deliver_by > world.end_us or o.cancelled_by_customer:
            continue
        home = o.delivered_at()
        late = home is None or home > o.deliver_by
        w = warned.get(o.order_id)
        if w is not None:
            judged += 1
            right += late
            if late:
                leads.append((o.deliver_by - w) / HOUR)
        on_way = [p for p in o.parcels if p.shipped_at is not None and p.shipped_at < o.deliver_by]
        if not any(p.delivered_at is None or p.delivered_at > o.deliver_by for p in on_way):
            continue
        late_n += 1
        hit = w is not None and w < o.deliver_by
        caught += hit
        if other.get(o.order_id, o.deliver_by) >= o.deliver_by:
            blind_n += 1
            blind_caught += hit
    return {"warnings": judged, "right": right, "false_alarms": judged - right,
            "precision": _ratio(right, judged), "late": late_n, "recall": _ratio(caught, late_n),
            "blind_late": blind_n, "blind_recall": _ratio(blind_caught, blind_n),
            "lead_median_h": pct(leads, 0.5), "lead_p90_h": pct(leads, 0.9)}
