from datetime import date, datetime

from ordercare.domain.promise import PromisePolicy, compute_promise
from ordercare.notify.render import local

POLICY = PromisePolicy()


def promise(placed: str, handling: int = 2, prime: bool = False, policy: PromisePolicy = POLICY):
    ship, deliver = compute_promise(policy, datetime.fromisoformat(placed), handling, prime)
    return local(ship, 120).date(), local(deliver, 120).date()


def test_a_thursday_morning_order_ships_by_monday_and_arrives_by_thursday():
    assert promise("2026-05-28T09:14:00+02:00") == (date(2026, 6, 1), date(2026, 6, 4))


def test_after_the_cutoff_the_clock_starts_the_next_business_day():
    assert promise("2026-05-28T15:00:00+02:00") == (date(2026, 6, 2), date(2026, 6, 5))


def test_a_weekend_order_counts_from_monday():
    assert promise("2026-05-30T10:00:00+02:00", handling=1) == (date(2026, 6, 2), date(2026, 6, 5))


def test_holidays_are_not_business_days():
    policy = PromisePolicy(holidays=(date(2026, 6, 1),))
    assert promise("2026-05-28T09:14:00+02:00", policy=policy) == (date(2026, 6, 2), date(2026, 6, 5))


def test_prime_is_delivered_within_two_business_days():
    assert promise("2026-05-28T09:14:00+02:00", handling=1, prime=True)[1] == date(2026, 6, 1)
