"""Service-level targets (data: ``service_levels.yaml``) and the arithmetic of their clocks."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ordercare.domain.order import HOUR_US
from ordercare.domain.promise import PromisePolicy
from ordercare.notify.render import local
from ordercare.rules import load_packaged_rules

Channel = Literal["email", "chat", "phone", "callback_request", "proactive"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    first_response: float = Field(ge=0)
    resolution: float = Field(gt=0)


class ByPriority(_Strict):
    normal: Target
    high: Target


class HighWhen(_Strict):
    prime: bool = True
    callback: bool = True


class Survey(_Strict):
    ask_after_hours: float = Field(gt=0)
    # no second "were you satisfied?" about the same order this soon after one was asked
    not_within_days: float = Field(default=14, ge=0)


class ServiceLevels(_Strict):
    clock: Literal["calendar", "business"] = "calendar"
    high_priority: HighWhen = HighWhen()
    targets: dict[Channel, ByPriority]
    survey: Survey

    def target(self, channel: str, high: bool) -> Target:
        by = self.targets.get(channel) or self.targets["email"]  # type: ignore[call-overload]
        return by.high if high else by.normal

    def due(self, start_us: int, hours: float, tz_min: int, calendar: PromisePolicy) -> int:
        """``hours`` after ``start_us`` on this desk's clock (business: skip non-business days)."""
        due = start_us + int(hours * HOUR_US)
        if self.clock == "calendar":
            return due
        day = local(start_us, tz_min).date()
        end = local(due, tz_min).date()
        while day <= end:
            if not calendar.is_business_day(day):
                due += 24 * HOUR_US
                end += timedelta(days=1)
            day += timedelta(days=1)
        return due


def load_service_levels() -> ServiceLevels:
    return load_packaged_rules("ordercare.desk", "service_levels.yaml", ServiceLevels)
