"""Service functions: what the CLI, the API and the simulator call. No business rules here:
they load, call the engine, flush, and report."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from ordercare.desk.dossier import build_dossier, orderless_dossier
from ordercare.domain.events import TAG_OF
from ordercare.domain.moments import from_us, to_us
from ordercare.engine import Engine as CareEngine
from ordercare.engine import World, parties_named
from ordercare.intake import Accepted, Intake, check_references, decode_lines, drop_known, in_dependency_order
from ordercare.policy import Policies, load_policies
from ordercare.store import repo
from ordercare.store.db import ROWS_OFFERED, StoreError, make_engine, migrate
from ordercare.store.lock import writer

BATCH = 100_000


@dataclass
class ReplayReport:
    applied: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    deferred_lines: list[tuple[int, bytes]] = field(default_factory=list)  # (line, raw): for a later pass
    deadlines_fired: int = 0
    clock: str | None = None
    done: list[str] | None = None  # a person's act (``record_agent_action``): what it did to the case

    @property
    def deferred(self) -> int:
        """Events after ``--until``, left for a later pass."""
        return len(self.deferred_lines)

    def as_contract(self) -> dict[str, Any]:
        return {"applied": self.applied, "duplicates": self.duplicates, "rejected": self.rejected,
                "deferred": self.deferred, "deadlines_fired": self.deadlines_fired, "clock": self.clock}


def open_store(url: str | None, existing: bool = False) -> Engine:
    """The store at ``url``, migrated to the newest schema. ``existing``: a SQLite file that
    is not there is refused (``StoreError``) rather than created empty: a command that only
    reads, given a mistyped path, says so instead of answering "nothing" from a new store."""
    engine = make_engine(url)
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if existing and path and path != ":memory:" and not path.startswith("file:") and not os.path.exists(path):
        raise StoreError(f"no store at {path}: nothing was recorded there "
                         "(`ordercare replay` or `ordercare watch` creates it)")
    migrate(engine)
    return engine


class Session:
    """One run of the engine over the store: load what it needs, flush what it changed."""

    def __init__(self, db: Engine, policies: Policies | None = None,
                 capabilities: Iterable[Any] | None = None) -> None:
        self.db = db
        self.policies = policies or load_policies()
        with db.connect() as conn:
            # the clock, and the generation of the store's state this session holds
            self.clock, self.generation = repo.clock_and_generation(conn)
        self._party_conn = db.connect()
        self.engine = CareEngine(self.policies, World(), self.clock,
                                 lambda k, p: repo.load_party(self._party_conn, k, p),
                                 lambda c: repo.customer_orders(self._party_conn, c, self.engine.world.orders))
        self.engine.capabilities = list(capabilities if capabilities is not None else default_capabilities())
        if self.engine.capabilities:
            with db.connect() as conn:
                for capability in self.engine.capabilities:
                    capability.load(conn, self.engine)

    def close(self) -> None:
        self._party_conn.close()

    def end_pass(self) -> None:
        """Between two passes of a kept session: hold no read snapshot (on SQLite an open
        read transaction would pin the write-ahead log and hide later writes)."""
        self._party_conn.rollback()

    def load(self, order_ids: Iterable[str], due_until: int | None, limit: int | None = None) -> None:
        """Put the stored orders ``order_ids`` and those due by ``due_until`` under watch; an
        order already in memory is newer than its stored copy (or the same) and stays."""
        known = self.engine.world.orders
        with self.db.connect() as conn:
            loaded = repo.load_orders(conn, [i for i in order_ids if i not in known])
            if due_until is not None:
                loaded += repo.due_orders(conn, due_until, limit, known)
        for order in loaded:
            if order.order_id not in known:  # (an order both named and due comes twice)
                self.engine.adopt(order)

    def load_parties(self, keys: Iterable[tuple[str, str]]) -> None:
        """Read at once the stored parties the coming events will look up (``parties_named``):
        on a busy stream thousands of customers register, and asking the store for each one
        in turn cost a tenth of a replay. One not stored is remembered as absent."""
        world = self.engine.world
        wanted: dict[str, set[str]] = {}
        for key in keys:
            if key not in world.parties and key not in world.absent:
                wanted.setdefault(key[0], set()).add(key[1])
        if not wanted:
            return
        with self.db.connect() as conn:
            for kind, ids in wanted.items():
                found = repo.load_parties(conn, kind, ids)
                for party_id in ids:
                    world.stored((kind, party_id), found.get(party_id))

    def flush(self, events: list[Accepted]) -> None:
        eng, cw = self.engine, self.engine.casework
        with self.db.begin() as conn:
            conn.info[ROWS_OFFERED] = 0
            tag = TAG_OF
            repo.write_events(conn, [(a.event.id, tag[type(a.event)], a.at_us, a.order_id, a.payload)
                                     for a in events])
            repo.write_orders(conn, eng.dirty_orders.values())
            repo.write_requests(conn, [row for o in eng.dirty_orders.values() if o.requests
                                       for row in repo.request_rows(o, eng.now)])
            repo.write_shipments(conn, eng.new_shipments.values())
            repo.write_parties(conn, [(k, p, eng.world.parties[(k, p)]) for k, p in eng.dirty_parties])
            orders = eng.world.orders
            zones = cw.zones
            repo.write_cases(conn, [repo.case_row(c, orders[c.order_id].tz_min if c.order_id in orders
                                                  else zones.get(c.id, 0)) for c in cw.changed.values()])
            if cw.withdrawn:
                repo.delete_cases(conn, cw.withdrawn)
            repo.write_messages(conn, cw.messages)
            repo.write_messages(conn, eng.milestones.messages)
            repo.write_callbacks(conn, [(case_id, order_id, customer_id, repo.iso(at, tz_min), at, rule)
                                        for case_id, order_id, customer_id, tz_min, at, rule in cw.callbacks])
            repo.close_callbacks(conn, cw.callbacks_closed)
            for capability in eng.capabilities:
                capability.flush(conn)
            wrote = conn.info[ROWS_OFFERED] > 0
            repo.set_clock(conn, eng.now)
            if wrote:  # a pass that only moved the clock leaves the other processes' sessions valid
                self.generation = repo.new_generation(conn, self.generation)
        eng.dirty_orders.clear()
        eng.new_shipments.clear()
        eng.dirty_parties.clear()
        cw.changed.clear()
        cw.messages.clear()
        eng.milestones.messages.clear()
        cw.callbacks.clear()
        cw.zones.clear()
        cw.callbacks_closed.clear()
        cw.withdrawn.clear()


class Live:
    """One session kept between the engine passes of a long-running process (``watch``,
    ``serve``), so that a pass does not start by reloading every capability's state (on a
    store of 1M events, rebuilding seller health alone takes 1.5–3 s: a click or an idle
    tick would take that long).

    A kept session is valid only while nobody else changed the store: each write of engine
    state bumps the store's generation counter, and a pass that finds a generation other than
    its own session's last (a ``replay`` from another process, a seller's reinstatement)
    starts a new session. So does a pass after one that failed (the kept memory may be ahead
    of the store), and one whose session holds more than ``max_orders`` orders (memory stays
    bounded). Use it under the writer lock: ``replay`` and ``tick`` do.
    """

    def __init__(self, db: Engine, policies: Policies | None = None, max_orders: int = 100_000) -> None:
        self.db = db
        self.policies = policies
        self.max_orders = max_orders
        self.session: Session | None = None
        self.started = 0  # sessions built: what a test or an operator can check

    def take(self) -> Session:
        kept = self.session
        if kept is not None:
            with self.db.connect() as conn:
                clock_us, current = repo.clock_and_generation(conn)
            if current == kept.generation and len(kept.engine.world.orders) <= self.max_orders:
                if clock_us is not None and clock_us > kept.engine.now:
                    kept.engine.now = clock_us  # another process's idle tick moved the clock on
                return kept
            self.drop()
        self.session = Session(self.db, self.policies)
        self.started += 1
        return self.session

    def drop(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


@contextmanager
def _engine_pass(db: Engine, policies: Policies | None, capabilities: Iterable[Any] | None,
                 live: Live | None) -> Iterator[Session]:
    """A session for one pass under the store's writer lock: a fresh one, or ``live``'s
    (which has its own policies and the default capabilities)."""
    if live is not None and (policies is not None or capabilities is not None):
        raise ValueError("a kept session (live) brings its own policies and capabilities")
    with writer(db):
        session = live.take() if live is not None else Session(db, policies, capabilities)
        try:
            yield session
        except BaseException:
            if live is not None:
                live.drop()
            raise
        finally:
            if live is None:
                session.close()
        if live is not None:
            session.end_pass()


def default_capabilities() -> list[Any]:
    """The capabilities every session runs (each a module of its own; see capability.py)."""
    from ordercare.fulfil.capability import Fulfilment
    from ordercare.sellers.capability import SellerHealth
    from ordercare.watch.learning import TransitLearning
    return [TransitLearning(), Fulfilment(), SellerHealth()]


def vet(db: Engine, source: str, intake: Intake) -> Intake:
    """Dedupe decoded lines against the store, check references, record the rejected lines.
    Under the writer lock: what the store holds must not change before the pass applies."""
    with db.connect() as conn:
        drop_known(intake, repo.existing_events(conn, (a.event.id for a in intake.accepted)))
        check_references(intake, lambda ids: repo.known_orders(conn, ids),
                         lambda ids: repo.known_shipments(conn, ids),
                         lambda ids: repo.known_trackings(conn, ids),
                         lambda ids: repo.known_lines(conn, ids),
                         lambda ids: repo.known_sellers(conn, ids))
    intake.rejected.sort(key=lambda r: r.line_no)
    if intake.rejected:
        with db.begin() as conn:
            repo.write_rejected(conn, source, [(r.line_no, r.event_id, r.raw, r.reason, r.raw_bytes)
                                               for r in intake.rejected])
    return intake


def replay(db: Engine, source: str, lines: Iterable[tuple[int, bytes]], until: datetime | None = None,
           policies: Policies | None = None, batch: int = BATCH,
           capabilities: Iterable[Any] | None = None, live: Live | None = None,
           wait: float | None = None, on_wait: Callable[[], None] | None = None) -> ReplayReport:
    """Ingest ``lines`` and play the world forward in event time (CONTRACT §2 ``replay``),
    holding the store's writer lock (one engine pass at a time, see ``store/lock.py``): wait
    for it, at most ``wait`` seconds if given (then ``StoreBusy``, and nothing is recorded);
    ``on_wait`` is called once if it has to wait."""
    gc_was_on = gc.isenabled()
    gc.disable()  # millions of acyclic structs: the cyclic collector would only re-scan them
    try:
        decoded = decode_lines(lines)  # before the lock: it needs nothing of the store
        with writer(db, wait, on_wait):
            return _replay(db, source, decoded, until, policies, batch, capabilities, live)
    finally:
        if gc_was_on:
            gc.enable()


def _replay(db: Engine, source: str, decoded: Intake, until: datetime | None,
            policies: Policies | None, batch: int, capabilities: Iterable[Any] | None,
            live: Live | None) -> ReplayReport:
    intake = vet(db, source, decoded)
    report = ReplayReport(duplicates=intake.duplicates,
                          rejected=[{"line": r.line_no, "reason": r.reason} for r in intake.rejected])
    events = in_dependency_order(intake.accepted)
    until_us = to_us(until) if until is not None else None
    if until_us is not None:  # (an event whose maker comes after ``until`` waits with it)
        report.deferred_lines = [(a.line_no, a.raw) for a in events if a.apply_us > until_us]
        events = [a for a in events if a.apply_us <= until_us]
    with _engine_pass(db, policies, capabilities, live) as session:
        eng = session.engine
        end_us = until_us if until_us is not None else max([events[-1].at_us if events else 0, eng.now])
        session.load({a.order_id for a in events if a.order_id}, end_us)
        session.load_parties(parties_named(a.event for a in events))
        heap, apply, fired = eng.index.heap, eng.apply, 0
        for start in range(0, len(events), batch):
            chunk = events[start:start + batch]
            for a in chunk:
                at = a.at_us
                if heap and heap[0][0] < at:  # a deadline falls due first (else apply moves the clock)
                    fired += eng.advance_to(at)
                apply(a.event, at)
            session.flush(chunk)
        report.deadlines_fired += fired
        report.deadlines_fired += eng.advance_to(end_us, inclusive=True)
        session.flush([])
        report.applied = len(events)
        report.clock = repo.iso(eng.now, 0) if eng.now else None
    return report


def tick(db: Engine, now: datetime, limit: int | None = None, policies: Policies | None = None,
         live: Live | None = None) -> int:
    """One watch tick on the wall clock: handle every order whose deadline has come.
    ``limit`` bounds how many due orders are read from the store; with a kept session the
    orders it already holds fire too."""
    now_us = to_us(now)
    with _engine_pass(db, policies, None, live) as session:
        session.load((), now_us, limit)
        fired = session.engine.advance_to(now_us, inclusive=True)
        session.flush([])
    return fired


# ---- reads for the CLI ---------------------------------------------------------------------

def list_cases(db: Engine, case_id: str | None = None) -> list[dict[str, Any]]:
    """Every case (CONTRACT §2 ``cases --json``), or only ``case_id``."""
    if case_id is None:
        return _cases(db, "", "ORDER BY opened_us, case_id", {})
    return _cases(db, "WHERE case_id = :c", "ORDER BY opened_us, case_id", {"c": case_id})


def open_cases(db: Engine, limit: int = 200) -> list[dict[str, Any]]:
    """The cases not resolved yet, newest first (at most ``limit``): what a desk works on."""
    return _cases(db, "WHERE status <> 'resolved'", "ORDER BY opened_us DESC, case_id LIMIT :n", {"n": limit})


def _cases(db: Engine, where: str, order: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT case_id, order_id, reason, origin, status, opened_at, first_customer_message_at, "
            f"resolved_at, data FROM cases {where} {order}"), params).all()
    out = []
    for r in rows:
        data = json.loads(r[8])
        out.append({"id": r[0], "order_id": r[1], "reason": r[2], "origin": r[3], "status": r[4],
                    "opened_at": r[5], "first_customer_message_at": r[6], "actions": data["actions"],
                    "resolved_at": r[7], "reasons": data["reasons"], "line_ids": data["line_ids"],
                    "shipment_ids": data["shipment_ids"], "first_contact_at": data["first_contact_at"],
                    "channel": data.get("channel"), "priority": data.get("priority"), "csat": data.get("csat"),
                    "service_level": data.get("service_level")})
        if "restock_expected_at" in data:  # (a stock-out case: when it said new stock was expected)
            out[-1]["restock_expected_at"] = data["restock_expected_at"]
    return out


def list_messages(db: Engine, case_id: str | None = None) -> list[dict[str, Any]]:
    """Every message sent (CONTRACT §2 ``messages --json``), or only those about ``case_id``."""
    where = " WHERE case_id = :c" if case_id is not None else ""
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT message_id, customer_id, order_id, case_id, kind, channel, lang, at, text, subject, "
            f"status FROM messages{where} ORDER BY at_us, message_id"), {"c": case_id}).all()
    return [{"id": r[0], "customer_id": r[1], "order_id": r[2], "case_id": r[3], "kind": r[4],
             "channel": r[5], "lang": r[6], "at": r[7], "text": r[8], "subject": r[9], "status": r[10]}
            for r in rows]


def list_requests(db: Engine, status: str | None = None, to: str | None = None,
                  order_id: str | None = None) -> list[dict[str, Any]]:
    """Requests to send lines again (replacements, re-sendings), oldest first: for the
    warehouse (``to`` = "platform") or a seller, optionally only those in ``status``
    ("open", "overdue", ...) or of one order."""
    with db.connect() as conn:
        return repo.read_requests(conn, status, to, order_id)


def list_rejected(db: Engine, include_resubmitted: bool = False) -> list[dict[str, Any]]:
    """The dead letters: ``raw`` is the line as text; a line that was not UTF-8 (or held a
    NUL) also has ``raw_base64``, the line byte for byte."""
    sql = "SELECT id, source, line_no, event_id, reason, raw, status, raw_bytes FROM rejected"
    if not include_resubmitted:
        sql += " WHERE status = 'rejected'"
    with db.connect() as conn:
        rows = conn.execute(text(sql + " ORDER BY id")).all()
    out = []
    for r in rows:
        row = {"id": r[0], "source": r[1], "line": r[2], "event_id": r[3], "reason": r[4], "raw": r[5],
               "status": r[6]}
        if r[7] is not None:
            row["raw_base64"] = base64.b64encode(bytes(r[7])).decode()
        out.append(row)
    return out


def resubmit(db: Engine, until: datetime | None = None,
             on_wait: Callable[[], None] | None = None) -> tuple[ReplayReport, int]:
    """Retry every dead letter; those now accepted (or already stored) leave the store."""
    with writer(db, on_wait=on_wait):
        return _resubmit(db, until)


def _resubmit(db: Engine, until: datetime | None) -> tuple[ReplayReport, int]:
    pending = list_rejected(db)
    if not pending:
        return ReplayReport(), 0
    lines = [(row["id"], base64.b64decode(row["raw_base64"]) if "raw_base64" in row else row["raw"].encode())
             for row in pending]
    report = replay(db, "resubmit", lines, until)
    still = {r["line"] for r in report.rejected}
    still |= {line for line, _ in report.deferred_lines}  # after --until: kept for a later resubmit
    cleared = [row["id"] for row in pending if row["id"] not in still]
    with db.begin() as conn:
        for rid in cleared:
            conn.execute(text("UPDATE rejected SET status = 'resubmitted' WHERE id = :i"), {"i": rid})
        conn.execute(text("DELETE FROM rejected WHERE source = 'resubmit'"))
        for r in report.rejected:
            conn.execute(text("UPDATE rejected SET reason = :r WHERE id = :i"),
                         {"r": r["reason"], "i": r["line"]})
    # Each line still refused, said as the operator knows it: its file and line number, and
    # the dead letter it stays (``ordercare rejected`` lists it), not a number of this retry.
    kept = {row["id"]: row for row in pending}
    report.rejected = [{"line": kept[r["line"]]["line"], "source": kept[r["line"]]["source"],
                        "dead_letter": r["line"], "reason": r["reason"]} for r in report.rejected]
    return report, len(cleared)


def _moment(clock: int | None, at: datetime | None, now: datetime | None, what: str) -> datetime:
    """When a person's act is recorded: ``at`` as given (never before the store's clock: it
    would be applied at the clock anyway, and a replay of the log would place it elsewhere),
    else ``now`` (the wall clock), moved up to the store's clock when that runs ahead (a
    simulation)."""
    if at is not None and clock and to_us(at) < clock:
        raise ValueError(f"the store's clock is at {repo.iso(clock, 0)}: {what} cannot be recorded before it")
    moment = at or now or datetime.now().astimezone()
    # Just after the clock at the earliest: what fell due at the clock was done before the
    # person acted (they saw it), and a replay, which plays an event before the deadlines due
    # at its very instant, must find it done too.
    return from_us(clock + 1) if clock and to_us(moment) <= clock else moment


def _record(db: Engine, source: str, kind: str, case_id: str, moment: datetime, data: dict[str, Any],
            live: Live | None, wait: float | None, on_wait: Callable[[], None] | None,
            asked: datetime | None, submission: str | None = None) -> ReplayReport:
    """Record a person's act as an event of ``kind`` at ``moment`` and apply it. The id says
    what happened and when it was said to (``asked``, else ``moment``), so the same act
    recorded twice is one (even when the store's clock moved ``moment`` on), and two acts at
    one instant are two; or, given, the ``submission`` (a form's one-time key) in place of
    the instant: that form sent twice is one act."""
    when = f"form {submission}" if submission else (asked or moment).isoformat()
    digest = hashlib.sha256(json.dumps([when, data], sort_keys=True).encode()).hexdigest()[:16]
    event_id = f"{source}:{case_id}:{digest}"
    with db.connect() as conn:
        if repo.existing_events(conn, [event_id]):
            return ReplayReport(duplicates=1)  # recorded already (its instant may differ: the clock moved)
    event = {"id": event_id, "type": kind, "at": moment.isoformat(), "data": data}
    return replay(db, source, [(1, json.dumps(event, ensure_ascii=False).encode())], live=live, wait=wait,
                  on_wait=on_wait)


def record_callback(db: Engine, case_id: str, agent: str, outcome: str = "reached", note: str | None = None,
                    at: datetime | None = None, on_wait: Callable[[], None] | None = None,
                    now: datetime | None = None, live: Live | None = None,
                    wait: float | None = None) -> ReplayReport:
    """A person made the callback due on ``case_id``: recorded as a ``callback.done`` event
    (in the event log like any fact, so a replay gives the same), applied at once. A case
    with no callback due is a ``LookupError``."""
    with db.connect() as conn:
        row = conn.execute(text("SELECT order_id, customer_id FROM callbacks WHERE case_id = :c AND status = 'due'"),
                           {"c": case_id}).first()
        clock = repo.clock_and_generation(conn)[0]
    if row is None:
        raise LookupError(f"no callback is due on case {case_id!r} (see `ordercare callbacks`)")
    moment = _moment(clock, at, now, "a call")
    data: dict[str, Any] = {"case_id": case_id, "agent": agent, "outcome": outcome}
    if note:
        data["note"] = note
    data["order_id" if row[0] is not None else "customer_id"] = row[0] if row[0] is not None else row[1]
    return _record(db, "callback-done", "callback.done", case_id, moment, data, live, wait, on_wait, at)


def record_agent_action(db: Engine, case_id: str, agent: str, action: str, line_ids: list[str] | None = None,
                        address: dict[str, str] | None = None, note: str | None = None, tell_customer: bool = True,
                        at: datetime | None = None, on_wait: Callable[[], None] | None = None,
                        now: datetime | None = None, live: Live | None = None,
                        wait: float | None = None, submission: str | None = None) -> ReplayReport:
    """A person acted on ``case_id`` (a refund, a replacement, a new address...): recorded as
    an ``agent.action`` event (in the event log like any fact: a replay gives the same) and
    applied at once by the desk's own code. A case the store does not hold, a case about no
    order, or lines not of its order are refused (``LookupError``, ``ValueError``).
    ``submission``: the key of the form it came from (the console's): the same form, with the
    same content, sent again is the same act (``duplicates``), whenever it comes."""
    with db.connect() as conn:
        row = conn.execute(text("SELECT order_id FROM cases WHERE case_id = :c"), {"c": case_id}).first()
        clock = repo.clock_and_generation(conn)[0]
        order = repo.load_orders(conn, [row[0]])[0] if row is not None and row[0] is not None else None
    if row is None:
        raise LookupError(f"no case {case_id!r} (see `ordercare cases`)")
    if order is None:
        raise ValueError(f"case {case_id!r} is about no order: settle it on the phone (`ordercare callback-done`)")
    line_ids = list(dict.fromkeys(line_ids)) if line_ids else None
    unknown = [lid for lid in line_ids or () if order.line(lid) is None]
    if unknown:
        raise ValueError(f"order {order.order_id} has no line {', '.join(unknown)}")
    if action == "update_address" and not address:
        raise ValueError("update_address needs the new address")
    moment = _moment(clock, at, now, "an action")
    data: dict[str, Any] = {"case_id": case_id, "order_id": order.order_id, "agent": agent, "action": action}
    for key, value in (("line_ids", line_ids), ("address", address), ("note", note)):
        if value:
            data[key] = value
    if not tell_customer:
        data["tell_customer"] = False
    report = _record(db, "agent-action", "agent.action", case_id, moment, data, live, wait, on_wait, at,
                     submission)
    [case] = list_cases(db, case_id)
    at_us = to_us(moment)
    report.done = [a["type"] for a in case["actions"] if a["type"] not in ("agent_action", "message_customer")
                   and to_us(datetime.fromisoformat(a["at"])) == at_us]
    if action == "resolve" and case["status"] == "resolved":
        report.done.append("resolved")
    return report


def record_inspection(db: Engine, shipment_id: str, outcome: str, note: str | None = None,
                      at: datetime | None = None, now: datetime | None = None, live: Live | None = None,
                      wait: float | None = None, on_wait: Callable[[], None] | None = None) -> ReplayReport:
    """An inspector opened a parcel at the pack station (``ordercare inspected``): recorded as
    an ``inspection.completed`` event and applied at once, like one a station's system sends.
    A parcel never weighed here is refused (``LookupError``)."""
    from ordercare.fulfil import tables as ft
    with db.connect() as conn:
        weighed = ft.pack(conn, shipment_id)
        clock = repo.clock_and_generation(conn)[0]
    if weighed is None:
        raise LookupError(f"no parcel {shipment_id!r} was weighed here (see `ordercare warehouse`)")
    moment = _moment(clock, at, now, "an inspection")
    data: dict[str, Any] = {"shipment_id": shipment_id, "outcome": outcome}
    if note:
        data["note"] = note
    return _record(db, "inspection", "inspection.completed", shipment_id, moment, data, live, wait, on_wait, at)


def list_callbacks(db: Engine) -> list[dict[str, Any]]:
    """Due human callbacks, each with the customer to call and the order's dossier."""
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT cb.case_id, cb.order_id, cb.customer_id, cb.due_at, cb.rule, c.reason, c.opened_at, "
            "c.status, p.data, c.data FROM callbacks cb JOIN cases c ON c.case_id = cb.case_id "
            "LEFT JOIN parties p ON p.kind = 'customer' AND p.party_id = cb.customer_id "
            "WHERE cb.status = 'due' ORDER BY cb.due_us")).all()
    out = []
    for r in rows:
        cust = json.loads(r[8]) if r[8] else {}
        actions = json.loads(r[9])["actions"]
        booked = max((i for i, a in enumerate(actions) if a["type"] == "schedule_callback"), default=-1)
        out.append({"case_id": r[0], "order_id": r[1], "customer_id": r[2], "due_at": r[3],
                    "rule": r[4], "reason": r[5], "opened_at": r[6], "case_status": r[7],
                    # the calls tried since it was booked, with what the agent wrote down
                    "attempts": [{"at": a["at"], "agent": a.get("rule"), "note": a.get("note")}
                                 for a in actions[booked + 1:] if a["type"] == "callback_attempt"],
                    "customer": {k: cust.get(k) for k in ("name", "phone", "email", "lang")},
                    "dossier": (build_dossier(db, r[1]) if r[1] is not None
                                else orderless_dossier(db, r[2], r[0])) or {}})
    return out
