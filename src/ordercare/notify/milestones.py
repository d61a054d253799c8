"""Routine updates by the customer's choice: every step, milestones, or only exceptions.

Never absurd: no routine update while the order has an unresolved delivery case (the case
speaks for itself: no "on its way" while it is stuck), each step at most once per parcel,
no step the parcel has already passed, and a daily cap per order on the minor steps (the
milestones always go). Templates are data
(``milestones.yaml``) rendered with ``str.format``: routine updates are the high-volume
messages, and this keeps them to a few microseconds each.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from ordercare.domain.cases import Message
from ordercare.domain.order import DAY_US, Order, Shipment
from ordercare.notify.links import Links
from ordercare.notify.render import format_day

Step = Literal["confirmed", "payment_received", "preparing", "shipped", "in_transit",
               "out_for_delivery", "delivered", "cancelled"]
PLACEHOLDERS = {"name", "order_id", "items", "carrier", "tracking", "link", "day", "report"}
# A parcel's steps in order: a step the parcel has passed is never announced late.
_NOTHING: frozenset[str] = frozenset()
_SALUTATION = {"en": "there", "fr": "client"}
PARCEL_ORDER = {"preparing": 0, "shipped": 1, "in_transit": 2, "out_for_delivery": 3, "delivered": 4}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepRule(_Strict):
    milestone: bool


class Template(_Strict):
    subject: str
    body: str

    @model_validator(mode="after")
    def _known_placeholders(self) -> Template:
        for text in (self.subject, self.body):
            for _, field, _, _ in string.Formatter().parse(text):
                if field is not None and field not in PLACEHOLDERS:
                    raise ValueError(f"unknown placeholder {{{field}}}; allowed: {sorted(PLACEHOLDERS)}")
        return self


class Carrier(_Strict):
    name: str
    tracking_url: str = ""


class MilestonePolicy(_Strict):
    daily_cap: int
    steps: dict[Step, StepRule]
    templates: dict[Literal["en", "fr"], dict[Step, Template]]
    carriers: dict[str, Carrier] = {}


class Milestones:
    """Decides whether a step deserves a routine message, and writes it."""

    def __init__(self, policy: MilestonePolicy, customer: Callable[[str], dict[str, Any]],
                 title: Callable[[str], str]) -> None:
        self.policy = policy
        self.customer = customer
        self.title = title
        self.messages: list[Message] = []
        self.links = Links.from_env()
        self._templates: dict[str, dict[str, Template]] = dict(policy.templates)  # type: ignore[arg-type]
        # Per language and step: (subject, body, the placeholders they use), so that a message
        # computes only the facts its template shows (no titles for "payment received").
        self._compiled: dict[str, dict[str, tuple[str, str, frozenset[str]]]] = {
            lang: {step: (t.subject, t.body, _fields(t.subject) | _fields(t.body)) for step, t in steps.items()}
            for lang, steps in self._templates.items()}
        self._milestone_steps = frozenset(s for s, r in policy.steps.items() if r.milestone)
        self._wanted = {
            "every_step": frozenset(policy.steps),
            "milestones": frozenset(s for s, r in policy.steps.items() if r.milestone),
            "exceptions": frozenset(),
        }

    def step(self, order: Order, step: str, now: int, ship: Shipment | None = None,
             happened_us: int | None = None, lines: tuple[str, ...] | None = None) -> None:
        """Announce ``step`` at ``now``; ``happened_us`` is when the step itself happened
        (earlier for a fact that reached us late: "delivered on" names that day); ``lines``,
        the lines it is about when not a parcel's (a cancellation's): each such step is its own."""
        cust = self.customer(order.customer_id)
        if step not in self._wanted.get(cust.get("notify") or "milestones", _NOTHING):
            return
        key = _key(step, ship) if lines is None else f"{step}:{'+'.join(lines)}"
        if key in order.notified:
            return
        if (order.cases or (ship is not None and ship.scans)) and self._contradicts(order, step, ship):
            return  # (no case and no scan: nothing to contradict, the usual order)
        if step not in self._milestone_steps:
            # The cap spends on the minor steps only: a busy day (placed, paid, packed and
            # shipped by the afternoon) must not swallow "has shipped" with its tracking
            # number, nor "delivered" with its one-click report link, for good.
            day = (now + order.tz_min * 60_000_000) // DAY_US
            if order.routine_day != day:
                order.routine_day, order.routine_today = day, 0
            if order.routine_today >= self.policy.daily_cap:
                return
            order.routine_today += 1
        order.notified.append(key)
        self.messages.append(self._render(order, step, ship, cust, now, key,
                                          now if happened_us is None else happened_us, lines))

    @staticmethod
    def told(order: Order, step: str, ship: Shipment | None = None) -> None:
        """``step`` was announced another way (a case's own message): no routine update repeats it."""
        key = _key(step, ship)
        if key not in order.notified:
            order.notified.append(key)

    @staticmethod
    def _contradicts(order: Order, step: str, ship: Shipment | None) -> bool:
        for c in order.cases:
            if c.status != "resolved" and (c.family == "delivery" or c.origin == "proactive"):
                return True  # the open case speaks; a cheerful update would contradict it
        if ship is not None and ship.scans:
            rank = PARCEL_ORDER.get(step)
            if rank is not None:  # the parcel may already be further along
                return any(PARCEL_ORDER.get(s.status, 0) > rank for s in ship.scans)
        return False

    def _render(self, order: Order, step: str, ship: Shipment | None, cust: dict[str, Any], now: int,
                key: str, happened_us: int, lines: tuple[str, ...] | None = None) -> Message:
        lang = cust.get("lang")
        if lang != "fr":
            lang = "en"
        subject, body, needs = self._compiled[lang][step]
        order_id = order.order_id
        facts = {"name": cust.get("name") or _SALUTATION[lang], "order_id": order_id}
        if "items" in needs:
            title = self.title
            if lines is not None:
                facts["items"] = ", ".join([title(ln.sku) for ln in order.lines if ln.line_id in lines])
            elif ship is None:
                facts["items"] = ", ".join([title(ln.sku) for ln in order.lines])
            else:
                in_parcel = ship.line_ids
                facts["items"] = ", ".join([title(ln.sku) for ln in order.lines if ln.line_id in in_parcel])
        if not needs.isdisjoint(_PARCEL_FIELDS):
            if ship is None:
                facts["carrier"] = facts["tracking"] = facts["link"] = ""
            else:
                facts["tracking"] = tracking = ship.tracking or ""
                carrier = self.policy.carriers.get(ship.carrier or "")
                if carrier is None:
                    facts["carrier"], facts["link"] = ship.carrier or "", ""
                else:
                    facts["carrier"] = carrier.name
                    facts["link"] = (f" — {carrier.tracking_url.format(tracking=tracking)}"
                                     if carrier.tracking_url else "")
        if "day" in needs:
            facts["day"] = format_day(happened_us, order.tz_min, lang)
        if "report" in needs:
            facts["report"] = self.links.report_url(order_id) if step == "delivered" else ""
        # Positional, in the order of Message's fields (id, customer, order, case, kind,
        # channel, lang, at, tz, text, subject): cheaper than keywords, a few per event.
        return Message(f"M-{order_id}-{key}", order.customer_id, order_id, None, "milestone", "email",
                       lang, now, order.tz_min, body.format_map(facts), subject.format_map(facts))


_PARCEL_FIELDS = frozenset({"carrier", "tracking", "link"})


def _fields(text: str) -> frozenset[str]:
    """The placeholders ``text`` uses."""
    return frozenset(field for _, field, _, _ in string.Formatter().parse(text) if field is not None)


def _key(step: str, ship: Shipment | None) -> str:
    """How ``order.notified`` names a step announced ("shipped:sh-1"; "confirmed:" for the order)."""
    return f"{step}:{ship.shipment_id}" if ship is not None else f"{step}:"
