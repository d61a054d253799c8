"""A status review counts the pending items in sorted attribution times (``measures.COUNTS``)
rather than scanning them (``measures.tally``): the two must always agree, whatever the
facts and their arrival order, and the sorted lists must mirror the pending dicts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordercare.domain.order import DAY_US
from ordercare.sellers.ledger import Ledger
from ordercare.sellers.measures import COUNTS, tally
from ordercare.sellers.metrics import SellerBook
from tests.unit.test_seller_metrics import EPOCH, T0, hours, seller_facts


def _pending_sorted(led: Ledger) -> None:
    assert led.unshipped_due == sorted(led.ship_by[r] for r in led.unshipped.values())
    assert led.unscanned_due == sorted(led.shipped_at[r] for r in led.unscanned.values())
    assert led.in_transit_due == sorted(led.deliver_by[led.parcel_order[r]] for r in led.in_transit.values())
    shipped = [t for t in led.shipped_at if t is not None]
    if shipped:
        assert led.latest_shipped == max(shipped)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=seller_facts(), data=st.data())
def test_counts_are_the_tally_without_the_names(
    facts: list[tuple[str, tuple[Any, ...], dict[str, Any]]], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(facts))
    book = SellerBook()
    for name, args, kwargs in order:
        getattr(book, name)(*args, **kwargs)
    ats = data.draw(st.lists(hours, min_size=1, max_size=4))
    ats += [h + 24 * days for h in ats for days in (7, 10, 14, 30, 60)] + [h + 72 for h in ats]
    for seller in ("a", "b"):
        led = book._ledgers.get(seller)
        if led is None:
            continue
        _pending_sorted(led)
        for h in ats:
            at = int((T0 + timedelta(hours=h) - EPOCH) / timedelta(microseconds=1))
            for rule in book.policy.metrics:
                numerator, denominator, _, _ = tally(led, rule, at, book._grace)
                lo = at - rule.window_days * DAY_US
                assert COUNTS[rule.measure](led, lo, at, book._grace) == (numerator, denominator), rule.name
