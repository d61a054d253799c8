"""How the desk is doing: CSAT, time to first response and to resolution, breaches, per
reason and per playbook (the reason and the actions it took)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from statistics import median
from typing import Any


def _hours(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


def _summary(cases: list[dict[str, Any]]) -> dict[str, Any]:
    ratings = [c["csat"] for c in cases if c.get("csat") is not None]
    resolution = [h for c in cases if (h := _hours(c["opened_at"], c.get("resolved_at"))) is not None]
    first = [h for c in cases if (h := _hours(c["opened_at"], c.get("first_customer_message_at"))) is not None]
    breaches = sum(bool((c.get("service_level") or {}).get("breached")) for c in cases)
    return {"cases": len(cases), "resolved": sum(c["status"] == "resolved" for c in cases),
            "csat_mean": round(sum(ratings) / len(ratings), 2) if ratings else None,
            "csat_answers": len(ratings),
            "csat_satisfied_share": round(sum(r >= 4 for r in ratings) / len(ratings), 3) if ratings else None,
            "resolution_hours_median": round(median(resolution), 2) if resolution else None,
            "first_response_minutes_median": round(median(first) * 60, 1) if first else None,
            "breached": breaches}


def playbook_of(case: dict[str, Any]) -> str:
    acts = [a["type"] for a in case["actions"] if a["type"] != "message_customer"]
    return f"{case['reason']}: {' + '.join(dict.fromkeys(acts)) or 'reply'}"


def desk_report(cases: list[dict[str, Any]]) -> dict[str, Any]:
    by_reason: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_playbook: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        by_reason[case["reason"]].append(case)
        by_playbook[playbook_of(case)].append(case)
    return {"overall": _summary(cases),
            "by_reason": [{"reason": r, **_summary(cs)} for r, cs in sorted(by_reason.items())],
            "by_playbook": [{"playbook": p, **_summary(cs)} for p, cs in sorted(by_playbook.items())]}
