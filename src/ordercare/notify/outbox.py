"""The outbox sender: delivers the messages the engine wrote, at least once, each under a
stable Message-ID.

The engine writes every customer message into ``messages`` in the same transaction as the
state change that caused it (the outbox). This module takes them out again:

1. **claim** a batch of due messages in one short transaction: write this sender's name and a
   lease end (``claimed_by``, ``claimed_until_us``). On PostgreSQL the rows are picked
   ``FOR UPDATE SKIP LOCKED``; SQLite serialises writers, so the single ``UPDATE`` is atomic.
   Until the lease ends no other sender takes those messages.
2. **deliver** them one at a time, and after each one **record the outcome in its own
   transaction**: ``sent``; or failed, to be retried after an exponential backoff; or
   ``dead`` after ``max_attempts``. A message is never deleted.

So a sender killed at any instant has recorded every message the receiver acknowledged except,
at most, the single one it was delivering. That one is still ``pending`` and is delivered
again, with the same Message-ID (derived from ``message_id`` only) and the same bytes, so
the receiving MTA or webhook consumer can drop the repeat. Nothing else repeats, nothing is
lost. ``docs/notify.md`` tells the whole story; ``tests/integration/test_outbox_kill.py``
proves it with SIGKILL.

Time is explicit: ``now`` decides what is due and when a retry comes. Only the lease, which
is about how long a live process may hold rows, also counts the real seconds spent sending
(``time.monotonic``), and a batch stops once half the lease is used.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text

from ordercare.domain.moments import to_us
from ordercare.notify.sender_config import RetryPolicy, SenderConfig

PENDING, SENT, DEAD = "pending", "sent", "dead"
CHUNK = 500
ERROR_CHARS = 1000

# RFC 5322 ``atext``: what may stand in the left part of a Message-ID (minus '%', our escape).
_ATEXT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                   "!#$&'*+-/=?^_`{|}~.")


# ---- what a transport is handed, and what it may raise --------------------------------------

@dataclass(frozen=True)
class Outgoing:
    """One message ready for a transport: the stored row plus its address and thread."""

    message_id: str
    header_id: str                 # "<message_id@domain>": the same on every attempt
    customer_id: str
    order_id: str | None
    case_id: str | None
    kind: str
    channel: str
    lang: str
    at: str                        # when the engine wrote it (ISO, customer's offset)
    subject: str
    text: str
    to_email: str | None
    to_name: str | None
    in_reply_to: str | None        # Message-ID of the first message of the same case
    references: tuple[str, ...]
    attempts: int                  # attempts recorded before this one

    @property
    def key(self) -> str:
        return self.message_id


class Item(Protocol):
    """What a box hands a transport: anything with its key and the attempts made so far."""

    @property
    def key(self) -> str: ...

    @property
    def attempts(self) -> int: ...


@dataclass(frozen=True)
class Box:
    """One outbox table. Every box has the same delivery columns (``status``, ``at_us``,
    ``attempts``, ``sent_at``, ``next_attempt_us``, ``last_error``, ``claimed_by``,
    ``claimed_until_us``) and a text key; ``scope`` narrows what is deliverable (an SQL
    condition on the row), ``load`` reads the claimed rows as the items a transport takes.
    The customer messages are one box (``MESSAGES``), the sellers' notices another
    (``ordercare.sellers.notices``): one claiming, leasing and retrying for both."""

    table: str
    key: str
    load: Callable[[Connection, list[str], SenderConfig], Sequence[Item]]
    scope: str = ""


class DeliveryError(Exception):
    """The receiver refused or failed this message: it is retried after a backoff."""


class TransportDown(Exception):
    """The transport cannot be reached at all (connection refused, DNS, TLS): the batch is
    handed back untouched, no attempt is counted, the next run tries again."""


class Transport(Protocol):
    """SMTP or webhook (``ordercare.notify.transports``); a context holds a connection."""

    name: str
    channels: tuple[str, ...] | None   # channels it can carry; None: all of them
    box: Box                           # the outbox it drains

    def __enter__(self) -> Transport: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def deliver(self, message: Any) -> None:
        """Return once the receiver has accepted ``message`` (an item of its box); raise
        otherwise."""


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0        # failed this run, retried later
    dead: int = 0          # failed for the last allowed time this run
    deferred: int = 0      # still pending after this run (not yet due, backing off, claimed)
    errors: list[str] = field(default_factory=list)
    transport_error: str | None = None

    def summary(self) -> str:
        text_ = (f"sent {self.sent}, failed {self.failed} (will retry), dead {self.dead}, "
                 f"deferred {self.deferred}")
        if self.transport_error:
            text_ += f"; transport unavailable: {self.transport_error}"
        return text_

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "dead": self.dead,
                "deferred": self.deferred, "errors": self.errors,
                "transport_error": self.transport_error}


# ---- pure rules ------------------------------------------------------------------------------

def header_message_id(message_id: str, domain: str) -> str:
    """The RFC 5322 Message-ID of a message: a function of its id alone, so every attempt
    carries the same one. Characters outside ``atext`` are %-escaped (injectively)."""
    left = "".join(c if c in _ATEXT else "".join(f"%{b:02X}" for b in c.encode())
                   for c in message_id)
    # a dot-atom: no dot at either end, never two in a row (escaped, not dropped: injective)
    if left.startswith("."):
        left = "%2E" + left[1:]
    if left.endswith("."):
        left = left[:-1] + "%2E"
    left = left.replace("..", ".%2E") or "%00"
    return f"<{left}@{domain}>"


def backoff_seconds(attempts: int, policy: RetryPolicy) -> float:
    """Wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base ... capped."""
    if attempts < 1:
        return 0.0
    grown = policy.base_backoff_seconds * 2 ** min(attempts - 1, 60)
    return float(min(policy.backoff_cap_seconds, grown))


def after_failure(attempts: int, now_us: int, policy: RetryPolicy) -> tuple[str, int]:
    """(status, next attempt) once a message has failed ``attempts`` times in all, at ``now``."""
    next_us = now_us + int(backoff_seconds(attempts, policy) * 1_000_000)
    return (DEAD if attempts >= policy.max_attempts else PENDING), next_us


def default_worker() -> str:
    """A sender's name in ``claimed_by``: host and pid, unique among live senders."""
    return f"{socket.gethostname()}:{os.getpid()}"


# ---- the store -------------------------------------------------------------------------------

def bind_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``:p0, :p1, ...`` for an SQL ``IN (...)`` and the parameters they bind."""
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{k}" for k in params), params


def claim(conn: Connection, worker: str, now_us: int, lease_until_us: int, limit: int,
          channels: Sequence[str] | None = None, lease_now_us: int | None = None,
          box: Box | None = None) -> list[str]:
    """Lease up to ``limit`` due items of ``box`` (default: the customer messages) to
    ``worker``; return their keys.

    Due: pending, in the box's scope, its retry time (else its own ``at``) at or before
    ``now_us``, and not leased to anyone at ``lease_now_us`` (default ``now_us``). Call it as
    the first statement of its transaction, so that SQLite takes the write lock before it reads.
    """
    box = box or MESSAGES
    params: dict[str, Any] = {"w": worker, "until": lease_until_us, "now": now_us,
                              "lnow": now_us if lease_now_us is None else lease_now_us, "n": limit}
    only = f" AND ({box.scope})" if box.scope else ""
    if channels is not None:
        marks, more = bind_list("c", list(channels))
        only, params = only + f" AND channel IN ({marks})", {**params, **more}
    lock = " FOR UPDATE SKIP LOCKED" if conn.dialect.name == "postgresql" else ""
    t, k = box.table, box.key
    sql = (
        f"UPDATE {t} SET claimed_by = :w, claimed_until_us = :until WHERE {k} IN ("
        f" SELECT {k} FROM {t} WHERE status = 'pending'"
        " AND COALESCE(next_attempt_us, at_us) <= :now"
        " AND (claimed_until_us IS NULL OR claimed_until_us <= :lnow)" + only +
        f" ORDER BY COALESCE(next_attempt_us, at_us), {k} LIMIT :n" + lock +
        f") RETURNING {k}")
    return [r[0] for r in conn.execute(text(sql), params)]


def load_outgoing(conn: Connection, ids: Iterable[str], domain: str) -> list[Outgoing]:
    """The claimed rows with the customer's address and the case's first Message-ID, in the
    order they fell due."""
    rows: list[Any] = []
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        marks, params = bind_list("k", ids[start:start + CHUNK])
        rows += conn.execute(text(
            "SELECT m.message_id, m.customer_id, m.order_id, m.case_id, m.kind, m.channel, m.lang,"
            " m.at, m.subject, m.text, m.attempts, p.data, COALESCE(m.next_attempt_us, m.at_us)"
            " FROM messages m LEFT JOIN parties p"
            " ON p.kind = 'customer' AND p.party_id = m.customer_id"
            f" WHERE m.message_id IN ({marks})"), params).all()
    rows.sort(key=lambda r: (r[12], r[0]))
    first = first_of_cases(conn, {r[3] for r in rows if r[3]})
    out = []
    for r in rows:
        party = json.loads(r[11]) if r[11] else {}
        head = first.get(r[3]) if r[3] else None
        parent = header_message_id(head, domain) if head and head != r[0] else None
        out.append(Outgoing(
            message_id=r[0], header_id=header_message_id(r[0], domain), customer_id=r[1],
            order_id=r[2], case_id=r[3], kind=r[4], channel=r[5], lang=r[6], at=r[7], subject=r[8],
            text=r[9], to_email=party.get("email") or None, to_name=party.get("name") or None,
            in_reply_to=parent, references=(parent,) if parent else (), attempts=r[10]))
    return out


def first_of_cases(conn: Connection, case_ids: Iterable[str]) -> dict[str, str]:
    """The first message (by ``at``, then id) of each case: the root its thread replies to."""
    first: dict[str, str] = {}
    cases = sorted(case_ids)
    for start in range(0, len(cases), CHUNK):
        marks, params = bind_list("k", cases[start:start + CHUNK])
        for case_id, message_id in conn.execute(text(
                f"SELECT case_id, message_id FROM messages WHERE case_id IN ({marks})"
                " ORDER BY case_id, at_us, message_id"), params):
            first.setdefault(case_id, message_id)
    return first


MESSAGES = Box("messages", "message_id", lambda conn, ids, config: load_outgoing(conn, ids, config.message_id_domain))


def mark_sent(db: Engine, key: str, now: datetime, box: Box | None = None) -> bool:
    """Record that the receiver accepted the item ``key`` (its own transaction)."""
    box = box or MESSAGES
    with db.begin() as conn:
        done = conn.execute(text(
            f"UPDATE {box.table} SET status = 'sent', sent_at = :at, attempts = attempts + 1,"
            " claimed_by = NULL, claimed_until_us = NULL"
            f" WHERE {box.key} = :id AND status = 'pending'"),
            {"at": now.isoformat(), "id": key})
    return bool(done.rowcount)


def mark_failed(db: Engine, message: Item, now_us: int, error: str, policy: RetryPolicy,
                box: Box | None = None) -> str:
    """Record a failed attempt: retry after the backoff, or ``dead`` at ``max_attempts``."""
    box = box or MESSAGES
    attempts = message.attempts + 1
    status, next_us = after_failure(attempts, now_us, policy)
    with db.begin() as conn:
        conn.execute(text(
            f"UPDATE {box.table} SET status = :s, attempts = :a, next_attempt_us = :next,"
            " last_error = :err, claimed_by = NULL, claimed_until_us = NULL"
            f" WHERE {box.key} = :id AND status = 'pending' AND attempts = :before"),
            {"s": status, "a": attempts, "next": next_us, "err": error[:ERROR_CHARS],
             "id": message.key, "before": message.attempts})
    return status


def release(db: Engine, keys: Iterable[str], worker: str, box: Box | None = None) -> None:
    """Hand claimed but undelivered items back before their lease ends."""
    box = box or MESSAGES
    ids = list(keys)
    with db.begin() as conn:
        for start in range(0, len(ids), CHUNK):
            marks, params = bind_list("k", ids[start:start + CHUNK])
            conn.execute(text(
                f"UPDATE {box.table} SET claimed_by = NULL, claimed_until_us = NULL"
                f" WHERE claimed_by = :w AND status = 'pending' AND {box.key} IN ({marks})"),
                {"w": worker, **params})


def release_worker(db: Engine, worker: str, box: Box | None = None) -> int:
    """A restarted sender frees what its killed predecessor of the same name still held.

    Only safe when no other live process runs under ``worker``: the CLI does it at start
    for an explicit ``--worker`` name.
    """
    box = box or MESSAGES
    with db.begin() as conn:
        done = conn.execute(text(
            f"UPDATE {box.table} SET claimed_by = NULL, claimed_until_us = NULL"
            " WHERE claimed_by = :w AND status = 'pending'"), {"w": worker})
    return int(done.rowcount)


def requeue_dead(db: Engine, now: datetime, message_ids: Iterable[str] | None = None,
                 box: Box | None = None, where: tuple[str, dict[str, Any]] | None = None) -> int:
    """Give dead items a fresh set of attempts, due at ``now`` (after fixing the cause): all
    of them, those of ``message_ids``, or those matching ``where`` (SQL, parameters)."""
    box = box or MESSAGES
    sql = (f"UPDATE {box.table} SET status = 'pending', attempts = 0, next_attempt_us = :now,"
           " claimed_by = NULL, claimed_until_us = NULL WHERE status = 'dead'")
    params: dict[str, Any] = {"now": to_us(now)}
    if where is not None:
        sql, params = f"{sql} AND ({where[0]})", {**params, **where[1]}
    if message_ids is not None:
        marks, more = bind_list("k", list(message_ids))
        if not more:
            return 0
        sql, params = sql + f" AND {box.key} IN ({marks})", {**params, **more}
    with db.begin() as conn:
        return int(conn.execute(text(sql), params).rowcount)


def count_pending(db: Engine, channels: Sequence[str] | None = None, box: Box | None = None) -> int:
    box = box or MESSAGES
    sql = f"SELECT COUNT(*) FROM {box.table} WHERE status = 'pending'"
    if box.scope:
        sql += f" AND ({box.scope})"
    params: dict[str, Any] = {}
    if channels is not None:
        marks, params = bind_list("c", list(channels))
        sql += f" AND channel IN ({marks})"
    with db.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


# ---- the service ------------------------------------------------------------------------------

def send_due(db: Engine, now: datetime, transport: Transport, config: SenderConfig,
             worker: str | None = None) -> SendReport:
    """Deliver every item of the transport's box due at ``now``; report what happened.

    Safe to run in several processes at once (leases), and to kill at any instant (see the
    module docstring). Calling it again at the same ``now`` sends nothing new.
    """
    worker = worker or default_worker()
    now_us = to_us(now)
    lease_us = int(config.lease_seconds * 1_000_000)
    started = time.monotonic()
    report = SendReport()
    box = transport.box
    with transport:
        while report.transport_error is None:
            lease_now = now_us + int((time.monotonic() - started) * 1_000_000)
            with db.begin() as conn:
                ids = claim(conn, worker, now_us, lease_now + lease_us, config.batch_size,
                            transport.channels, lease_now_us=lease_now, box=box)
            if not ids:
                break
            with db.connect() as conn:
                batch = box.load(conn, ids, config)
            _deliver_batch(db, batch, transport, config, worker, now, report)
    report.deferred = count_pending(db, transport.channels, box)
    return report


def _deliver_batch(db: Engine, batch: Sequence[Item], transport: Transport, config: SenderConfig,
                   worker: str, now: datetime, report: SendReport) -> None:
    """One item at a time, each outcome committed before the next one starts."""
    box = transport.box
    held = {m.key for m in batch}
    deadline = time.monotonic() + config.lease_seconds / 2
    try:
        for message in batch:
            if time.monotonic() > deadline:
                break  # the rest goes back; the next claim takes it under a fresh lease
            try:
                try:
                    transport.deliver(message)
                except (DeliveryError, TransportDown):
                    raise
                except Exception as exc:  # noqa: BLE001 (one message's surprise must not stop the queue)
                    # Anything else one message brings up (a receiver answering nonsense) is
                    # a failed attempt of that message: counted, retried, and dead in the end,
                    # instead of stopping the sender on it at every run, ahead of the others.
                    raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
            except DeliveryError as exc:
                error = f"attempt {message.attempts + 1} via {transport.name}: {exc}"
                status = mark_failed(db, message, to_us(now), error, config.retry, box)
                report.dead += status == DEAD
                report.failed += status != DEAD
                report.errors.append(f"{message.key}: {exc}")
            else:
                mark_sent(db, message.key, now, box)
                report.sent += 1
            held.discard(message.key)
    except TransportDown as exc:
        report.transport_error = str(exc)
    finally:
        release(db, held, worker, box)
