"""The early warning's model: transit times learnt per carrier and lane, the chance of
missing the deliver-by, and the exact instant it reaches the threshold (the wake-up)."""

import random

from hypothesis import given
from hypothesis import strategies as st

from ordercare.domain.order import DAY_US, HOUR_US, Line, Order, Shipment
from ordercare.watch.detectors import evaluate
from ordercare.watch.thresholds import Thresholds
from ordercare.watch.transit import ALL_LANES, TransitModel, crossing, lane_of, p_late

TH = Thresholds()
T0 = 1_780_000_000_000_000
PARIS = {"country": "FR", "postcode": "75011", "city": "Paris", "name": "A", "line1": "1 rue"}
CORSICA = {"country": "FR", "postcode": "20000", "city": "Ajaccio", "name": "B", "line1": "2 rue"}


def test_lanes_are_the_country_and_in_france_the_departement():
    assert lane_of(PARIS) == "FR-75" and lane_of(CORSICA) == "FR-20"
    assert lane_of({"country": "GB", "postcode": "SW1A 1AA"}) == "GB" and lane_of(None) == "?"


def test_the_chance_of_being_late_is_the_share_of_similar_parcels_that_still_missed_it():
    xs = sorted([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    assert p_late(xs, 0, 75) == 0.3             # 80, 90, 100 of the ten took longer than 75
    assert p_late(xs, 45, 75) == 3 / 6          # six still on the way after 45: three late
    assert p_late(xs, 85, 75) == 1.0            # past the deadline: late
    assert p_late(xs, 0, 200) == 0.0            # nobody ever took that long
    assert p_late(xs, 150, 200) == 0.0          # silent longer than anyone, deadline ahead: no evidence


def test_the_crossing_is_the_first_wait_at_which_the_chance_reaches_the_threshold():
    xs = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert crossing(xs, 75, 0.6) == 50          # at 50, five left on the way, three of them late
    assert p_late(xs, 49, 75) < 0.6 <= p_late(xs, 50, 75)
    assert crossing(xs, 75, 0.2) == 0           # already likely at the step
    assert crossing(xs, 75, 1.0) == 70          # certain only once the on-time ones are all home
    assert crossing(xs, 200, 0.5) is None       # never late from here
    assert crossing(xs, 45, 0.99) == 40         # every parcel still out after 40 was late
    assert crossing([45, 50], 45, 0.9) is None  # would only cross at the deadline itself


@given(xs=st.lists(st.integers(0, 500), min_size=1, max_size=60), left=st.integers(1, 600),
       threshold=st.sampled_from([0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 1.0]))
def test_the_crossing_agrees_with_the_chance_at_every_instant(xs, left, threshold):
    xs.sort()
    at = crossing(xs, left, threshold)
    for w in range(0, left):
        assert (p_late(xs, w, left) >= threshold) == (at is not None and w >= at)


def test_a_lane_with_few_parcels_borrows_the_carriers_times_on_all_lanes():
    m = TransitModel(min_samples=3)
    for i in range(3):
        m.learn("colibri", "FR-75", [(0, "in_transit")], (10 + i) * HOUR_US)
    assert m.distribution("colibri", "FR-75", "in_transit") == [10 * HOUR_US, 11 * HOUR_US, 12 * HOUR_US]
    assert m.distribution("colibri", "FR-20", "in_transit") == [10 * HOUR_US, 11 * HOUR_US, 12 * HOUR_US]
    assert m.distribution("colibri", "FR-20", "accepted") is None
    assert m.distribution("rapidoo", "FR-75", "in_transit") is None


def test_the_window_keeps_the_most_recent_parcels():
    m = TransitModel(min_samples=1, window=3)
    for hours in (50, 40, 30, 20):
        m.learn("c", "L", [(0, "accepted")], hours * HOUR_US)
    assert m.distribution("c", "L", "accepted") == [20 * HOUR_US, 30 * HOUR_US, 40 * HOUR_US]
    assert m.rows([("c", ALL_LANES, "accepted")]) == [("c", ALL_LANES, "accepted",
                                                     [40 * HOUR_US, 30 * HOUR_US, 20 * HOUR_US])]


def test_a_model_reads_what_the_store_knows_about_a_lane_once():
    asked = []

    def fetch(carrier, lane):
        asked.append((carrier, lane))
        return {"accepted": [5, 1, 3]} if lane == "L" else {}

    m = TransitModel(min_samples=3, fetch=fetch)
    assert m.distribution("c", "L", "accepted") == [1, 3, 5]
    m.learn("c", "L", [(0, "accepted")], 4)
    assert m.distribution("c", "L", "accepted") == [1, 3, 4, 5]
    assert asked == [("c", "L"), ("c", ALL_LANES)]


# ---- the detector: the order wakes exactly when the warning is due -----------------------

def slow_lane_model() -> TransitModel:
    """Corsica by colibri: from ``accepted``, 40 to 80 h to the door (uniform, 41 parcels)."""
    m = TransitModel(min_samples=30)
    for h in range(40, 81):
        m.learn("colibri", "FR-20", [(0, "accepted")], h * HOUR_US)
    return m


def parcel(address: dict[str, str], deliver_in_h: float) -> Order:
    o = Order("o-1", "c-1", placed_us=T0, address=address,
              lines=[Line("l1", "sku", "s-1", 1, 10.0, "seller", ship_by_us=T0 + DAY_US, shipment_id="sh")],
              deliver_by_us=T0 + int(deliver_in_h * HOUR_US))
    ship = o.shipments["sh"] = Shipment("sh", "s-1", ["l1"], shipped_us=T0, carrier="colibri", tracking="T")
    ship.add_scan(T0 + HOUR_US, "accepted", "Marseille")
    return o


def test_the_detector_wakes_the_order_at_the_instant_the_warning_is_due_and_warns_then():
    m = slow_lane_model()
    o = parcel(CORSICA, deliver_in_h=61)                     # 60 h after the accepted scan
    due = m.warning_at("colibri", "FR-20", "accepted", T0 + HOUR_US, o.deliver_by_us, TH.trending_late.threshold)
    assert due is not None and T0 + HOUR_US < due < o.deliver_by_us
    findings, wake = evaluate(o, T0 + 2 * HOUR_US, TH, m)
    assert findings == [] and wake == due                    # not yet: the wake-up is the warning
    findings, _ = evaluate(o, due - 1, TH, m)
    assert findings == []
    findings, _ = evaluate(o, due, TH, m)
    assert [(f.reason, f.shipment_ids) for f in findings] == [("trending_late", ("sh",))]


def test_a_parcel_with_time_to_spare_is_never_warned_and_wakes_only_for_real_deadlines():
    m = slow_lane_model()
    o = parcel(CORSICA, deliver_in_h=100)                    # slower than any parcel ever was
    findings, wake = evaluate(o, T0 + 2 * HOUR_US, TH, m)
    assert findings == [] and wake == T0 + (1 + 72) * HOUR_US  # the stall check, nothing sooner


def test_no_warning_without_the_model_or_after_the_deliver_by():
    o = parcel(CORSICA, deliver_in_h=45)
    assert "trending_late" not in [f.reason for f in evaluate(o, T0 + 44 * HOUR_US, TH)[0]]
    reasons = [f.reason for f in evaluate(o, T0 + 46 * HOUR_US, TH, slow_lane_model())[0]]
    assert reasons == ["late_delivery"]


def test_random_journeys_wake_no_later_than_the_warning_and_never_warn_a_step_early():
    rng = random.Random(3)
    m = slow_lane_model()
    checked = warned_at_wake = 0
    for _ in range(200):
        o = parcel(CORSICA, deliver_in_h=rng.uniform(30, 90))
        now = T0 + HOUR_US + int(rng.uniform(0, 30) * HOUR_US)
        findings, wake = evaluate(o, now, TH, m)
        if any(f.reason == "trending_late" for f in findings):
            continue
        if wake is not None and wake < o.deliver_by_us:
            checked += 1
            assert "trending_late" not in [f.reason for f in evaluate(o, wake - 1, TH, m)[0]]
            warned_at_wake += "trending_late" in [f.reason for f in evaluate(o, wake, TH, m)[0]]
    assert checked >= 100, "most journeys reach the check"
    assert warned_at_wake >= checked // 3, "the wake-up is often the warning itself, on the dot"


def test_the_early_warning_policy_is_checked_like_every_rules_file():
    from ordercare.rules import RulesError, parse_rules

    assert TH.trending_late.enabled and 0 < TH.trending_late.threshold <= 1
    text = "trending_late:\n  threshold: 1.5\n  min_sample: 30\n"
    try:
        parse_rules(text, Thresholds, "watch.yaml")
    except RulesError as err:
        message = str(err)
    else:
        raise AssertionError("a threshold above 1 must be refused")
    assert "watch.yaml: trending_late.threshold (line 2)" in message
    assert "trending_late.min_sample (line 3): unknown key" in message and "min_samples" in message
