"""The loop that wires it together: apply an event → detect → act → outbox.

The engine holds the hot state in memory (orders, the shipment and tracking indexes, the
deadline index) and records what changed; the store flushes those changes in one
transaction per batch (write-behind). Time is an input: ``advance_to`` fires every deadline
that falls due before the next event, at its own instant, exactly as a live system would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from ordercare.desk.handler import Desk
from ordercare.domain import events as ev
from ordercare.domain.decided import SentAgain
from ordercare.domain.moments import offset_min, to_us
from ordercare.domain.order import Line, Order, Request, request_state
from ordercare.domain.promise import compute_promise
from ordercare.notify.milestones import Milestones
from ordercare.notify.render import local
from ordercare.policy import Policies
from ordercare.watch.casework import Casework
from ordercare.watch.deadlines import DeadlineIndex
from ordercare.watch.detectors import evaluate
from ordercare.watch.transit import TransitModel

PartyLoader = Callable[[str, str], dict[str, Any] | None]
REGISTERED_US = "registered_us"  # kept with a party: when its registration standing was made


class World:
    """What the engine knows: orders and the indexes that route events to them."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.shipment_order: dict[str, str] = {}
        self.tracking_shipment: dict[str, str] = {}
        self.parties: dict[tuple[str, str], dict[str, Any]] = {}
        # parties the store was asked for and does not hold: not asked again, one by one
        self.absent: set[tuple[str, str]] = set()

    def stored(self, key: tuple[str, str], found: dict[str, Any] | None) -> None:
        """What the store answered for the party ``key``: kept, or remembered as absent."""
        if found is not None:
            self.parties[key] = found
        else:
            self.absent.add(key)


# Registration events, and the party each registers: (kind, the field naming it).
REGISTERS: dict[type, tuple[str, str]] = {
    ev.CustomerRegistered: ("customer", "customer_id"), ev.SellerRegistered: ("seller", "seller_id"),
    ev.SkuRegistered: ("sku", "sku"), ev.FcRegistered: ("fc", "fc_id"),
    ev.SupplierRegistered: ("supplier", "supplier_id"),
}


def parties_named(events: Iterable[Any]) -> set[tuple[str, str]]:
    """The parties these events register or an order placed names (its customer, sellers and
    items): what applying them will look up, to be read from the store all at once."""
    keys: set[tuple[str, str]] = set()
    for event in events:
        kind = type(event)
        registers = REGISTERS.get(kind)
        if registers is not None:
            keys.add((registers[0], getattr(event.data, registers[1])))
        elif kind is ev.OrderPlaced:
            keys.add(("customer", event.data.customer_id))
            for line in event.data.lines:
                keys.add(("seller", line.seller_id))
                keys.add(("sku", line.sku))
    return keys


class Engine:
    def __init__(self, policies: Policies, world: World | None = None, clock_us: int | None = None,
                 load_party: PartyLoader | None = None,
                 find_customer_orders: Callable[[str], list[Order]] | None = None) -> None:
        self.policies = policies
        self.world = world or World()
        self.now: int = clock_us or 0
        self.index = DeadlineIndex()
        self._load_party = load_party
        # (the operator's calendar: business-hour service levels skip its holidays too)
        self.casework = Casework(policies.watch, policies.proactive, self.customer, self.title,
                                 calendar=policies.promise)
        self.milestones = Milestones(policies.milestones, self.customer, self.title)
        self.capabilities: list[Any] = []
        self._hearing_of: list[Any] = []  # the capabilities ``_hearing`` was worked out for
        self._hearing: dict[type, list[Any]] = {}  # event type -> the capabilities that hear it
        self.transit: TransitModel | None = None  # learnt transit times (watch/learning.py loads them)
        self.desk = Desk(self)
        self.customer_orders: dict[str, list[str]] = {}
        self._find_customer_orders = find_customer_orders
        self._customers_read: set[str] = set()  # customers whose stored orders are all loaded
        self._step: tuple[str, Any] | None = None
        self._step_lines: tuple[str, ...] | None = None  # the lines the step is about (a cancellation's)
        self.dirty_orders: dict[str, Order] = {}
        self.dirty_parties: set[tuple[str, str]] = set()
        self.new_shipments: dict[str, tuple[str, str, str | None]] = {}
        self._promises: dict[tuple[Any, ...], tuple[int, int]] = {}
        self._handlers: dict[type, Callable[[Any, int], Order | None]] = {
            ev.CustomerRegistered: self._registered, ev.SellerRegistered: self._registered,
            ev.SkuRegistered: self._registered, ev.FcRegistered: self._registered,
            ev.SupplierRegistered: self._registered, ev.OrderPlaced: self._order_placed,
            ev.PaymentCaptured: self._payment, ev.ShipmentCreated: self._shipment_created,
            ev.ShipmentPacked: self._packed, ev.InspectionCompleted: self._inspected,
            ev.ShipmentShipped: self._shipped, ev.CarrierScan: self._scan,
            ev.OrderCancelled: self._cancelled, ev.ContactReceived: self._contact,
            ev.CsatReceived: self._csat, ev.CustomerChoice: self._choice, ev.CustomerReport: self._report,
            ev.CallbackDone: self._callback_done, ev.AgentAction: self._agent_action,
        }

    # ---- lookups ---------------------------------------------------------------------

    def party(self, kind: str, party_id: str) -> dict[str, Any]:
        key = (kind, party_id)
        found = self.world.parties.get(key)
        if found is None and self._load_party is not None and key not in self.world.absent:
            found = self._load_party(kind, party_id)
            self.world.stored(key, found)
        return found or {}

    def customer(self, customer_id: str) -> dict[str, Any]:
        return self.party("customer", customer_id)

    def title(self, sku: str) -> str:
        return self.party("sku", sku).get("title") or sku

    def adopt(self, order: Order) -> None:
        """Take an order loaded from the store under watch."""
        self.world.orders[order.order_id] = order
        mine = self.customer_orders.setdefault(order.customer_id, [])
        if order.order_id not in mine:
            mine.append(order.order_id)
        for sid, ship in order.shipments.items():
            self.world.shipment_order[sid] = order.order_id
            if ship.tracking:
                self.world.tracking_shipment[ship.tracking] = sid
        self.index.arm(order.order_id, order.next_due_us)

    # ---- time --------------------------------------------------------------------------

    def advance_to(self, until_us: int, inclusive: bool = False) -> int:
        """Fire every deadline due before ``until_us`` (or at it), each at its own instant."""
        heap = self.index.heap
        if not heap or heap[0][0] > until_us or (heap[0][0] == until_us and not inclusive):
            if until_us > self.now:
                self.now = until_us
            return 0
        fired = 0
        orders = self.world.orders
        for due, order_id in self.index.pop_due(until_us, self._current_due, inclusive):
            if due > self.now:
                self.now = due
            self.review(orders[order_id])
            fired += 1
        if until_us > self.now:
            self.now = until_us
        return fired

    def _current_due(self, order_id: str) -> int | None:
        order = self.world.orders.get(order_id)
        return order.next_due_us if order is not None else None

    # ---- events ------------------------------------------------------------------------

    def apply(self, event: Any, at_us: int) -> None:
        """Apply one validated event at event time ``at_us`` (late events: at the clock)."""
        if at_us > self.now:
            self.now = at_us
        order = self._handlers.get(type(event), _ignore)(event, at_us)
        if order is not None:
            self.review(order)
        elif type(event) is not ev.ContactReceived and (oid := getattr(event.data, "order_id", None)) is not None:
            # (A contact the desk tied to no order of the customer's stays orderless: the
            # order it names may be someone else's.)
            order = self.world.orders.get(oid)
        self.tell_capabilities(event, order, at_us)
        if self._step is not None:
            # Routine updates last: a capability may just have opened a case that they
            # must not contradict (say, an item out of stock at the moment of ordering).
            step, ship = self._step
            lines, self._step, self._step_lines = self._step_lines, None, None
            if order is not None and order.placed_us is not None and (ship is None or not _superseded(order, ship)):
                self.milestones.step(order, step, self.now, ship, at_us, lines)

    def tell_capabilities(self, event: Any, order: Order | None, at_us: int) -> None:
        """Every capability hears the event: one applied from outside, or a fact the engine
        decided itself (the desk cancelled lines at the customer's request), alike. A capability
        naming the event types it ``handles`` hears those only; one naming none hears all."""
        kind = type(event)
        if self._hearing_of != self.capabilities:
            self._hearing_of, self._hearing = list(self.capabilities), {}
        hearing = self._hearing.get(kind)
        if hearing is None:
            hearing = self._hearing[kind] = [
                c for c in self.capabilities if getattr(c, "handles", None) is None or kind in c.handles]
        for capability in hearing:
            capability.on_event(event, order, at_us, self)

    def review(self, order: Order) -> None:
        """Ask the detectors what is wrong now; open, update or settle cases; re-arm."""
        findings, wake = evaluate(order, self.now, self.policies.watch, self.transit)
        if findings or order.cases:
            escalation = self.casework.handle(order, findings, self.now)
            if escalation is not None and (wake is None or escalation < wake):
                wake = escalation
        if wake != order.next_due_us:
            order.next_due_us = wake
            self.index.arm(order.order_id, wake)
        self.dirty_orders[order.order_id] = order

    def _order(self, order_id: str) -> Order:
        order = self.world.orders.get(order_id)
        if order is None:
            order = self.world.orders[order_id] = Order(order_id)
        return order

    def put_party(self, kind: str, party_id: str, data: Any) -> None:
        key = (kind, party_id)
        self.world.parties[key] = msgspec.to_builtins(data)
        self.dirty_parties.add(key)

    def _register(self, kind: str, party_id: str, data: Any, at: int) -> None:
        """A party registered, or registered again (a customer now reads English, a seller
        takes five days to ship): the latest registration in event time stands, whichever
        reaches us last, so the language and the promise do not depend on arrival order.
        What ordercare keeps beside a registration (a customer's refunds) stays."""
        known = self.party(kind, party_id)
        if known.get(REGISTERED_US, at) > at:
            return  # an older registration, heard late
        party = msgspec.to_builtins(data)
        for field, value in known.items():
            party.setdefault(field, value)
        party[REGISTERED_US] = at
        key = (kind, party_id)
        self.world.parties[key] = party
        self.dirty_parties.add(key)

    def _registered(self, e: Any, at: int) -> None:
        kind, field = REGISTERS[type(e)]
        self._register(kind, getattr(e.data, field), e.data, at)

    def _order_placed(self, e: ev.OrderPlaced, at: int) -> Order:
        d = e.data
        order = self._order(d.order_id)
        order.customer_id, order.currency, order.prime = d.customer_id, d.currency, d.prime
        order.placed_us = at
        order.tz_min = offset_min(e.at)
        order.address = msgspec.to_builtins(d.address) if d.address else None
        order.lines = [Line(ln.line_id, ln.sku, ln.seller_id, ln.qty, ln.unit_price, ln.fulfilled_by)
                       for ln in d.lines]
        self._promise(order, e)
        mine = self.customer_orders.setdefault(order.customer_id, [])
        if order.order_id not in mine:
            mine.append(order.order_id)
        for ship in order.shipments.values():
            order.link_lines(ship)
        self._step = ("confirmed", None)
        return order

    def _promise(self, order: Order, e: ev.OrderPlaced) -> None:
        if e.data.promise is not None:
            ship_by = to_us(e.data.promise.ship_by)
            deliver_by = to_us(e.data.promise.deliver_by)
            for line in order.lines:
                line.ship_by_us = ship_by
            order.ship_by_us, order.deliver_by_us, order.promise_given = ship_by, deliver_by, True
            return
        by_handling: dict[int, tuple[int, int]] = {}
        for line in order.lines:
            days = self._handling_days(line)
            if days not in by_handling:
                by_handling[days] = self._computed_promise(e.at, days, order.prime)
            line.ship_by_us = by_handling[days][0]
        order.ship_by_us = max(p[0] for p in by_handling.values())
        order.deliver_by_us = max(p[1] for p in by_handling.values())

    def _handling_days(self, line: Line) -> int:
        policy = self.policies.promise
        if line.fulfilled_by == "platform":
            return policy.platform_handling_days
        days: int = self.party("seller", line.seller_id).get("handling_days", policy.seller_handling_days)
        return days

    def promise_again(self, order: Order, lines: list[Line], at_us: int, kind: str = "replace",
                      case_id: str | None = None) -> list[Request]:
        """These lines are sent again from ``at_us`` (a replacement, a re-sending): promised
        anew by the same policy as an order placed then (ship-by, and a deliver-by of their
        own), and carried only by a parcel made since. Whoever fulfils them (our warehouse or
        the seller) gets a request to send them (``ordercare requests``); the lines are made
        good until their new ship-by, then owed: not shipped by it, the watch opens a case like
        for any line; once a parcel carries them, they are watched like any other. The
        capabilities hear of each request at once (``SentAgain``): our warehouse reserves the
        units a replacement needs, or tells the customer it must wait for stock."""
        placed = local(at_us, order.tz_min)
        asked = {ln.line_id for ln in lines}
        for earlier in order.requests:
            # Never sent (overdue, or still open) and all of it asked again: this one replaces
            # it. (Asked again in part, it stands for the rest: the line asked again no longer
            # holds it back.)
            live = {lid for lid in earlier.line_ids if (ln := order.line(lid)) is not None and ln.cancelled_us is None}
            if earlier.withdrawn_us is None and live and live <= asked and \
                    request_state(order, earlier, at_us)[0] in ("open", "overdue"):
                earlier.withdrawn_us = at_us
        made: dict[str, Request] = {}
        for line in {ln.line_id: ln for ln in lines}.values():
            line.redo_us, line.shipment_id = at_us, None
            line.ship_by_us, line.deliver_by_us = self._computed_promise(placed, self._handling_days(line),
                                                                         order.prime)
            to = "platform" if line.fulfilled_by == "platform" else line.seller_id
            request = made.get(to)
            if request is None:
                request = made[to] = Request(f"RQ-{order.order_id}-{len(order.requests) + 1}", kind, at_us,
                                             [], to, case_id)
                order.requests = [*order.requests, request]
            request.line_ids.append(line.line_id)
        for ship in order.shipments.values():
            order.link_lines(ship)
        self.dirty_orders[order.order_id] = order
        for request in made.values():
            fact = SentAgain(order.order_id, request.request_id, kind, request.to, tuple(request.line_ids), at_us)
            self.tell_capabilities(fact, order, self.now)
        return list(made.values())

    def _computed_promise(self, placed: Any, days: int, prime: bool) -> tuple[int, int]:
        """Promises depend only on the local day, the side of the cut-off, the offset, the
        handling days and Prime: cache them, orders of one day share a handful of answers."""
        cutoff = placed.timetz().replace(tzinfo=None) > self.policies.promise.cutoff
        key = (placed.date(), cutoff, placed.utcoffset(), days, prime)
        found = self._promises.get(key)
        if found is None:
            found = self._promises[key] = compute_promise(self.policies.promise, placed, days, prime)
        return found

    def _payment(self, e: ev.PaymentCaptured, at: int) -> Order:
        order = self._order(e.data.order_id)
        order.paid_us = at if order.paid_us is None else min(order.paid_us, at)
        order.paid_amount = round(order.paid_amount + e.data.amount, 2)
        self._step = ("payment_received", None)
        return order

    def _shipment_created(self, e: ev.ShipmentCreated, at: int) -> Order:
        d = e.data
        order = self._order(d.order_id)
        ship = order.shipment(d.shipment_id)
        ship.seller_id, ship.line_ids, ship.created_us = d.seller_id, list(d.line_ids), at
        order.link_lines(ship)
        self.world.shipment_order[d.shipment_id] = d.order_id
        self._index_shipment(order, d.shipment_id)
        self._step = ("preparing", ship)
        return order

    def _index_shipment(self, order: Order, shipment_id: str) -> None:
        self.new_shipments[shipment_id] = (shipment_id, order.order_id,
                                           order.shipments[shipment_id].tracking)

    def _shipment_of(self, shipment_id: str) -> tuple[Order, Any]:
        order = self._order(self.world.shipment_order[shipment_id])
        return order, order.shipment(shipment_id)

    def _packed(self, e: ev.ShipmentPacked, at: int) -> Order:
        order, ship = self._shipment_of(e.data.shipment_id)
        # The first weighing's instant, the latest weighing's weight and place, whatever the
        # order the events arrive in.
        latest = ship.weighed_us or ship.packed_us
        if latest is None or at >= latest:
            ship.weight_g, ship.station, ship.fc_id = e.data.weight_g, e.data.station, e.data.fc_id
        if latest is not None:
            ship.weighed_us = max(latest, at)
        ship.packed_us = at if ship.packed_us is None else min(ship.packed_us, at)
        ship.weighings += 1
        return order

    def _inspected(self, e: ev.InspectionCompleted, at: int) -> Order:
        order, ship = self._shipment_of(e.data.shipment_id)
        if ship.inspected_us is None or at >= ship.inspected_us:
            ship.inspection, ship.inspected_us = e.data.outcome, at
        return order

    def _shipped(self, e: ev.ShipmentShipped, at: int) -> Order:
        order, ship = self._shipment_of(e.data.shipment_id)
        self.world.tracking_shipment[e.data.tracking] = e.data.shipment_id  # (its scans are the parcel's)
        if ship.shipped_us is not None and at < ship.shipped_us:
            return order  # an older label heard late (the parcel was labelled again since): the newer stands
        ship.shipped_us, ship.carrier, ship.tracking = at, e.data.carrier, e.data.tracking
        self._index_shipment(order, e.data.shipment_id)
        self._step = ("shipped", ship)
        return order

    def _scan(self, e: ev.CarrierScan, at: int) -> Order:
        order, ship = self._shipment_of(self.world.tracking_shipment[e.data.tracking])
        was_delivered = ship.delivered_us is not None
        if ship.add_scan(at, e.data.status, e.data.location) and e.data.status in _SCAN_STEPS:
            self._step = (e.data.status, ship)
            if not was_delivered and ship.delivered_us is not None and self.transit is not None:
                self.transit.learn_delivery(order.address, ship)  # once per parcel: the early warning learns
        return order

    def _cancelled(self, e: ev.OrderCancelled, at: int) -> Order:
        order = self._order(e.data.order_id)
        wanted = set(e.data.line_ids) if e.data.line_ids else None
        newly: list[str] = []
        for line in order.lines:
            if wanted is not None and line.line_id not in wanted:
                continue
            if line.cancelled_us is None or at < line.cancelled_us:
                if line.cancelled_us is None:
                    newly.append(line.line_id)
                line.cancelled_us, line.cancelled_by = at, e.data.by
                line.cancel_reason = e.data.reason
        if e.data.by == "customer" and newly:
            # What this cancellation cancelled, and only that: "we cancelled the tripod", not
            # the whole order; a later one (the camera too) is news of its own.
            self._step = ("cancelled", None)
            self._step_lines = tuple(newly)
        return order

    def _contact(self, e: ev.ContactReceived, at: int) -> Order | None:
        """A customer wrote or called: the desk answers from the order's dossier."""
        order = self._contact_order(e)
        if order is not None:
            for case in order.open_cases():
                if case.first_contact_us is None or at < case.first_contact_us:
                    case.first_contact_us = at
                    self.casework.touch(case)
        self.desk.handle(e, order, self.now, at)
        return order

    def _choice(self, e: ev.CustomerChoice, at: int) -> Order:
        """The customer chose, by a link in our message, how we make a problem good."""
        order = self._order(e.data.order_id)
        self.desk.choose(e, order, self.now, at)
        return order

    def _report(self, e: ev.CustomerReport, at: int) -> Order:
        """The customer reported a problem with what arrived, by a link in our message."""
        order = self._order(e.data.order_id)
        self.desk.report(e, order, self.now, at)
        return order

    def _callback_done(self, e: ev.CallbackDone, at: int) -> Order | None:
        """A person called the customer back: the desk records it on the case."""
        d = e.data
        order = self.world.orders.get(d.order_id) if d.order_id else None
        self.desk.called_back(e, order, self.now)
        return order

    def _agent_action(self, e: ev.AgentAction, at: int) -> Order:
        """A person acted on a case: the desk does it, as its playbooks would have."""
        order = self._order(e.data.order_id)
        self.desk.agent_acted(e, order, self.now, at)
        return order

    def _csat(self, e: ev.CsatReceived, at: int) -> Order:
        """The customer's answer to "were you satisfied?": recorded on its case."""
        order = self._order(e.data.order_id)
        asked = [c for c in order.cases if c.id == e.data.case_id] or sorted(
            (c for c in order.cases if c.survey_sent_us is not None or c.status == "resolved"),
            key=lambda c: (c.survey_sent_us or 0, c.opened_us))[-1:]
        for case in asked:
            case.csat, case.csat_text = e.data.rating, e.data.text
            self.casework.touch(case)
        return order

    def _contact_order(self, e: ev.ContactReceived) -> Order | None:
        """The order a contact is about: one of the customer's own orders, named in the event,
        in the text, holding the item named, or else the latest. Never another customer's:
        naming someone else's order number acts on nothing."""
        from ordercare.desk.facts import order_ids
        customer = e.data.customer_id
        if customer not in self._customers_read and self._find_customer_orders is not None:
            # Every order of theirs, not only those this pass has loaded: "my iPod arrived
            # broken" may be about an order the store holds and no event of this pass touched.
            self._customers_read.add(customer)
            for order in self._find_customer_orders(customer):
                if order.order_id not in self.world.orders:
                    self.adopt(order)
        wanted = [e.data.order_id] if e.data.order_id else list(order_ids(e.data.text))
        for oid in wanted:
            named = self.world.orders.get(oid) or self._own_order_spelt(customer, oid)
            if named is not None and named.placed_us is not None:
                if named.customer_id == customer:
                    return named
                return None  # someone else's order: not theirs to cancel, refund or ask about
        if wanted:
            # The orders it names (in the event or in the text) are none of theirs: their own
            # are all loaded by now, so this does not depend on what else is in memory.
            return None
        mine = [self.world.orders[o] for o in self.customer_orders.get(customer, [])]
        placed = [o for o in mine if o.placed_us is not None and o.placed_us <= self.now]
        if not placed:
            return None
        latest = max(placed, key=lambda o: (o.placed_us, o.order_id))
        return self._order_naming_an_item(e.data.text, placed) or latest

    def _own_order_spelt(self, customer: str, oid: str) -> Order | None:
        """The customer's own order whose id is ``oid`` written in other capitals ("O-1" for
        o-1): customers type ids as they like. Only theirs (all loaded by now), so it tells
        nothing about anyone else's."""
        wanted = oid.casefold()
        return next((self.world.orders[o] for o in self.customer_orders.get(customer, ())
                     if o.casefold() == wanted and o in self.world.orders), None)

    def _order_naming_an_item(self, text: str, orders: list[Order]) -> Order | None:
        """The order holding the item the customer names ("the iPod"), if any does."""
        from ordercare.desk.facts import match_item
        if len(orders) < 2:
            return None
        owners = [order for order in orders for _ in order.lines]
        found = match_item(text, [self.title(ln.sku) for order in orders for ln in order.lines])
        return owners[found.index] if found is not None else None


_SCAN_STEPS = frozenset({"in_transit", "out_for_delivery", "delivered"})


def _superseded(order: Order, ship: Any) -> bool:
    """A parcel whose every line was sent again since, in another parcel that exists: the
    customer hears of the new one (an old one turning up late is no routine news; while no
    new parcel exists, the old one arriving after all is)."""
    sid, lines = ship.shipment_id, ship.line_ids
    found = False
    for ln in order.lines:
        if ln.line_id in lines:
            if ln.redo_us is None or ln.shipment_id is None or ln.shipment_id == sid:
                return False
            found = True
    return found


def _ignore(_event: Any, _at: int) -> None:
    return None
