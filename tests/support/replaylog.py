"""The store's own event log replayed into a fresh store: what a person did, and every
fact, must give the same state again."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from ordercare import services
from tests.e2e.cli import cases, messages, ordercare


def event_log(db: str) -> list[str]:
    store = services.open_store(db)
    with store.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM events ORDER BY at_us, event_id")).all()
    store.dispose()
    return [r[0] for r in rows]


def state(db: str) -> dict:
    """Cases (sellers' too), messages and requests, without what names the pass."""
    def strip(rows: list[dict], drop: tuple[str, ...]) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in drop} for r in rows]
    asked = json.loads(ordercare("requests", "--json", "--db", db))
    return {"cases": cases(db, sellers=True), "messages": strip(messages(db), ("id",)),
            "requests": strip(asked, ("updated_at",))}


def replay_log_into(db: str, twin: str, tmp: Path, *extra: str) -> None:
    path = tmp / "log.jsonl"
    path.write_text("".join(p + "\n" for p in event_log(db)), encoding="utf-8")
    ordercare("replay", str(path), "--json", "--db", twin, *extra)
