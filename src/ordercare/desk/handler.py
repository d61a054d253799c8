"""The customer desk: understand a contact, read the order's dossier, join or open the case,
resolve it by playbook, and answer from the facts.

Understanding is a trained model (``intent.py``) plus rules for the facts in the text
(``facts.py``); decisions are the playbook's (``playbook.yaml``); the reply is built from the
dossier and from what was actually done, in the customer's language.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec

from ordercare.desk.facts import Address, ContactFacts, ItemMatch, extract_facts, order_ids
from ordercare.desk.playbook import DeskPlaybook, Situation, load_desk_playbook
from ordercare.domain import events as ev
from ordercare.domain.cases import ORDERLESS, OUT_OF_STOCK, Action, Case
from ordercare.domain.moments import offset_min
from ordercare.domain.order import CLAIMED, DAY_US, REFUNDED, Line, Order
from ordercare.notify.links import CHOICE_FAMILIES
from ordercare.notify.render import format_day, format_day_hour

if TYPE_CHECKING:
    from ordercare.desk.intent import IntentModel
    from ordercare.engine import Engine

# Reasons about getting the parcel: they join the order's delivery case (proactive or not).
DELIVERY_REASONS = frozenset({"where_is_my_order", "late_delivery", "not_received"})
JOIN_WINDOW_US = 14 * DAY_US
# A self-service choice is read as the written request it stands for ("I'd rather have a refund
# / a replacement"), so a click and a letter get the same resolution from the same playbook.
# A problem reported in one click, as the desk's reason for the same complaint in words.
REPORTED_AS = {"damaged": "damaged_or_defective", "missing_item": "missing_item",
               "not_as_described": "not_as_described", "wrong_item": "not_as_described"}
CHOICE_REASON = "refund_request"
# Words about how to make good a problem already raised ("a refund after all"), or that the
# model could not place: on the same item they carry on its conversation, whatever its problem.
# Any other reason is a new problem (arrived damaged after "where is it?"): its own case.
FOLLOW_UPS = frozenset({"refund_request", "other"})


@lru_cache(maxsize=1)
def _model() -> IntentModel:
    from ordercare.desk.intent import load_default_model
    return load_default_model()


def family(reason: str) -> str:
    return "delivery" if reason in DELIVERY_REASONS else reason


class Desk:
    def __init__(self, engine: Engine, playbook: DeskPlaybook | None = None) -> None:
        self.engine = engine
        self.playbook = playbook or load_desk_playbook()

    # ---- entry point -------------------------------------------------------------------

    def handle(self, e: ev.ContactReceived, order: Order | None, now: int, asked: int | None = None) -> Case | None:
        """Answer a contact at ``now``; ``asked`` is when the customer asked (the event's own
        time: a replacement is promised from then, however late the event reached us)."""
        d = e.data
        titles = [self.engine.title(ln.sku) for ln in order.lines] if order else []
        facts = extract_facts(d.text, titles, d.channel)
        guess = _model().classify(d.text)
        reason = guess.reason if not guess.needs_review else "other"
        if order is None or order.placed_us is None:
            return self._orderless(e, reason, facts, now)
        return self._resolve(order, reason, facts, d.channel, now, asked)

    def called_back(self, e: ev.CallbackDone, order: Order | None, now: int) -> Case | None:
        """A person called the customer back about a case (its order's, or one about no order
        of theirs). Reached or settled: the callback is done; no answer: it stays due.
        Settled: the case is resolved, unless it is a delivery case whose parcel is still in
        trouble (the watch owns that one, and resolves it when the parcel comes)."""
        d = e.data
        eng = self.engine
        book: dict[str, Any] = {}
        kept: list[Case] = []
        if order is not None:
            case = next((c for c in order.cases if c.id == d.case_id), None)
        elif d.customer_id:
            book, kept = self._orderless_cases(d.customer_id)
            case = next((c for c in kept if c.id == d.case_id), None)
        else:
            case = None
        if case is None:
            return None
        if not case.callback_pending():
            return None  # nothing to make (recorded twice, by hand): the log keeps it, no more
        eng.casework.callback_made(case, now, d.agent, d.outcome, d.note)
        if d.outcome == "resolved" and case.status != "resolved" and not (
                order is not None and case.family == "delivery" and order.owed_lines(case.line_ids, now)):
            case.set_status("resolved", now)
        if order is None and d.customer_id:
            eng.casework.zones[case.id] = int(book.get("tz_min", 0))  # the customer's, kept at the first letter
            eng.put_party(ORDERLESS, d.customer_id, {**book, "cases": kept})
        return case

    def agent_acted(self, e: ev.AgentAction, order: Order, now: int, asked: int) -> Case | None:
        """A person acted on a case (``ordercare act``): one of the playbooks' own actions,
        chosen by them, done by the same code (a line is refunded once, sent again once while
        its replacement travels, the warehouse and seller health hear of a cancellation...),
        recorded on the case with their name and note, settled as a playbook's fix would be,
        and told to the customer in their language. A case that is not the order's does
        nothing (the event stays in the log)."""
        d = e.data
        case = next((c for c in order.cases if c.id == d.case_id), None)
        if case is None or order.placed_us is None:
            return None
        if d.line_ids:
            lines = [ln for lid in dict.fromkeys(d.line_ids) if (ln := order.line(lid)) is not None]
        else:
            lines = order.owed_lines(case.line_ids, now) or [
                ln for lid in case.line_ids if (ln := order.line(lid)) is not None and ln.cancelled_us is None]
        ids = [ln.line_id for ln in lines]
        case.line_ids = sorted(set(case.line_ids) | set(ids))
        case.add_action(Action("agent_action", now, line_ids=ids or None, rule=f"{d.agent}:{d.action}", note=d.note))
        self.engine.casework.touch(case)
        if d.action == "resolve":
            if case.status != "resolved" and not (case.family == "delivery" and order.owed_lines(case.line_ids, now)):
                self.engine.casework.resolve(case, now)  # (a call the watch booked is off: the agent tells)
            return case
        facts = ContactFacts()
        if d.address is not None:
            a = d.address
            facts = ContactFacts(new_address=Address(a.line1, a.postcode, a.city, a.country))
        # A guarantee claim is the platform paying the buyer and claiming from the seller.
        actions = ("refund", "guarantee_claim") if d.action == "guarantee_claim" else (d.action,)
        done = self._act(order, case, actions, lines, facts, now, asked)
        self._settle(order, case, actions, done, now)
        if d.tell_customer and done:
            self._reply(order, case, "agent", lines, facts, done, now)
        return case

    def _placed_orders(self, customer_id: str) -> list[Order]:
        eng = self.engine
        return [o for oid in eng.customer_orders.get(customer_id, ())
                if (o := eng.world.orders.get(oid)) is not None and o.placed_us is not None]

    def _customer_tz(self, customer_id: str, stamped: datetime) -> int:
        """A customer's time zone: their latest order's, else the one the event was stamped in."""
        mine = self._placed_orders(customer_id)
        if mine:
            return max(mine, key=lambda o: (o.placed_us or 0, o.order_id)).tz_min
        return offset_min(stamped)

    def _orderless_cases(self, customer_id: str) -> tuple[dict[str, Any], list[Case]]:
        """What is kept of a customer's cases about no order of theirs: the record, its cases."""
        book = self.engine.party(ORDERLESS, customer_id)
        return book, [msgspec.convert(c, Case) for c in book.get("cases", [])]

    def _orderless(self, e: ev.ContactReceived, reason: str, facts: ContactFacts, now: int) -> Case:
        """A contact we cannot tie to an order of the customer's (they have none, or named one
        that is not theirs, or none has been placed yet): a person takes it. One open case per
        customer (a second letter joins it), a callback booked at once, and an answer that says
        so plainly, without telling whether the order named exists for someone else."""
        d = e.data
        eng = self.engine
        _, kept = self._orderless_cases(d.customer_id)
        case = next((c for c in kept if c.status != "resolved"), None)
        mine = self._placed_orders(d.customer_id)
        tz_min = self._customer_tz(d.customer_id, e.at)
        callback = facts.callback or d.channel == "callback_request"
        if case is None:
            case = Case(id=f"C-{d.customer_id}-desk-{len(kept) + 1}", order_id=None, reason=reason,
                        origin="customer", opened_us=now, family=ORDERLESS, reasons=[reason],
                        first_contact_us=now)
            kept.append(case)
            eng.casework.set_targets(case, d.channel, tz_min, callback=callback)
        case.contact_events.append(e.id)
        eng.casework.zones[case.id] = tz_min  # its times, in the customer's local time
        booked = eng.casework.book_callback(case, None, d.customer_id, tz_min, now, ORDERLESS)
        cust = eng.customer(d.customer_id)
        lang = cust.get("lang", "en")
        named = d.order_id or next(iter(order_ids(d.text)), None)
        ctx = {"name": cust.get("name") or ("client" if lang == "fr" else "there"),
               "phone": d.phone or cust.get("phone") or "", "named": named,
               # A letter after an earlier answer; two at one instant get one answer, the full one.
               "has_orders": bool(mine), "again": not booked and (case.first_customer_message_us or now) < now,
               "channel": d.channel,
               "due": format_day_hour(eng.casework.response_due(case, now, tz_min), tz_min, lang)}
        eng.casework.send(case, d.customer_id, None, tz_min, lang, now, "desk_orderless", ctx, kind="reply")
        eng.put_party(ORDERLESS, d.customer_id, {"cases": kept, "tz_min": tz_min})
        return case

    def report(self, e: ev.CustomerReport, order: Order, now: int, asked: int | None = None) -> Case | None:
        """A problem reported in one click from our delivery message: resolved exactly as the
        same complaint in words (the reason and the item are given instead of read)."""
        d = e.data
        if order.placed_us is None:
            return None
        active = order.active_lines()
        ln = order.line(d.line_id) if d.line_id else (active[0] if len(active) == 1 else None)
        item = None if ln is None else ItemMatch(order.lines.index(ln), self.engine.title(ln.sku), 1.0)
        facts = ContactFacts(wants=d.wants, item=item)
        return self._resolve(order, REPORTED_AS[d.problem], facts, "self_service", now, asked)

    def _resolve(self, order: Order, reason: str, facts: ContactFacts, channel: str, now: int,
                 asked: int | None = None) -> Case:
        """Join or open the case, decide by the playbook, act, settle, and answer."""
        case = self._case_for(order, reason, facts, now)
        self._service_level(order, case, channel, facts.callback or channel == "callback_request", now)
        if case.first_contact_us is None:
            case.first_contact_us = now
        if reason == "other" and case.origin == "customer":
            reason = case.reason  # a word the model could not place, in the conversation it joined
        lines = self._lines_concerned(order, reason, facts, case)
        case.line_ids = sorted(set(case.line_ids) | {ln.line_id for ln in lines})
        reason, actions, done, seen = self._decide_and_act(order, case, reason, lines, facts, channel, now, asked)
        if "reply" in actions:
            self._reply(order, case, reason, lines, facts, done, now, seen=seen)
        self.engine.casework.touch(case)
        return case

    def _decide_and_act(self, order: Order, case: Case, reason: str, lines: list[Line], facts: ContactFacts,
                        channel: str, now: int, asked: int | None = None
                        ) -> tuple[str, tuple[str, ...], dict[str, Any], Situation]:
        """The playbook's actions for this situation (a callback when asked), done and settled;
        with the reason that answered (the playbook may hand a contact to another reason's
        rules) and the situation seen."""
        seen = self._situation(order, lines, facts, channel, now)
        answered, actions = self.playbook.decide(reason, seen, sum(ln.amount for ln in lines))
        if answered != reason:
            _answered_as(case, reason, answered, now)
        if facts.callback or channel == "callback_request":
            actions = (*actions, "schedule_callback")
        done = self._act(order, case, actions, lines, facts, now, now if asked is None else asked)
        self._settle(order, case, actions, done, now)
        return answered, actions, done, seen

    def choose(self, e: ev.CustomerChoice, order: Order, now: int, asked: int | None = None) -> Case | None:
        """The customer clicked one of the choices a message about ``case_id`` offered. Wait:
        noted (no callback to chase them). Refund or replacement: the playbook decides, as
        for the same request in words, on the case's lines still owed, and we confirm what
        was done. Too late (all arrived or already made good): we say so and do nothing."""
        d = e.data
        case = next((c for c in order.cases if c.id == d.case_id), None)
        if case is None or case.family not in CHOICE_FAMILIES:
            return None  # choices are offered on these troubles only: nothing to do elsewhere
        case.choice = d.choice
        case.add_action(Action("customer_choice", now, rule=d.choice))
        self.engine.casework.touch(case)
        if d.choice == "wait":
            return case
        lines = order.owed_lines(case.line_ids, now)
        if case.reason == OUT_OF_STOCK and case.status != "resolved":
            # A replacement waiting for stock is made good only once it ships: until then the
            # customer may still cancel it (the option the stock-out message offers).
            lines = [ln for lid in case.line_ids if (ln := order.line(lid)) is not None
                     and ln.cancelled_us is None and not order.line_shipped(ln)]
        if case.status == "resolved" or not lines:
            mine = [ln for lid in case.line_ids if (ln := order.line(lid)) is not None]
            self._reply(order, case, "self_service", mine, ContactFacts(), {"too_late": True}, now,
                        choice=d.choice)
            return case
        facts = ContactFacts(wants=d.choice)  # refund | replacement
        _, _, done, seen = self._decide_and_act(order, case, CHOICE_REASON, lines, facts, "self_service", now, asked)
        done["not_arrived"] = True  # every line concerned is still on its way (or never left)
        self._reply(order, case, "self_service", lines, facts, done, now, choice=d.choice, seen=seen)
        return case

    # ---- which case ----------------------------------------------------------------------

    def _case_for(self, order: Order, reason: str, facts: ContactFacts, now: int) -> Case:
        """Join the open case of the same problem (or the recent one the customer is
        changing their mind about, or writing again about: the same item, the same kind of
        problem or a word on how to make it good); open a new customer case only when there
        is none. (A one-line order names its item in every letter: "where is it?", then
        "it arrived damaged", are two problems, not one.)"""
        fam = family(reason)
        item = order.lines[facts.item.index].line_id if facts.item and facts.item.index < len(order.lines) else None
        for case in reversed(order.cases):
            recent = now - case.opened_us <= JOIN_WINDOW_US
            if case.status != "resolved" and (case.family == fam or (
                    # "where is it?" about a line waiting for stock: the stock-out case answers
                    fam == "delivery" and case.reason == OUT_OF_STOCK and (item is None or item in case.line_ids))):
                return case
            same_item = item is not None and item in case.line_ids
            same_problem = family(case.reason) == fam or reason in FOLLOW_UPS
            if recent and case.origin == "customer" and (facts.changed_mind or (same_item and same_problem)):
                case.set_status("open", now)  # the same problem, back again: one conversation
                return case
        return self.engine.casework.open_case(order, reason, "customer", now)

    def _service_level(self, order: Order, case: Case, channel: str, callback: bool, now: int) -> None:
        if case.origin == "customer" and case.opened_us == now:
            self.engine.casework.set_service_level(order, case, channel, now, callback)

    def _lines_concerned(self, order: Order, reason: str, facts: ContactFacts, case: Case) -> list[Line]:
        """The lines a contact is about: the item named (a cancelled one too: the reply says
        so), else the case's, else every line not cancelled; an address is the whole order's.
        Of those, "not received" means the ones scanned delivered (one still on its way is not
        lost), "missing" and "where is it?" the ones not delivered, when there are some."""
        active = order.active_lines()
        if reason == "wrong_address":
            return active
        if facts.item is not None and facts.item.index < len(order.lines):
            lines = [order.lines[facts.item.index]]
        else:
            # (every line cancelled: the question is about them all, and the reply says so)
            lines = [ln for ln in active if ln.line_id in case.line_ids] or active or list(order.lines)
        if reason == "not_received":
            return [ln for ln in lines if order.line_delivered(ln)] or lines
        if reason in ("missing_item", "where_is_my_order"):
            return [ln for ln in lines if not order.line_delivered(ln)] or lines
        return lines

    def _situation(self, order: Order, lines: list[Line], facts: ContactFacts, channel: str,
                   now: int) -> Situation:
        cust = self.engine.customer(order.customer_id)
        delivered = all(order.line_delivered(ln) for ln in lines) if lines else False
        window = self.playbook.limits.guarantee_days_after_deliver_by * DAY_US
        deliver_by = order.deliver_by([ln.line_id for ln in lines])  # (a line sent again: its own)
        return Situation(
            seller_fulfilled=bool(lines) and all(ln.fulfilled_by == "seller" for ln in lines),
            guarantee_open=deliver_by is None or now <= deliver_by + window,
            delivered=delivered,
            shipped=any(order.line_shipped(ln) for ln in lines),
            late=deliver_by is not None and now > deliver_by and not delivered,
            review=int(cust.get("refund_count", 0)) >= self.playbook.limits.review_after_refunds,
            callback=facts.callback or channel == "callback_request",
            # Every line it is about was cancelled (and none came after all): nothing is coming.
            cancelled=bool(lines) and all(ln.cancelled_us is not None and not order.line_delivered(ln)
                                          for ln in lines),
            item_unclear=facts.item is None and len(lines) > 1,
            new_address=facts.new_address is not None,
            wants=facts.wants)

    # ---- doing it ----------------------------------------------------------------------

    def _act(self, order: Order, case: Case, actions: tuple[str, ...], lines: list[Line],
             facts: ContactFacts, now: int, asked: int) -> dict[str, Any]:
        done: dict[str, Any] = {}
        line_ids = [ln.line_id for ln in lines]
        # Sent again only once: a line whose replacement is already on its way ("where is my
        # new mug?") is not sent a third time. (Refunded first, then a replacement asked for
        # "instead": both stand, generously; the replacement is watched all the same.)
        # A cancelled line is never sent again: there is nothing of it to make good.
        sendable = [ln for ln in lines if ln.cancelled_us is None]
        again = [ln for ln in sendable if not _still_coming_again(order, ln, now)]
        for kind in actions:
            if kind in ("refund", "refund_with_return"):
                amount = self._refund(order, case, line_ids, now, return_required=kind != "refund")
                if amount:
                    done["refund"] = amount
                    done["return_required"] = kind != "refund"
                elif (owed := order.refundable(line_ids)[0]) and order.paid_for(owed) > 0:
                    # Lines not paid back, yet nothing taken to pay back (the payment is not
                    # captured yet): no refund to make, and no "done" to claim. A person
                    # looks at it (the case stays open) and the reply says so.
                    if not done.get("escalated"):
                        case.add_action(Action("escalate", now, rule="nothing_paid"))
                    done["nothing_paid"] = done["escalated"] = True
            elif kind == "guarantee_claim":
                self._claim(order, case, lines, now, done)
            elif kind in ("replace", "reship"):
                if again:
                    ids = [ln.line_id for ln in again]
                    carried = sorted({ln.shipment_id for ln in again if ln.shipment_id})
                    case.add_action(Action(kind, now, line_ids=ids,
                                           shipment_ids=(carried or None) if kind == "reship" else None))
                    self.engine.promise_again(order, again, asked, kind, case.id)
                    done[kind] = True
                    done["leaves_by"] = self._leaves_by(order, again)
                elif len(again) < len(sendable):
                    done["sent_again_already"] = True
                    coming = [ln for ln in sendable if ln not in again and ln.shipment_id is None]
                    if coming:  # asked of its sender, no parcel yet: say by when it leaves, not "on its way"
                        done["leaves_by"] = self._leaves_by(order, coming)
            elif kind == "update_address":
                self._update_address(order, case, facts, now, done)
            elif kind == "intercept":
                # Only the parcels carrying these lines: cancelling the case is no reason to
                # stop the iPod travelling in another parcel.
                moving = sorted(s.shipment_id for s in order.shipments.values() if s.shipped_us is not None
                                and s.delivered_us is None and not set(s.line_ids).isdisjoint(line_ids))
                if moving:
                    case.add_action(Action("intercept", now, shipment_ids=moving))
                    done["intercepted"] = len(moving)
            elif kind == "cancel_unshipped":
                self._cancel_unshipped(order, case, lines, now, done)
            elif kind == "schedule_callback":
                self.engine.casework.callback(order, case, now, "desk", message=False)
                done["callback"] = True
            elif kind == "escalate":
                case.add_action(Action("escalate", now, rule="desk"))
                done["escalated"] = True
        return done

    def _leaves_by(self, order: Order, lines: list[Line]) -> str:
        """The day the first of these lines, sent again, must leave us: its own ship-by, said
        in the customer's language."""
        lang = self.engine.customer(order.customer_id).get("lang", "en")
        return format_day(min(ln.ship_by_us for ln in lines), order.tz_min, lang)

    def _refund(self, order: Order, case: Case, line_ids: list[str], now: int, return_required: bool) -> float:
        """Refund what was paid for these lines: never a line twice, never more than was paid."""
        line_ids, amount = order.refundable(line_ids)
        if amount <= 0:
            return 0.0
        order.refunded = round(order.refunded + amount, 2)
        case.add_action(Action("refund", now, line_ids=line_ids, amount=amount,
                               return_required=return_required))
        cust = dict(self.engine.customer(order.customer_id))
        cust["refund_count"] = int(cust.get("refund_count", 0)) + 1
        cust["refund_total"] = round(float(cust.get("refund_total", 0.0)) + amount, 2)
        self.engine.put_party("customer", order.customer_id, cust)
        return amount

    def _claim(self, order: Order, case: Case, lines: list[Line], now: int, done: dict[str, Any]) -> None:
        """The guarantee: we paid the buyer back, so we claim that from the seller. Only what
        was refunded (now or before), for what it paid; once per line (the same complaint
        twice is one claim). Nothing paid back (no payment taken yet): no claim, no word of it."""
        claimed = order.settled_line_ids(CLAIMED)
        ids, amount = _paid_back(order, [ln.line_id for ln in lines if ln.line_id not in claimed])
        if ids:
            sellers = sorted({ln.seller_id for ln in lines if ln.line_id in ids})
            case.add_action(Action("guarantee_claim", now, line_ids=ids, amount=amount, rule=",".join(sellers)))
        if ids or any(ln.line_id in claimed for ln in lines):
            done["guarantee"] = True

    def _update_address(self, order: Order, case: Case, facts: ContactFacts, now: int,
                        done: dict[str, Any]) -> None:
        """One address fix for every parcel of the order not yet delivered, in one case; none
        without a new address (the playbook asks for it: parcels are never "redirected" to the
        address they already go to)."""
        if facts.new_address is None:
            return
        a = facts.new_address
        order.address = {**(order.address or {}), "line1": a.line, "postcode": a.postcode,
                         "city": a.city, "country": a.country}
        parcels = sorted(s.shipment_id for s in order.shipments.values() if s.delivered_us is None)
        case.add_action(Action("update_address", now, shipment_ids=parcels))  # (none yet: [], as CONTRACT §2 lists it)
        done["address"] = order.address
        done["parcels"] = len(parcels) + sum(1 for ln in order.active_lines() if ln.shipment_id is None)

    def _cancel_unshipped(self, order: Order, case: Case, lines: list[Line], now: int,
                          done: dict[str, Any]) -> None:
        unshipped = [ln for ln in lines if not order.line_shipped(ln) and ln.cancelled_us is None]
        for ln in unshipped:
            ln.cancelled_us, ln.cancelled_by, ln.cancel_reason = now, "customer", "customer_request"
        if unshipped:
            # The warehouse (a reservation, a backorder) and seller health hear it as an
            # ``order.cancelled`` by the customer, as if it had come from the shop.
            ids = [ln.line_id for ln in unshipped]
            fact = ev.OrderCancelled(id=f"{case.id}:cancel:{now}", at=datetime.fromtimestamp(now / 1e6, UTC),
                                     data=ev.OrderCancelledData(order.order_id, "customer", "customer_request", ids))
            self.engine.tell_capabilities(fact, order, now)
            done["cancelled"] = [self.engine.title(ln.sku) for ln in unshipped]
            amount = self._refund(order, case, [ln.line_id for ln in unshipped], now, return_required=False)
            if amount:
                done["refund"], done["return_required"] = amount, False

    def _settle(self, order: Order, case: Case, actions: tuple[str, ...], done: dict[str, Any], now: int) -> None:
        """A fix done is resolved; a human to act keeps it open; an answer alone waits. A
        delivery case stays open while some of its lines are neither home nor made good (a
        refund for the case that did not come leaves the iPod still on its way watched). A
        callback the watch had booked is called off once the case is resolved (the reply
        says so)."""
        if "escalate" in actions or "schedule_callback" in actions or done.get("escalated"):
            case.set_status("open", now)
        elif set(actions) & {"refund", "refund_with_return", "replace", "reship", "update_address",
                             "cancel_unshipped", "guarantee_claim"}:
            if case.family == "delivery" and order.owed_lines(case.line_ids, now):
                return
            if self.engine.casework.resolve(case, now):
                done["called_off"] = True
        elif case.status == "open" and case.origin == "customer":
            case.set_status("waiting", now)

    def _reply(self, order: Order, case: Case, reason: str, lines: list[Line], facts: ContactFacts,
               done: dict[str, Any], now: int, choice: str | None = None, seen: Situation | None = None) -> None:
        self.engine.casework.reply(order, case, now, reason=reason, line_ids=[ln.line_id for ln in lines],
                                   pages=list(facts.pages) if facts.pages else [], done=done, choice=choice,
                                   **self._said(order, lines, seen))

    def _said(self, order: Order, lines: list[Line], seen: Situation | None) -> dict[str, Any]:
        """What a reply states from the situation, beyond what was done: late or not (a
        callback is no sign of it), which item is unclear, the day the parcel was scanned
        delivered (not its last scan, whatever that was), and a line cancelled before."""
        lang = self.engine.customer(order.customer_id).get("lang", "en")
        ids = {ln.line_id for ln in lines}  # (any parcel that carried them: one sent again since too)
        delivered = [s.delivered_us for s in order.shipments.values()
                     if s.delivered_us is not None and ids & set(s.line_ids)]
        cancelled = seen is not None and bool(seen.cancelled)
        refunded = order.settled_line_ids(REFUNDED) if cancelled else set()
        return {
            "late": seen is not None and bool(seen.late),
            "item_unclear": seen is not None and bool(seen.item_unclear),
            "delivered_day": format_day(max(delivered), order.tz_min, lang) if delivered else "",
            "cancelled_day": format_day(max(ln.cancelled_us or 0 for ln in lines), order.tz_min, lang)
            if cancelled else "",
            "cancelled_refunded": cancelled and all(ln.line_id in refunded for ln in lines),
        }


def _answered_as(case: Case, reason: str, answered: str, now: int) -> None:
    """A case this very contact opened, answered by another reason's playbook, is a case of
    that reason: "not received" about a parcel still on its way is a "where is it?" (not a
    lost parcel, nor a missing item, in the figures). A case joined keeps its reason."""
    if case.origin == "customer" and case.opened_us == now and case.reason == reason and not case.actions:
        case.reason, case.family, case.reasons = answered, answered, [answered]


def _paid_back(order: Order, line_ids: list[str]) -> tuple[list[str], float]:
    """Of these lines, those paid back (by any case), and their share of what the refunds
    paid (a refund of several lines shared by price): what a guarantee claim may ask."""
    wanted, ids, amount = set(line_ids), [], 0.0
    for case in order.cases:
        for a in case.actions:
            mine = [lid for lid in a.line_ids or () if lid in wanted]
            if a.type != "refund" or not mine or not a.amount:
                continue
            whole = order.paid_for(a.line_ids or [])
            amount += a.amount * (order.paid_for(mine) / whole if whole else 1.0)
            ids += [lid for lid in mine if lid not in ids]
    return [lid for lid in line_ids if lid in ids], round(amount, 2)


def _still_coming_again(order: Order, line: Line, now: int) -> bool:
    """Was this line sent again, and is that still to come: a parcel carries it and has not
    arrived, or none was made yet and its ship-by has not passed? (One whose ship-by passed
    with no parcel was never sent: it may be asked again.)"""
    if line.redo_us is None or order.line_delivered(line):
        return False
    return line.shipment_id is not None or now < line.ship_by_us
