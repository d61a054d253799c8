"""How simulated customers behave: when a problem exists and nobody told them, they write
some hours or days after they notice it, sometimes twice; when we told them first, they
mostly do not write. The help desk answers each contact after a realistic delay.

A customer waiting for stock who was told a date ("we expect new stock around Tuesday 9
June", or "... in time to ship it by Thursday 11 June": then that day) and has heard nothing
since (the item has left, a new date) a day after that date writes to ask
(``P_DATE_MISSED``): a date we gave and missed in silence is a broken promise of its own.
They read the date in our message, as a customer would.

A customer who would answer our message ("I'd rather have a refund") and finds one-click
choices in it (the self-service links of ``notify/links.py``) clicks instead of writing, most
of the time (``P_CLICK``): a refund or a replacement, as their letter would have asked. The
click reaches ordercare as the ``customer.choice`` event ``ordercare serve`` records. In the
same way, a customer who finds a problem in the box and has our delivery message, with its
"something wrong?" link, reports it there instead of writing (``customer.report``).

Both worlds, with ordercare and its twin without proactive care, draw every customer's
choices from the same random numbers (common random numbers): the only difference between
them is what ordercare told the customer, and when. Nothing here reads ordercare's cases or
internals: only the messages it sent, as a customer's inbox would.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ordercare.notify.render import DAY_WORDS, MONTH_WORDS
from ordercare.sim.clock import DAY, HOUR, add_open_hours
from ordercare.sim.phrases import TOPIC_OF_KIND, compose
from ordercare.sim.truth import OrderFacts, Problem

# Share of customers who write about a problem they noticed and nobody told them about.
P_WRITE = {"never_shipped": 0.95, "partial": 0.9, "late_shipment": 0.85, "late_delivery": 0.8,
           "no_scan": 0.9, "stalled": 0.85, "carrier_exception": 0.8, "seller_cancellation": 0.55,
           "damaged": 0.9, "not_as_described": 0.9, "wrong_item": 0.95, "wrong_address": 0.95,
           "stockout": 0.5}
P_TOLD_BEFORE_NOTICE = 0.08   # told before they noticed: a few still reply (refund, please)
P_TOLD_WHILE_WAITING = 0.25   # noticed, meant to write, and our message came first
P_TOLD_UNNOTICED = 0.03       # told about a problem they would never have noticed
P_SECOND = 0.35               # still not sorted some days later: they write again
P_CLICK = 0.6                 # would answer our message, and it offers one-click choices: they click
CLICK_CHOICES = (("refund", 2), ("replacement", 1))  # as the letters they would have written ask
P_DATE_MISSED = 0.5          # told "new stock around <day>", nothing since, a day after it: they write
DATE_GRACE_DAYS = 1           # ... the day after the day told, at their own pace
P_WISMO = 0.02                # "where is my order?" about an order that is fine
WISMO_IF_UPDATED = 0.6        # ... scaled down when a routine update already said where it is
P_QUESTION = 0.006            # invoices, warranties, delivery slots
CHANNELS = (("email", 0.55), ("chat", 0.30), ("phone", 0.15))
DESK_TZ, DESK_OPEN, DESK_CLOSE, DESK_DAYS = 120, 9.0, 19.0, (0, 1, 2, 3, 4, 5)
# Working hours an agent takes to pick a contact up, by channel (median; lognormal spread).
DESK_MEDIAN_HOURS = {"email": 8.0, "chat": 2.0, "phone": 1.0}


@dataclass
class Contact:
    contact_id: str
    customer_id: str
    order_id: str            # the order it is about (the event carries it only if the customer said)
    with_order: bool
    at: int
    channel: str
    text: str
    topic: str
    nth: int
    problem: Problem | None
    told: str                # "before_notice" | "while_waiting" | "unnoticed" | "no" | "date_missed"


@dataclass
class Click:
    """A customer's click on a choice our message offered (``customer.choice``), or on the
    delivery message's "something wrong?" link (``customer.report``: ``report`` is True,
    ``choice`` is what they would like)."""
    order_id: str
    case_id: str
    choice: str
    at: int
    problem: Problem
    report: bool = False


@dataclass
class Inbox:
    """What ordercare told customers: messages about a case by (order, case family), the
    times of routine updates (milestones) by order, and the choices a message offered:
    (order, family) -> (when, case, choices) for the first message that offered any."""

    by_family: dict[tuple[str, str], list[int]]
    routine: dict[str, list[int]]
    offers: dict[tuple[str, str], tuple[int, str, tuple[str, ...]]] = field(default_factory=dict)
    reports: dict[str, int] = field(default_factory=dict)  # order -> first message with a report link
    # order -> (message time, the day it leads them to expect their item moving: new stock's,
    # or the ship-by it says that is in time for; in days since the epoch)
    dates: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def first(self, order_id: str, family: str) -> int | None:
        times = self.by_family.get((order_id, family))
        return times[0] if times else None

    def any_between(self, order_id: str, family: str, lo: int, hi: int) -> bool:
        return any(lo < t <= hi for t in self.by_family.get((order_id, family), ()))


    def updated_before(self, order_id: str, at: int) -> bool:
        times = self.routine.get(order_id)
        return bool(times) and times[0] <= at  # type: ignore[index]


NO_MESSAGES = Inbox({}, {})

_MONTH = {w.lower(): i + 1 for words in MONTH_WORDS.values() for i, w in enumerate(words)}
_DAY_WORD = "|".join(w for words in DAY_WORDS.values() for w in words)
# The date new stock is expected now (not "we told you ... around <the old date>").
_EXPECTED = re.compile(
    r"(?:new stock|now expect it|now expected|du stock|l'attendons|l'attendons désormais|désormais attendue)"
    rf" (?:around|vers le) (?:{_DAY_WORD}) (\d{{1,2}}) ({'|'.join(_MONTH)})", re.IGNORECASE)
# ... and the ship-by it says that stock is in time for, the day they then hold us to.
_IN_TIME = re.compile(
    rf"(?:in time to ship (?:it|them) by|à temps pour (?:l'|les )expédier d'ici le) (?:{_DAY_WORD})"
    rf" (\d{{1,2}}) ({'|'.join(_MONTH)})", re.IGNORECASE)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def restock_day(text: str, at: int, in_time: bool = False) -> int | None:
    """The day a message of ours says new stock is expected ("around Tuesday 9 June", "vers
    le mardi 9 juin"), in days since the epoch, or None. With ``in_time``, the day it leads a
    customer waiting for stock to expect their item moving: when it says that stock is in
    time for the ship-by ("... in time to ship it by Thursday 11 June"), that day. The year
    is the message's (the next one for a January date read in December)."""
    found = _EXPECTED.findall(text)
    if not found:
        return None
    sent = datetime.fromtimestamp(at / 1_000_000, UTC).date()

    def day_of(words: tuple[str, str]) -> int:
        month = _MONTH[words[1].lower()]
        return date(sent.year + (month < sent.month - 6), month, int(words[0])).toordinal() - _EPOCH_DAY

    return max(day_of(w) for w in [found[-1], *(_IN_TIME.findall(text)[-1:] if in_time else [])])


def desk_answer(contact_at: int, channel: str, rng: random.Random) -> int:
    """When a human agent handles a contact: the desk works Monday to Saturday, 9:00-19:00;
    the queue takes a lognormal number of opening hours (median 8 h by e-mail, 2 h on chat,
    1 h by phone)."""
    hours = DESK_MEDIAN_HOURS[channel] * math.exp(rng.gauss(0, 0.8))
    return add_open_hours(contact_at, hours, DESK_TZ, DESK_OPEN, DESK_CLOSE, DESK_DAYS)


def by_stock(p: Problem) -> bool:
    """A delivery problem caused by the item being out of stock (the parcel waited)."""
    return p.family == "delivery" and p.cause[0] == "sku"


def told_first(inbox: Inbox, order_id: str, p: Problem) -> int | None:
    """When we first wrote to the customer about this problem. A parcel late because its
    item was out of stock was announced with the stock-out (the message says it waits for
    stock, and when it is expected): that message counts as telling them."""
    first = inbox.first(order_id, p.family)
    if by_stock(p):
        stock = inbox.first(order_id, "out_of_stock")
        if stock is not None and (first is None or stock < first):
            return stock
    return first


def _rng(seed: int, *key: object) -> random.Random:
    return random.Random(f"{seed}:" + ":".join(map(str, key)))


def _channel(rng: random.Random) -> str:
    return rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]


def react(orders: list[OrderFacts], inbox: Inbox, seed: int, end: int,
          prefix: str) -> tuple[list[Contact], list[Click]]:
    """Every contact customers make, and every choice they click, in a world where
    ordercare sent what ``inbox`` holds."""
    out: list[Contact] = []
    clicks: list[Click] = []
    for o in orders:
        for p in o.problems:
            out.extend(_about_problem(o, p, inbox, seed, end, clicks))
            if p.kind == "stockout":
                out.extend(_date_missed(o, p, inbox, seed, end))
        out.extend(_noise(o, inbox, seed))
    out.sort(key=lambda c: (c.at, c.customer_id))
    for i, c in enumerate(out, 1):
        c.contact_id = f"{prefix}{i}"
    clicks.sort(key=lambda k: (k.at, k.case_id))
    return [c for c in out if c.at <= end], [k for k in clicks if k.at <= end]


def _click(o: OrderFacts, p: Problem, inbox: Inbox, seed: int, told_at: int, at: int) -> Click | None:
    """Instead of answering our message in words, the click on one of its choices (or None)."""
    offer = inbox.offers.get((o.order_id, p.family))
    if offer is None or offer[0] != told_at:
        return None
    choice = _clicks_instead(o, p, seed, "click", offer[2])
    return None if choice is None else Click(o.order_id, offer[1], choice, at - at % 1_000_000, p)


def _clicks_instead(o: OrderFacts, p: Problem, seed: int, stream: str, allowed: tuple[str, ...]) -> str | None:
    """Whether this customer uses a link rather than writing (``P_CLICK``), and what they
    ask for among ``allowed`` (as their letter would have), drawn from a random stream of
    their own: whether they click changes nothing else about them."""
    rng = _rng(seed, o.order_id, p.kind, p.broken_at, stream)
    if rng.random() >= P_CLICK:
        return None
    wanted = [(c, w) for c, w in CLICK_CHOICES if c in allowed]
    if not wanted:
        return None
    return rng.choices([c for c, _ in wanted], [w for _, w in wanted])[0]


# What the customer finds in the box, and can report from the delivery message.
REPORTABLE = frozenset({"damaged", "not_as_described", "wrong_item"})


def _report(o: OrderFacts, p: Problem, inbox: Inbox, seed: int, at: int) -> Click | None:
    """Instead of writing about what they found in the box, the report from the delivery
    message's link, when they have that message (or None)."""
    sent = inbox.reports.get(o.order_id)
    if p.kind not in REPORTABLE or sent is None or sent > at:
        return None
    wish = _clicks_instead(o, p, seed, "report", tuple(c for c, _ in CLICK_CHOICES))
    return None if wish is None else Click(o.order_id, "", wish, at - at % 1_000_000, p, report=True)


def _about_problem(o: OrderFacts, p: Problem, inbox: Inbox, seed: int, end: int,
                   clicks: list[Click]) -> list[Contact]:
    rng = _rng(seed, o.order_id, p.kind, p.broken_at)
    patience = rng.lognormvariate(0, 0.4)
    delay = min(5 * DAY, max(HOUR // 2, int(14 * HOUR * patience * math.exp(rng.gauss(0, 0.9)))))
    u_write, u_second = rng.random(), rng.random()
    delay2 = int(rng.uniform(2, 5) * DAY)
    channel = _channel(rng)
    told_at = told_first(inbox, o.order_id, p)
    if p.notice_at is None:
        if told_at is None or u_write >= P_TOLD_UNNOTICED or by_stock(p):
            return []  # (a reply to the stock-out message is the stock-out problem's)
        at, told, topic = told_at + delay, "unnoticed", "reply"
    else:
        plan = p.notice_at + delay
        if told_at is not None and told_at <= p.notice_at:
            chance, at, told, topic = P_TOLD_BEFORE_NOTICE, told_at + delay, "before_notice", "reply"
        elif told_at is not None and told_at <= plan:
            chance, at, told, topic = P_TOLD_WHILE_WAITING, plan, "while_waiting", "reply"
        else:
            chance, at, told, topic = P_WRITE[p.kind], plan, "no", TOPIC_OF_KIND[p.kind]
        if u_write >= chance:
            return []
    if topic == "reply" and told_at is not None and (click := _click(o, p, inbox, seed, told_at, at)):
        clicks.append(click)  # made good in one click: no letter, and nothing left to chase
        return []
    if told == "no" and (reported := _report(o, p, inbox, seed, at)):
        clicks.append(reported)
        return []
    first = _contact(rng, o, p, at, channel, topic, 1, told)
    out = [first]
    at2 = at + delay2
    pending = p.kind != "seller_cancellation" and (p.settled_at is None or p.settled_at > at2)
    reassured = inbox.any_between(o.order_id, p.family, at, at2) or (
        by_stock(p) and inbox.any_between(o.order_id, "out_of_stock", at, at2))  # (as in told_first)
    if pending and at2 <= end and u_second < P_SECOND * (0.3 if reassured else 1.0):
        out.append(_contact(rng, o, p, at2, channel, "chase", 2, told))
    return out


def _date_missed(o: OrderFacts, p: Problem, inbox: Inbox, seed: int, end: int) -> list[Contact]:
    """Told a date for new stock and nothing since, the day after that day (their own
    calendar) they write to ask, once (``P_DATE_MISSED``). Any word of ours about the order
    since that message (the item has left, a new date, no date yet, a routine update) is an
    answer; so is a parcel with their lines at the door."""
    told = inbox.dates.get(o.order_id)
    if not told or o.cancelled_by_customer:
        return []
    rng = _rng(seed, o.order_id, p.kind, p.broken_at, "date")
    if rng.random() >= P_DATE_MISSED:
        return []
    news = sorted([*inbox.by_family.get((o.order_id, "out_of_stock"), ()),
                   *inbox.by_family.get((o.order_id, "delivery"), ()), *inbox.routine.get(o.order_id, ())])
    home = [q.delivered_at for q in o.parcels if q.delivered_at is not None and set(q.line_ids) & set(p.line_ids)]
    pace = rng.uniform(8, 20) * HOUR  # the morning or the afternoon after their patience ran out
    for said_at, day in told:
        at = (day + 1 + DATE_GRACE_DAYS) * DAY - o.tz_min * 60_000_000 + int(pace)  # the end of the day after
        if any(said_at < t <= at for t in news) or any(t <= at for t in home):
            continue
        if at > end:
            return []
        return [_contact(rng, o, p, at, _channel(rng), "date_missed", 1, "date_missed")]
    return []


def _contact(rng: random.Random, o: OrderFacts, p: Problem | None, at: int, channel: str, topic: str,
             nth: int, told: str) -> Contact:
    at -= at % 1_000_000  # events carry whole seconds
    item = p.title if p and p.title else (o.titles[0] if o.titles else o.order_id)
    days = int((at - o.placed_at) // DAY)
    text = compose(rng, o.lang, topic, channel, o.order_id, item, p.tracking if p else None, days)
    with_order = rng.random() < (0.7 if channel == "phone" else 0.92)
    return Contact("", o.customer_id, o.order_id, with_order, at, channel, text, topic, nth, p, told)


def _noise(o: OrderFacts, inbox: Inbox, seed: int) -> list[Contact]:
    """Contacts about orders that are fine. An anxious "where is it?" is less likely once a
    routine update has said where it is; questions are the same in both worlds."""
    rng = _rng(seed, o.order_id, "noise")
    out: list[Contact] = []
    if o.cancelled_by_customer or any(p.visible for p in o.problems):
        return out
    u, at = rng.random(), o.placed_at + int(rng.uniform(1, 4) * DAY)
    chance = P_WISMO * (WISMO_IF_UPDATED if inbox.updated_before(o.order_id, at) else 1.0)
    if u < chance:
        home = o.delivered_at()
        if home is None or home > at:
            out.append(_contact(rng, o, None, at, _channel(rng), "wismo", 1, "no"))
    if rng.random() < P_QUESTION:
        out.append(_contact(rng, o, None, o.placed_at + int(rng.uniform(0.1, 10) * DAY), _channel(rng),
                            "question", 1, "no"))
    return out
