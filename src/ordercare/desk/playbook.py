"""Desk playbooks as data: the first rule whose situation matches decides the actions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ordercare.rules import load_packaged_rules

DeskAction = Literal["reply", "refund", "refund_with_return", "replace", "reship", "update_address",
                     "intercept", "cancel_unshipped", "guarantee_claim", "schedule_callback", "escalate"]
DeskReason = Literal["where_is_my_order", "late_delivery", "not_received", "missing_item",
                     "damaged_or_defective", "not_as_described", "wrong_address", "refund_request",
                     "cancel_request", "other"]
_FLAGS = ("seller_fulfilled", "guarantee_open", "delivered", "shipped", "late", "review", "callback",
          "cancelled", "item_unclear", "new_address", "wants")


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
    cancelled: bool | None = None
    item_unclear: bool | None = None
    new_address: bool | None = None
    wants: Literal["refund", "replacement"] | None = None
    value_max: float | None = Field(default=None, ge=0)

    def matches(self, seen: Situation, value: float) -> bool:
        for key in _FLAGS:
            want = getattr(self, key)
            if want is not None and getattr(seen, key) != want:
                return False
        return self.value_max is None or value <= self.value_max


class Rule(_Strict):
    """Actions to take, or (``answer_as``) another reason whose playbook answers instead: what
    the customer calls "not received" while the parcel is on its way is a "where is it?"."""

    when: Situation = Situation()
    actions: tuple[DeskAction, ...] = ()
    answer_as: DeskReason | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> Rule:
        if bool(self.actions) == (self.answer_as is not None):
            raise ValueError("a rule gives either actions or answer_as (one of them, not both)")
        return self


class Limits(_Strict):
    refund_without_return_max: float = Field(ge=0)
    review_after_refunds: int = Field(ge=1)
    guarantee_days_after_deliver_by: int = Field(default=90, ge=0)


class DeskPlaybook(_Strict):
    limits: Limits
    reasons: dict[DeskReason, tuple[Rule, ...]]

    @model_validator(mode="after")
    def _hand_overs_end(self) -> DeskPlaybook:
        """A reason answered as another one is answered by that one's actions: one step, so
        the hand-overs can never go round in a circle."""
        for reason, rules in self.reasons.items():
            for rule in rules:
                target = rule.answer_as
                if target is None:
                    continue
                if target == reason or target not in self.reasons:
                    raise ValueError(f"{reason}: answer_as {target!r} must be another reason of this playbook")
                if any(r.answer_as for r in self.reasons[target]):
                    raise ValueError(f"{reason}: answer_as {target!r}, which itself hands over (one step only)")
        return self

    def decide(self, reason: str, seen: Situation, value: float) -> tuple[str, tuple[str, ...]]:
        """The reason that answers and its actions for ``reason`` in situation ``seen``
        (deterministic: the first rule that matches; a hand-over asks the other reason's rules)."""
        for rule in self.reasons.get(reason, self.reasons["other"]):  # type: ignore[call-overload]
            if rule.when.matches(seen, value):
                if rule.answer_as is not None:
                    return rule.answer_as, self.decide(rule.answer_as, seen, value)[1]
                return reason, rule.actions
        return reason, ("reply", "escalate")


def load_desk_playbook() -> DeskPlaybook:
    return load_packaged_rules("ordercare.desk", "playbook.yaml", DeskPlaybook)
