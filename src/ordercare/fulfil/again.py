"""Lines sent again (a replacement, a re-sending) in the warehouse's book: pure helpers.

A replacement of a platform line is a new demand on the shelf: it holds stock of its own,
in a ``fulfil_lines`` row of its own keyed ``{line_id}@{request_id}`` (the line's first
row keeps the history of what was first sent: consumed, returned). A line holds stock
under one row at a time: asked again while its units are still held or awaited (it never
left, or an earlier replacement never did), the new request keeps them and has no row.
"""

from __future__ import annotations

from ordercare.domain.order import Line, Order, Request, refunded_since

PLATFORM = "platform"


def again_line_id(line_id: str, request_id: str) -> str:
    """The ``fulfil_lines.line_id`` of the row holding stock for a line sent again."""
    return f"{line_id}@{request_id}"


def sent_again(order: Order, line: Line) -> list[Request]:
    """The requests to our warehouse that sent the line again, the latest first."""
    return [rq for rq in reversed(order.requests) if rq.to == PLATFORM and line.line_id in rq.line_ids]


def unsent(order: Order) -> list[tuple[Line, Request]]:
    """Lines asked of our warehouse that it must no longer send: no parcel carries them yet,
    and they were cancelled, or refunded since the request (as ``request_state`` reads it:
    a request with nothing left to send is ``cancelled``)."""
    out: list[tuple[Line, Request]] = []
    for request in order.requests:
        if request.to != PLATFORM:
            continue
        refunded: set[str] | None = None
        for lid in request.line_ids:
            ln = order.line(lid)
            if ln is None or ln.redo_us != request.at_us or ln.shipment_id is not None:
                continue
            if ln.cancelled_us is None:
                if refunded is None:
                    refunded = refunded_since(order, request.at_us)
                if lid not in refunded:
                    continue
            out.append((ln, request))
    return out


def served_from(order: Order, line: Line) -> str | None:
    """The centre whose parcel last carried the line (its pack event names it), if known."""
    found: tuple[int, str] | None = None
    for ship in order.shipments.values():
        if ship.fc_id and line.line_id in ship.line_ids:
            when = ship.shipped_us or ship.packed_us or 0
            if found is None or (when, ship.fc_id) > found:
                found = (when, ship.fc_id)
    return found[1] if found is not None else None
