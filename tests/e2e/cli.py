"""Run the real CLI in-process, the way a script or a storefront would call it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ordercare.cli import app
from ordercare.sim.builder import EventBuilder


def ordercare(*args: str, expect: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result.stdout


def refused(*args: str) -> str:
    """Run a command that must refuse: exit 2, nothing on stdout; returns what it said on
    stderr (one ``error:`` line for what the store or the rules refuse; the usage box for a
    value the command line itself rejects), whitespace runs made single spaces."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    return " ".join(result.stderr.replace("│", " ").split())


def replay(db: str, story: EventBuilder | str, tmp: Path, *extra: str, expect: int = 0) -> dict[str, Any]:
    path = tmp / f"events-{len(list(tmp.glob('events-*')))}.jsonl"
    path.write_text(story if isinstance(story, str) else story.jsonl(), encoding="utf-8")
    return json.loads(ordercare("replay", str(path), "--json", "--db", db, *extra, expect=expect))


def cases(db: str, sellers: bool = False) -> list[dict[str, Any]]:
    """The cases about orders (and, with ``sellers``, the seller-performance cases too)."""
    found = json.loads(ordercare("cases", "--json", "--db", db))
    return found if sellers else [c for c in found if c["origin"] != "seller"]


def messages(db: str) -> list[dict[str, Any]]:
    return json.loads(ordercare("messages", "--json", "--db", db))
