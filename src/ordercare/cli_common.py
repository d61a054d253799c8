"""What every command-line module shares: the --db and --json options, reading a moment
given on the command line, opening the store or stopping with a clear error, printing JSON."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from ordercare import services
from ordercare.store.db import StoreError

DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: $ORDERCARE_DB, "
                                           "else sqlite:///ordercare.db)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
# What the commands print: never wrapped at the terminal's width (a reason stays one line in a
# pipe) and nothing read as markup (a customer's "[/b]" or an id like "[red]o-1" prints as is).
out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def error(message: str) -> None:
    """What went wrong, on one line of stderr after "error: " (never wrapped at the terminal's
    width, nothing in it read as markup: a script can match it)."""
    err.print(f"[red]error:[/red] {escape(message)}")


def parse_moment(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 instant with its UTC offset (a moment without one is ambiguous)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=name) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{value!r} needs a UTC offset, e.g. {moment.isoformat()}+02:00", param_hint=name)
    return moment


def open_store_or_exit(db: str | None, existing: bool = True) -> Engine:
    """The store at ``db`` (migrated), or exit 2 saying why it cannot be opened. A command
    that only reads (``existing``, the default) refuses a SQLite file that is not there."""
    try:
        return services.open_store(db, existing)
    except StoreError as exc:
        error(str(exc))
        raise typer.Exit(2) from None


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
