"""A seller's standing as recorded by the platform, and the pure steps shared by the
running capability (``capability.py``) and the seller commands (``service.py``): replaying a
stored fact into the book, judging a seller at an instant, the figures kept with a decision."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ordercare.domain.cases import Case
from ordercare.sellers.metrics import SellerBook, SellerMetrics
from ordercare.sellers.status import SellerStatus, assess, forgive
from ordercare.sellers.tables import BUYER, CANCEL, DEFECT, DELIVERED, ORDER, REMOVED, REPLY, SCAN, SHIPPED, Fact
from ordercare.store import repo


@dataclass
class Standing:
    """What the platform has recorded about a seller (``seller_standing``)."""

    status: str = "good"
    since_us: int | None = None
    reinstated_us: int | None = None
    forgiven: dict[str, list[str]] = field(default_factory=dict)
    case: Case | None = None  # the open seller_performance case
    case_figures: dict[str, Any] = field(default_factory=dict)
    cases: int = 0
    last_warning: Case | None = None  # the latest warning case, once resolved
    #: At risk: the first review of the run of reviews that found every metric within its
    #: recovery bar (None: the last review did not); the seller is good again ``recovery.days``
    #: after it (``status.recovered``).
    within_bars_us: int | None = None

    def data(self) -> dict[str, Any]:
        return {"reinstated_us": self.reinstated_us, "forgiven": self.forgiven,
                "case": msgspec.to_builtins(self.case) if self.case else None,
                "case_figures": self.case_figures, "cases": self.cases,
                "last_warning": msgspec.to_builtins(self.last_warning) if self.last_warning else None,
                "within_bars_us": self.within_bars_us}

    @classmethod
    def from_row(cls, status: str, since_us: int | None, data: dict[str, Any]) -> Standing:
        return cls(status, since_us, data.get("reinstated_us"), data.get("forgiven") or {},
                   _seller_case(data.get("case")), data.get("case_figures") or {}, data.get("cases", 0),
                   _seller_case(data.get("last_warning")), data.get("within_bars_us"))


def _seller_case(stored: dict[str, Any] | None) -> Case | None:
    """A stored seller case: it belongs to no order (order_id null)."""
    if not stored:
        return None
    return msgspec.convert({**stored, "order_id": None}, Case)


def apply_fact(book: SellerBook, seller: str, f: Fact) -> None:
    """Record one stored fact in ``book`` (the book is a function of its set of facts)."""
    kind = f[0]
    if kind == ORDER:
        book.record_order(seller, f[1], f[2], ship_by=f[3], deliver_by=f[4])
    elif kind == SHIPPED:
        book.record_shipped(seller, f[1], f[2], f[3])
    elif kind == SCAN:
        book.record_scan(seller, f[1], f[2])
    elif kind == DELIVERED:
        book.record_delivered(seller, f[1], f[2])
    elif kind == CANCEL:
        book.record_cancel(seller, f[1], f[2], by_seller=f[3], partial=f[4])
    elif kind == DEFECT:
        book.record_defect(seller, f[1], f[2], f[3])
    elif kind == BUYER:
        book.record_buyer_message(seller, f[1], f[2], f[3])
    elif kind == REPLY:  # (a fifth item: contact details masked; a "no reply needed" mark has
        # None and a sixth, the marked message's time; facts stored before the count was kept
        # are messages with nothing masked)
        book.record_seller_reply(seller, f[1], f[2], f[3], f[4] if len(f) > 4 else 0,
                                 f[5] if len(f) > 5 else None)
    elif kind == REMOVED:
        book.remove_defect(seller, f[1], f[3])


def judge(book: SellerBook, seller: str, at_us: int,
          forgiven: dict[str, list[str]] | None) -> tuple[SellerMetrics, SellerStatus]:
    """The metrics as of ``at_us`` and the status they give, after any reinstatement."""
    metrics = book.metrics(seller, at_us)
    return metrics, forgive(assess(metrics, book.policy), forgiven or {})


def figures(metrics: SellerMetrics, status: SellerStatus) -> dict[str, Any]:
    """The numbers behind a status, as stored with a case or a log row."""
    return {"status": status.state, "reasons": status.texts,
            "metrics": {v.name: {"numerator": v.numerator, "denominator": v.denominator,
                                 "rate": v.rate, "window_days": v.rule.window_days,
                                 "order_ids": list(v.order_ids)} for v in metrics.values}}


def seller_case_row(case: Case, figs: dict[str, Any]) -> tuple[Any, ...]:
    """A seller case's row: the figures of the moment go with it, in its data."""
    row = repo.case_row(case, 0)
    data = json.loads(row[-1])
    data["seller"] = figs
    return (*row[:-1], json.dumps(data))
