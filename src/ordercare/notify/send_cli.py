"""``ordercare send``: the outbox sender on the wall clock (thin: parse, call, print).

Mount it with ``app.command("send")(send)``. It also runs on its own, which is how the kill
test starts and SIGKILLs it::

    python -m ordercare.notify.send_cli --db URL --smtp-port 2525 --worker sender-1

``send_due`` (re-exported here) is the service function the watch loop and the demo call.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ordercare.notify.outbox import SendReport, release_worker, requeue_dead, send_due
from ordercare.notify.sender_config import load_sender_config, with_overrides
from ordercare.notify.transports import TRANSPORTS, make_transport
from ordercare.rules import RulesError
from ordercare.services import open_store
from ordercare.store.db import StoreError

__all__ = ["SendReport", "requeue_dead", "send", "send_due"]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the claims in hand are handed back at once."""
    def handler(_signum: int, _frame: Any) -> None:
        raise SystemExit(143)
    signal.signal(signal.SIGTERM, handler)


def send(
    once: Annotated[bool, typer.Option(help="deliver what is due now, then stop")] = False,
    interval: Annotated[float, typer.Option(min=0.0, help="seconds between runs")] = 30.0,
    transport: Annotated[str, typer.Option(help=f"one of: {', '.join(TRANSPORTS)}")] = "smtp",
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: $ORDERCARE_DB, "
                                           "else sqlite:///ordercare.db)")] = None,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP relay host (over the config file "
                                                  "and $ORDERCARE_SMTP_HOST)")] = None,
    smtp_port: Annotated[int | None, typer.Option(help="SMTP relay port (over the config file "
                                                  "and $ORDERCARE_SMTP_PORT)")] = None,
    worker: Annotated[str | None, typer.Option(help="this sender's name; at start it takes back "
                                               "what a killed sender of the same name held. "
                                               "Never run two senders under one name")] = None,
    config: Annotated[str | None, typer.Option(help="a senders.yaml (default: the packaged "
                                               "one)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per run")] = False,
    requeue: Annotated[bool, typer.Option("--requeue-dead", help="first give what died (every attempt "
                                          "failed) a fresh set of attempts: once the cause is fixed")] = False,
) -> None:
    """Deliver pending customer messages (SMTP or signed webhook), or the sellers' notices to their own
    webhooks (--transport seller-webhook) or, for sellers with none, by e-mail to the address they
    registered (--transport seller-email), with retries and backoff."""
    try:
        settings = load_sender_config(config)
        smtp = {k: v for k, v in (("host", smtp_host), ("port", smtp_port)) if v is not None}
        if smtp:
            settings = with_overrides(settings, smtp=smtp)
        chosen = make_transport(transport, settings)
    except RulesError as exc:
        raise _fail(str(exc)) from None
    try:
        store = open_store(db, existing=True)  # a sender pointed at a wrong path would wait forever on nothing
    except StoreError as exc:
        raise _fail(str(exc)) from None
    _stop_on_sigterm()
    if worker and (freed := release_worker(store, worker, chosen.box)):
        typer.echo(f"took back {freed} messages claimed by a previous {worker}")
    if requeue:
        typer.echo(f"requeued {requeue_dead(store, datetime.now(UTC), box=chosen.box)} dead", err=as_json)
    while True:
        now = datetime.now(UTC)
        report = send_due(store, now, chosen, settings, worker)
        if as_json:
            sys.stdout.write(json.dumps({"at": now.isoformat(), **report.as_dict()}) + "\n")
            sys.stdout.flush()
        else:
            typer.echo(f"{now:%H:%M:%S} {report.summary()}")
            for line in report.errors[:5]:
                typer.echo(f"  {line}")
        if once:
            raise typer.Exit(1 if report.transport_error else 0)
        time.sleep(interval)


if __name__ == "__main__":
    runner = typer.Typer(add_completion=False)
    runner.command()(send)
    runner()
