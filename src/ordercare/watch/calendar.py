"""The carriers' calendar: when a parcel handed over should have had its first scan.

A carrier collects and sorts on its working days only. Counting the no-scan delay in plain
hours cries wolf at every long weekend: a parcel left at a relay point on the eve of a
public holiday is collected, normally, a day and a half later. So the no-scan clock runs on
the carriers' working days only (``no_scan_hours`` of them), and never falls due before the
end of the carriers' first collection round on the next working day after the hand-over.
Local calendar arithmetic in the order's UTC offset, integers only (it runs on the hot path).
"""

from __future__ import annotations

from datetime import date, time
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class CarrierCalendar(BaseModel):
    """The days carriers work (``working_days`` minus ``holidays``) and the local time by
    which their first collection round of a working day is over (``collection_until``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    working_days: tuple[Weekday, ...] = Field(default=("mon", "tue", "wed", "thu", "fri", "sat"), min_length=1)
    holidays: tuple[date, ...] = ()
    collection_until: time = time(13, 0)

    @cached_property
    def _closed(self) -> frozenset[int]:
        return frozenset(d.toordinal() - _EPOCH_ORDINAL for d in self.holidays)

    @cached_property
    def _open_weekdays(self) -> frozenset[int]:
        return frozenset(_WEEKDAYS.index(d) for d in self.working_days)

    @cached_property
    def _collection_us(self) -> int:
        t = self.collection_until
        return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond

    def works(self, day: int) -> bool:
        """Whether carriers work on ``day`` (days since 1970-01-01, a Thursday)."""
        return (day + 3) % 7 in self._open_weekdays and day not in self._closed

    def first_scan_due(self, handed_us: int, tz_min: int, hours: float) -> int:
        """When a parcel handed over at ``handed_us`` should have been scanned at the latest:
        ``hours`` counted on working days, and not before the next working day's collection."""
        offset = tz_min * 60_000_000
        local = handed_us + offset
        need = round(hours * 3_600_000_000)
        day = local // _DAY_US
        t = local
        for _ in range(400):  # a year of closed days is a calendar error, not a wait
            if self.works(day):
                left = (day + 1) * _DAY_US - t
                if need <= left:
                    break
                need -= left
            day += 1
            t = day * _DAY_US
        else:
            raise ValueError("carrier calendar: no working day within 400 days")
        due = t + need
        nxt = local // _DAY_US + 1
        while not self.works(nxt):
            nxt += 1
        return max(due, nxt * _DAY_US + self._collection_us) - offset
