"""Detectors: pure functions from an order's state and ``now`` to what is wrong right now.

``evaluate`` also returns the next instant at which something could become wrong without
any new event (a ship-by passing, 24 h without a carrier scan, 72 h without movement), so
the deadline index wakes the order exactly then and never scans orders that have nothing due.
"""

from __future__ import annotations

from msgspec import Struct

from ordercare.domain.order import HOUR_US, Order
from ordercare.watch.thresholds import Thresholds


class Finding(Struct, frozen=True):
    reason: str
    line_ids: tuple[str, ...]
    shipment_ids: tuple[str, ...] = ()


def _earliest(current: int | None, candidate: int) -> int:
    return candidate if current is None or candidate < current else current


def evaluate(order: Order, now: int, th: Thresholds) -> tuple[list[Finding], int | None]:
    """What is wrong with ``order`` at ``now``, and when to look again."""
    findings: list[Finding] = []
    wake: int | None = None
    if not order.placed:
        return findings, None

    # Lines cancelled by their seller are a problem of their own, whenever it happens.
    cancelled = tuple(ln.line_id for ln in order.lines if ln.cancelled_by == "seller")
    if cancelled:
        findings.append(Finding("seller_cancellation", cancelled))

    active = order.active_lines()
    unshipped = [ln for ln in active if not order.line_shipped(ln)]
    late = tuple(ln.line_id for ln in unshipped if now >= ln.ship_by_us)
    if late:
        findings.append(Finding("late_shipment", late))
    for ln in unshipped:
        if ln.ship_by_us > now:
            wake = _earliest(wake, ln.ship_by_us)

    for ship in order.shipments.values():
        if ship.shipped_us is None or ship.delivered_us is not None:
            continue
        lines = tuple(lid for lid in ship.line_ids if (ln := order.line(lid)) and ln.cancelled_us is None)
        if not lines:
            continue
        ids = (ship.shipment_id,)
        if ship.in_exception:
            findings.append(Finding("carrier_exception", lines, ids))
        elif not ship.scans:
            due = ship.shipped_us + int(th.no_scan_hours * HOUR_US)
            if now >= due:
                findings.append(Finding("no_carrier_scan", lines, ids))
            else:
                wake = _earliest(wake, due)
        else:
            due = ship.scans[-1].at_us + int(th.stalled_hours * HOUR_US)
            if now >= due:
                findings.append(Finding("stalled_in_transit", lines, ids))
            else:
                wake = _earliest(wake, due)

    if order.deliver_by_us is not None and active:
        undelivered = tuple(ln.line_id for ln in active if not order.line_delivered(ln))
        if undelivered and now >= order.deliver_by_us:
            reason = "partial_delivery" if len(undelivered) < len(active) and any(
                order.line_delivered(ln) for ln in active) else "late_delivery"
            findings.append(Finding(reason, undelivered))
        elif undelivered:
            wake = _earliest(wake, order.deliver_by_us)
    return findings, wake
