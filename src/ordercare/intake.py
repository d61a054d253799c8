"""Event intake: decode and validate each line, dedupe, and check what it refers to.

Nothing valid is dropped because a neighbour was bad: each line stands alone. A rejected
line is kept whole with its line number and a one-line reason (the dead-letter store), and
can be re-submitted later. The same id with the same content is a harmless duplicate; the
same id with other content is a conflict and is rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec
from msgspec import Struct

from ordercare.domain import events as ev
from ordercare.domain.moments import to_us

_decode = msgspec.json.Decoder(ev.Event).decode
_encode = msgspec.json.Encoder().encode


class Accepted(Struct):
    line_no: int
    event: ev.Event
    payload: str
    at_us: int
    raw: bytes
    order_id: str | None = None


class Rejection(Struct):
    line_no: int
    raw: str
    reason: str
    event_id: str | None = None


class Intake(Struct):
    accepted: list[Accepted]
    rejected: list[Rejection]
    duplicates: int = 0


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.replace("JSON is malformed", "not valid JSON")


def same_content(a: str, b: str) -> bool:
    """Two renderings of one event: the same bytes, or the same once decoded and re-encoded
    (key order and white space do not make a conflict)."""
    if a == b:
        return True
    try:
        return bool(_encode(_decode(a)) == _encode(_decode(b)))
    except msgspec.DecodeError:
        return False


def decode_lines(lines: Iterable[tuple[int, bytes]]) -> Intake:
    """Decode every non-blank line; dedupe within the input by event id."""
    out = Intake([], [])
    seen: dict[str, str] = {}
    for line_no, raw in lines:
        raw = raw.strip()
        if not raw:
            continue
        try:
            event = _decode(raw)
        except msgspec.DecodeError as exc:
            out.rejected.append(Rejection(line_no, raw.decode("utf-8", "replace"), _reason(exc)))
            continue
        payload = raw.decode()
        before = seen.get(event.id)
        if before is not None:
            if same_content(before, payload):
                out.duplicates += 1
            else:
                out.rejected.append(Rejection(line_no, raw.decode(), f"conflict: event id {event.id!r} "
                                              "was already given with other content", event.id))
            continue
        seen[event.id] = payload
        at_us = to_us(event.at)
        out.accepted.append(Accepted(line_no, event, payload, at_us, raw))
    return out


def drop_known(intake: Intake, stored: dict[str, str]) -> None:
    """Events already in the store: same content is a duplicate, other content a conflict."""
    keep = []
    for acc in intake.accepted:
        before = stored.get(acc.event.id)
        if before is None:
            keep.append(acc)
        elif same_content(before, acc.payload):
            intake.duplicates += 1
        else:
            intake.rejected.append(Rejection(acc.line_no, acc.raw.decode(), f"conflict: event id {acc.event.id!r} "
                                             "is already stored with other content", acc.event.id))
    intake.accepted = keep


Lookup = Callable[[Iterable[str]], dict[str, str]]


def check_references(intake: Intake, known_orders: Callable[[Iterable[str]], set[str]],
                     known_shipments: Lookup, known_trackings: Lookup) -> None:
    """Reject events about orders, shipments or tracking numbers that exist nowhere.

    Runs after the whole input is read, in dependency order, so an order placed further
    down the file counts, and a shipment of a rejected order is rejected in turn.
    """
    acc = intake.accepted
    orders = {a.event.data.order_id for a in acc if isinstance(a.event, ev.OrderPlaced)}
    wanted = {oid for a in acc if (oid := getattr(a.event.data, "order_id", None)) and oid not in orders}
    orders |= known_orders(wanted)

    ships: dict[str, str] = {}
    for a in acc:
        if isinstance(a.event, ev.ShipmentCreated) and a.event.data.order_id in orders:
            ships[a.event.data.shipment_id] = a.event.data.order_id
    wanted = {sid for a in acc if (sid := getattr(a.event.data, "shipment_id", None)) and sid not in ships}
    ships |= known_shipments(wanted)

    tracks = {a.event.data.tracking: a.event.data.shipment_id for a in acc
              if isinstance(a.event, ev.ShipmentShipped) and a.event.data.shipment_id in ships}
    wanted = {a.event.data.tracking for a in acc
              if isinstance(a.event, ev.CarrierScan) and a.event.data.tracking not in tracks}
    tracks |= known_trackings(wanted)
    ships |= known_shipments({sid for sid in tracks.values() if sid not in ships})

    keep = []
    for a in acc:
        problem = _unknown(a, orders, ships, tracks)
        if problem:
            intake.rejected.append(Rejection(a.line_no, a.raw.decode(), problem, a.event.id))
        else:
            keep.append(a)
    intake.accepted = keep


def _unknown(a: Accepted, orders: set[str], ships: dict[str, str], tracks: dict[str, str]) -> str:
    data = a.event.data
    if isinstance(a.event, ev.CarrierScan):
        sid = tracks.get(data.tracking)
        if sid is None:
            return f"refers to unknown tracking number {data.tracking!r} (no shipment.shipped carries it)"
        a.order_id = ships.get(sid)
        return ""
    sid = getattr(data, "shipment_id", None)
    if sid is not None and not isinstance(a.event, ev.ShipmentCreated):
        if sid not in ships:
            return f"refers to unknown shipment {sid!r} (no shipment.created for it)"
        a.order_id = ships[sid]
        return ""
    oid = getattr(data, "order_id", None)
    if oid is not None:
        if oid not in orders:
            return f"refers to unknown order {oid!r} (no order.placed in this input or the store)"
        a.order_id = oid
    return ""


_RANK = ev.RANK_OF


def sort_key(a: Accepted) -> tuple[int, int, str]:
    """Event time first; within one instant, the order the world produces facts in."""
    return (a.at_us, _RANK[type(a.event)], a.event.id)
