"""A parcel's scans: whatever order they arrive in, and however often the carrier repeats
them, the parcel is the same, and what is derived from its scans is kept right."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ordercare.domain.order import SCAN_RANK, Scan, Shipment

scans = st.lists(st.tuples(st.integers(0, 20), st.sampled_from(sorted(SCAN_RANK))), max_size=12)


@given(scans, st.randoms())
def test_any_arrival_order_gives_the_same_parcel_and_its_derived_times(arrived, rnd):
    # Two scans equal but for a missing location cannot be ordered: a status names a place or never does.
    arrived = [(t, status, "Hub" if status in ("in_transit", "exception") else None) for t, status in arrived]
    ship = Shipment("s")
    new = [ship.add_scan(*s) for s in arrived]
    other = Shipment("s")
    shuffled = list(dict.fromkeys(arrived))
    rnd.shuffle(shuffled)
    for s in shuffled:
        other.add_scan(*s)
    assert ship == other
    assert new == [s not in arrived[:i] for i, s in enumerate(arrived)]  # a repeat changes nothing
    expected = sorted(Scan(t, SCAN_RANK[status], status, loc) for t, status, loc in dict.fromkeys(arrived))
    assert ship.scans == expected
    assert ship.last_scan_us == (expected[-1].at_us if expected else None)
    assert ship.in_exception == bool(expected and expected[-1].status in ("exception", "returned"))
    assert ship.delivered_us == next((sc.at_us for sc in expected if sc.status == "delivered"), None)
