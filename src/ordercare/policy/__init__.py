"""Policies as data: load and validate every rules file at start-up (``ordercare check``)."""

from __future__ import annotations

from pathlib import Path

from msgspec import Struct

from ordercare.domain.promise import PromisePolicy
from ordercare.notify.milestones import MilestonePolicy
from ordercare.playbooks.proactive import ProactivePlaybook
from ordercare.rules import load_packaged_rules, load_rules
from ordercare.watch.thresholds import Thresholds


class Policies(Struct, frozen=True):
    promise: PromisePolicy
    watch: Thresholds
    proactive: ProactivePlaybook
    milestones: MilestonePolicy


def load_policies(directory: str | Path | None = None) -> Policies:
    """Load the shipped defaults, or the files of ``directory`` where it has them."""
    def one(package: str, name: str, model: type) -> object:
        if directory is not None and (Path(directory) / name).exists():
            return load_rules(Path(directory) / name, model)
        return load_packaged_rules(package, name, model)

    return Policies(
        promise=one("ordercare.policy", "promise.yaml", PromisePolicy),  # type: ignore[arg-type]
        watch=one("ordercare.policy", "watch.yaml", Thresholds),  # type: ignore[arg-type]
        proactive=one("ordercare.playbooks", "proactive.yaml", ProactivePlaybook),  # type: ignore[arg-type]
        milestones=one("ordercare.notify", "milestones.yaml", MilestonePolicy),  # type: ignore[arg-type]
    )
