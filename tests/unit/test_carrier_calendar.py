"""The carriers' calendar: no alarm about a missing first scan while carriers are closed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ordercare.domain.moments import to_us
from ordercare.watch.calendar import CarrierCalendar

PARIS = timezone(timedelta(hours=2))
FRENCH_MAY = CarrierCalendar(holidays=(date(2026, 5, 1), date(2026, 5, 8), date(2026, 5, 14)))


def due(cal: CarrierCalendar, handed: datetime, hours: float = 24) -> datetime:
    return datetime.fromtimestamp(cal.first_scan_due(to_us(handed), 120, hours) / 1e6, PARIS)


@pytest.mark.parametrize(("handed", "expected"), [
    # an ordinary Tuesday afternoon: 24 hours
    (datetime(2026, 5, 5, 15, 0), datetime(2026, 5, 6, 15, 0)),
    # a Tuesday morning drop at a relay point is collected late Wednesday morning: not before
    # the end of that round
    (datetime(2026, 5, 5, 9, 0), datetime(2026, 5, 6, 13, 0)),
    # the eve of 1 May (a Friday holiday): collected on Saturday
    (datetime(2026, 4, 30, 11, 54), datetime(2026, 5, 2, 13, 0)),
    # the eve of Ascension (Thursday 14 May): the clock stops for the holiday
    (datetime(2026, 5, 13, 16, 0), datetime(2026, 5, 15, 16, 0)),
    # Saturday afternoon: Sunday is no working day
    (datetime(2026, 5, 2, 15, 0), datetime(2026, 5, 4, 15, 0)),
])
def test_the_first_scan_is_due_after_working_hours_and_the_next_collection(handed: datetime,
                                                                          expected: datetime) -> None:
    assert due(FRENCH_MAY, handed.replace(tzinfo=PARIS)) == expected.replace(tzinfo=PARIS)


def test_a_carrier_open_every_day_counts_plain_hours_past_the_collection() -> None:
    always = CarrierCalendar(working_days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    handed = datetime(2026, 5, 2, 15, 0, tzinfo=PARIS)  # a Saturday
    assert due(always, handed) == handed + timedelta(hours=24)
    assert due(always, handed, hours=48) == handed + timedelta(hours=48)


def test_the_offset_is_the_orders_own() -> None:
    """Working days are local days: 23:30 UTC on a Saturday is already Sunday in Paris."""
    cal = CarrierCalendar()
    handed_utc = datetime(2026, 5, 2, 23, 30, tzinfo=UTC)
    in_paris = cal.first_scan_due(to_us(handed_utc), 120, 24)
    in_utc = cal.first_scan_due(to_us(handed_utc), 0, 24)
    assert datetime.fromtimestamp(in_paris / 1e6, PARIS) == datetime(2026, 5, 5, 0, 0, tzinfo=PARIS)
    # in UTC it is still Saturday: half an hour counts, then Monday's 23.5 hours
    assert datetime.fromtimestamp(in_utc / 1e6, UTC) == datetime(2026, 5, 4, 23, 30, tzinfo=UTC)


def test_a_calendar_with_no_working_day_is_refused() -> None:
    with pytest.raises(ValueError):
        CarrierCalendar(working_days=())
