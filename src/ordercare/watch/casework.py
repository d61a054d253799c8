"""Casework: turns what the detectors see into cases, actions and messages.

One case per problem: the detectors' findings about getting the parcel to the customer
(late shipment, no scan, stalled, exception, late or partial delivery) are one trouble and
join the order's open delivery case instead of opening twins. The customer hears once when
the case opens, once when something real changes (it shipped, it arrived, it broke again),
and gets a human call when a case drags: never ten mails about a parcel that is stuck.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ordercare.desk.service_levels import ServiceLevels, load_service_levels
from ordercare.domain.cases import OUT_OF_STOCK, Action, Case, Message, family_of, restock_in_time
from ordercare.domain.moments import local_day
from ordercare.domain.order import DAY_US, HOUR_US, MADE_GOOD, REFUNDED, Order, Shipment
from ordercare.domain.promise import PromisePolicy
from ordercare.notify.links import CHOICE_FAMILIES, Links
from ordercare.notify.milestones import Milestones
from ordercare.notify.render import format_day, format_money, render
from ordercare.playbooks.proactive import ProactivePlaybook
from ordercare.watch.detectors import Finding
from ordercare.watch.thresholds import EscalationRule, Thresholds

# When several detectors speak at once, the case is named after the most specific cause.
PRIORITY = ("carrier_exception", "late_shipment", "no_carrier_scan", "stalled_in_transit",
            "partial_delivery", "late_delivery", "trending_late")
# The early warning's reason, and what it already told the customer: once they know the
# parcel will probably be late, its deliver-by passing is no news (no second apology).
TRENDING = "trending_late"
FORETOLD = frozenset({TRENDING, "late_delivery", "partial_delivery"})
REPLACEMENT_LATE = "replacement_late"  # the rule of the message: a replacement not sent by its ship-by
SHIPPED_NEWS = "shipped_late"  # the rule of the message: what had not shipped now has
WHERE_IS_IT = "where_is_my_order"  # a customer's question about an order on its way
RESTOCK_OVERDUE = "restock_overdue"  # the rule: the restock day a stock-out announced has passed
RESTOCK_LATER = "restock_later"  # the rule: the supplier moved the date a stock-out announced
RESTOCK_ARRIVED = "restock_arrived"  # the rule: the day announced passed; the stock is in, the parcel not left
_RESTOCK_UPDATE = {RESTOCK_OVERDUE: "overdue", RESTOCK_LATER: "later", RESTOCK_ARRIVED: "arrived"}
# Messages that tell of a delivery trouble offer the customer's choices (self-service links).
OFFERING = frozenset({"case_opened", TRENDING, "stock_shortage"})
REASON_TEXT = {
    "en": {"late_shipment": "it has not shipped", "no_carrier_scan": "the carrier has not scanned it",
           "stalled_in_transit": "it has stopped moving", "carrier_exception": "the carrier reports a problem",
           "late_delivery": "it is late", "partial_delivery": "part of it is missing",
           "trending_late": "it is running late"},
    "fr": {"late_shipment": "il n'est pas expédié", "no_carrier_scan": "le transporteur ne l'a pas scanné",
           "stalled_in_transit": "il ne bouge plus", "carrier_exception": "le transporteur signale un problème",
           "late_delivery": "il est en retard", "partial_delivery": "une partie manque",
           "trending_late": "il prend du retard"},
}


def _not_foretold(order: Order, found: list[Finding], now: int) -> list[Finding]:
    """Without the late shipment of a line an open stock-out case holds, until its deliver-by,
    when that case told the customer it would miss its ship-by (stock expected after it, or
    no date): that is the problem they were told of at once, no second case, no second
    apology; the stock-out case tells them when it ships. Told that stock would come in time,
    a ship-by missed is news: the delivery case opens as for any order. The deliver-by
    passing is news too (it will be late): the delivery case opens then, and escalates."""
    held = _told_late(order)
    if not held:
        return found
    out = []
    for f in found:
        rest = f.line_ids if f.reason != "late_shipment" else tuple(
            lid for lid in f.line_ids if lid not in held or (by := order.deliver_by([lid])) is None or now >= by)
        if rest == f.line_ids:
            out.append(f)
        elif rest:
            out.append(Finding(f.reason, rest, f.shipment_ids))
    return out


def _told_late(order: Order) -> set[str]:
    """The lines an open stock-out case told the customer would miss their ship-by."""
    return {lid for c in order.cases if c.reason == OUT_OF_STOCK and c.status != "resolved"
            for lid in c.line_ids
            if (ln := order.line(lid)) is None or not restock_in_time(c.expected_us, ln.ship_by_us)}


def _open_about(order: Order, line_ids: list[str]) -> Iterator[Case]:
    """The order's cases not resolved that are about some of ``line_ids``."""
    return (c for c in order.cases if c.status != "resolved" and not set(c.line_ids).isdisjoint(line_ids))


def open_delivery_case(order: Order, line_ids: list[str]) -> Case | None:
    """The open delivery case about some of ``line_ids``, if any: it speaks for those lines."""
    return next((c for c in _open_about(order, line_ids) if c.family == "delivery"), None)


def _call_pending_about(order: Order, case: Case) -> bool:
    """Does another open case about some of the same lines have a call still to make?"""
    return any(c is not case and c.callback_pending() for c in _open_about(order, case.line_ids))


def told_in_time(order: Order, line_ids: list[str], expected_us: int | None) -> bool:
    """Would stock expected at ``expected_us`` let each of ``line_ids`` still leave by its
    ship-by (what a stock-out message says when it does)?"""
    lines = [ln for lid in line_ids if (ln := order.line(lid)) is not None]
    return bool(lines) and all(restock_in_time(expected_us, ln.ship_by_us) for ln in lines)


def awaiting_stock(order: Order) -> set[str]:
    """The lines an open stock-out case holds (they wait for stock in our warehouse)."""
    return {lid for c in order.cases if c.reason == OUT_OF_STOCK and c.status != "resolved" for lid in c.line_ids}


def _settled_later(order: Order, case: Case) -> bool:
    """Another case of the customer's about some of the same lines is still open, or settled
    after this one: "were you satisfied?" is asked once, when the last of them is settled."""
    mark = (case.resolved_us or 0, case.opened_us)
    return any(other is not case and other.origin in ("customer", "proactive")
               and not set(other.line_ids).isdisjoint(case.line_ids)
               and (other.status != "resolved" or (other.resolved_us or 0, other.opened_us) > mark)
               for other in order.cases)


def _home_since(order: Order, case: Case, now: int) -> int | None:
    """Since when the resolved ``case`` is over for the customer: its resolution, or the
    arrival of the last of its lines still on the way then (a stock-out case is settled when
    the lamp ships: "were you satisfied?" waits until it is home). ``None`` while one is
    still owed (the next event of the order looks again)."""
    if not case.line_ids:
        return case.resolved_us
    if order.owed_lines(case.line_ids, now):
        return None
    came = [ship.delivered_us for lid in case.line_ids if (ln := order.line(lid)) is not None
            and (ship := order.line_shipment(ln)) is not None and ship.delivered_us is not None]
    return max([case.resolved_us or 0, *came])


def _parcels_sent(order: Order, case: Case) -> list[Shipment]:
    """The parcels carrying the case's lines not cancelled, if each of those has shipped."""
    ships: dict[str, Shipment] = {}
    for lid in case.line_ids:
        ln = order.line(lid)
        if ln is None or ln.cancelled_us:
            continue
        ship = order.line_shipment(ln)
        if ship is None or ship.shipped_us is None:
            return []
        ships[ship.shipment_id] = ship
    return list(ships.values())


def _warned(case: Case) -> bool:
    """Did the early warning already tell this case's customer the parcel would be late?"""
    return any(a.rule == TRENDING for a in case.actions)


class Done(dict[str, Any]):
    """What the desk did, for a reply template: an action not taken reads as ``None``."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def case_origin(origin: str) -> str:
    if origin not in ("proactive", "customer", "warehouse", "seller"):
        raise ValueError(f"unknown case origin {origin!r}")
    return origin


class Casework:
    """Applies findings to an order's cases; collects messages and callbacks to persist."""

    def __init__(self, thresholds: Thresholds, playbook: ProactivePlaybook,
                 customer: Callable[[str], dict[str, Any]], title: Callable[[str], str],
                 levels: ServiceLevels | None = None, calendar: PromisePolicy | None = None) -> None:
        self.levels = levels or load_service_levels()
        self.calendar = calendar or PromisePolicy()
        self.th = thresholds
        # callbacks the watch books
        self._watch_rules = {rule.id for rule in thresholds.escalations} | {"playbook", RESTOCK_OVERDUE}
        self.playbook = playbook
        self.customer = customer
        self.title = title
        self.links = Links.from_env()
        self.messages: list[Message] = []
        # (case id, order id or none, customer, UTC offset, when, the rule that asked)
        self.callbacks: list[tuple[str, str | None, str, int, int, str]] = []
        self.changed: dict[str, Case] = {}
        self.zones: dict[str, int] = {}  # the UTC offset of each changed case with no order behind it
        # cases whose callback is no longer due: "done" (a person made it) or "withdrawn"
        self.callbacks_closed: dict[str, str] = {}
        self.withdrawn: set[str] = set()  # cases taken back whole (``withdraw``): their rows go
        # (order, stock-out case, now) -> (does a line of it still wait for stock, when stock is
        # expected now or None): the warehouse's answer, set by it when it is on duty
        self.stock_outlook: Callable[[Order, Case, int], tuple[bool, int | None]] | None = None

    # ---- entry point -----------------------------------------------------------------

    def handle(self, order: Order, findings: list[Finding], now: int) -> int | None:
        """Bring the order's cases up to date with ``findings``; return the next escalation."""
        delivery = [f for f in findings if family_of(f.reason) == "delivery"]
        if delivery and order.cases:
            delivery = _not_foretold(order, self._still_owed(order, delivery, now), now)
        if delivery:
            self._delivery_trouble(order, delivery, now)
        for f in findings:
            if f.reason == "seller_cancellation":
                self._seller_cancellation(order, f, now)
        self._settle(order, bool(delivery), now)
        return self._escalate(order, now)

    # ---- delivery trouble ----------------------------------------------------------------

    def _delivery_trouble(self, order: Order, found: list[Finding], now: int) -> None:
        reasons = sorted({f.reason for f in found}, key=PRIORITY.index)
        lines = sorted({lid for f in found for lid in f.line_ids})
        ships = sorted({sid for f in found for sid in f.shipment_ids})
        case = next((c for c in order.open_cases() if c.family == "delivery"), None)
        if case is None:
            case = self._open(order, reasons[0], "delivery", lines, ships, now)
            case.reasons = reasons
            self._run_playbook(order, case, now)
            return
        case.line_ids = sorted(set(case.line_ids) | set(lines))
        case.shipment_ids = sorted(set(case.shipment_ids) | set(ships))
        new = [r for r in reasons if r not in case.reasons]
        foretold = _warned(case) and FORETOLD.issuperset(reasons)
        case.reasons += new
        reopened = case.status == "waiting"
        if reopened:
            case.set_status("open", now)
        unsent = self._replacements_unsent(order, case, found)
        if unsent:
            # A replacement we promised left nobody's hands by its ship-by: said at once, even
            # while another parcel keeps this case open (as a case of its own would have).
            self._message(order, case, now, "case_opened", reason="late_shipment", line_ids=unsent,
                          rule=REPLACEMENT_LATE)
        elif new == [TRENDING] and reasons == [TRENDING]:
            # What held it up is over (it shipped, it was scanned) but it will still miss the
            # deliver-by: say so once, whether the case was waiting or still open.
            self._message(order, case, now, TRENDING, update="warning", line_ids=lines, rule=TRENDING)
        elif reopened and not foretold:
            self._message(order, case, now, "case_update", update="reopened",
                          reason=reasons[0], line_ids=lines)
        self.changed[case.id] = case

    @staticmethod
    def _replacements_unsent(order: Order, case: Case, found: list[Finding]) -> list[str]:
        """Lines sent again, with no parcel made for them by their ship-by, that this case (open
        before that ship-by: one opened for it said so in its first message) has not told the
        customer about since they were sent again."""
        told = max((a.at_us for a in case.actions if a.rule == REPLACEMENT_LATE), default=None)
        out = []
        for f in found:
            if f.reason != "late_shipment":
                continue
            for lid in f.line_ids:
                ln = order.line(lid)
                if ln is not None and ln.redo_us is not None and ln.shipment_id is None and \
                        case.opened_us < ln.ship_by_us and (told is None or told < ln.redo_us):
                    out.append(lid)
        return sorted(set(out))

    @staticmethod
    def _still_owed(order: Order, found: list[Finding], now: int) -> list[Finding]:
        """Findings about lines not yet made good: a line refunded or replaced (a replacement
        is a new parcel with its own promise) is no longer a delivery we owe the customer."""
        settled = order.settled_line_ids(MADE_GOOD, now)
        if not settled:
            return found
        out = []
        for f in found:
            owed = tuple(lid for lid in f.line_ids if lid not in settled)
            if owed == f.line_ids:
                out.append(f)
            elif owed:
                out.append(Finding(f.reason, owed, f.shipment_ids))
        return out

    def _settle(self, order: Order, still_wrong: bool, now: int) -> None:
        """Resolve cases whose lines all arrived (or were made good: refunded, replaced); a
        cleared cause waits on the carrier."""
        for case in order.open_cases():
            if case.family != "delivery":
                if case.reason == WHERE_IS_IT and not order.owed_lines(case.line_ids or order.line_ids(), now):
                    # The question is answered by the events: everything asked about has come
                    # (or was cancelled or made good). Settled without a word: the delivery
                    # news said it. (A question still open would sit in the queue forever.)
                    self.resolve(case, now)
                continue
            if not order.owed_lines(case.line_ids, now):
                called_off = self.resolve(case, now)
                # What arrived (not what was cancelled, refunded or replaced meanwhile), and in which parcel.
                came: dict[str, Shipment] = {}
                arrived: dict[str, int] = {}
                for lid in case.line_ids:
                    ship = self._parcel_of(order, lid)
                    if ship is not None and ship.delivered_us is not None:
                        came[lid], arrived[lid] = ship, ship.delivered_us
                last = max(arrived.values(), default=None)
                # On time: each line that came, by its own deliver-by (a line sent again: its own).
                on_time = bool(arrived) and all((by := order.deliver_by([lid])) is not None and at <= by
                                                for lid, at in arrived.items())
                if last is not None:
                    report = self.links.report_url(order.order_id)
                    if _warned(case) and on_time:
                        # We warned it would be late and it was not: say so, plainly.
                        self._message(order, case, now, TRENDING, update="on_time", delivered_on=last,
                                      line_ids=list(arrived), called_off=called_off, report=report)
                    else:
                        # Held up on the way, it may still have arrived by the promised date: then
                        # no apology for lateness (there was none), only for the worry.
                        self._message(order, case, now, "case_update", update="resolved", delivered_on=last,
                                      line_ids=list(arrived), on_time=on_time, called_off=called_off,
                                      report=report)
                    # This says it has come: the routine "delivered" would say it twice, at once.
                    for ship in came.values():
                        Milestones.told(order, "delivered", ship)
                self.changed[case.id] = case
            else:
                if not still_wrong and case.status == "open":
                    case.set_status("waiting", now)
                    self.changed[case.id] = case
                self._tell_shipped(order, case, now)

    def _tell_shipped(self, order: Order, case: Case, now: int) -> None:
        """A case about lines that had not shipped: once every one of them has, say so with
        the parcels' tracking, even while the case stays open (they left after the promised
        delivery date: still late, but on their way). Once per time the customer was told
        they had not shipped; not after an early warning, which said it. A parcel that left
        after the last such news (the book, late in turn after the iPod had left) is news
        of its own: told, with its tracking."""
        if "late_shipment" not in case.reasons or _warned(case):
            return
        ships = _parcels_sent(order, case)
        if not ships:
            return
        told = max((a.at_us for a in case.actions if a.rule == SHIPPED_NEWS), default=None)
        if told is not None:
            since = [s for s in ships if s.shipped_us is not None and s.shipped_us > told]
            if since:
                carried = {lid for s in since for lid in s.line_ids}
                self._shipped_news(order, case, now, since,
                                   line_ids=[lid for lid in case.line_ids if lid in carried])
                return
            if told >= max((a.at_us for a in case.actions if a.rule == REPLACEMENT_LATE), default=case.opened_us):
                return
        self._shipped_news(order, case, now, ships)

    def tell_shipped(self, order: Order, case: Case, now: int, called_off: bool = False) -> list[Shipment]:
        """What the customer waited for (say, stock) has left: say so with the carrier and the
        tracking, and that the call we had planned is no longer needed if ``called_off``.
        Nothing while a line of the case is still to ship. Returns the parcels told of."""
        ships = _parcels_sent(order, case)
        if not ships or open_delivery_case(order, case.line_ids) is not None:
            return []  # (an open delivery case about them speaks for them: it said so already)
        self._shipped_news(order, case, now, ships, called_off=called_off)
        return ships

    def _shipped_news(self, order: Order, case: Case, now: int, ships: list[Shipment], **facts: Any) -> None:
        # (shipment.shipped names the carrier and the tracking)
        self._message(order, case, now, "case_update", update="shipped", rule=SHIPPED_NEWS,
                      carrier=", ".join(dict.fromkeys(s.carrier for s in ships if s.carrier)),
                      tracking=", ".join(s.tracking for s in ships if s.tracking), **facts)

    @staticmethod
    def _parcel_of(order: Order, line_id: str) -> Shipment | None:
        ln = order.line(line_id)
        return order.line_shipment(ln) if ln else None

    # ---- seller cancellation -------------------------------------------------------------

    def _seller_cancellation(self, order: Order, found: Finding, now: int) -> None:
        covered = {lid for c in order.cases if c.reason == "seller_cancellation" for lid in c.line_ids}
        lines = [lid for lid in found.line_ids if lid not in covered]
        if not lines:
            return
        case = self._open(order, "seller_cancellation", "seller_cancellation", lines, [], now)
        self._run_playbook(order, case, now)
        case.set_status("resolved", now)

    # ---- for capabilities (warehouse, sellers, desk) ----------------------------------------

    def open_case(self, order: Order, reason: str, origin: str, now: int, line_ids: list[str] | None = None,
                  shipment_ids: list[str] | None = None, actions: list[Action] | None = None,
                  message: dict[str, Any] | None = None, status: str = "open") -> Case:
        """Open a case of any origin on ``order``, record its actions, optionally message."""
        case = self._open(order, reason, reason, line_ids or [], shipment_ids or [], now)
        case.origin = case_origin(origin)
        for action in actions or []:
            case.add_action(action)
        if message is not None:
            self._message(order, case, now, message.pop("template"), **message)
        case.set_status(status, now)
        return case

    def callback(self, order: Order, case: Case, now: int, rule: str, message: bool = True) -> None:
        """Schedule a human callback on ``case`` (none while one is pending)."""
        self._callback(order, case, now, rule, message)

    def reply(self, order: Order, case: Case, now: int, **facts: Any) -> None:
        """Answer a customer's contact on ``case`` (kind ``reply``)."""
        done = Done(facts.get("done", {}))
        lang = self.customer(order.customer_id).get("lang", "en")
        if done.get("refund"):
            done["refund_text"] = format_money(done["refund"], order.currency, lang)
        facts["done"] = done
        self._message(order, case, now, "desk_reply", kind="reply", **facts)

    def touch(self, case: Case) -> None:
        """Mark a case changed so the next flush writes it."""
        self.changed[case.id] = case

    def withdraw(self, order: Order, case: Case) -> bool:
        """Take back a case that should never have opened (facts heard late show it), if
        nothing stands on it: no word to or from the customer, no callback, and no case of the
        order opened after it (case ids count the order's cases). ``False``: it stays, and the
        caller resolves it instead."""
        if order.cases[-1] is not case or case.messages_sent or case.first_contact_us is not None \
                or case.first_customer_message_us is not None or case.has_action("schedule_callback"):
            return False
        order.cases.pop()
        self.changed.pop(case.id, None)
        self.withdrawn.add(case.id)
        return True

    # ---- shared steps --------------------------------------------------------------------

    def _open(self, order: Order, reason: str, family: str, lines: list[str],
              ships: list[str], now: int) -> Case:
        case = Case(id=f"C-{order.order_id}-{len(order.cases) + 1}", order_id=order.order_id,
                    reason=reason, origin="proactive", opened_us=now, family=family,
                    reasons=[reason], line_ids=list(lines), shipment_ids=list(ships))
        order.cases.append(case)
        self.set_service_level(order, case, "proactive", now)
        self.changed[case.id] = case
        return case

    def set_service_level(self, order: Order, case: Case, channel: str, now: int,
                          callback: bool = False) -> None:
        """First-response and resolution targets by channel and priority (data)."""
        self.set_targets(case, channel, order.tz_min, order.prime, callback)

    def set_targets(self, case: Case, channel: str, tz_min: int, prime: bool = False,
                    callback: bool = False) -> None:
        """The service-level targets of a case, with or without an order behind it."""
        high = (self.levels.high_priority.prime and prime) or (self.levels.high_priority.callback and callback)
        target = self.levels.target(channel, bool(high))
        case.channel, case.priority = channel, "high" if high else "normal"
        case.first_response_due_us = self.levels.due(case.opened_us, target.first_response, tz_min, self.calendar)
        case.resolution_due_us = self.levels.due(case.opened_us, target.resolution, tz_min, self.calendar)

    def _run_playbook(self, order: Order, case: Case, now: int) -> None:
        refund = 0.0
        for kind in self.playbook.actions_for(case.reason):
            if kind == "refund":
                # Not the lines refunded already (the customer chose a refund for a stuck
                # line, then its seller cancelled it): a line is paid back once.
                refunded = order.settled_line_ids(REFUNDED)
                lines = [lid for lid in case.line_ids if lid not in refunded]
                refund = min(order.paid_for(lines), max(order.paid_amount - order.refunded, 0.0))
                if refund > 0:
                    order.refunded = round(order.refunded + refund, 2)
                    case.add_action(Action("refund", now, line_ids=lines, amount=refund,
                                           return_required=False))
            elif kind == "message_customer" and case.reason == TRENDING:
                self._message(order, case, now, TRENDING, update="warning", line_ids=case.line_ids, rule=TRENDING)
            elif kind == "message_customer":
                self._message(order, case, now, "case_opened", reason=case.reason,
                              line_ids=case.line_ids, refund=refund)
            elif kind == "schedule_callback":
                self._callback(order, case, now, "playbook")
            else:
                case.add_action(Action(kind, now))

    def _escalate(self, order: Order, now: int) -> int | None:
        wake = self._restock_overdue(order, now, self._service_levels(order, now))
        for case in order.open_cases():
            if case.status != "open" or case.origin not in ("proactive", "customer"):
                continue  # a parcel held for a warehouse check is no reason to call anyone
            for rule in self.th.escalations:
                if case.choice is not None and case.choice in rule.unless_chose:
                    continue
                due = self._escalation_due(order, case, rule, now)
                if due is None or rule.id in case.escalations:
                    continue
                if now < due:
                    wake = due if wake is None else min(wake, due)
                    continue
                if rule.action == "schedule_callback" and _call_pending_about(order, case):
                    continue  # one person calls about these lines: this one, once that call is gone
                case.escalations.append(rule.id)
                self.changed[case.id] = case
                if rule.action == "schedule_callback":
                    self._callback(order, case, now, rule.id)
                else:
                    case.add_action(Action("escalate", now, rule=rule.id))
        return wake

    def _restock_overdue(self, order: Order, now: int, wake: int | None) -> int | None:
        """A stock-out case told the customer around which day new stock was expected. Once
        that day is over, and ``restock_overdue_days`` more (at ``restock_overdue_hour``,
        local), a line still waiting is our broken word: say so plainly, with the date we
        expect now if we have one, keep the free cancel at hand, and have a person call. Once
        per date given: the next date, missed in turn, is said sorry for in turn. While a
        delivery case about the same lines is open, the word goes out on it, and its own
        callbacks stand (no second call)."""
        for case in order.cases:
            if case.expected_us is None or case.reason != OUT_OF_STOCK or case.status == "resolved" \
                    or case.overdue_for_us == case.expected_us \
                    or (case.overdue_for_us is None and RESTOCK_OVERDUE in case.escalations):
                continue  # (the last: stored before the dates were counted, when it was once per case)
            due = self._restock_overdue_at(order, case.expected_us)
            if now < due:
                wake = due if wake is None else min(wake, due)
                continue
            case.overdue_for_us = case.expected_us
            if RESTOCK_OVERDUE not in case.escalations:
                case.escalations.append(RESTOCK_OVERDUE)
            self.changed[case.id] = case
            waiting, expected = self.stock_outlook(order, case, now) if self.stock_outlook else (True, None)
            if not waiting:
                # The stock is here, but the parcel has not left: told the ship-by would be
                # missed, they wait past the day we gave, so they hear it is on its way out
                # (no call: within hours). Told it was in time for the ship-by, that is the
                # promise they hold us to, and the watch keeps it.
                if not told_in_time(order, case.line_ids, case.expected_us) and any(
                        (ln := order.line(lid)) is not None and ln.cancelled_us is None
                        and not order.line_shipped(ln) for lid in case.line_ids):
                    self.restock_news(order, case, now, case.expected_us, RESTOCK_ARRIVED)
                continue
            delivery = open_delivery_case(order, case.line_ids)
            if delivery is not None:
                calling = delivery.callback_pending() or case.callback_pending()
            else:
                calling = self.book_callback(case, order.order_id, order.customer_id, order.tz_min, now,
                                             RESTOCK_OVERDUE) or case.callback_pending()
            self.restock_news(order, case, now, expected, RESTOCK_OVERDUE, callback=calling)
            if case.expected_us is not None:  # the next date given: watched in turn
                due = self._restock_overdue_at(order, case.expected_us)
                wake = due if wake is None else min(wake, due)
        return wake

    def _restock_overdue_at(self, order: Order, expected_us: int) -> int:
        """When a date given for new stock counts as passed: ``restock_overdue_days`` after
        its day, at ``restock_overdue_hour``, in the customer's time."""
        th = self.th
        return (local_day(expected_us, order.tz_min) + 1 + th.restock_overdue_days) * DAY_US \
            - order.tz_min * 60_000_000 + th.restock_overdue_hour * HOUR_US

    def restock_news(self, order: Order, case: Case, now: int, expected: int | None, rule: str,
                     callback: bool = False) -> None:
        """Tell a customer waiting for stock that the date we gave them no longer holds, and
        the date we expect now (``None``: no firm date): ``rule`` RESTOCK_OVERDUE, it passed;
        RESTOCK_LATER, the supplier moved it; RESTOCK_ARRIVED, it passed and the stock is in,
        the parcel being made. The case keeps the new date (and watches it).
        While a delivery case about the same lines is open, it carries the word (it is the
        case the customer is following), with the stock-out's own one-click cancel."""
        lang = self.customer(order.customer_id).get("lang", "en")
        announced, case.expected_us = case.expected_us, expected
        speaker = open_delivery_case(order, case.line_ids) or case
        self._message(order, speaker, now, "stock_shortage", rule=rule, line_ids=case.line_ids,
                      choices=self.links.choices(case.id, case.reason),
                      update=_RESTOCK_UPDATE[rule],
                      restock_was=format_day(announced, order.tz_min, lang) if announced else "",
                      restock_on=format_day(expected, order.tz_min, lang) if expected else "",
                      in_time=told_in_time(order, case.line_ids, expected),
                      callback=callback)

    def _service_levels(self, order: Order, now: int) -> int | None:
        """Escalate breached targets; ask once, after resolution, whether it was satisfying."""
        wake: int | None = None

        def timer(due: int) -> bool:
            nonlocal wake
            if now >= due:
                return True
            wake = due if wake is None else min(wake, due)
            return False

        for case in order.cases:
            if case.origin not in ("customer", "proactive"):
                continue  # warehouse and seller cases have no customer clock
            if case.status == "resolved":
                if case.survey_sent_us is None and case.survey_skipped_us is None and case.csat is None \
                        and case.resolved_us is not None and not _settled_later(order, case) and (
                        settled := _home_since(order, case, now)) is not None and timer(
                        settled + int(self.levels.survey.ask_after_hours * HOUR_US)):
                    last = max((c.survey_sent_us for c in order.cases if c.survey_sent_us is not None), default=None)
                    if last is not None and now - last < self.levels.survey.not_within_days * DAY_US:
                        case.survey_skipped_us = now  # (asked about this order days ago: not again)
                        self.changed[case.id] = case
                    else:
                        case.survey_sent_us = now
                        self._message(order, case, now, "csat_survey", kind="reply")
                continue
            checks = (("sla_first_response", case.first_response_due_us, case.first_customer_message_us is None),
                      ("sla_resolution", None if case.resolution_due_us is None else
                       case.resolution_due_us + case.paused_us, case.status == "open"))
            for rule, due, pending in checks:
                if due is None or not pending or rule in case.escalations:
                    continue
                if timer(due):
                    case.escalations.append(rule)
                    case.add_action(Action("escalate", now, rule=rule))
                    self.changed[case.id] = case
        return wake

    @staticmethod
    def _escalation_due(order: Order, case: Case, rule: EscalationRule, now: int) -> int | None:
        if rule.prime_only and not order.prime:
            return None
        if rule.families and case.family not in rule.families:
            return None
        if rule.from_ == "opened":
            base: int | None = case.opened_us
        else:
            base = order.deliver_by_us
            if any(ln.deliver_by_us is not None for ln in order.lines):
                # Some line was sent again: the first deliver-by still owed among the case's
                # lines (all arrived: any of theirs).
                owed = [ln.line_id for ln in order.owed_lines(case.line_ids, now)]
                base = order.deliver_by(owed or case.line_ids)
        return None if base is None else base + int(rule.after_hours * HOUR_US)

    def _callback(self, order: Order, case: Case, now: int, rule: str, message: bool = True) -> None:
        if self.book_callback(case, order.order_id, order.customer_id, order.tz_min, now, rule) and message:
            self._message(order, case, now, "case_update", update="callback")

    def book_callback(self, case: Case, order_id: str | None, customer_id: str, tz_min: int, now: int,
                      rule: str) -> bool:
        """A person calls the customer back about ``case``: booked unless one is pending
        (``False``); once a person made it, the case may book another (still stuck, the
        customer asks again, a later escalation)."""
        if case.callback_pending():
            return False
        case.add_action(Action("schedule_callback", now, rule=rule))
        self.callbacks.append((case.id, order_id, customer_id, tz_min, now, rule))
        self.callbacks_closed.pop(case.id, None)  # (made, then booked again in this batch: due)
        self.changed[case.id] = case
        return True

    def callback_made(self, case: Case, now: int, agent: str, outcome: str, note: str | None) -> None:
        """A person made the callback pending on ``case`` (or tried: ``no_answer``)."""
        case.add_action(Action("callback_done" if outcome != "no_answer" else "callback_attempt", now,
                               rule=agent, note=note))
        if outcome != "no_answer":
            self.callbacks_closed[case.id] = "done"
        self.changed[case.id] = case

    def resolve(self, case: Case, now: int) -> bool:
        """Resolve ``case``; ``True`` when that called off a callback (``withdraw_callback``)."""
        case.set_status("resolved", now)
        self.changed[case.id] = case
        return self.withdraw_callback(case, now)

    def withdraw_callback(self, case: Case, now: int) -> bool:
        """The case is resolved: a callback the watch booked (an escalation rule, a playbook)
        and nobody made yet is called off (``True``): nobody phones a customer about a parcel
        that has come. One the customer asked for, or a person booked, stays due: they want
        to talk, and the agent sees the case is resolved."""
        booked = case.pending_callback()
        if booked is None or booked.rule not in self._watch_rules:
            return False
        case.add_action(Action("callback_withdrawn", now, rule="resolved"))
        self.callbacks_closed[case.id] = "withdrawn"
        self.changed[case.id] = case
        return True

    def response_due(self, case: Case, now: int, tz_min: int) -> int:
        """When a person answers ``case``: its first-response target, or, that passed (a later
        letter), the same target counted from ``now``."""
        due = case.first_response_due_us
        if due is not None and due > now:
            return due
        target = self.levels.target(case.channel, case.priority == "high")
        return self.levels.due(now, target.first_response, tz_min, self.calendar)

    def _message(self, order: Order, case: Case, now: int, template: str, kind: str = "exception",
                 rule: str | None = None, **facts: Any) -> None:
        """Write to the customer about ``case``; ``rule`` names the detector or rule that made
        us write on the recorded action (the early warning's messages say ``trending_late``)."""
        cust = self.customer(order.customer_id)
        lang = cust.get("lang", "en")
        line_ids = facts.pop("line_ids", case.line_ids)
        ctx, replacing = self._facts(order, case, line_ids, lang, now)
        if "delivered_on" in facts:
            facts["delivered_on"] = format_day(facts["delivered_on"], order.tz_min, lang)
        if facts.get("refund"):
            facts["refund"] = format_money(facts["refund"], order.currency, lang)
        if "reason" in facts and template == "case_update":
            ctx["reason_text"] = REASON_TEXT[lang if lang in REASON_TEXT else "en"].get(facts["reason"], "")
        if template in OFFERING and case.family in CHOICE_FAMILIES and facts.get("update") != "on_time":
            ctx["choices"] = self.links.choices(case.id, case.reason)
        ctx.update(facts)
        self.send(case, order.customer_id, order.order_id, order.tz_min, lang, now, template, ctx, kind, rule)
        if replacing and ctx.get("restock_on") and ctx["restock_on"] in self.messages[-1].text:
            # The message gave a new date in place of one gone by: the customer's date now.
            for stock_case, expected in replacing:
                stock_case.expected_us = expected
                self.changed[stock_case.id] = stock_case

    def send(self, case: Case, customer_id: str, order_id: str | None, tz_min: int, lang: str, now: int,
             template: str, ctx: dict[str, Any], kind: str = "exception", rule: str | None = None) -> None:
        """Render ``template`` and queue it to the customer as a message of ``case`` (with or
        without an order behind it), recorded on the case."""
        subject, text = render(lang, template, **ctx)
        last = self.messages[-1] if self.messages else None
        if last is not None and last.case_id == case.id and last.at_us == now:
            # One message per case per instant: the later word (say, a callback) replaces
            # the earlier one (say, "held up again") instead of sending two mails at once.
            self.messages.pop()
        else:
            case.messages_sent += 1
            case.add_action(Action("message_customer", now, rule=rule))
        if case.first_customer_message_us is None:
            case.first_customer_message_us = now
        self.changed[case.id] = case
        self.messages.append(Message(
            id=f"M-{case.id}-{case.messages_sent}", customer_id=customer_id,
            order_id=order_id, case_id=case.id, kind=kind, channel="email",
            lang=lang, at_us=now, tz_min=tz_min, text=text, subject=subject))

    def _stock_facts(self, order: Order, line_ids: list[str], now: int
                     ) -> tuple[bool, int | None, list[tuple[Case, int | None]]]:
        """For a message about ``line_ids``: does one of them still wait for stock at ``now``
        (the warehouse's word, when it is on duty: stock may have come and the parcel not
        left), and when is new stock expected for them (the latest date the open stock-out
        cases gave, or, a date gone by, the warehouse's date now; ``None`` when none waits or
        one has no date)? The warehouse is asked once per case. Third, the cases whose date gone
        by the message replaces, with the date: if the message states it, it is the date the
        customer was given last, which the case keeps (``_message``)."""
        waiting, dates, dated = False, [], True
        replacing: list[tuple[Case, int | None]] = []
        for c in _open_about(order, line_ids):
            if c.reason != OUT_OF_STOCK:
                continue
            still, now_expected = self.stock_outlook(order, c, now) if self.stock_outlook is not None \
                else (True, None)
            waiting = waiting or still
            at = c.expected_us if c.expected_us is None or c.expected_us >= now else now_expected
            if at != c.expected_us and still:
                replacing.append((c, at))
            if at is None:
                dated = False
            else:
                dates.append(at)
        return waiting, max(dates) if dated and dates else None, replacing

    def _facts(self, order: Order, case: Case, line_ids: list[str], lang: str, now: int
               ) -> tuple[dict[str, Any], list[tuple[Case, int | None]]]:
        """What the message can say: the real items, dates, carrier and tracking; and the
        stock-out cases whose passed date the restock date it gives would replace."""
        lines = [ln for lid in line_ids if (ln := order.line(lid)) is not None]
        # The parcel the message is about: the case's own (the one its trouble was found on)
        # carrying one of the message's lines, else the one carrying them (a case may hold
        # several: the book's, then the iPod's), else the case's first.
        wanted = set(line_ids)
        held = [order.shipments[s] for s in case.shipment_ids if s in order.shipments]
        ships = [s for s in held if not wanted.isdisjoint(s.line_ids)] or [
            s for ln in lines if (s := order.line_shipment(ln)) is not None] or held
        ship = ships[0] if ships else None
        last = ship.last_scan if ship else None
        day = lambda us: format_day(us, order.tz_min, lang) if us else ""  # noqa: E731
        cust = self.customer(order.customer_id)
        waiting, restock, replacing = self._stock_facts(order, line_ids, now) if order.cases else (False, None, [])
        return {
            "name": cust.get("name") or ("client" if lang == "fr" else "there"),
            "phone": cust.get("phone") or "",
            "order_id": order.order_id,
            "titles": [self.title(ln.sku) for ln in lines] or [order.order_id],
            # Every line of it sent again: what is late is the replacement we promised.
            "again": bool(lines) and all(ln.redo_us is not None for ln in lines),
            # Ours to send (our warehouse), not a seller's; and of those, waiting for stock.
            "by_us": bool(lines) and all(ln.fulfilled_by == "platform" for ln in lines),
            "awaiting_stock": bool(lines) and waiting,
            "restock_on": day(restock),
            "ship_by": day(min((ln.ship_by_us for ln in lines), default=order.ship_by_us)),
            "deliver_by": day(order.deliver_by(line_ids)),
            "carrier": (ship.carrier if ship and ship.carrier else "the carrier"),
            "tracking": (ship.tracking if ship and ship.tracking else ""),
            "shipped_on": day(ship.shipped_us) if ship else "",
            "last_scan_on": day(last.at_us) if last else "",
            "last_scan_location": (last.location or "") if last else "",
            "refund": "",
            "choices": [],
        }, replacing
