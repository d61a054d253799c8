"""Instants as integer microseconds since the epoch: exact, cheap to compare and to index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """An aware datetime as exact integer microseconds (no float rounding)."""
    d = moment - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def from_us(us: int) -> datetime:
    """Integer microseconds as an aware datetime in UTC (exact: ``to_us`` gives them back)."""
    return _EPOCH + timedelta(microseconds=us)


def local_day(us: int, tz_min: int) -> int:
    """The number of the local calendar day (days since the epoch) of ``us`` at offset ``tz_min``."""
    return (us + tz_min * 60_000_000) // 86_400_000_000


def offset_min(moment: datetime) -> int:
    """A datetime's UTC offset in whole minutes (0 when it has none)."""
    offset = moment.utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0
