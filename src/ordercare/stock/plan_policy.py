"""The milk-run plan policy as data: the fleet, its shift, its departure days, the solver budget.

Why a file: how many trucks run, what they carry and on which day they leave are transport
decisions (a second truck before Christmas, Thursday runs in summer) and must not need a
code change. The file loads into strict models through ``ordercare.rules``, so a typo stops
start-up with the file, the path inside it and the line.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from ordercare.rules import StrictModel, load_packaged_rules, load_rules

POLICY_FILE = "plan_policy.yaml"

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday",
                                 "saturday", "sunday")

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_clock(value: object, what: str = "time") -> time:
    """A local ``HH:MM`` (24 h) as a ``time``; the error says what was wrong and how to write it.

    Used for the policy's shift and for suppliers' ``ready_from`` / ``ready_until``, which
    arrive as free text in ``supplier.registered``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"{what}: write the time in quotes, e.g. '06:00' (unquoted, YAML reads "
                         f"HH:MM as a number of minutes: got {value})")
    if not isinstance(value, str) or not (m := _CLOCK.match(value.strip())):
        raise ValueError(f"{what}: {value!r} is not a local time HH:MM (00:00 to 23:59)")
    return time(int(m.group(1)), int(m.group(2)))


class Shift(StrictModel):
    """When trucks may leave the FC and by when they must be back (same day)."""

    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> str:
        return parse_clock(value).strftime("%H:%M")

    @model_validator(mode="after")
    def _end_after_start(self) -> Shift:
        if parse_clock(self.end) <= parse_clock(self.start):
            raise ValueError(f"end ({self.end}) must be after start ({self.start}): "
                             "a shift does not run past midnight")
        return self

    @property
    def minutes(self) -> int:
        s, e = parse_clock(self.start), parse_clock(self.end)
        return (e.hour - s.hour) * 60 + e.minute - s.minute


class Capacity(StrictModel):
    """What one truck carries: kilograms or units, exactly one of the two."""

    kg: float | None = Field(default=None, gt=0)
    units: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Capacity:
        if (self.kg is None) == (self.units is None):
            raise ValueError("give exactly one of kg or units")
        return self

    @property
    def unit(self) -> str:
        return "kg" if self.kg is not None else "units"


class PlanPolicy(StrictModel):
    timezone: str = "Europe/Paris"
    departure_days: tuple[Weekday, ...] = Field(min_length=1)
    shift: Shift
    trucks: int = Field(ge=1)
    capacity: Capacity
    speed_kmh: float = Field(gt=0)
    road_factor: float = Field(default=1.3, ge=1.0)
    default_dock_minutes: int = Field(default=20, ge=0)
    solver_seconds: float = Field(default=5.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, day: date, clock: time) -> datetime:
        """A wall-clock time on ``day`` in the fleet's zone."""
        return datetime.combine(day, clock, tzinfo=self.zone)

    def departure(self, at: datetime) -> datetime:
        """Shift start of the next run day: today's only if its shift has not started yet."""
        start = parse_clock(self.shift.start)
        today = at.astimezone(self.zone).date()
        for ahead in range(8):
            day = today + timedelta(days=ahead)
            leave = self.local(day, start)
            if WEEKDAYS[day.weekday()] in self.departure_days and leave >= at:
                return leave
        raise AssertionError("departure_days is never empty")  # pragma: no cover


def load_plan_policy(path: str | Path | None = None) -> PlanPolicy:
    """The packaged default, or the file at ``path``; errors name file, path and line."""
    if path is None:
        return load_packaged_rules("ordercare.stock", POLICY_FILE, PlanPolicy)
    return load_rules(path, PlanPolicy)
