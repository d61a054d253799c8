"""The promise made to the customer: ship-by and deliver-by, computed from policy.

Policy is data (``policy/promise.yaml``): the seller's handling days, a cut-off hour after
which an order counts from the next business day, business days and holidays, carrier
transit days, and Prime's 2-day delivery. The computation is pure: local calendar arithmetic
in the UTC offset the order was placed in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from pydantic import BaseModel, ConfigDict, Field

from ordercare.domain.moments import to_us

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PromisePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cutoff: time = Field(default=time(14, 0), description="orders after it count from the next business day")
    business_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays: tuple[date, ...] = ()
    platform_handling_days: int = Field(default=1, ge=0)
    seller_handling_days: int = Field(default=2, ge=0, description="when the seller gave none")
    transit_days: int = Field(default=3, ge=0)
    prime_delivery_days: int = Field(default=2, ge=1)
    ship_by_time: time = time(23, 59, 59)
    deliver_by_time: time = time(23, 59, 59)

    def is_business_day(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.business_days and day not in self.holidays


def add_business_days(policy: PromisePolicy, day: date, n: int) -> date:
    """The n-th business day after ``day`` (n=0: ``day`` itself if it is one, else the next)."""
    while not policy.is_business_day(day):
        day += timedelta(days=1)
    for _ in range(n):
        day += timedelta(days=1)
        while not policy.is_business_day(day):
            day += timedelta(days=1)
    return day


def _instant_us(day: date, at: time, tz: timezone) -> int:
    return to_us(datetime.combine(day, at, tzinfo=tz))


def compute_promise(policy: PromisePolicy, placed: datetime, handling_days: int,
                    prime: bool) -> tuple[int, int]:
    """Return (ship_by_us, deliver_by_us) for an order placed at ``placed`` (aware)."""
    tz = placed.tzinfo if isinstance(placed.tzinfo, timezone) else timezone(placed.utcoffset() or timedelta())
    start = placed.date()
    if placed.timetz().replace(tzinfo=None) > policy.cutoff or not policy.is_business_day(start):
        start = add_business_days(policy, start + timedelta(days=1), 0)
    if prime:
        ship_day = add_business_days(policy, start, min(handling_days, policy.prime_delivery_days - 1))
        deliver_day = add_business_days(policy, start, policy.prime_delivery_days)
    else:
        ship_day = add_business_days(policy, start, handling_days)
        deliver_day = add_business_days(policy, ship_day, policy.transit_days)
    return (_instant_us(ship_day, policy.ship_by_time, tz),
            _instant_us(deliver_day, policy.deliver_by_time, tz))
