"""Event intake: decode and validate each line, dedupe, and check what it refers to.

Nothing valid is dropped because a neighbour was bad: each line stands alone. A rejected
line is kept whole with its line number and a one-line reason (the dead-letter store), and
can be re-submitted later. The same id with the same content is a harmless duplicate; the
same id with other content is a conflict and is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import msgspec
from msgspec import Struct

from ordercare.domain import events as ev

_decode = msgspec.json.Decoder(ev.Event).decode
_EPOCH_DAY = date(1970, 1, 1).toordinal()


class Accepted(Struct, gc=False):  # holds no containers of its own: the collector need not track it
    line_no: int
    event: ev.Event
    payload: str
    at_us: int
    raw: bytes
    order_id: str | None = None
    apply_us: int = 0  # when to apply it: its own time, or its maker's if that comes later (see in_dependency_order)


class Rejection(Struct):
    line_no: int
    raw: str
    reason: str
    event_id: str | None = None
    raw_bytes: bytes | None = None  # the line byte for byte, when ``raw`` cannot hold it (see ``kept_whole``)


def kept_whole(raw: bytes) -> tuple[str, bytes | None]:
    """A rejected line as text to read, and its bytes when that text is not them: a line
    that is not UTF-8 (shown with replacement characters), or one holding a NUL (which a
    PostgreSQL text column refuses). Kept byte for byte, a retry sees what was sent, never a
    repaired line that would pass with a mangled name."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), bytes(raw)
    if "\x00" in text:
        return text.replace("\x00", "\ufffd"), bytes(raw)
    return text, None


class Intake(Struct):
    accepted: list[Accepted]
    rejected: list[Rejection]
    duplicates: int = 0


def _reason(exc: Exception, raw: bytes = b"") -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if text.startswith("Invalid value ") and text.endswith(" - at `$.type`"):
        return f"unknown event type {text[len('Invalid value '):-len(' - at `$.type`')]} (CONTRACT §1 lists the types)"
    if text == "Input data was truncated" and raw.endswith(b"}") and (half := _SURROGATE.search(raw)) is not None:
        # (the decoder says "truncated" of a lone half of a UTF-16 pair too)
        return f"not valid JSON: a text holds half a character ({half.group().decode()}, a lone UTF-16 surrogate)"
    if text == "Input data was truncated":
        return "not valid JSON: the line ends before the event does (truncated)"
    return text.replace("JSON is malformed", "not valid JSON")


_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark, as some editors and exports start a file


def same_content(a: str, b: str) -> bool:
    """Two renderings of one event: the same bytes, or the same JSON value (key order, white
    space, number spelling and escapes do not make a conflict; any other field or value does,
    the fields ordercare does not read included)."""
    if a == b:
        return True
    try:
        return bool(_json_value(a) == _json_value(b))
    except msgspec.DecodeError:
        return False


_json_value = msgspec.json.Decoder().decode  # the generic JSON tree: dicts compare without order


_NOT_UTF8 = "not valid UTF-8 (events are JSON in UTF-8)"
_NUL_ESCAPE = b"\\u0000"
_TOO_DEEP = "JSON nested too deeply (no event has more than a few levels)"
# The last event time ordercare can count with (a deadline days or weeks later must still be
# a date: a year-9999 order's deliver-by would not exist).
_LAST_US = (date(9000, 1, 1).toordinal() - _EPOCH_DAY) * 86_400_000_000
_NUL = "a text holds a NUL character (\\u0000): no id, name or message may (the store could not keep it)"


def _holds_nul(value: Any) -> bool:
    """Does any string of this JSON tree (a key or a value) hold a NUL character? (The line
    spells one as ``\\u0000``: a raw NUL byte is no JSON at all.)"""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def decode_lines(lines: Iterable[tuple[int, bytes]]) -> Intake:
    """Decode every non-blank line; dedupe within the input by event id."""
    out = Intake([], [])
    seen: dict[str, str] = {}
    accept, rejected = out.accepted.append, out.rejected
    bases: dict[Any, int] = {}
    for line_no, raw in lines:
        raw = raw.strip()  # the same object, no copy, when there is nothing to strip
        if not raw:
            continue
        if raw.startswith(_BOM):
            raw = raw[3:]
        try:
            event = _decode(raw)
        except msgspec.DecodeError as exc:
            text, whole = kept_whole(raw)
            rejected.append(Rejection(line_no, text, _reason(exc, raw), raw_bytes=whole))
            continue
        except UnicodeDecodeError:  # msgspec's own error for bytes that are not UTF-8
            text, whole = kept_whole(raw)
            rejected.append(Rejection(line_no, text, _NOT_UTF8, raw_bytes=whole))
            continue
        except RecursionError:  # (garbage or hostile input: it must not stop the others)
            text, whole = kept_whole(raw)
            rejected.append(Rejection(line_no, text, _TOO_DEEP, raw_bytes=whole))
            continue
        payload = raw.decode()
        eid = event.id
        if _NUL_ESCAPE in raw and _holds_nul(_json_value(raw)):
            rejected.append(Rejection(line_no, payload, _NUL, eid))
            continue
        at = event.at
        base = bases.get(at.tzinfo)
        if base is None:
            base = bases[at.tzinfo] = _base_us(at)
        at_us = ((((at.toordinal() * 24 + at.hour) * 60 + at.minute) * 60 + at.second) * 1_000_000
                 + at.microsecond - base)
        if at_us >= _LAST_US:  # (before its id counts as seen: a corrected line may follow)
            rejected.append(Rejection(line_no, payload, f"at {at.isoformat()}: after the times ordercare "
                                      "counts with (up to the year 8999)", eid))
            continue
        before = seen.setdefault(eid, payload)
        if before is not payload:
            if same_content(before, payload):
                out.duplicates += 1
            else:
                rejected.append(Rejection(line_no, payload, f"conflict: event id {eid!r} "
                                          "was already given with other content", eid))
            continue
        accept(Accepted(line_no, event, payload, at_us, raw, None, at_us))
    return out


def _base_us(at: datetime) -> int:
    """What ``decode_lines`` subtracts from an instant's wall-clock fields, counted from day 0,
    to get ``moments.to_us``: the epoch and the UTC offset. Subtracting aware datetimes costs
    twice the whole computation by fields; msgspec decodes every offset to a fixed
    ``timezone``, so this is computed once per offset met in the input."""
    d = at.utcoffset()
    assert d is not None, "events' times are aware (events.AwareDatetime)"
    return _EPOCH_DAY * 86_400_000_000 + (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def drop_known(intake: Intake, stored: dict[str, str]) -> None:
    """Events already in the store: same content is a duplicate, other content a conflict."""
    if not stored:
        return
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


def _refers_to(event_type: type) -> tuple[bool, bool]:
    """Whether an event type's data names an order, a shipment."""
    data = next(f.type for f in msgspec.structs.fields(event_type) if f.name == "data")
    return "order_id" in data.__struct_fields__, "shipment_id" in data.__struct_fields__


_REFERS_TO = {cls: _refers_to(cls) for cls in ev.EVENT_TYPES.values()}
_TRACKING, _SHIPMENT, _ORDER = 1, 2, 3  # what an accepted event must find (0: nothing)
_PLACING = 4  # an order.placed: its order must not be placed already, in the store or above


_WITH_LINES = (ev.ShipmentCreated, ev.OrderCancelled, ev.ReturnReceived, ev.AgentAction)
_OF_A_SELLER = (ev.SellerDefectRemoved,)  # events about one of the order's sellers


def check_references(intake: Intake, known_orders: Callable[[Iterable[str]], set[str]],
                     known_shipments: Lookup, known_trackings: Lookup,
                     known_lines: Callable[[Iterable[str]], dict[str, set[str]]] | None = None,
                     known_sellers: Callable[[Iterable[str]], dict[str, set[str]]] | None = None) -> None:
    """Reject events about orders, shipments or tracking numbers that exist nowhere, and a
    second ``order.placed`` (another event id) for an order placed already: in the store, or
    on an earlier line of this input (the first stands; replacing an order's lines, customer
    or promise after the fact would rewrite what the customer was promised and charged).

    With ``known_lines`` (the line ids of stored orders), an event naming lines of its order
    (a parcel's, a cancellation's, a return's, an agent's) must name lines the order has;
    with ``known_sellers``, an event about one of the order's sellers (a defect removed) must
    name one of them.

    Runs after the whole input is read, in dependency order, so an order placed further
    down the file counts, and a shipment of a rejected order is rejected in turn.
    """
    acc = intake.accepted
    # One pass over the events: what each must find and its id (two flat lists: no tuple
    # per event), and what the input itself creates.
    what: list[int] = []
    refs: list[Any] = []
    placed: dict[str, Accepted] = {}  # order -> its (first) placing in this input
    with_lines: list[int] = []  # the events naming lines of their order (indexes in acc)
    with_seller: list[int] = []  # the events naming one of their order's sellers
    lined = _WITH_LINES
    order_ids: set[str] = set()
    shipment_ids: set[str] = set()
    trackings: set[str] = set()
    created: list[Any] = []
    shipped: list[Any] = []
    refers_to, scan = _REFERS_TO, ev.CarrierScan
    for a in acc:
        event = a.event
        k = type(event)
        d: Any = event.data
        if k is scan:
            trackings.add(d.tracking)
            what.append(_TRACKING)
            refs.append(d.tracking)
            continue
        has_order, has_shipment = refers_to[k]
        oid = d.order_id if has_order else None
        sid = d.shipment_id if has_shipment else None
        if oid:
            order_ids.add(oid)
        if sid:
            shipment_ids.add(sid)
        if k is ev.OrderPlaced:
            if d.order_id not in placed:
                placed[d.order_id] = a
            what.append(_PLACING)
            refs.append(d.order_id)
            continue
        if k in lined and d.line_ids:
            with_lines.append(len(what))
        elif k in _OF_A_SELLER:
            with_seller.append(len(what))
        if k is ev.ShipmentCreated:  # answers to its order: it creates the shipment
            created.append((len(what), d))
            sid = None
        elif k is ev.ShipmentShipped:
            shipped.append(d)
        if sid is not None:
            what.append(_SHIPMENT)
            refs.append(sid)
        else:
            what.append(_ORDER if oid is not None else 0)
            refs.append(oid)

    stored = known_orders(order_ids)
    orders = stored | placed.keys()
    line_problems = _unknown_parts(acc, with_lines, stored, placed, known_lines, "line",
                                   lambda d: d.line_ids, lambda ln: ln.line_id) if known_lines else {}
    if with_seller and known_sellers is not None:
        line_problems |= _unknown_parts(acc, with_seller, stored, placed, known_sellers, "seller",
                                        lambda d: [d.seller_id], lambda ln: ln.seller_id)
    # A parcel id that is another order's parcel already (stored, or created above in this
    # input) is that order's: a shipment.created reusing it (a producer's mistake, another
    # seller's) is refused.
    stored_ships = known_shipments(shipment_ids) if shipment_ids else {}
    owners = dict(stored_ships)
    for i, d in created:
        owner = owners.setdefault(d.shipment_id, d.order_id)
        if owner != d.order_id:
            line_problems[i] = f"shipment {d.shipment_id!r} is a parcel of order {owner!r} already"
    # A shipment.created refused (for a line its order does not have) creates nothing: what
    # refers to its parcel is refused in turn, as for a parcel of an unknown order.
    ships = {d.shipment_id: d.order_id for i, d in created if d.order_id in orders and i not in line_problems}
    ships |= {sid: oid for sid, oid in stored_ships.items() if sid not in ships}
    tracks = {d.tracking: d.shipment_id for d in shipped if d.shipment_id in ships}
    tracks |= known_trackings({t for t in trackings if t not in tracks})
    ships |= known_shipments({sid for sid in tracks.values() if sid not in ships})
    keep = []
    rejected = intake.rejected
    for i, (a, must, ref) in enumerate(zip(acc, what, refs, strict=True)):
        if must == _TRACKING:
            found = tracks.get(ref)
            if found is None:
                problem = f"refers to unknown tracking number {ref!r} (no shipment.shipped carries it)"
            else:
                a.order_id, problem = ships.get(found), ""
        elif must == _SHIPMENT:
            if ref not in ships:
                problem = f"refers to unknown shipment {ref!r} (no shipment.created for it)"
            else:
                a.order_id, problem = ships[ref], ""
        elif must == _PLACING:
            if ref in stored:
                problem = f"order {ref!r} is placed already (in the store): a second order.placed is refused"
            elif placed[ref] is not a:
                problem = (f"order {ref!r} is placed already (line {placed[ref].line_no}): a second order.placed "
                           "is refused")
            else:
                a.order_id, problem = ref, ""
        elif must == _ORDER:
            if ref not in orders:
                problem = f"refers to unknown order {ref!r} (no order.placed in this input or the store)"
            else:
                a.order_id, problem = ref, ""
        else:
            problem = ""
        if line_problems and not problem:
            problem = line_problems.get(i, "")
        if problem:
            rejected.append(Rejection(a.line_no, a.raw.decode(), problem, a.event.id))
        else:
            keep.append(a)
    intake.accepted = keep


def _unknown_parts(acc: list[Accepted], indexes: list[int], stored: set[str], placed: dict[str, Accepted],
                   known: Callable[[Iterable[str]], dict[str, set[str]]], noun: str,
                   named: Callable[[Any], list[str]], of_line: Callable[[Any], str]) -> dict[int, str]:
    """What is wrong with the parts of their order (its lines, its sellers: ``noun``) that
    the events at ``indexes`` name (``named``): one the order does not have, as stored
    (``known``; a placing of it in this input is refused), else as placed in this input
    (``of_line`` of each of its lines). (An event whose order exists nowhere is rejected
    for that.)"""
    events: list[Any] = [acc[i].event for i in indexes]
    asked = {e.data.order_id for e in events if e.data.order_id in stored}
    parts_of = known(asked) if asked else {}
    problems = {}
    for i, event in zip(indexes, events, strict=True):
        oid = event.data.order_id
        have = parts_of.get(oid)
        if have is None and oid in placed:
            have = parts_of[oid] = {of_line(ln) for ln in placed[oid].event.data.lines}  # type: ignore[union-attr]
        missing = [p for p in named(event.data) if p not in have] if have is not None else []
        if missing:
            problems[i] = (f"order {oid!r} has no {noun} {', '.join(map(repr, missing))} "
                           f"(its {noun}s: {', '.join(sorted(have or ()))})")
    return problems


_RANK = ev.RANK_OF


def sort_key(a: Accepted) -> tuple[int, int, str]:
    """Event time first (or its maker's: ``in_dependency_order``); within one instant, the
    order the world produces facts in."""
    return (a.apply_us, _RANK[type(a.event)], a.event.id)


_BY_SHIPMENT = (ev.ShipmentPacked, ev.InspectionCompleted, ev.ShipmentShipped)


def in_dependency_order(accepted: list[Accepted]) -> list[Accepted]:
    """The events in the order to apply them: by time, but none before the event that makes
    what it refers to. Clocks disagree: a carrier's first scan may be stamped a minute before
    the shop's ``shipment.shipped`` that tells ordercare the tracking number; a seller's
    cancellation a second before the storefront's ``order.placed``. Such an event is applied
    right after its maker, as any late event is (its own time kept for the facts)."""
    placing = ev.OrderPlaced
    placed = {a.order_id: a.at_us for a in accepted if type(a.event) is placing and a.order_id}
    created: dict[str, int] = {}
    by_shipment: list[Accepted] = []
    scans: list[Accepted] = []
    created_type, scan_type = ev.ShipmentCreated, ev.CarrierScan
    for a in accepted:
        kind = type(a.event)
        if placed and a.order_id and kind is not placing and kind is not scan_type:
            made = placed.get(a.order_id)
            if made is not None and made > a.apply_us:
                a.apply_us = made  # (a scan follows its parcel's departure, below)
        if kind is created_type:
            sid = a.event.data.shipment_id  # type: ignore[union-attr]
            if sid not in created or a.apply_us < created[sid]:
                created[sid] = a.apply_us
        elif kind is scan_type:
            scans.append(a)
        elif kind in _BY_SHIPMENT:
            by_shipment.append(a)
    shipped: dict[str, int] = {}
    for a in by_shipment:
        made = created.get(a.event.data.shipment_id)  # type: ignore[union-attr]
        if made is not None and made > a.apply_us:
            a.apply_us = made
        if type(a.event) is ev.ShipmentShipped:
            tracking = a.event.data.tracking
            if tracking not in shipped or a.apply_us < shipped[tracking]:
                shipped[tracking] = a.apply_us
    for a in scans:
        made = shipped.get(a.event.data.tracking)  # type: ignore[union-attr]
        if made is not None and made > a.apply_us:
            a.apply_us = made
    return sorted(accepted, key=sort_key)
