"""The proactive playbook: which actions a case gets when it opens (data: proactive.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Reason = Literal[
    "late_shipment", "no_carrier_scan", "stalled_in_transit", "late_delivery",
    "partial_delivery", "carrier_exception", "seller_cancellation", "trending_late",
]
OpenAction = Literal["message_customer", "refund", "schedule_callback", "escalate"]


class ProactivePlaybook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    on_open: dict[Reason, tuple[OpenAction, ...]]

    def actions_for(self, reason: str) -> tuple[str, ...]:
        return self.on_open.get(reason, ("message_customer",))  # type: ignore[call-overload]
