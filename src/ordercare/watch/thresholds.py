"""Detection thresholds and escalation rules: data, loaded from ``policy/watch.yaml``."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ordercare.domain.order import HOUR_US
from ordercare.watch.calendar import CarrierCalendar


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationRule(_Strict):
    """Schedule a human callback when a case drags.

    ``after_hours`` counts from ``from_`` (the case's opening, or the order's deliver-by);
    ``prime_only`` limits it to Prime orders; ``families`` to some kinds of case.
    """

    id: str
    from_: Literal["opened", "deliver_by"] = Field(default="opened", alias="from")
    after_hours: float = Field(gt=0)
    prime_only: bool = False
    families: tuple[str, ...] = ()
    action: Literal["schedule_callback", "escalate"] = "schedule_callback"
    unless_chose: tuple[Literal["wait", "refund", "replacement"], ...] = ()  # the customer chose (self-service)


class TrendingLate(_Strict):
    """The early warning: a parcel in transit whose chance of missing its deliver-by, read
    from the transit times learnt per carrier and lane, reaches ``threshold``."""

    enabled: bool = True
    threshold: float = Field(default=0.85, gt=0, le=1)
    min_samples: int = Field(default=30, ge=1)     # below this a lane borrows the carrier's all-lane times
    window: int = Field(default=2000, ge=10)       # the most recent samples kept per distribution


class Thresholds(_Strict):
    no_scan_hours: float = Field(default=24, gt=0)   # counted on the carriers' working days
    stalled_hours: float = Field(default=72, gt=0)
    carrier_calendar: CarrierCalendar = CarrierCalendar()
    escalations: tuple[EscalationRule, ...] = ()
    # A stock-out's announced restock day and this many days more over, the line still
    # waiting: at this local hour we tell the customer and a person calls.
    # The date a customer waiting for stock is given: the purchase order's date and this many
    # days more (suppliers are sometimes late; a date kept beats a date missed by a day).
    restock_margin_days: int = Field(default=1, ge=0)
    restock_overdue_days: int = Field(default=1, ge=0)
    restock_overdue_hour: int = Field(default=9, ge=0, le=23)
    trending_late: TrendingLate = TrendingLate()

    @cached_property
    def stalled_us(self) -> int:
        """``stalled_hours`` in µs (the detector adds it to a parcel's last scan on every event)."""
        return int(self.stalled_hours * HOUR_US)

    @cached_property
    def no_scan_due(self) -> Callable[[int, int], int]:
        """``(shipped_us, tz_min) -> instant``: when a parcel's first scan is overdue (the
        carriers' calendar; see ``calendar.py``). Cached: the detector asks again at every
        event of the order until the scan comes."""
        calendar, hours = self.carrier_calendar, self.no_scan_hours

        @lru_cache(maxsize=65_536)
        def due(shipped_us: int, tz_min: int) -> int:
            return calendar.first_scan_due(shipped_us, tz_min, hours)
        return due
