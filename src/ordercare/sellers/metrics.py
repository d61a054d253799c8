"""Seller health metrics, kept current fact by fact and answerable as of any time.

The engine tells a :class:`SellerBook` each fact about a seller's orders as it applies the
event (an order placed, a parcel shipped, a carrier scan, a defect, a cancellation, a buyer
message); the book never touches the database. Each fact is *attributed* to a date, as
marketplaces do, and a metric ``as of at`` counts the items attributed to the window
``(at - window, at]``:

* order defect rate and cancel rate: by **order date** (a chargeback filed in week 9 hurts
  the window holding the order, like the defect it is);
* late shipment rate: by **ship-by date** (an order enters the rate the moment it is due);
* valid tracking rate: by **ship date** of each shipment;
* on-time delivery rate: by **deliver-by date** of each shipment (the order's promise);
* response rate: by each buyer message's **reply deadline** (message time + 24 h).

Facts dated after ``at`` do not count, so the answer for a past ``at`` is what the seller
would have seen then, and it does not depend on the order the facts arrived in: every
structure below is a pure function of the *set* of facts recorded. Each seller keeps, per
measure, a sorted list of the attribution times of its due items (the denominator, counted
with two bisections), a sorted list of the few items flagged against the seller (defective,
cancelled, shipped late, scanned late, delivered late, answered late) and a dict of the items
still pending (unshipped, unscanned, in transit, unanswered), which a query scans only
inside the window. A fact costs O(log n) comparisons plus, when it arrives late, a shift of
the entries dated after it (a memmove; none for facts in time order); a query costs
O(log n + items flagged or pending).
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from ordercare.sellers.ledger import (
    BuyerMessage,
    FactConflict,
    Ledger,
    Thread,
    check_same,
    insert_sorted,
    reflag,
    remove_sorted,
)
from ordercare.sellers.measures import COUNTS, Count, tally
from ordercare.sellers.policy import MetricRule, SellerPolicy, load_seller_policy
from ordercare.sellers.status import STATES, SellerStatus, State, assess

DefectKind = Literal["negative_feedback", "guarantee_claim", "chargeback"]
DEFECT_KINDS: frozenset[str] = frozenset({"negative_feedback", "guarantee_claim", "chargeback"})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US


#: A point in time: an aware datetime, or integer microseconds since the Unix epoch (UTC),
#: the engine's own clock unit, which skips the conversion on the hot path.
Instant = datetime | int


def _us(when: Instant) -> int:
    """Microseconds since the epoch: exact integers, so window edges are exact too."""
    if type(when) is int:
        return when
    assert isinstance(when, datetime)
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()}: seller facts need an offset")
    return (when - _EPOCH) // _US


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One metric as of a time: the counts behind the rate and the orders that hurt.

    ``order_ids`` names the orders that count *against* the seller: the numerator's orders
    for a rate of failures (defective, late, cancelled), and the due orders missing from the
    numerator for a rate of successes (unscanned, delivered late, unanswered).
    """

    rule: MetricRule
    numerator: int
    denominator: int
    order_ids: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def rate(self) -> float | None:
        """numerator / denominator, None when nothing was due in the window."""
        return self.numerator / self.denominator if self.denominator else None

    @property
    def meets_target(self) -> bool:
        return self.rule.meets(self.rate)


@dataclass(frozen=True, slots=True)
class SellerMetrics:
    """Every metric of the policy for one seller, as of ``at``, in the policy's order."""

    seller_id: str
    at: datetime
    values: tuple[MetricValue, ...]

    def __getitem__(self, name: str) -> MetricValue:
        for value in self.values:
            if value.name == name:
                return value
        raise KeyError(name)

    @property
    def orders(self) -> int:
        """Orders in the order defect rate's window (the `orders` of `sellers --json`)."""
        return self["order_defect_rate"].denominator


class SellerBook:
    """Every seller's health facts, in memory, updated one fact at a time.

    Recording is idempotent and commutative: the same fact twice is the fact once, facts
    may come in any order, and facts that can happen more than once (scans, defects,
    cancellations) keep their earliest date. A single-valued fact recorded again with
    another value (an order placed at two different times) raises :class:`FactConflict`,
    which the engine should treat as it treats a conflicting event. Times are aware
    datetimes or integer microseconds since the epoch (:data:`Instant`).

    The usual case of each fact (the first fact about an order, its first parcel, the first
    scan, the delivery) takes a short path; anything else (a late or repeated fact) takes
    the general one: note where the item counts, apply the fact, note again, move the
    difference. Both leave the book exactly as the set of facts dictates.
    """

    def __init__(self, policy: SellerPolicy | None = None) -> None:
        self.policy = policy if policy is not None else load_seller_policy()
        conventions = self.policy.conventions
        self._grace = round(conventions.scan_grace_hours * _HOUR_US)
        self._reply_within = round(conventions.reply_within_hours * _HOUR_US)
        self._negative_max = conventions.negative_feedback_max_rating
        self._ledgers: dict[str, Ledger] = {}
        self._orders: list[list[tuple[Count, int, float | None, float | None, bool, int]]] = []
        self._slipped: dict[str, int] = {}  # seller -> the metric that slipped at its last review
        self._min_count = self._min_orders = 0
        self._rules_of: SellerPolicy | None = None

    def _ledger(self, seller_id: str) -> Ledger:
        led = self._ledgers.get(seller_id)
        if led is None:
            led = self._ledgers[seller_id] = Ledger()
        return led

    def sellers(self) -> list[str]:
        """Every seller with at least one fact, sorted."""
        return sorted(self._ledgers)

    # -- orders ------------------------------------------------------------------------------

    def record_order(
        self,
        seller_id: str,
        order_id: str,
        placed_at: Instant,
        *,
        ship_by: Instant | None = None,
        deliver_by: Instant | None = None,
    ) -> None:
        """An order (the seller's part of it) was placed, with its promise when known."""
        # _us inlined for engine microseconds: this is the hot path
        placed = placed_at if type(placed_at) is int else _us(placed_at)
        due = ship_by if ship_by is None or type(ship_by) is int else _us(ship_by)
        deliver = deliver_by if deliver_by is None or type(deliver_by) is int else _us(deliver_by)
        led = self._ledgers.get(seller_id) or self._ledger(seller_id)
        row = led.order_rows.get(order_id)
        if row is None:  # the usual case: the first fact about this order
            row = led.order_rows[order_id] = len(led.order_ids)  # led.new_order, inlined
            led.order_ids.append(order_id)
            led.placed_at.append(placed)
            led.ship_by.append(due)
            led.deliver_by.append(deliver)
            led.first_shipped.append(None)
            seq = led.order_due  # insert_sorted(seq, placed), inlined on the hot path
            if seq and seq[-1] > placed:
                insort(seq, placed)
            else:
                seq.append(placed)
            if due is not None:
                seq = led.fulfils_due
                if seq and seq[-1] > placed:
                    insort(seq, placed)
                else:
                    seq.append(placed)
                seq = led.ship_due
                if seq and seq[-1] > due:
                    insort(seq, due)
                else:
                    seq.append(due)
                led.unshipped[order_id] = row
                seq = led.unshipped_due
                if seq and seq[-1] > due:
                    insort(seq, due)
                else:
                    seq.append(due)
            return
        check_same(led.placed_at[row], placed, f"order {order_id}: placed_at")
        check_same(led.ship_by[row], due, f"order {order_id}: ship_by")
        check_same(led.deliver_by[row], deliver, f"order {order_id}: deliver_by")
        before = led.order_marks(row)
        led.placed_at[row] = placed
        if due is not None:
            led.ship_by[row] = due
        led.refresh_order(row, before)
        if deliver is not None and led.deliver_by[row] is None:
            self._set_deliver_by(led, row, deliver)

    def record_ship_due(self, seller_id: str, order_id: str, ship_by: Instant) -> None:
        """The order must be shipped by ``ship_by`` (seller-fulfilled orders only)."""
        due = _us(ship_by)
        led = self._ledger(seller_id)
        row = led.order_row(order_id)
        check_same(led.ship_by[row], due, f"order {order_id}: ship_by")
        before = led.order_marks(row)
        led.ship_by[row] = due
        led.refresh_order(row, before)

    def record_deliver_due(self, seller_id: str, order_id: str, deliver_by: Instant) -> None:
        """The order's parcels are promised for ``deliver_by``."""
        due = _us(deliver_by)
        led = self._ledger(seller_id)
        row = led.order_row(order_id)
        check_same(led.deliver_by[row], due, f"order {order_id}: deliver_by")
        if led.deliver_by[row] is None:
            self._set_deliver_by(led, row, due)

    def _set_deliver_by(self, led: Ledger, row: int, due: int) -> None:
        """Set an order's promise, and judge the parcels that shipped before it was known."""
        waiting = led.awaiting_promise.pop(row, [])
        before = [(srow, led.shipment_marks(srow, self._grace)) for srow in waiting]
        led.deliver_by[row] = due
        for srow, marks in before:
            led.refresh_shipment(srow, marks, self._grace)

    def record_cancel(
        self, seller_id: str, order_id: str, at: Instant, *, by_seller: bool, partial: bool = False
    ) -> None:
        """The order (or, ``partial``, some of its lines) was cancelled.

        A cancellation is of lines not yet shipped (a shipped line comes back as a return),
        so every cancellation by the seller counts in the pre-fulfilment cancel rate. A
        whole-order cancellation by anyone at or before ship-by takes the order out of the
        late shipment rate: it is no longer due to ship.
        """
        when = _us(at)
        led = self._ledger(seller_id)
        row = led.order_row(order_id)
        before = led.order_marks(row)
        if by_seller and when < led.seller_cancel.get(row, when + 1):
            led.seller_cancel[row] = when
        if not partial and when < led.whole_cancel.get(row, when + 1):
            led.whole_cancel[row] = when
        led.refresh_order(row, before)

    def record_defect(self, seller_id: str, order_id: str, at: Instant, kind: DefectKind) -> None:
        """Negative feedback, a guarantee claim or a chargeback on the order.

        An order with several defects is one defective order, defective from its first.
        """
        if kind not in DEFECT_KINDS:
            raise ValueError(f"defect kind {kind!r} is not one of {sorted(DEFECT_KINDS)}")
        when = _us(at)
        led = self._ledger(seller_id)
        row = led.order_row(order_id)
        if (row, kind) in led.removed:
            return  # removed (feedback taken down, claim decided for the seller): never counts
        before = led.order_marks(row)
        defects = led.defects.setdefault(row, {})
        if kind not in defects or when < defects[kind]:
            defects[kind] = when
        led.refresh_order(row, before)

    def remove_defect(self, seller_id: str, order_id: str, kind: DefectKind) -> None:
        """The order's defect of this kind does not count against the seller: the feedback
        was removed (it was about our delivery, or abusive), the claim or the chargeback was
        decided in the seller's favour. Whether the defect is recorded before or after, the
        book is the same (it is a function of its set of facts); the order stays defective
        if it holds another kind of defect."""
        if kind not in DEFECT_KINDS:
            raise ValueError(f"defect kind {kind!r} is not one of {sorted(DEFECT_KINDS)}")
        led = self._ledger(seller_id)
        row = led.order_row(order_id)
        led.removed.add((row, kind))
        defects = led.defects.get(row)
        if defects is None or kind not in defects:
            return
        before = led.order_marks(row)
        del defects[kind]
        if not defects:
            del led.defects[row]
        led.refresh_order(row, before)

    def record_feedback(self, seller_id: str, order_id: str, at: Instant, rating: int) -> None:
        """Buyer feedback; at or under the policy's rating (2 stars) it is an order defect."""
        if not 1 <= rating <= 5:
            raise ValueError(f"feedback rating {rating!r} is not between 1 and 5")
        if rating <= self._negative_max:
            self.record_defect(seller_id, order_id, at, "negative_feedback")

    # -- shipments ---------------------------------------------------------------------------

    def record_shipped(self, seller_id: str, order_id: str, shipment_id: str, shipped_at: Instant) -> None:
        """A shipment of the order was confirmed shipped (handed to the carrier)."""
        when = shipped_at if type(shipped_at) is int else _us(shipped_at)
        led = self._ledgers.get(seller_id) or self._ledger(seller_id)
        srow = led.shipment_rows.get(shipment_id)
        orow = led.order_rows.get(order_id)
        if (
            srow is None and orow is not None and led.first_shipped[orow] is None and led.deliver_by[orow] is not None
        ):  # the usual case: the order's first parcel, its promise known
            srow = led.new_shipment(shipment_id, orow, when)
            seq = led.scan_due  # insert_sorted(seq, when), inlined on the hot path
            if seq and seq[-1] > when:
                insort(seq, when)
            else:
                seq.append(when)
            due = led.deliver_by[orow]
            seq = led.deliver_due
            if seq and seq[-1] > due:
                insort(seq, due)
            else:
                seq.append(due)
            led.unscanned[shipment_id] = led.in_transit[shipment_id] = srow
            insert_sorted(led.unscanned_due, when)
            insert_sorted(led.in_transit_due, due)
            led.first_shipped[orow] = when
            if order_id in led.unshipped:  # it was due to ship: now on time, or late
                del led.unshipped[order_id]
                remove_sorted(led.unshipped_due, led.ship_by[orow])
                if when > led.ship_by[orow]:
                    insert_sorted(led.late, (led.ship_by[orow], order_id))
            return
        srow = led.shipment_row(shipment_id)
        if led.parcel_order[srow] is not None:
            shipped_for = led.order_ids[led.parcel_order[srow]]
            if shipped_for != order_id:
                raise FactConflict(
                    f"shipment {shipment_id}: already shipped for order {shipped_for}, now for {order_id}"
                )
            check_same(led.shipped_at[srow], when, f"shipment {shipment_id}: shipped_at")
            return
        orow = led.order_row(order_id)
        before = led.shipment_marks(srow, self._grace)
        led.parcel_order[srow], led.shipped_at[srow] = orow, when
        if when > led.latest_shipped:
            led.latest_shipped = when
        if led.deliver_by[orow] is None:
            led.awaiting_promise.setdefault(orow, []).append(srow)
        led.refresh_shipment(srow, before, self._grace)
        first = led.first_shipped[orow]
        if first is None or when < first:
            obefore = led.order_marks(orow)
            led.first_shipped[orow] = when
            led.refresh_order(orow, obefore)

    def record_scan(self, seller_id: str, shipment_id: str, at: Instant) -> None:
        """A carrier scanned the shipment (any status): its tracking is valid."""
        when = at if type(at) is int else _us(at)
        led = self._ledgers.get(seller_id) or self._ledger(seller_id)
        row = led.shipment_row(shipment_id)
        first, shipped = led.first_scan[row], led.shipped_at[row]
        if first is not None and first <= when:
            return  # a later scan changes nothing
        if first is None and shipped is not None:  # the usual case: the first scan
            led.first_scan[row] = when
            del led.unscanned[shipment_id]
            remove_sorted(led.unscanned_due, shipped)
            if when > shipped + self._grace:
                insert_sorted(led.scanned_late, (shipped, shipment_id))
            return
        before = led.shipment_marks(row, self._grace)
        led.first_scan[row] = when
        led.refresh_shipment(row, before, self._grace)

    def record_delivered(self, seller_id: str, shipment_id: str, at: Instant) -> None:
        """The carrier delivered the shipment; a delivery scan is also a carrier scan."""
        when = at if type(at) is int else _us(at)
        led = self._ledgers.get(seller_id) or self._ledger(seller_id)
        row = led.shipment_row(shipment_id)
        first = led.first_scan[row]
        delivered, shipped = led.delivered_at[row], led.shipped_at[row]
        if delivered is None and shipped is not None and first is not None and first <= when:
            # the usual case: delivered after its first scan
            led.delivered_at[row] = when
            due = led.deliver_by[led.parcel_order[row]]
            if due is not None:
                del led.in_transit[shipment_id]
                remove_sorted(led.in_transit_due, due)
                if when > due:
                    insert_sorted(led.delivered_late, (due, shipment_id))
            return
        before = led.shipment_marks(row, self._grace)
        if delivered is None or when < delivered:
            led.delivered_at[row] = when
        if first is None or when < first:
            led.first_scan[row] = when
        led.refresh_shipment(row, before, self._grace)

    # -- buyer-seller messages ---------------------------------------------------------------

    def record_buyer_message(self, seller_id: str, order_id: str, message_id: str, at: Instant) -> None:
        """The buyer wrote to the seller about the order; a reply is due within 24 h."""
        sent = _us(at)
        led = self._ledger(seller_id)
        m = led.messages.get(message_id)
        if m is not None:
            if m.oid != order_id or m.sent != sent:
                raise FactConflict(f"buyer message {message_id}: recorded with other details")
            return
        m = led.messages[message_id] = BuyerMessage(order_id, sent, sent + self._reply_within)
        thread = led.threads.get(order_id)
        if thread is None:
            thread = led.threads[order_id] = Thread()
        thread.messages.append(message_id)
        insert_sorted(led.reply_due, m.deadline)
        reflag(led.unanswered, led.answered_late, message_id, m, None, thread.mark(m))

    def record_seller_reply(self, seller_id: str, order_id: str, message_id: str, at: Instant,
                            masked: int | None = 0, answers_until: int | None = None) -> None:
        """The seller wrote on the order's thread: it answers every earlier buyer message.
        ``masked``: contact details the relay took out of it (an attempt to take the sale off
        the platform). A "no reply needed" mark (``answers_until``: the marked message's own
        time) answers the buyer messages sent up to that time only, and is no message the
        seller wrote. The same message recorded twice counts its larger masked count,
        whichever comes first."""
        when = _us(at)
        led = self._ledger(seller_id)
        thread = led.threads.get(order_id)
        if thread is None:
            thread = led.threads[order_id] = Thread()
        if answers_until is not None:
            masked = None
        old = thread.replies.get(message_id)
        if old is not None:
            check_same(old, when, f"seller message {message_id}: at")
            was = thread.masked.get(message_id)
            if masked is not None and (was is None or masked > was) and answers_until is None:
                thread.masked[message_id] = masked
                _count_message(led, order_id, when, was, masked)
            return
        messages = [(mid, led.messages[mid]) for mid in thread.messages]
        before = [thread.mark(m) for _, m in messages]
        thread.replies[message_id] = when
        thread.masked[message_id] = masked
        if answers_until is None:
            insert_sorted(thread.reply_times, when)
        else:
            thread.marks.append((when, answers_until))
        _count_message(led, order_id, when, None, masked)
        for (mid, m), was in zip(messages, before, strict=True):
            reflag(led.unanswered, led.answered_late, mid, m, was, thread.mark(m))

    # -- queries -----------------------------------------------------------------------------

    def metrics(self, seller_id: str, at: Instant) -> SellerMetrics:
        """Every metric of the policy for ``seller_id`` as of ``at`` (facts after it ignored)."""
        now = _us(at)
        led = self._ledgers.get(seller_id)
        values = tuple(self._value(led, rule, now) for rule in self.policy.metrics)
        when = at if isinstance(at, datetime) else _EPOCH + timedelta(microseconds=at)
        return SellerMetrics(seller_id, when, values)

    def status(self, seller_id: str, at: Instant) -> SellerStatus:
        """good / at_risk / suspended as of ``at``, with the reasons (see ``status.py``)."""
        return assess(self.metrics(seller_id, at), self.policy)

    def state(self, seller_id: str, at: int) -> State:
        """The status ``status(seller_id, at)`` would give, from the counts alone: what an
        hourly review needs to know whether anything changed (the figures and the orders
        behind them are built only when it did).

        The suspending metric is counted first, so the first metric that slips decides and
        the rest are not counted. Next comes the metric that slipped at the seller's last
        review (a seller at risk mostly stays so for days, on the same metric): the order
        changes only how much is counted, never the answer."""
        led = self._ledgers.get(seller_id)
        if led is None:
            return "good"
        if self._rules_of is not self.policy:
            self._read_rules()
        min_count, min_orders, grace = self._min_count, self._min_orders, self._grace
        first = self._slipped.get(seller_id, 0)
        for counter, window, below, above, suspending, index in self._orders[first]:
            numerator, denominator = counter(led, at - window, at, grace)
            # status.slip, inlined
            if denominator < min_count:
                continue
            if below is not None:
                if numerator / denominator < below:
                    continue
            elif numerator / denominator > above:  # type: ignore[operator]  # a rule has one target
                continue
            if index != first:
                self._slipped[seller_id] = index
            return STATES[2] if suspending and denominator >= min_orders else STATES[1]
        return STATES[0]

    def _read_rules(self) -> None:
        """status.slip's terms, read once per policy, in the order ``state`` counts them
        after a seller's metric ``i`` slipped: ``self._orders[i]`` holds each metric's
        counter and window, its target, whether it suspends and its index; the suspending
        metric first, then metric ``i``, then the others in the policy's order."""
        policy = self.policy
        terms = [(COUNTS[rule.measure], rule.window_days * _DAY_US, rule.below, rule.above,
                  rule.name == policy.suspension.metric, index) for index, rule in enumerate(policy.metrics)]
        self._orders = [sorted(terms, key=lambda term: (not term[4], term[5] != first))
                        for first in range(len(terms))]
        self._slipped = {}
        self._min_count, self._min_orders = policy.warning.min_count, policy.suspension.min_orders
        self._rules_of = policy

    def _value(self, led: Ledger | None, rule: MetricRule, at: int) -> MetricValue:
        """One metric over ``(at - window, at]``, with the orders counting against it."""
        if led is None:
            return MetricValue(rule, 0, 0, ())
        numerator, denominator, against, rows = tally(led, rule, at, self._grace)
        if rows:  # shipment rows: name their orders
            against = [led.order_ids[led.parcel_order[row]] for row in against]
        return MetricValue(rule, numerator, denominator, tuple(sorted(set(against))))


def _count_message(led: Ledger, order_id: str, when: int, was: int | None, now: int | None) -> None:
    """Move a seller's message in the contact-attempt counts from ``was`` to ``now`` (its
    masked count; None: not a message the seller wrote, a "no reply needed" mark)."""
    if was is not None:
        remove_sorted(led.sent, when)
        if was > 0:
            remove_sorted(led.contact_attempts, (when, order_id))
    if now is not None:
        insert_sorted(led.sent, when)
        if now > 0:
            insert_sorted(led.contact_attempts, (when, order_id))
