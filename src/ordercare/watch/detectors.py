"""Detectors: pure functions from an order's state and ``now`` to what is wrong right now.

``evaluate`` also returns the next instant at which something could become wrong without
any new event (a ship-by passing, 24 h without a carrier scan, 72 h without movement, the
instant a parcel's chance of missing its deliver-by reaches the early-warning threshold), so
the deadline index wakes the order exactly then and never scans orders that have nothing due.
"""

from __future__ import annotations

from msgspec import Struct

from ordercare.domain.order import Order
from ordercare.watch.thresholds import Thresholds
from ordercare.watch.transit import TransitModel, lane_of


class Finding(Struct, frozen=True):
    reason: str
    line_ids: tuple[str, ...]
    shipment_ids: tuple[str, ...] = ()


def evaluate(order: Order, now: int, th: Thresholds,
             transit: TransitModel | None = None) -> tuple[list[Finding], int | None]:
    """What is wrong with ``order`` at ``now``, and when to look again.

    ``transit`` (the learnt transit times) turns on the early warning: ``trending_late``.

    One pass over the lines and one over the parcels: this runs after every event, so it is
    written for speed (no per-line lookups, derived parcel fields read, not recomputed).
    """
    findings: list[Finding] = []
    if order.placed_us is None:
        return findings, None
    wake: int | None = None
    ships = order.shipments
    cancelled: list[str] = []
    late: list[str] = []
    undelivered: list[str] = []
    active: set[str] | None = None  # the lines not cancelled, built once a parcel needs it
    # Lines sent again (a replacement): each rides only in the parcel made for it, and is owed
    # by its own deliver-by. The shared empty _NONE for the usual order: it pays nothing for them.
    again: dict[str, str] = _NONE     # line -> the parcel carrying it again ("" while none exists)
    again_by: dict[str, int] = _NONE  # parcel -> the deliver-by of what it carries again
    delivered_any = False
    for ln in order.lines:
        lid = ln.line_id
        if ln.cancelled_us is not None:
            if ln.cancelled_by == "seller":
                cancelled.append(lid)
            continue
        sid = ln.shipment_id
        ship = ships.get(sid) if sid is not None else None
        if ln.redo_us is not None:
            if again is _NONE:
                again, again_by = {}, {}
            if ship is None or sid is None:
                # Asked of the seller or the warehouse: owed by its own ship-by (below), like
                # any line not shipped; its deliver-by is watched once a parcel carries it.
                again[lid] = ""
            else:
                again[lid] = sid
                by = ln.deliver_by_us if ln.deliver_by_us is not None else order.deliver_by_us
                if by is not None:
                    again_by[sid] = max(by, again_by.get(sid, by))
        if ship is None:
            due = ln.ship_by_us
            if now >= due:
                late.append(lid)
            elif wake is None or due < wake:
                wake = due
            if ln.redo_us is None:
                undelivered.append(lid)
            continue
        if ship.shipped_us is None:
            due = ln.ship_by_us
            if now >= due:
                late.append(lid)
            elif wake is None or due < wake:
                wake = due
        if ship.delivered_us is not None:
            delivered_any = True
        elif ln.redo_us is None:
            undelivered.append(lid)
    if cancelled:
        # Lines cancelled by their seller are a problem of their own, whenever it happens.
        findings.append(Finding("seller_cancellation", tuple(cancelled)))
    if late:
        findings.append(Finding("late_shipment", tuple(late)))

    deliver_by = order.deliver_by_us
    if ships:
        # The early warning speaks only before the deliver-by (after it, late_delivery does).
        trending = th.trending_late
        warn = transit.warning_at if transit is not None and trending.enabled else None
        lane: str | None = None
        for ship in ships.values():
            if ship.shipped_us is None or ship.delivered_us is not None:
                continue
            if active is None:
                active = {ln.line_id for ln in order.lines if ln.cancelled_us is None}
            owed_by = deliver_by
            if again:
                # A parcel carries the lines it was made for: not those sent again since.
                sid = ship.shipment_id
                mine = [lid for lid in ship.line_ids if lid in active and again.get(lid, sid) == sid]
                if not mine:
                    continue
                owed_by = again_by.get(sid, deliver_by)
                carried = set(mine)
            elif active.isdisjoint(ship.line_ids):  # no active line in the parcel (its tuple only for a finding)
                continue
            else:
                carried = active
            if ship.in_exception:
                findings.append(Finding("carrier_exception", _in(ship.line_ids, carried), (ship.shipment_id,)))
                continue
            last = ship.last_scan_us
            if last is None:
                step = ship.shipped_us
                due = th.no_scan_due(step, order.tz_min)
                if now >= due:
                    findings.append(Finding("no_carrier_scan", _in(ship.line_ids, carried), (ship.shipment_id,)))
                    continue
                status = "shipped"
            else:
                step = last
                due = last + th.stalled_us
                if now >= due:
                    findings.append(Finding("stalled_in_transit", _in(ship.line_ids, carried), (ship.shipment_id,)))
                    continue
                status = ship.scans[-1].status
            if wake is None or due < wake:
                wake = due
            if warn is not None and ship.carrier and owed_by is not None and now < owed_by:
                # Trending late: the instant the chance of missing the deliver-by reaches the
                # threshold, from the times learnt for this carrier and lane since this step
                # (only before the deliver-by: after it, late_delivery speaks).
                if lane is None:
                    lane = lane_of(order.address)
                at = warn(ship.carrier, lane, status, step, owed_by, trending.threshold)
                if at is not None:
                    if now >= at:
                        findings.append(Finding("trending_late", _in(ship.line_ids, carried), (ship.shipment_id,)))
                    elif at < wake:
                        wake = at

    if deliver_by is not None and undelivered:
        if now >= deliver_by:
            reason = "partial_delivery" if delivered_any else "late_delivery"
            findings.append(Finding(reason, tuple(undelivered)))
        elif wake is None or deliver_by < wake:
            wake = deliver_by
    if again_by:
        # What was sent again and has not come: late by its own deliver-by.
        late_again = []
        for ln in order.lines:
            sid = again.get(ln.line_id)
            if not sid or ln.cancelled_us is not None or ships[sid].delivered_us is not None:
                continue
            by = again_by[sid]
            if now >= by:
                late_again.append(ln.line_id)
            elif wake is None or by < wake:
                wake = by
        if late_again:
            findings.append(Finding("late_delivery", tuple(late_again)))
    return findings, wake


_NONE: dict = {}  # (read-only) no line of the order was sent again: nothing to allocate


def _in(line_ids: list[str], active: set[str]) -> tuple[str, ...]:
    return tuple([lid for lid in line_ids if lid in active])
