"""Seller health service functions: what ``ordercare sellers`` and ``ordercare seller ID`` call.

Reads rebuild the sellers' books from their stored facts and answer *as of* any instant
(default: the engine clock): the metrics count only what was known and due then, and the
status is the one the platform held then — a suspension recorded at or before that instant
stands unless a reinstatement followed it; after a reinstatement, what it forgave no
longer counts (``status.forgive``). Reinstating is a recorded decision: who, when, why.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from ordercare.domain.moments import to_us
from ordercare.domain.order import DAY_US
from ordercare.sellers import tables
from ordercare.sellers.metrics import FactConflict, SellerBook, SellerMetrics
from ordercare.sellers.standing import Standing, apply_fact, figures, judge, seller_case_row
from ordercare.sellers.status import SellerStatus, against, contract_row, hold
from ordercare.store import repo
from ordercare.store.lock import writer


class UnknownSeller(LookupError):
    """No fact and no standing recorded for this seller id."""


class NotSuspended(ValueError):
    """Only a suspended seller can be reinstated."""


def build_book(conn: Connection, sellers: list[str] | None = None,
               at_us: int | None = None) -> SellerBook:
    """The sellers' books, rebuilt from their stored facts (those that may still count in a
    window ending at or after ``at_us``; all of them when None)."""
    book = SellerBook()
    since = None if at_us is None else tables.horizon(at_us, book.policy.longest_window_days)
    for seller, facts in tables.load_facts(conn, sellers, since).items():
        for f in facts:
            try:
                apply_fact(book, seller, f)
            except FactConflict:
                continue  # the capability refused it too (and counted it)
    return book


def _at_us(conn: Connection, at: datetime | None) -> int | None:
    return to_us(at) if at is not None else repo.clock(conn)


def _held(log: list[dict[str, Any]], at_us: int) -> tuple[dict[str, Any] | None,
                                                          dict[str, Any] | None, bool]:
    """(the suspension standing at ``at_us``, the reinstatement in force, whether the last
    change recorded by then put the seller at risk), from the log."""
    suspension = reinstatement = None
    at_risk = False
    for row in log:  # ordered by (at_us, kind): a reinstatement before a same-instant review
        if row["at_us"] > at_us:
            break
        if row["kind"] == "reinstatement":
            reinstatement, suspension = row, None
        elif row["status"] == "suspended":
            suspension = row
        at_risk = row["status"] == "at_risk"
    return suspension, reinstatement, at_risk


def assess_at(book: SellerBook, seller: str, at_us: int, log: list[dict[str, Any]]
              ) -> tuple[SellerMetrics, SellerStatus, dict[str, Any] | None, dict[str, Any] | None]:
    """Metrics and status as of ``at_us``, with the suspension and reinstatement then.

    The metrics put a seller at risk or suspend it at once; a seller the log holds at risk
    stays so, whatever the metrics say, until a review records its recovery (hysteresis,
    ``policy.recovery``), and is shown with what it still has to recover."""
    suspension, reinstatement, at_risk = _held(log, at_us)
    forgiven = reinstatement["data"]["forgiven"] if reinstatement else None
    metrics, status = judge(book, seller, at_us, forgiven)
    if suspension is not None:
        status = replace(status, state="suspended")
    elif at_risk:
        status = hold(status, metrics, book.policy, forgiven)
    return metrics, status, suspension, reinstatement


def _masked(conn: Connection, at_us: int) -> dict[str, dict[str, int]]:
    """Per seller, contact details masked in their threads up to ``at_us``, by sender."""
    out: dict[str, dict[str, int]] = {}
    rows = conn.execute(text("SELECT seller_ids, sender, masked FROM buyer_seller_messages "
                             "WHERE masked > 0 AND at_us <= :at"), {"at": at_us})
    for seller_ids, sender, masked in rows:
        for seller in json.loads(seller_ids):
            counts = out.setdefault(seller, {"from_seller": 0, "from_buyer": 0})
            counts["from_seller" if sender == "seller" else "from_buyer"] += masked
    return out


def list_sellers(db: Engine, at: datetime | None = None) -> list[dict[str, Any]]:
    """``ordercare sellers --json``: the contract's fields first, then the other metrics."""
    with db.connect() as conn:
        at_us = _at_us(conn, at)
        if at_us is None:
            return []
        book = build_book(conn, at_us=at_us)
        logs: dict[str, list[dict[str, Any]]] = {}
        for row in tables.load_log(conn):
            logs.setdefault(row["seller_id"], []).append(row)
        sellers = sorted(set(book.sellers()) | set(tables.load_standing(conn)))
        flagged: dict[str, int] = {}
        for flag in tables.load_flags(conn, until_us=at_us):
            flagged[flag["seller_id"]] = flagged.get(flag["seller_id"], 0) + 1
        masked = _masked(conn, at_us)
    out = []
    for seller in sellers:
        metrics, status, _susp, rein = assess_at(book, seller, at_us, logs.get(seller, []))
        row = contract_row(metrics, status)
        for value in metrics.values:
            row.setdefault(value.name, value.rate)
        row["at"] = repo.iso(at_us, 0)
        row["reasons"] = status.texts
        row["flagged_orders"] = flagged.get(seller, 0)
        row["masked_contact_details"] = masked.get(seller, {}).get("from_seller", 0)
        row["reinstated_at"] = rein["at"] if rein else None
        out.append(row)
    return out


def is_registered(db: Engine, seller_id: str) -> bool:
    with db.connect() as conn:
        return repo.load_party(conn, "seller", seller_id) is not None


def seller_detail(db: Engine, seller_id: str, at: datetime | None = None) -> dict[str, Any]:
    """``ordercare seller ID``: each metric with its window, counts and the orders behind it."""
    with db.connect() as conn:
        at_us = _at_us(conn, at)
        book = build_book(conn, [seller_id], at_us)
        standing = tables.load_standing(conn, [seller_id]).get(seller_id)
        if seller_id not in book.sellers() and standing is None:
            raise UnknownSeller(f"no seller {seller_id!r} in this store "
                                "(`ordercare sellers` lists them)")
        log = tables.load_log(conn, seller_id)
        flags = tables.load_flags(conn, seller_id, at_us)
        relay = [m for m in tables.messages_of(conn, seller_id)
                 if at_us is None or m["at_us"] <= at_us]
        party = repo.load_party(conn, "seller", seller_id) or {}
    if at_us is None:
        at_us = 0
    metrics, status, suspension, rein = assess_at(book, seller_id, at_us, log)
    return {
        "seller_id": seller_id,
        "name": party.get("name"),
        "at": repo.iso(at_us, 0),
        "status": status.state,
        "suspended_since": suspension["at"] if suspension else None,
        "reasons": status.texts,
        "metrics": [_metric(v, at_us) for v in metrics.values],
        "masked_contact_details": {
            "from_seller": sum(m["masked"] for m in relay if m["sender"] == "seller"),
            "from_buyer": sum(m["masked"] for m in relay if m["sender"] == "buyer"),
        },
        "messages": {
            "from_buyer": sum(1 for m in relay if m["sender"] == "buyer"),
            "from_seller": sum(1 for m in relay if m["sender"] == "seller"),
            "taken_over_by_guarantee": [
                {"message_id": m["message_id"], "order_id": m["order_id"], "case_id": m["case_id"]}
                for m in relay if m["case_id"]],
        },
        "flagged_orders": [{"order_id": f["order_id"], "at": f["at"], "line_ids": f["line_ids"]}
                           for f in flags],
        "reinstatement": None if rein is None else
        {"at": rein["at"], "by": rein["by"], "note": rein["note"]},
        "history": [{"at": r["at"], "kind": r["kind"], "status": r["status"],
                     "previous": r["previous"], "case_id": r["case_id"], "by": r["by"],
                     "note": r["note"], "reasons": r["data"].get("reasons", [])}
                    for r in log if r["at_us"] <= at_us],
    }


def _metric(value: Any, at_us: int) -> dict[str, Any]:
    rule = value.rule
    return {"metric": value.name, "measure": rule.measure, "window_days": rule.window_days,
            "window": {"from": repo.iso(at_us - rule.window_days * DAY_US, 0),
                       "to": repo.iso(at_us, 0)},
            "numerator": value.numerator, "denominator": value.denominator,
            "rate": value.rate, "target": rule.target_text(), "meets_target": value.meets_target,
            "order_ids": list(value.order_ids)}


def reinstate(db: Engine, seller_id: str, note: str, by: str,
              at: datetime | None = None) -> dict[str, Any]:
    """Record the decision to reinstate a suspended seller (default: at the engine clock).

    What counts against the seller at that instant is forgiven; the status is ``good``
    until something new goes wrong. The open suspension case is resolved.
    """
    with writer(db), db.begin() as conn:  # not while an engine pass holds this seller's standing
        at_us = _at_us(conn, at) or 0
        row = tables.load_standing(conn, [seller_id]).get(seller_id)
        if row is None:
            raise UnknownSeller(f"no seller {seller_id!r} in this store")
        st = Standing.from_row(*row)
        if st.status != "suspended":
            raise NotSuspended(f"seller {seller_id!r} is {st.status}, not suspended: "
                               "there is nothing to reinstate")
        book = build_book(conn, [seller_id], at_us)
        metrics, status = judge(book, seller_id, at_us, None)
        forgiven = against(metrics)
        decision = {"at": repo.iso(at_us, 0), "by": by, "note": note}
        case_id = None
        if st.case is not None:
            st.case.status, st.case.resolved_us = "resolved", at_us
            case_id = st.case.id
            repo.write_cases(conn, [seller_case_row(st.case,
                                                    {**st.case_figures, "reinstatement": decision})])
        st.status, st.since_us, st.reinstated_us = "good", at_us, at_us
        st.forgiven, st.case, st.case_figures = forgiven, None, {}
        tables.write_standing(conn, [(seller_id, st.status, st.since_us, st.data())])
        tables.write_log(conn, [{
            "seller_id": seller_id, "at_us": at_us, "kind": "reinstatement", "at": decision["at"],
            "status": "good", "previous": "suspended", "case_id": case_id, "by": by, "note": note,
            "data": {**figures(metrics, status), "forgiven": forgiven}}])
        repo.new_generation(conn, repo.generation(conn))  # a session kept by a running `watch` or `serve` must reload
    return {"seller_id": seller_id, "status": "good", "reinstated": decision,
            "resolved_case": case_id, "forgiven": forgiven}
