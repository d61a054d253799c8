"""Time in the simulated marketplace: integer microseconds since the epoch (UTC), exactly as
the store keeps them (``at_us``), with each party's local UTC offset for calendars.

The world starts on Monday 30 March 2026, the day after Europe moved to summer time, so
every offset stays fixed over a 60-day horizon (France +02:00, United Kingdom +01:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
START = datetime(2026, 3, 30, tzinfo=UTC)
START_US = int(START.timestamp()) * SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# French public holidays of spring 2026: no seller ships, no carrier sorts or delivers. The
# storefront's promise policy (ordercare's ``promise.yaml``) lists none, so promises made
# just before them are sometimes broken: that is the world, not a simulator bug.
HOLIDAYS = frozenset(date.fromisoformat(d).toordinal() - date(1970, 1, 1).toordinal() for d in (
    "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25"))


@lru_cache(maxsize=8)
def _tz(tz_min: int) -> timezone:
    return timezone(timedelta(minutes=tz_min))


def local_dt(us: int, tz_min: int) -> datetime:
    """The instant ``us`` as an aware datetime in the offset ``tz_min``."""
    return (_EPOCH + timedelta(microseconds=us)).astimezone(_tz(tz_min))


@lru_cache(maxsize=4096)
def _iso_day(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


def iso(us: int, tz_min: int) -> str:
    """ISO 8601 text, whole seconds, in the offset ``tz_min`` (hot: one per event)."""
    secs = us // SECOND + tz_min * 60
    day, rem = divmod(secs, 86_400)
    sign, off = ("+", tz_min) if tz_min >= 0 else ("-", -tz_min)
    return (f"{_iso_day(day)}T{rem // 3600:02d}:{rem // 60 % 60:02d}:{rem % 60:02d}"
            f"{sign}{off // 60:02d}:{off % 60:02d}")


def from_iso(text: str) -> int:
    d = datetime.fromisoformat(text) - _EPOCH
    return (d.days * 86_400 + d.seconds) * SECOND + d.microseconds


def day_start(us: int, tz_min: int) -> int:
    """Local midnight of the day ``us`` falls on."""
    shifted = us + tz_min * MINUTE
    return shifted - shifted % DAY - tz_min * MINUTE


def weekday(us: int, tz_min: int) -> int:
    """0 = Monday ... 6 = Sunday, in local time (1970-01-01 was a Thursday)."""
    return ((us + tz_min * MINUTE) // DAY + 3) % 7


def is_open_day(us: int, tz_min: int, days: tuple[int, ...]) -> bool:
    """A working day: one of ``days`` (0 = Monday) and not a public holiday."""
    day = (us + tz_min * MINUTE) // DAY
    return (day + 3) % 7 in days and day not in HOLIDAYS


def hour_of_day(us: int, tz_min: int) -> float:
    return ((us + tz_min * MINUTE) % DAY) / HOUR


def next_day_at(us: int, tz_min: int, hour: float, days: tuple[int, ...]) -> int:
    """The first moment after ``us`` that is ``hour`` o'clock local on one of ``days``."""
    base = day_start(us, tz_min) + int(hour * HOUR)
    while base <= us or not is_open_day(base, tz_min, days):
        base += DAY
    return base


def business_day_at(day0: int, n: int, tz_min: int, hour: float,
                    days: tuple[int, ...] = (0, 1, 2, 3, 4)) -> int:
    """``hour`` o'clock local on the ``n``-th working day counted from the day of ``day0``
    (n = 0: that day if it is a working day, else the next one)."""
    t = day_start(day0, tz_min)
    while not is_open_day(t, tz_min, days):
        t += DAY
    for _ in range(n):
        t += DAY
        while not is_open_day(t, tz_min, days):
            t += DAY
    return t + int(hour * HOUR)


def add_open_hours(us: int, hours: float, tz_min: int, open_h: float, close_h: float,
                   days: tuple[int, ...]) -> int:
    """``us`` plus ``hours`` of opening time (a desk open ``open_h``-``close_h`` on ``days``)."""
    left = int(hours * HOUR)
    t = us
    while True:
        start = day_start(t, tz_min)
        opens, closes = start + int(open_h * HOUR), start + int(close_h * HOUR)
        if is_open_day(t, tz_min, days) and t < closes:
            t = max(t, opens)
            if t + left <= closes:
                return t + left
            left -= closes - t
        t = start + DAY
