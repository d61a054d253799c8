"""The outbox delivered over real SMTP to a local aiosmtpd server, on SQLite and PostgreSQL.

Messages are written by the real engine (a replayed story), delivered by ``send_due`` and
read back as the receiving MTA saw them.
"""

from __future__ import annotations

import asyncio
import email
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from importlib import resources
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from ordercare import services
from ordercare.notify.outbox import (
    Outgoing,
    claim,
    count_pending,
    header_message_id,
    release_worker,
    requeue_dead,
    send_due,
)
from ordercare.notify.sender_config import SenderConfig, load_sender_config, with_overrides
from ordercare.notify.transports import SmtpTransport, build_email
from ordercare.rules import RulesError
from ordercare.sim.builder import EventBuilder, at, line
from ordercare.store.db import make_engine, migrate
from tests.support.pgcluster import free_port

PLACED = "2026-05-28T09:14:00+02:00"  # a Thursday
AFTER = datetime.fromisoformat("2026-06-26T00:00:00+02:00")


# ---- a real SMTP server on loopback -----------------------------------------------------------

class SmtpSink:
    """An aiosmtpd handler that records every accepted message (bytes, envelope).

    ``refuse`` makes it answer DATA with that reply instead; ``ack_delay`` makes it slow to
    acknowledge a message it has already recorded (the window in which a killed client
    leaves the server holding a message the client never heard back about).
    """

    def __init__(self, refuse: str | None = None, ack_delay: float = 0.0,
                 on_record: Callable[[int], None] | None = None, refuse_sender: str | None = None,
                 refuse_rcpt: str | None = None) -> None:
        self.refuse = refuse
        self.refuse_sender = refuse_sender
        self.refuse_rcpt = refuse_rcpt
        self.ack_delay = ack_delay
        self.on_record = on_record
        self.lock = threading.Lock()
        self.received: list[tuple[str, list[str], bytes]] = []
        self.attempts = 0

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          mail_options: list[str]) -> str:
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.attempts += 1
            if self.refuse:
                return self.refuse
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            count = len(self.received)
        if self.on_record:
            self.on_record(count)
        if self.ack_delay:
            await asyncio.sleep(self.ack_delay)
        return "250 2.0.0 queued"

    def mails(self) -> list[EmailMessage]:
        with self.lock:
            raw = [content for _f, _t, content in self.received]
        return [email.message_from_bytes(r, policy=policy.default) for r in raw]  # type: ignore[misc]


class SmtpServer:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.port = free_port()
        self.controller = Controller(sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(SmtpSink()) as server:
        yield server


def sender_config(port: int, **top: Any) -> SenderConfig:
    return with_overrides(load_sender_config(env={}), smtp={"host": "127.0.0.1", "port": port,
                                                           "timeout_seconds": 5}, **top)


def deliver(db: Engine, server: SmtpServer, now: datetime, config: SenderConfig | None = None,
            worker: str = "test-sender") -> Any:
    config = config or sender_config(server.port)
    return send_due(db, now, SmtpTransport(config.smtp), config, worker)


# ---- stories --------------------------------------------------------------------------------

def shop() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-anne", lang="fr", name="Anne Lefèvre", phone="+33612345678")
    b.customer("c-bob", lang="en", name="Bob")
    b.seller("s-books", handling_days=2)
    b.sku("book", "Le Petit Prince")
    return b


def stuck_order_story(db: Engine) -> list[dict[str, Any]]:
    """Anne's order is charged and never ships: an apology (in French), then a call."""
    b = shop()
    b.order("o-stuck", "c-anne", PLACED, [line("l1", "book", "s-books", 12.5)])
    b.pay("o-stuck", "2026-05-31T08:00:00+02:00", 12.5)
    report = services.replay(db, "story.jsonl", b.lines(), AFTER)
    assert report.rejected == []
    return services.list_messages(db)


def stalled_parcel_story(db: Engine) -> list[dict[str, Any]]:
    """Bob's parcel stalls for days (a case, a message), then arrives (a second message)."""
    b = shop()
    b.order("o-1", "c-bob", PLACED, [line("l1", "book", "s-books", 12.5)])
    b.create_shipment("sh-1", "o-1", "s-books", ["l1"], at(PLACED, hours=3))
    b.ship("sh-1", at(PLACED, hours=4), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=8), "accepted", "Roissy")
    b.scan("TRK-1", at(PLACED, days=1), "in_transit", "Chilly-Mazarin")
    b.scan("TRK-1", at(PLACED, days=5), "delivered", "Lyon")
    services.replay(db, "story.jsonl", b.lines(), AFTER)
    return services.list_messages(db)


def stored(db: Engine) -> dict[str, dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(text(
            "SELECT message_id, status, attempts, next_attempt_us, last_error, claimed_by, sent_at"
            " FROM messages")).mappings().all()
    return {r["message_id"]: dict(r) for r in rows}


def us(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1_000_000))


# ---- delivery ----------------------------------------------------------------------------------

def test_each_message_is_delivered_once_with_its_address_subject_and_message_id(db_url, smtp):
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    assert any(m["kind"] == "exception" and m["lang"] == "fr" for m in written)

    report = deliver(db, smtp, AFTER)
    assert (report.sent, report.failed, report.dead, report.deferred) == (len(written), 0, 0, 0)

    mails = {m["Message-ID"]: m for m in smtp.sink.mails()}
    assert len(mails) == len(smtp.sink.received) == len(written), "each message exactly once"
    for row in written:
        mail = mails[f"<{row['id'].replace(':', '%3A')}@ordercare>"]
        assert mail["To"].addresses[0].addr_spec == "c-anne@example.com"
        assert mail["To"].addresses[0].display_name == "Anne Lefèvre"
        assert mail["Subject"] == row["subject"]
        assert mail["Content-Language"] == "fr"
        assert mail.get_content_charset() == "utf-8"
        assert mail.get_content().replace("\r\n", "\n").strip() == row["text"]
        assert email.utils.parsedate_to_datetime(mail["Date"]) == datetime.fromisoformat(row["at"])
    [apology] = [m for m in written if m["kind"] == "exception"][:1]
    body = mails[header_message_id(apology["id"], "ordercare")].get_content()
    assert "désolés" in body and "Le Petit Prince" in body, "UTF-8 French text arrives intact"
    assert all(mail_from == "no-reply@ordercare.invalid" and rcpt == ["c-anne@example.com"]
               for mail_from, rcpt, _ in smtp.sink.received)

    state = stored(db)
    assert {s["status"] for s in state.values()} == {"sent"}
    assert {s["attempts"] for s in state.values()} == {1}
    assert all(s["claimed_by"] is None and s["sent_at"] for s in state.values())

    again = deliver(db, smtp, AFTER + timedelta(days=30))
    assert (again.sent, again.failed, again.deferred) == (0, 0, 0), "a second run sends nothing"
    assert len(smtp.sink.received) == len(written)


def test_a_message_waits_for_its_own_time(db_url, smtp):
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    apology_at = min(datetime.fromisoformat(m["at"]) for m in written if m["kind"] == "exception")

    early = deliver(db, smtp, apology_at - timedelta(seconds=1))
    assert early.sent == len([m for m in written if datetime.fromisoformat(m["at"]) < apology_at])
    assert early.deferred == len(written) - early.sent
    later = deliver(db, smtp, AFTER)
    assert early.sent + later.sent == len(written) == len(smtp.sink.received)


def test_messages_of_one_case_thread_on_its_first_message(db_url, smtp):
    db = services.open_store(db_url)
    written = stalled_parcel_story(db)
    case_msgs = [m for m in written if m["case_id"]]  # in the order they were written
    assert len(case_msgs) >= 2 and len({m["case_id"] for m in case_msgs}) == 1

    deliver(db, smtp, AFTER)
    mails = {m["Message-ID"]: m for m in smtp.sink.mails()}
    first, *later = (mails[header_message_id(m["id"], "ordercare")] for m in case_msgs)
    assert first["In-Reply-To"] is None and first["References"] is None, "the case's first mail"
    for mail in later:
        assert mail["In-Reply-To"] == first["Message-ID"]
        assert mail["References"] == first["Message-ID"]
    routine = [mails[header_message_id(m["id"], "ordercare")] for m in written if not m["case_id"]]
    assert all(m["In-Reply-To"] is None for m in routine), "routine updates start no thread"


# ---- refusals, retries, dead letters ------------------------------------------------------------

@pytest.mark.parametrize("reply", ["451 4.3.0 Mailbox busy, try again later",
                                   "554 5.7.1 Message rejected"])
def test_a_refusing_server_gets_retries_with_backoff_then_dead_and_nothing_is_lost(db_url, reply):
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    n = len(written)
    with SmtpServer(SmtpSink(refuse=reply)) as server:
        config = sender_config(server.port, retry={"max_attempts": 3, "base_backoff_seconds": 60,
                                                   "backoff_cap_seconds": 90})
        t0 = AFTER
        first = deliver(db, server, t0, config)
        assert (first.sent, first.failed, first.dead) == (0, n, 0)
        state = stored(db)
        assert {s["attempts"] for s in state.values()} == {1}
        assert {s["next_attempt_us"] for s in state.values()} == {us(t0 + timedelta(seconds=60))}
        assert all(reply.split()[0] in s["last_error"] for s in state.values()), "says why"
        assert all(s["claimed_by"] is None for s in state.values())

        waiting = deliver(db, server, t0 + timedelta(seconds=59), config)
        assert (waiting.sent, waiting.failed, waiting.deferred) == (0, 0, n), "backing off"

        second = deliver(db, server, t0 + timedelta(seconds=60), config)
        assert second.failed == n
        t2 = t0 + timedelta(seconds=60 + 90)  # 2 x base = 120 s, capped at 90 s
        assert {s["next_attempt_us"] for s in stored(db).values()} == {us(t2)}

        third = deliver(db, server, t2, config)
        assert (third.failed, third.dead, third.deferred) == (0, n, 0)
        assert server.sink.attempts == 3 * n and server.sink.received == []
        state = stored(db)
        assert {s["status"] for s in state.values()} == {"dead"}
        assert {s["attempts"] for s in state.values()} == {3}

        assert deliver(db, server, t2 + timedelta(days=1), config).sent == 0, "dead stays dead"

        server.sink.refuse = None  # the cause is fixed: an operator re-queues the dead letters
        assert requeue_dead(db, t2 + timedelta(days=1)) == n
        again = deliver(db, server, t2 + timedelta(days=1), config)
    assert again.sent == n and len(server.sink.received) == n, "nothing was lost"
    assert [m["text"] for m in services.list_messages(db)] == [m["text"] for m in written]


def test_an_unreachable_relay_counts_no_attempt_and_hands_the_batch_back(db_url):
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    config = sender_config(free_port())  # nobody listens there
    report = send_due(db, AFTER, SmtpTransport(config.smtp), config, "test-sender")
    assert report.sent == 0 and report.failed == 0 and report.deferred == len(written)
    assert report.transport_error and "cannot open SMTP to 127.0.0.1" in report.transport_error
    state = stored(db)
    assert {(s["status"], s["attempts"], s["claimed_by"]) for s in state.values()} == \
        {("pending", 0, None)}


@pytest.mark.parametrize("sink", [SmtpSink(refuse_sender="553 5.7.1 Sender address rejected"),
                                  SmtpSink(refuse_rcpt="421 4.3.2 Service shutting down")],
                         ids=["sender refused", "closing at RCPT"])
def test_a_relay_refusing_our_sender_or_closing_charges_no_message_an_attempt(db_url, sink):
    """Every message would be refused alike: none is charged an attempt or ends dead."""
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    with SmtpServer(sink) as server:
        report = deliver(db, server, AFTER)
    assert (report.sent, report.failed, report.dead) == (0, 0, 0) and report.deferred == len(written)
    assert report.transport_error
    assert {(s["status"], s["attempts"]) for s in stored(db).values()} == {("pending", 0)}


def test_a_relay_refusing_our_sender_charges_no_message_an_attempt_and_says_what_to_fix(db_url):
    """Every message would be refused alike (our own address is the problem): none is
    charged an attempt or ends dead, and the report says to check the sender."""
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    with SmtpServer(SmtpSink(refuse_sender="553 5.7.1 Sender address rejected")) as server:
        report = deliver(db, server, AFTER)
    assert (report.sent, report.failed, report.dead) == (0, 0, 0) and report.deferred == len(written)
    assert report.transport_error and "refuses our sender" in report.transport_error
    assert "553" in report.transport_error and "from_address" in report.transport_error
    assert {(s["status"], s["attempts"]) for s in stored(db).values()} == {("pending", 0)}


def test_a_customer_without_an_address_is_a_delivery_error_that_says_so():
    message = Outgoing(message_id="M-1", header_id="<M-1@ordercare>", customer_id="c-ghost",
                       order_id="o-1", case_id=None, kind="milestone", channel="email", lang="en",
                       at=PLACED, subject="Hello", text="Hi", to_email=None, to_name=None,
                       in_reply_to=None, references=(), attempts=0)
    with pytest.raises(Exception, match="customer c-ghost has no e-mail address"):
        build_email(message, "shop <care@shop.example>")


def test_message_ids_are_stable_and_valid_for_any_message_id():
    assert header_message_id("M-C-o-1-1-2", "ordercare") == "<M-C-o-1-1-2@ordercare>"
    assert header_message_id("M-o-1-confirmed:", "ordercare") == "<M-o-1-confirmed%3A@ordercare>"
    assert header_message_id("a b%", "x") == "<a%20b%25@x>", "escaping is injective"
    assert header_message_id("commandé", "x") == "<command%C3%A9@x>", "UTF-8 bytes, escaped: ASCII only"
    dotted = [header_message_id(m, "x") for m in ("a", "a.", ".a", "a..b", "a.b", "...")]
    assert dotted == ["<a@x>", "<a%2E@x>", "<%2Ea@x>", "<a.%2Eb@x>", "<a.b@x>", "<%2E.%2E@x>"]
    assert len(set(dotted)) == len(dotted), "escaping, not dropping: still injective"


# ---- several senders ----------------------------------------------------------------------------

def test_a_lease_keeps_other_senders_away_until_it_ends(db_url, smtp):
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    config = sender_config(smtp.port)
    lease = timedelta(seconds=config.lease_seconds)
    with db.begin() as conn:
        held = claim(conn, "other-sender", us(AFTER), us(AFTER + lease), 100)
    assert len(held) == len(written)

    assert deliver(db, smtp, AFTER, config).sent == 0, "claimed by a live sender"
    assert deliver(db, smtp, AFTER + lease, config).sent == len(written), "its lease has ended"
    assert len(smtp.sink.received) == len(written)
    assert release_worker(db, "other-sender") == 0, "nothing left to take back"


def test_concurrent_senders_never_send_the_same_message_twice(db_url):
    db = services.open_store(db_url)
    b = shop()
    for i in range(20):
        b.order(f"o-{i}", "c-bob" if i % 2 else "c-anne", at(PLACED, minutes=i),
                [line("l1", "book", "s-books", 12.5)])
    services.replay(db, "story.jsonl", b.lines(), AFTER)
    n = len(services.list_messages(db))
    assert n >= 40
    with SmtpServer(SmtpSink(ack_delay=0.002)) as server:
        config = sender_config(server.port, batch_size=4)
        reports: list[Any] = []
        workers = [threading.Thread(target=lambda w=w: reports.append(
            deliver(db, server, AFTER, config, worker=f"sender-{w}"))) for w in range(3)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    ids = Counter(m["Message-ID"] for m in server.sink.mails())
    assert len(ids) == n and set(ids.values()) == {1}
    assert sum(r.sent for r in reports) == n and count_pending(db) == 0


# ---- configuration and schema -------------------------------------------------------------------

def test_environment_overrides_are_checked_and_name_the_bad_variable(tmp_path):
    config = load_sender_config(env={"ORDERCARE_SMTP_HOST": "mail.shop.example",
                                     "ORDERCARE_SMTP_PORT": "2525"})
    smtp = config.smtp
    assert (smtp.host, smtp.port, smtp.starttls) == ("mail.shop.example", 2525, False)
    with pytest.raises(RulesError, match=r"ORDERCARE_SMTP_PORT='25x': not a port number"):
        load_sender_config(env={"ORDERCARE_SMTP_PORT": "25x"})
    with pytest.raises(RulesError, match=r"ORDERCARE_SMTP_PORT='0'"):
        load_sender_config(env={"ORDERCARE_SMTP_PORT": "0"})
    with pytest.raises(RulesError, match=r"ORDERCARE_SMTP_HOST=''"):
        load_sender_config(env={"ORDERCARE_SMTP_HOST": ""})
    bad = tmp_path / "senders.yaml"
    bad.write_text(resources.files("ordercare.notify").joinpath("senders.yaml").read_text()
                   .replace("max_attempts: 8", "max_attempts: 8\n  max_attemps: 3"))
    with pytest.raises(RulesError, match=r"senders.yaml: retry.max_attemps \(line \d+\): unknown"):
        load_sender_config(bad, env={})


def test_an_outbox_written_before_the_upgrade_is_delivered_after_it(db_url, smtp):
    """A deployment at revision 0001 with pending messages migrates and sends them."""
    db = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("ordercare.store") / "migrations"))
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with db.begin() as conn:
        conn.execute(text(
            "INSERT INTO parties (kind, party_id, data) VALUES ('customer', 'c-bob', :d)"),
            {"d": json.dumps({"email": "bob@example.com", "lang": "en"})})
        conn.execute(text(
            "INSERT INTO messages (message_id, customer_id, kind, channel, lang, at, at_us,"
            " subject, text) VALUES ('M-old', 'c-bob', 'milestone', 'email', 'en', :at, :us,"
            " 'Hi', 'Hello')"),
            {"at": PLACED, "us": us(datetime.fromisoformat(PLACED))})
    migrate(db)
    assert deliver(db, smtp, AFTER).sent == 1
    assert smtp.sink.mails()[0]["Message-ID"] == "<M-old@ordercare>"
    with db.begin() as conn:  # and the revision goes down again cleanly
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        assert conn.execute(text("SELECT status FROM messages")).scalar_one() == "sent"
