"""Event intake: decode and validate each line, dedupe, and check what it refers to.

Nothing valid is dropped because a neighbour was bad: each line stands alone. A rejected
line is kept whole with its line number and a one-line reason (the dead-letter store), and
can be re-submitted later. The same id with the same content is a harmless duplicate; the
same id with other content is a conflict and is rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec
from msgspec import Struct

from ordercare.domain import events as ev

_decode = msgspec.json.Decoder(ev.Event).decode
_encode = msgspec.json.Encoder().encode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    accept, epoch = out.accepted.append, _EPOCH
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
        eid = event.id
        before = seen.get(eid)
        if before is not None:
            if same_content(before, payload):
                out.duplicates += 1
            else:
                out.rejected.append(Rejection(line_no, raw.decode(), f"conflict: event id {eid!r} "
                                              "was already given with other content", eid))
            continue
        seen[eid] = payload
        d = event.at - epoch  # moments.to_us, inlined: once per line
        accept(Accepted(line_no, event, payload, (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds, raw))
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
    events = [a.event for a in acc]  # one pass each below, on plain lists: this sees every event
    datas: list[Any] = [e.data for e in events]
    kinds = [type(e) for e in events]
    placed, created, shipped, scan = ev.OrderPlaced, ev.ShipmentCreated, ev.ShipmentShipped, ev.CarrierScan
    oids = [getattr(d, "order_id", None) for d in datas]
    orders = {oid for oid, k in zip(oids, kinds, strict=True) if k is placed}
    orders |= known_orders({oid for oid in oids if oid and oid not in orders})

    ships: dict[str, str] = {}
    for d, k in zip(datas, kinds, strict=True):
        if k is created and d.order_id in orders:
            ships[d.shipment_id] = d.order_id
    sids = [getattr(d, "shipment_id", None) for d in datas]
    ships |= known_shipments({sid for sid in sids if sid and sid not in ships})

    tracks = {d.tracking: d.shipment_id for d, k in zip(datas, kinds, strict=True)
              if k is shipped and d.shipment_id in ships}
    wanted = {d.tracking for d, k in zip(datas, kinds, strict=True) if k is scan and d.tracking not in tracks}
    tracks |= known_trackings(wanted)
    ships |= known_shipments({sid for sid in tracks.values() if sid not in ships})

    keep = []
    rejected = intake.rejected
    for a, d, k, sid, oid in zip(acc, datas, kinds, sids, oids, strict=True):
        if k is scan:
            found = tracks.get(d.tracking)
            if found is None:
                problem = f"refers to unknown tracking number {d.tracking!r} (no shipment.shipped carries it)"
            else:
                a.order_id, problem = ships.get(found), ""
        elif sid is not None and k is not created:
            if sid not in ships:
                problem = f"refers to unknown shipment {sid!r} (no shipment.created for it)"
            else:
                a.order_id, problem = ships[sid], ""
        elif oid is not None:
            if oid not in orders:
                problem = f"refers to unknown order {oid!r} (no order.placed in this input or the store)"
            else:
                a.order_id, problem = oid, ""
        else:
            problem = ""
        if problem:
            rejected.append(Rejection(a.line_no, a.raw.decode(), problem, a.event.id))
        else:
            keep.append(a)
    intake.accepted = keep


_RANK = ev.RANK_OF


def sort_key(a: Accepted) -> tuple[int, int, str]:
    """Event time first; within one instant, the order the world produces facts in."""
    return (a.at_us, _RANK[type(a.event)], a.event.id)
