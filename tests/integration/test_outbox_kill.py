"""The kill test: a sender SIGKILLed mid-way loses no message and, once restarted, repeats
only the one that was in flight at the kill, under the same Message-ID.

The sender runs as a real process (``python -m ordercare.notify.send_cli``) against a real
SMTP server that is slow to acknowledge. The server holds its reply to one message, the
test kills the sender while it waits for that reply, lets the server finish, restarts the
sender and counts what arrived.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from ordercare import services
from ordercare.notify.outbox import header_message_id
from ordercare.sim.builder import EventBuilder, at, line
from tests.integration.test_outbox_smtp import SmtpServer, SmtpSink

ORDERS = 80          # three messages each: confirmation, apology, callback: 240 in all
ACK_DELAY = 0.005    # seconds the server takes to acknowledge each message
KILL_AT = 70         # the server holds its reply to this message; the sender dies waiting


class HoldingSink(SmtpSink):
    """Records each message, then acknowledges slowly; the ``KILL_AT``-th one is recorded
    (the server has it) but its reply is held until the test has killed the sender."""

    def __init__(self) -> None:
        super().__init__(ack_delay=ACK_DELAY)
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.attempts += 1
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            count = len(self.received)
        if count == KILL_AT:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.005)
        await asyncio.sleep(self.ack_delay)
        return "250 2.0.0 queued"


def busy_shop(placed: datetime) -> EventBuilder:
    """``ORDERS`` charged orders that never ship, placed weeks before the wall clock."""
    b = EventBuilder()
    b.seller("s-books", handling_days=2).sku("book", "Le Petit Prince")
    for i in range(ORDERS):
        b.customer(f"c-{i}", lang="fr" if i % 2 else "en", name=f"Client {i}", phone="+33600000000")
        b.order(f"o-{i}", f"c-{i}", at(placed, minutes=i), [line("l1", "book", "s-books", 12.5)])
        b.pay(f"o-{i}", at(placed, minutes=i + 1), 12.5)
    return b


def sender(db_url: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ordercare.notify.send_cli", "--db", db_url,
            "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--worker", "kill-test", *extra]


def statuses(db: Any) -> dict[str, str]:
    with db.connect() as conn:
        return dict(conn.execute(text("SELECT message_id, status FROM messages")).all())


def test_a_killed_sender_loses_nothing_and_repeats_only_the_message_in_flight(db_url, tmp_path):
    db = services.open_store(db_url)
    now = datetime.now(UTC)
    services.replay(db, "busy.jsonl", busy_shop(now - timedelta(days=40)).lines(), now)
    written = {header_message_id(m["id"], "ordercare"): m["id"] for m in services.list_messages(db)}
    assert len(written) >= 200

    sink = HoldingSink()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with SmtpServer(sink) as server:
        log = (tmp_path / "first-sender.log").open("wb")
        first = subprocess.Popen(sender(db_url, server.port, "--interval", "0.05"),
                                 cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert sink.holding.wait(60), "the sender never got that far"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            log.close()
            sink.release.set()  # the server finishes: it has the message, the sender never heard

        mails = sink.mails()
        in_flight = mails[-1]["Message-ID"]
        after_kill = statuses(db)
        acknowledged = {written[m["Message-ID"]] for m in mails[:-1]}
        assert {i for i, s in after_kill.items() if s == "sent"} == acknowledged, \
            "every message the server acknowledged was recorded as sent before the next one"
        assert after_kill[written[in_flight]] == "pending", "the one in flight is not"
        assert len(acknowledged) == KILL_AT - 1 < len(written), "killed mid-way"

        restart = subprocess.run(sender(db_url, server.port, "--once"), cwd=tmp_path,
                                 env=env, capture_output=True, text=True, timeout=60)
        assert restart.returncode == 0, restart.stdout + restart.stderr
        assert "took back" in restart.stdout, "it took back its predecessor's claims"

    received = Counter(m["Message-ID"] for m in sink.mails())
    assert set(received) == set(written), "every message arrived"
    assert {mid for mid, n in received.items() if n > 1} == {in_flight}, \
        "no message twice except the one in flight at the kill"
    assert received[in_flight] == 2
    copies = [raw for _f, _t, raw in sink.received
              if f"Message-ID: {in_flight}".encode() in raw]
    assert len(copies) == 2 and copies[0] == copies[1], "the repeat is byte-identical"
    assert set(statuses(db).values()) == {"sent"}
