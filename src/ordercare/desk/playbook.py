"""Desk playbooks as data: the first rule whose situation matches decides the actions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ordercare.rules import load_packaged_rules

DeskAction = Literal["reply", "refund", "refund_with_return", "replace", "reship", "update_address",
                     "intercept", "cancel_unshipped", "guarantee_claim", "schedule_callback", "escalate"]
DeskReason = Literal["where_is_my_order", "late_delivery", "not_received", "missing_item",
                     "damaged_or_defective", "not_as_described", "wrong_address", "refund_request",
                     "cancel_request", "other"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Situation(_Strict):
    """What a playbook rule may look at; every key given must hold."""

    seller_fulfilled: bool | None = None
    guarantee_open: bool | None = None
    delivered: bool | None = None
    shipped: bool | None = None
    late: bool | None = None
    review: bool | None = None
    callback: bool | None = None
    wants: Literal["refund", "replacement"] | None = None
    value_max: float | None = Field(default=None, ge=0)

    def matches(self, seen: Situation, value: float) -> bool:
        for key in ("seller_fulfilled", "guarantee_open", "delivered", "shipped", "late", "review", "callback",
                    "wants"):
            want = getattr(self, key)
            if want is not None and getattr(seen, key) != want:
                return False
        return self.value_max is None or value <= self.value_max


class Rule(_Strict):
    when: Situation = Situation()
    actions: tuple[DeskAction, ...]


class Limits(_Strict):
    refund_without_return_max: float = Field(ge=0)
    review_after_refunds: int = Field(ge=1)
    guarantee_days_after_deliver_by: int = Field(default=90, ge=0)


class DeskPlaybook(_Strict):
    limits: Limits
    reasons: dict[DeskReason, tuple[Rule, ...]]

    def decide(self, reason: str, seen: Situation, value: float) -> tuple[str, ...]:
        """The actions for ``reason`` in situation ``seen`` (deterministic: first match)."""
        for rule in self.reasons.get(reason, self.reasons["other"]):  # type: ignore[call-overload]
            if rule.when.matches(seen, value):
                return rule.actions
        return ("reply", "escalate")


def load_desk_playbook() -> DeskPlaybook:
    return load_packaged_rules("ordercare.desk", "playbook.yaml", DeskPlaybook)
