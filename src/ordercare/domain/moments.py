"""Instants as integer microseconds since the epoch: exact, cheap to compare and to index."""

from __future__ import annotations

from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """An aware datetime as exact integer microseconds (no float rounding)."""
    d = moment - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
