"""What ordercare tells a third-party seller, as it happens: the sellers' notices.

A notice is written in the same transaction as the decision it reports (the engine's batch,
a reinstatement), so none is lost and none is told of a decision that did not happen:

* ``request.created``: a replacement or a re-sending asked of the seller: the lines (by name),
  where to, the new ship-by and deliver-by; ``request.overdue`` when that ship-by passed with
  nothing sent, ``request.cancelled`` when there is nothing to send any more;
* ``buyer.message``: a buyer's question, masked of contact details, with the instant after
  which the platform's guarantee refunds the buyer if no answer came;
* ``guarantee.claimed``: that instant passed: the buyer was refunded, the amount is claimed
  from the seller;
* ``standing.changed``: the seller's status moved (good, at risk, suspended, reinstated),
  with the figures of that moment.

Every notice is in the seller's feed (``GET /seller/api/notices?after=SEQ``, numbered in the
order they were written: a seller reading from its last number misses nothing). A seller that
registered a webhook (``PUT /seller/api/webhook``) also has each later notice pushed to it by
``ordercare send --transport seller-webhook``, through the same outbox machinery as the
customers' messages (``notify/outbox.py``: leases, retries with backoff, at least once, never
lost when the sender is killed), signed with HMAC-SHA256 keyed by the seller's own API token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Index, Table, Text, text

from ordercare.domain.moments import offset_min, to_us
from ordercare.domain.order import request_moments, request_promise
from ordercare.notify.outbox import CHUNK, Box, Outgoing, bind_list, header_message_id
from ordercare.notify.render import format_day_hour, iso_local, render
from ordercare.notify.sender_config import SenderConfig
from ordercare.store.db import insert_many
from ordercare.store.repo import load_parties
from ordercare.store.schema import delivery_columns, metadata

REQUEST, BUYER_MESSAGE, GUARANTEE, STANDING = ("request.created", "buyer.message", "guarantee.claimed",
                                               "standing.changed")
OVERDUE, CANCELLED = "request.overdue", "request.cancelled"
FEED_ONLY = "feed"  # written while the seller had no webhook: in its feed, never pushed

seller_notices = Table(
    "seller_notices", metadata,
    Column("notice_id", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("seller_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("order_id", Text),
    Column("at", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    *delivery_columns("seller_notices", "notice_id"),
    Index("ix_seller_notices_feed", "seller_id", "seq"),
)

seller_webhooks = Table(
    "seller_webhooks", metadata,
    Column("seller_id", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("registered_at", Text, nullable=False),
    Column("registered_us", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class Notice:
    """One notice as the engine decided it (``write`` numbers it)."""

    notice_id: str
    seller_id: str
    kind: str
    order_id: str | None
    at: str
    at_us: int
    data: dict[str, Any]


# ---- what each notice says ------------------------------------------------------------------

def request_notice(seller_id: str, order: Any, request: Any, title: Any) -> Notice:
    """A request to send lines again, addressed to ``seller_id`` (``title(sku)`` names the items)."""
    tz = order.tz_min
    lines = [ln for lid in request.line_ids if (ln := order.line(lid)) is not None]
    ship_by, deliver_by = request_promise(lines, request)
    return Notice(f"{seller_id}:request:{request.request_id}", seller_id, REQUEST, order.order_id,
                  iso_local(request.at_us, tz), request.at_us, {
                      "request_id": request.request_id, "order_id": order.order_id, "kind": request.kind,
                      "lines": [{"line_id": ln.line_id, "sku": ln.sku, "title": title(ln.sku), "qty": ln.qty}
                                for ln in lines],
                      "ship_to": dict(order.address) if order.address else None,
                      "ship_by": iso_local(ship_by, tz),
                      "deliver_by": iso_local(deliver_by, tz) if deliver_by is not None else None})


def request_news(seller_id: str, order: Any, request: Any, now: int) -> list[Notice]:
    """What became of a request the seller was asked, by ``now``: overdue (its ship-by passed
    with nothing sent: send it now, the customer was told), cancelled (nothing to send any
    more: refunded, cancelled, or asked again under a new request)."""
    overdue, ended = request_moments(order, request, now)
    out = []
    base = {"request_id": request.request_id, "order_id": order.order_id, "line_ids": list(request.line_ids)}
    for kind, at in ((OVERDUE, overdue), (CANCELLED, ended)):
        if at is not None:
            out.append(Notice(f"{seller_id}:{kind}:{request.request_id}", seller_id, kind, order.order_id,
                              iso_local(at, order.tz_min), at, base))
    return out


def buyer_message_notice(seller_id: str, row: dict[str, Any], answer_by_us: int, tz_min: int) -> Notice:
    """A buyer's question as the relay keeps it (masked), and when the guarantee steps in."""
    return Notice(f"{seller_id}:message:{row['message_id']}", seller_id, BUYER_MESSAGE, row["order_id"],
                  row["at"], row["at_us"], {
                      "message_id": row["message_id"], "order_id": row["order_id"], "text": row["text"],
                      "masked": row["masked"], "answer_by": iso_local(answer_by_us, tz_min)})


def guarantee_notice(seller_id: str, order_id: str, case_id: str, line_ids: list[str], amount: float,
                     message_id: str, at_us: int, tz_min: int) -> Notice:
    return Notice(f"{seller_id}:guarantee:{case_id}", seller_id, GUARANTEE, order_id, iso_local(at_us, tz_min),
                  at_us, {"order_id": order_id, "case_id": case_id, "line_ids": line_ids, "refunded": amount,
                          "unanswered_message_id": message_id})


def standing_notices(log_rows: Iterable[dict[str, Any]]) -> list[Notice]:
    """One notice per recorded change of standing (``seller_status_log`` rows)."""
    return [Notice(f"{r['seller_id']}:standing:{r['at_us']}:{r['kind']}", r["seller_id"], STANDING, None,
                   r["at"], r["at_us"], {"status": r["status"], "previous": r.get("previous"),
                                         "reinstated": r["kind"] == "reinstatement",
                                         "case_id": r.get("case_id"), "figures": r.get("data", {})})
            for r in log_rows]


# ---- the store ---------------------------------------------------------------------------------

_COLUMNS = ("notice_id", "seq", "seller_id", "kind", "order_id", "at", "at_us", "body", "status")


def write(conn: Connection, notices: Sequence[Notice]) -> None:
    """Number the notices after every notice written before (writers hold the store's writer
    lock, so the numbers follow the commits) and store them: to be pushed when the seller has a
    webhook now, else in its feed only. A notice written before (same id) is left as it was,
    and takes no number: the numbers run without gaps."""
    fresh = {n.notice_id: n for n in notices}
    ids = list(fresh)
    for start in range(0, len(ids), CHUNK):
        marks, params = bind_list("k", ids[start:start + CHUNK])
        for (known,) in conn.execute(text(f"SELECT notice_id FROM seller_notices WHERE notice_id IN ({marks})"),
                                     params):
            del fresh[known]
    notices = list(fresh.values())
    if not notices:
        return
    last = conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM seller_notices")).scalar_one()
    marks, params = bind_list("s", sorted({n.seller_id for n in notices}))
    hooked = {r[0] for r in conn.execute(text(f"SELECT seller_id FROM seller_webhooks WHERE seller_id IN ({marks})"),
                                         params)}
    mailed = {s for s, who in load_parties(conn, "seller", {n.seller_id for n in notices} - hooked).items()
              if who.get("email")}
    insert_many(conn, "seller_notices", _COLUMNS, [
        (n.notice_id, last + i, n.seller_id, n.kind, n.order_id, n.at, n.at_us, _dump(n.data),
         "pending" if n.seller_id in hooked or n.seller_id in mailed else FEED_ONLY)
        for i, n in enumerate(notices, 1)], conflict="notice_id")


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def envelope(notice_id: str, seq: int, seller_id: str, kind: str, order_id: str | None, at: str,
             body: str) -> dict[str, Any]:
    """A notice as the feed lists it and the webhook receives it."""
    return {"id": notice_id, "seq": seq, "type": kind, "seller_id": seller_id, "order_id": order_id, "at": at,
            "data": json.loads(body)}


_READ = "SELECT notice_id, seq, seller_id, kind, order_id, at, body, status, attempts, last_error FROM seller_notices"


def feed(conn: Connection, seller_id: str, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    """The seller's notices numbered after ``after``, oldest first, with how each push went."""
    rows = conn.execute(text(f"{_READ} WHERE seller_id = :s AND seq > :a ORDER BY seq LIMIT :n"),
                        {"s": seller_id, "a": after, "n": limit}).all()
    return [{**envelope(*r[:7]), "delivery": _delivery(r[7], r[8], r[9])} for r in rows]


def counts(conn: Connection) -> dict[str, int]:
    """How many notices of each type were told, to all sellers."""
    return {kind: int(n) for kind, n in conn.execute(text(
        "SELECT kind, COUNT(*) FROM seller_notices GROUP BY kind ORDER BY kind")).all()}


def _delivery(status: str, attempts: int, error: str | None) -> dict[str, Any]:
    if status == FEED_ONLY:
        return {"status": "not_pushed"}
    return {"status": status, "attempts": attempts, "last_error": error}


# ---- webhooks ------------------------------------------------------------------------------------

def webhook(conn: Connection, seller_id: str) -> dict[str, Any] | None:
    row = conn.execute(text("SELECT url, registered_at FROM seller_webhooks WHERE seller_id = :s"),
                       {"s": seller_id}).first()
    if row is None:
        return None
    counts: dict[str, int] = dict(conn.execute(text(
        "SELECT status, COUNT(*) FROM seller_notices WHERE seller_id = :s AND status <> :f GROUP BY status"),
        {"s": seller_id, "f": FEED_ONLY}).all())
    failing = conn.execute(text(
        "SELECT notice_id, last_error FROM seller_notices WHERE seller_id = :s AND last_error IS NOT NULL "
        "AND status <> 'sent' ORDER BY seq DESC LIMIT 1"), {"s": seller_id}).first()
    return {"url": row[0], "registered_at": row[1],
            "notices": {k: int(counts.get(k, 0)) for k in ("pending", "sent", "dead")},
            "last_error": {"notice_id": failing[0], "error": failing[1]} if failing else None}


def set_webhook(conn: Connection, seller_id: str, url: str, at: str, at_us: int) -> None:
    """Push the seller's notices to ``url`` from now on (a new URL takes over the pending ones)."""
    insert_many(conn, "seller_webhooks", ("seller_id", "url", "registered_at", "registered_us"),
                [(seller_id, url, at, at_us)], conflict="seller_id", update=("url", "registered_at", "registered_us"))


def drop_webhook(conn: Connection, seller_id: str) -> bool:
    """Stop pushing: what was still waiting stays in the feed, not pushed."""
    gone = conn.execute(text("DELETE FROM seller_webhooks WHERE seller_id = :s"), {"s": seller_id}).rowcount
    conn.execute(text("UPDATE seller_notices SET status = :f, claimed_by = NULL, claimed_until_us = NULL "
                      "WHERE seller_id = :s AND status = 'pending'"), {"f": FEED_ONLY, "s": seller_id})
    return bool(gone)


# ---- the outbox box ------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutgoingNotice:
    """A claimed notice, ready for the seller's webhook."""

    key: str
    seller_id: str
    url: str
    body: bytes
    attempts: int


def _load(conn: Connection, keys: list[str], config: SenderConfig) -> list[OutgoingNotice]:
    out = []
    for start in range(0, len(keys), CHUNK):
        marks, params = bind_list("k", keys[start:start + CHUNK])
        rows = conn.execute(text(
            "SELECT n.notice_id, n.seq, n.seller_id, n.kind, n.order_id, n.at, n.body, n.attempts, w.url,"
            " COALESCE(n.next_attempt_us, n.at_us) FROM seller_notices n"
            f" JOIN seller_webhooks w ON w.seller_id = n.seller_id WHERE n.notice_id IN ({marks})"), params).all()
        out += [(r[9], r[1], OutgoingNotice(r[0], r[2], r[8], _dump(envelope(*r[:7])).encode(), r[7]))
                for r in rows]
    out.sort(key=lambda x: (x[0], x[1]))
    return [n for _, _, n in out]


SELLER_NOTICES = Box("seller_notices", "notice_id", _load,
                     scope="seller_id IN (SELECT seller_id FROM seller_webhooks)")


# ---- e-mail, for a seller with no webhook ---------------------------------------------------------

def _load_mails(conn: Connection, keys: list[str], config: SenderConfig) -> list[Outgoing]:
    """Claimed notices as e-mails to their sellers (``seller.registered`` ``email``, in its
    ``lang``): a subject and a text saying what the notice says, in words."""
    rows: list[Any] = []
    for start in range(0, len(keys), CHUNK):
        marks, params = bind_list("k", keys[start:start + CHUNK])
        rows += conn.execute(text(
            "SELECT notice_id, seller_id, kind, order_id, at, body, attempts, COALESCE(next_attempt_us, at_us), seq"
            f" FROM seller_notices WHERE notice_id IN ({marks})"), params).all()
    rows.sort(key=lambda r: (r[7], r[8]))
    who = load_parties(conn, "seller", {r[1] for r in rows})
    out = []
    for notice_id, seller_id, kind, order_id, at, body, attempts, _due, _seq in rows:
        seller = who.get(seller_id, {})
        lang = seller.get("lang") or "en"
        data = json.loads(body)
        when = {k: format_day_hour(to_us(moment), offset_min(moment), lang)  # (in the order's local time)
                for k in ("ship_by", "deliver_by", "answer_by")
                if isinstance(data.get(k), str) and (moment := datetime.fromisoformat(data[k]))}
        subject, said = render(lang, "seller_notice", kind=kind, data=data, when=when, order_id=order_id,
                               name=seller.get("name") or seller_id)
        out.append(Outgoing(
            message_id=notice_id, header_id=header_message_id(notice_id, config.message_id_domain),
            customer_id=seller_id, order_id=order_id, case_id=None, kind=kind, channel="email", lang=lang, at=at,
            subject=subject, text=said, to_email=seller.get("email"), to_name=seller.get("name"), in_reply_to=None,
            references=(), attempts=attempts))
    return out


SELLER_MAILS = Box("seller_notices", "notice_id", _load_mails,
                   scope="seller_id NOT IN (SELECT seller_id FROM seller_webhooks)")
