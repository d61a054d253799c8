"""Detection thresholds and escalation rules: data, loaded from ``policy/watch.yaml``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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


class TrendingLate(_Strict):
    """The early warning: a parcel in transit whose chance of missing its deliver-by, read
    from the transit times learnt per carrier and lane, reaches ``threshold``."""

    enabled: bool = True
    threshold: float = Field(default=0.85, gt=0, le=1)
    min_samples: int = Field(default=30, ge=1)     # below this a lane borrows the carrier's all-lane times
    window: int = Field(default=2000, ge=10)       # the most recent samples kept per distribution


class Thresholds(_Strict):
    no_scan_hours: float = Field(default=24, gt=0)
    stalled_hours: float = Field(default=72, gt=0)
    escalations: tuple[EscalationRule, ...] = ()
    trending_late: TrendingLate = TrendingLate()
