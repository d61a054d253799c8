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


class Thresholds(_Strict):
    no_scan_hours: float = Field(default=24, gt=0)
    stalled_hours: float = Field(default=72, gt=0)
    escalations: tuple[EscalationRule, ...] = ()
