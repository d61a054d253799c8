"""Bad input gets a clear error and loses nothing; duplicates are harmless; order does not matter."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from ordercare.sim.builder import EventBuilder, at, line
from tests.e2e.cli import cases, messages, ordercare, refused, replay

PLACED = "2026-05-28T09:14:00+02:00"


def story() -> EventBuilder:
    b = EventBuilder()
    b.customer("c-1", lang="en").seller("s-1").sku("book", "A book")
    b.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 12.5)])
    b.create_shipment("sh-1", "o-1", "s-1", ["l1"], at(PLACED, hours=2))
    b.ship("sh-1", at(PLACED, hours=3), "TRK-1")
    return b


def test_each_bad_line_is_kept_with_its_line_number_and_reason_and_its_neighbours_apply(db_url, tmp_path):
    good = story().jsonl().splitlines()
    bad = [
        "{not json",
        json.dumps({"id": "x-1", "type": "order.teleported", "at": PLACED, "data": {}}),
        json.dumps({"id": "x-2", "type": "payment.captured", "at": PLACED, "data": {"order_id": "o-1"}}),
        json.dumps({"id": "x-3", "type": "payment.captured", "at": "2026-05-28T09:14:00",
                    "data": {"order_id": "o-1", "amount": 3}}),
        json.dumps({"id": "x-4", "type": "payment.captured", "at": PLACED,
                    "data": {"order_id": "o-ghost", "amount": 3}}),
        json.dumps({"id": "x-5", "type": "carrier.scan", "at": PLACED,
                    "data": {"tracking": "NOWHERE", "status": "delivered"}}),
    ]
    text = "\n".join(good[:3] + bad + good[3:]) + "\n"
    report = replay(db_url, text, tmp_path)
    assert report["applied"] == len(good)
    reasons = {r["line"]: r["reason"] for r in report["rejected"]}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9]
    assert "not valid JSON" in reasons[4]
    assert "order.teleported" in reasons[5]
    assert "amount" in reasons[6]
    assert "timezone" in reasons[7]
    assert "unknown order 'o-ghost'" in reasons[8]
    assert "unknown tracking number 'NOWHERE'" in reasons[9]

    kept = json.loads(ordercare("rejected", "--json", "--db", db_url))
    assert [(r["line"], r["raw"]) for r in kept] == [(n, bad[n - 4]) for n in range(4, 10)]

    ordercare("replay", str(tmp_path / "events-0.jsonl"), "--strict", "--db", db_url, expect=1)


def test_a_rejected_event_is_resubmitted_once_its_order_arrives(db_url, tmp_path):
    early = EventBuilder(prefix="p-").pay("o-2", at(PLACED, hours=1), 20.0)
    report = replay(db_url, early, tmp_path)
    assert "unknown order 'o-2'" in report["rejected"][0]["reason"]
    [dead] = json.loads(ordercare("rejected", "--json", "--db", db_url))
    # Retried too early: still refused, said by the file and line it came from.
    result = json.loads(ordercare("resubmit", "--json", "--db", db_url))
    assert result["cleared"] == 0 and result["rejected"] == [
        {"line": 1, "source": "events-0.jsonl", "dead_letter": dead["id"], "reason": dead["reason"]}]
    said = ordercare("resubmit", "--db", db_url)
    assert f"  events-0.jsonl:1 (dead letter {dead['id']}): {dead['reason']}" in said.splitlines()
    later = story()
    later.order("o-2", "c-1", PLACED, [line("l1", "book", "s-1", 20.0)])
    replay(db_url, later, tmp_path)
    result = json.loads(ordercare("resubmit", "--json", "--db", db_url))
    assert result["cleared"] == 1 and result["applied"] == 1
    assert json.loads(ordercare("rejected", "--json", "--db", db_url)) == []


def test_duplicates_are_harmless_and_conflicts_are_rejected(db_url, tmp_path):
    b = story()
    twice = b.jsonl() + b.jsonl()
    conflicting = dict(b.events[3])
    conflicting["data"] = {**conflicting["data"], "currency": "USD"}
    report = replay(db_url, twice + json.dumps(conflicting) + "\n", tmp_path)
    assert report["applied"] == len(b.events)
    assert report["duplicates"] == len(b.events)
    assert len(report["rejected"]) == 1 and "conflict" in report["rejected"][0]["reason"]


def test_replaying_the_same_file_twice_changes_nothing(db_url, tmp_path):
    b = story()
    first = replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    before = cases(db_url), ordercare("messages", "--json", "--db", db_url)
    again = replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    assert first["applied"] == len(b.events) and again["applied"] == 0
    assert again["duplicates"] == len(b.events)
    assert (cases(db_url), ordercare("messages", "--json", "--db", db_url)) == before


def test_events_after_until_wait_for_a_later_replay(db_url, tmp_path):
    b = story()
    b.scan("TRK-1", at(PLACED, days=10), "delivered")
    report = replay(db_url, b, tmp_path, "--until", at(PLACED, days=2))
    assert report["deferred"] == 1 and report["applied"] == len(b.events) - 1
    report = replay(db_url, b, tmp_path)
    assert report["applied"] == 1 and report["duplicates"] == len(b.events) - 1


def _state(url: str) -> tuple:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = tuple(sorted(conn.execute(sa.text(f"SELECT * FROM {t}")).all())
                    for t in ("events", "orders", "cases", "messages", "callbacks"))
    engine.dispose()
    return out


def _many_orders(n: int) -> EventBuilder:
    b = EventBuilder()
    b.customer("c-1").seller("s-1").sku("book", "A book")
    for i in range(n):
        placed = at(PLACED, minutes=i)
        b.order(f"o-{i}", "c-1", placed, [line("l1", "book", "s-1", 10.0)])
        if i % 3:
            b.create_shipment(f"sh-{i}", f"o-{i}", "s-1", ["l1"], at(placed, hours=5))
            b.ship(f"sh-{i}", at(placed, hours=6), f"T-{i}")
            if i % 5:
                b.scan(f"T-{i}", at(placed, hours=9), "accepted")
    return b


def test_a_replay_killed_mid_way_loses_and_repeats_nothing(db_url, twin_url, tmp_path):
    """SIGKILL in the middle of a replay, on SQLite and on PostgreSQL: what was committed
    stands, the rest is not half-written, and the same file replayed again ends where an
    uninterrupted replay ends."""
    b = _many_orders(3000)
    path = tmp_path / "big.jsonl"
    path.write_text(b.jsonl())
    until = "2026-08-01T00:00:00+02:00"
    killed, clean = db_url, twin_url
    cmd = [sys.executable, "-m", "ordercare", "replay", str(path), "--until", until, "--batch", "500"]
    proc = subprocess.Popen(cmd + ["--db", killed], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = sa.create_engine(killed)
    deadline = time.time() + 60
    committed = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            with engine.connect() as conn:
                committed = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
        except sa.exc.DBAPIError:  # (no table yet: the store is being created)
            committed = 0
        if committed >= 1000:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    engine.dispose()
    assert 0 < committed < len(b.events), "the kill landed mid-way"

    resumed = replay(killed, path.read_text(), tmp_path, "--until", until)
    assert resumed["duplicates"] >= committed and resumed["rejected"] == []
    replay(clean, path.read_text(), tmp_path, "--until", until)
    assert _state(killed) == _state(clean)


def test_lines_that_used_to_crash_a_replay_are_dead_letters(db_url, tmp_path):
    """Bytes that are not UTF-8, a quantity too large for the store, JSON nested without end,
    an order in the year 9999: each is a rejected line with its reason, and the rest of the
    file applies."""
    good = story().jsonl().encode()
    latin1 = json.dumps({"id": "x-1", "type": "customer.registered", "at": PLACED,
                         "data": {"customer_id": "c-2", "email": "e@x.fr", "lang": "fr", "name": "Zoé"}},
                        ensure_ascii=False).encode("latin-1")

    def placing(event_id: str, moment: str, qty: int) -> bytes:
        return json.dumps({"id": event_id, "type": "order.placed", "at": moment, "data": {
            "order_id": event_id, "customer_id": "c-1", "currency": "EUR",
            "lines": [{"line_id": "l1", "sku": "book", "seller_id": "s-1", "qty": qty, "unit_price": 1.0,
                       "fulfilled_by": "seller"}]}}).encode()

    deep = (json.dumps({"id": "x-3", "type": "payment.captured", "at": PLACED,
                        "data": {"order_id": "o-1", "amount": 1, "x": 0}})[:-3]
            + "[" * 5000 + "]" * 5000 + "}}").encode()
    bad = [latin1, placing("x-2", PLACED, 10**30), deep, placing("x-4", "9999-12-30T10:00:00+00:00", 1)]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(good + b"\n".join(bad) + b"\n")
    report = json.loads(ordercare("replay", str(path), "--json", "--db", db_url))
    assert report["applied"] == len(good.splitlines())
    reasons = {r["line"]: r["reason"] for r in report["rejected"]}
    assert "not valid UTF-8" in reasons[7] and "qty" in reasons[8]
    assert "nested too deeply" in reasons[9] and "after the times ordercare counts with" in reasons[10]
    corrected = placing("x-4", PLACED, 1)  # the year-9999 line, put right, under its id
    (tmp_path / "corrected.jsonl").write_bytes(placing("x-4", "9999-12-30T10:00:00+00:00", 1) + b"\n" + corrected)
    again = json.loads(ordercare("replay", str(tmp_path / "corrected.jsonl"), "--json", "--db", db_url))
    assert again["applied"] == 1 and [r["line"] for r in again["rejected"]] == [1]


def test_a_line_that_is_not_utf8_or_holds_a_nul_is_kept_byte_for_byte_and_never_repaired(db_url, tmp_path):
    """Zoé's registration saved in Latin-1, and a line with a NUL byte in it: both are dead
    letters readable as text and kept byte for byte; a retry sees what was sent, so the
    Latin-1 line is refused again rather than accepted as "Zo\ufffd"."""
    latin1 = json.dumps({"id": "x-1", "type": "customer.registered", "at": PLACED,
                         "data": {"customer_id": "c-2", "email": "e@x.fr", "lang": "fr", "name": "Zoé"}},
                        ensure_ascii=False).encode("latin-1")
    nul = b'{"id": "x-2", "type": "customer.registered",\x00 "at": "' + PLACED.encode() + b'"}'
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(story().jsonl().encode() + latin1 + b"\n" + nul + b"\n")
    ordercare("replay", str(path), "--json", "--db", db_url)
    dead = json.loads(ordercare("rejected", "--json", "--db", db_url))
    assert [(d["line"], base64.b64decode(d["raw_base64"])) for d in dead] == [(7, latin1), (8, nul)]
    assert "Zo\ufffd" in dead[0]["raw"] and "\x00" not in dead[1]["raw"]
    assert "not valid UTF-8" in dead[0]["reason"]
    ordercare("replay", str(path), "--json", "--db", db_url)  # the same file again: no second copy
    assert len(json.loads(ordercare("rejected", "--json", "--db", db_url))) == 2
    again = json.loads(ordercare("resubmit", "--json", "--db", db_url))
    assert again["cleared"] == 0 and [r["line"] for r in again["rejected"]] == [7, 8]
    with sa.create_engine(db_url).connect() as conn:  # Zoé was not registered under a mangled name
        assert conn.execute(sa.text("SELECT count(*) FROM parties WHERE party_id = 'c-2'")).scalar() == 0


def test_a_resent_event_with_another_field_is_a_conflict_and_key_order_is_not(db_url, tmp_path):
    first = {"id": "p-1", "type": "payment.captured", "at": PLACED, "data": {"order_id": "o-1", "amount": 12.5}}
    reordered = {"data": {"amount": 1.25e1, "order_id": "o-1"}, "at": PLACED, "type": "payment.captured", "id": "p-1"}
    noted = {**first, "data": {**first["data"], "note": "second try"}}
    text = story().jsonl() + "\n".join(json.dumps(e) for e in (first, reordered, noted)) + "\n"
    report = replay(db_url, text, tmp_path)
    assert report["duplicates"] == 1
    [conflict] = report["rejected"]
    assert conflict["line"] == 9 and "conflict" in conflict["reason"]


def test_a_scan_stamped_before_the_shipment_it_belongs_to_is_applied_after_it(db_url, tmp_path):
    """Two systems' clocks: the carrier's first scan is a minute earlier than the shop's
    `shipment.shipped`, in the same file. It is applied right after it, with its own time."""
    b = story()  # shipped at +3 h with TRK-1
    b.scan("TRK-1", at(PLACED, hours=2, minutes=59), "accepted", "Paris")
    b.scan("TRK-1", at(PLACED, days=1), "delivered", "Lyon")
    report = replay(db_url, b, tmp_path)
    assert report["applied"] == len(b.jsonl().splitlines()) and report["rejected"] == []
    dossier = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    [ship] = dossier["shipments"]
    assert ship["delivered_at"] is not None and cases(db_url) == []


def test_a_sellers_cancellation_stamped_before_the_order_it_cancels_is_applied_after_it(db_url, tmp_path):
    """The seller's clock is two seconds ahead of the storefront's: its cancellation is stamped
    before the order.placed, in the same file. It cancels the line (a seller-cancellation
    case, the customer told), not nothing (then a late-shipment apology for a cancelled line)."""
    b = EventBuilder()
    b.customer("c-1", lang="en").seller("s-1").sku("book", "A book")
    b.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 12.5)])
    b.pay("o-1", at(PLACED, minutes=1), 12.5)
    b.cancel("o-1", at(PLACED, seconds=-2), "seller", "out_of_stock", line_ids=["l1"])
    replay(db_url, b, tmp_path, "--until", "2026-06-10T00:00:00+02:00")
    assert [c["reason"] for c in cases(db_url)] == ["seller_cancellation"]
    dossier = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    assert [ln["line_id"] for ln in dossier["lines"] if ln["cancelled"]] == ["l1"]


def test_resubmit_until_keeps_what_is_not_due_yet(db_url, tmp_path):
    b = story()
    late = json.dumps({"id": "p-late", "type": "payment.captured", "at": at(PLACED, days=2),
                       "data": {"order_id": "o-2", "amount": 5.0}})
    replay(db_url, b.jsonl() + late + "\n", tmp_path)  # o-2 does not exist yet: a dead letter
    more = EventBuilder("m-").order("o-2", "c-1", PLACED, [line("l1", "book", "s-1", 5.0)])
    replay(db_url, more, tmp_path)
    report = json.loads(ordercare("resubmit", "--until", at(PLACED, days=1), "--json", "--db", db_url))
    assert report["cleared"] == 0 and report["deferred"] == 1
    [kept] = json.loads(ordercare("rejected", "--json", "--db", db_url))
    assert kept["event_id"] == "p-late"
    report = json.loads(ordercare("resubmit", "--json", "--db", db_url))
    assert report["cleared"] == 1 and report["applied"] == 1


def test_what_the_commands_print_is_the_data_as_is_one_line_each(db_url, tmp_path):
    """Text from outside (an id, a raw line, a customer's words) is printed as it came: never
    read as markup (a "[/x]" would crash the printing, a "[red]" vanish) and never wrapped."""
    odd = "o-[/x]-[red]-" + "x" * 80
    pay = json.dumps({"id": "p-odd", "type": "payment.captured", "at": PLACED,
                      "data": {"order_id": odd, "amount": 1.0}})
    path = tmp_path / "odd.jsonl"
    path.write_text(story().jsonl() + pay + "\n")
    summary = ordercare("replay", str(path), "--db", db_url)
    [said] = [ln for ln in summary.splitlines() if ln.startswith("  line ")]
    assert said == f"  line {len(story().events) + 1}: refers to unknown order {odd!r} (no order.placed in this " \
                   "input or the store)"
    listed = ordercare("rejected", "--db", db_url).splitlines()
    assert listed[0].endswith(f"refers to unknown order {odd!r} (no order.placed in this input or the store)")
    assert listed[1] == f"  {pay[:160]}"


def test_an_order_placed_twice_under_another_id_is_refused_not_rewritten(db_url, tmp_path):
    """The storefront sends o-1 again under a new event id, other lines, another customer:
    the order stays as it was placed (what the customer was promised and charged), and the
    second placing is a dead letter saying why, in the store as in the same file."""
    replay(db_url, story(), tmp_path)
    before = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    again = EventBuilder("again-")
    again.customer("c-2", lang="fr")
    again.order("o-1", "c-2", at(PLACED, days=1), [line("l9", "book", "s-1", 99.0)])
    again.order("o-2", "c-2", at(PLACED, days=1), [line("l1", "book", "s-1", 5.0)])
    again.order("o-2", "c-2", at(PLACED, days=1, minutes=1), [line("l1", "book", "s-1", 50.0)])
    report = replay(db_url, again, tmp_path)
    assert [r["reason"] for r in report["rejected"]] == [
        "order 'o-1' is placed already (in the store): a second order.placed is refused",
        "order 'o-2' is placed already (line 3): a second order.placed is refused"]
    after = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    assert after == before, "o-1 untouched"
    o2 = json.loads(ordercare("dossier", "o-2", "--json", "--db", db_url))
    assert [ln["unit_price"] for ln in o2["lines"]] == [5.0], "the first placing stands"
    assert replay(db_url, story(), tmp_path)["duplicates"] == len(story().events), "the same event again: harmless"
    # Placed again with other lines, and a parcel of the stored order's own line: the parcel is
    # judged by the order as stored, not by the refused placing.
    third = EventBuilder("third-")
    third.order("o-1", "c-1", at(PLACED, days=2), [line("l9", "book", "s-1", 1.0)])
    third.create_shipment("sh-2", "o-1", "s-1", ["l1"], at(PLACED, days=2, hours=1))
    report = replay(db_url, third, tmp_path)
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (1, "order 'o-1' is placed already (in the store): a second order.placed is refused")]
    assert report["applied"] == 1


def test_a_file_saved_with_a_byte_order_mark_and_lines_cut_short_say_what_is_wrong(db_url, tmp_path):
    good = story().jsonl().splitlines()
    cut = good[-1][:40]
    alien = json.dumps({"id": "x-9", "type": "order.exploded", "at": PLACED, "data": {}})
    path = tmp_path / "exported.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join([*good, cut, alien]).encode() + b"\n")
    report = json.loads(ordercare("replay", str(path), "--json", "--db", db_url))
    assert report["applied"] == len(good), "the mark an editor put before line 1 is not part of the event"
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (len(good) + 1, "not valid JSON: the line ends before the event does (truncated)"),
        (len(good) + 2, "unknown event type 'order.exploded' (CONTRACT §1 lists the types)")]
    said = refused("replay", str(path), "--until", "2026-05-29", "--db", db_url)
    assert "e.g. 2026-05-29T00:00:00+02:00" in said, "a hint that works as given"


def test_an_until_before_the_stores_clock_is_said_not_silently_ignored(db_url, tmp_path):
    from typer.testing import CliRunner

    from ordercare.cli import app
    first = replay(db_url, story(), tmp_path)
    path = tmp_path / "more.jsonl"
    path.write_text(EventBuilder("more-").customer("c-9").jsonl())
    result = CliRunner().invoke(app, ["replay", str(path), "--until", PLACED, "--json", "--db", db_url])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["clock"] == first["clock"], "the clock does not go back"
    assert result.stderr.startswith(f"note: the store's clock stood at {first['clock']} already, after --until")


def test_an_event_naming_a_line_its_order_does_not_have_is_a_dead_letter(db_url, tmp_path):
    """A parcel, a cancellation or a return naming a line the order does not have would be
    acted on as if the order had it (or silently do nothing): refused, naming the order's lines.
    The order may be placed in the same input or stored already."""
    b = EventBuilder()
    b.customer("c-1").seller("s-1").sku("book", "A book")
    b.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 12.5), line("l2", "book", "s-1", 3.0)])
    b.create_shipment("sh-1", "o-1", "s-1", ["l1", "l-404"], at(PLACED, hours=2))
    first = replay(db_url, b, tmp_path)
    assert [r["reason"] for r in first["rejected"]] == [
        "order 'o-1' has no line 'l-404' (its lines: l1, l2)"]
    later = EventBuilder("later-")
    later.cancel("o-1", at(PLACED, hours=3), "customer", "changed_mind", line_ids=["l2", "zzz"])
    later.add("return.received", at(PLACED, days=5), {"order_id": "o-1", "line_ids": ["l9"], "condition": "sellable"})
    later.cancel("o-1", at(PLACED, hours=4), "customer", "changed_mind", line_ids=["l2"])
    second = replay(db_url, later, tmp_path)
    assert [(r["line"], r["reason"]) for r in second["rejected"]] == [
        (1, "order 'o-1' has no line 'zzz' (its lines: l1, l2)"),
        (2, "order 'o-1' has no line 'l9' (its lines: l1, l2)")]
    assert second["applied"] == 1, "the cancellation naming a real line applies"
    dossier = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    assert [ln["line_id"] for ln in dossier["lines"] if ln["cancelled"]] == ["l2"]
    assert dossier["shipments"] == [], "the parcel with the unknown line was refused whole"


def test_a_buyer_message_without_its_words_is_a_dead_letter(db_url, tmp_path):
    b = story()
    b.add("buyer_seller.message", at(PLACED, hours=1), {"message_id": "bm-1", "order_id": "o-1", "from": "buyer"})
    report = replay(db_url, b, tmp_path)
    assert [r["reason"] for r in report["rejected"]] == ["Object missing required field `text` - at `$.data`"]


def test_a_command_that_reads_refuses_a_store_that_is_not_there_and_creates_none(tmp_path):
    """A mistyped path: the read commands say there is no store there, and leave none
    behind (an empty store would answer "no cases" as if all were well); replay creates it."""
    missing = tmp_path / "typo.db"
    url = f"sqlite:///{missing}"
    for command in (["cases"], ["messages"], ["rejected"], ["callbacks"], ["requests"], ["resubmit"],
                    ["dossier", "o-1"], ["sellers"], ["insights"], ["inventory"],
                    ["callback-done", "C-1", "--agent", "lea"], ["act", "C-1", "resolve", "--agent", "lea"],
                    ["seller", "s-1"], ["warehouse"], ["desk-report"], ["reorder", "--at", "2026-06-01T00:00:00+00:00"],
                    ["purchase-orders", "--at", "2026-06-01T00:00:00+00:00"],
                    ["milkrun", "plan", "--at", "2026-06-01T00:00:00+00:00"], ["send", "--once"]):
        said = refused(*command, "--db", url)
        assert said == (f"error: no store at {missing}: nothing was recorded there "
                        "(`ordercare replay` or `ordercare watch` creates it)"), (command, said)
        assert not missing.exists(), command
    replay(url, EventBuilder().customer("c-1", lang="en", name="Ann"), tmp_path)
    assert missing.exists() and json.loads(ordercare("cases", "--json", "--db", url)) == []


def test_a_nul_character_spelt_in_a_text_is_a_dead_letter_not_a_crash(db_url, tmp_path):
    """``\\u0000`` in a name or an id is valid JSON, but no store column can keep it (on
    PostgreSQL the whole replay used to fail): each such line is a dead letter with its
    reason, its neighbours apply, and a backslash the customer really typed is no NUL."""
    b = story()
    b.customer("c-2", lang="en", name="Ann\u0000B")
    b.order("o\u00002", "c-1", PLACED, [line("l1", "book", "s-1", 12.0)])
    b.customer("c-3", lang="en", name="C:\\u0000 is a path")  # a backslash typed, then u0000: no NUL
    half = json.dumps({"id": "x-h", "type": "customer.registered", "at": PLACED,
                       "data": {"customer_id": "c-4", "email": "e@x.fr", "lang": "en", "name": "Ann"}})
    half = half.replace('"Ann"', '"An\\ud800n"')  # half of a UTF-16 pair: the decoder says "truncated"
    report = replay(db_url, b.jsonl() + half + "\n", tmp_path)
    n = len(story().jsonl().splitlines())
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (n + 1, "a text holds a NUL character (\\u0000): no id, name or message may (the store could not keep it)"),
        (n + 2, "a text holds a NUL character (\\u0000): no id, name or message may (the store could not keep it)"),
        (n + 4, "not valid JSON: a text holds half a character (\\ud800, a lone UTF-16 surrogate)")]
    assert report["applied"] == n + 1
    [kept, _, _] = json.loads(ordercare("rejected", "--json", "--db", db_url))
    assert json.loads(kept["raw"])["data"]["name"] == "Ann\u0000B"  # kept whole, as sent


def test_a_refused_parcel_takes_its_departure_and_scans_with_it_and_the_rest_of_the_file_applies(db_url, tmp_path):
    """The parcel names a line its order does not have: refused, and so are its departure and
    its scans (their parcel exists nowhere), instead of stopping the whole file."""
    b = EventBuilder()
    b.customer("c-1").seller("s-1").sku("book", "A book")
    b.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 12.5)])
    b.create_shipment("sh-1", "o-1", "s-1", ["l9"], at(PLACED, hours=2))
    b.ship("sh-1", at(PLACED, hours=3), "TRK-1")
    b.scan("TRK-1", at(PLACED, hours=8), "accepted")
    b.order("o-2", "c-1", PLACED, [line("l1", "book", "s-1", 12.5)])
    report = replay(db_url, b, tmp_path)
    assert [r["reason"] for r in report["rejected"]] == [
        "order 'o-1' has no line 'l9' (its lines: l1)",
        "refers to unknown shipment 'sh-1' (no shipment.created for it)",
        "refers to unknown tracking number 'TRK-1' (no shipment.shipped carries it)"]
    assert report["applied"] == len(b.lines()) - 3
    assert json.loads(ordercare("dossier", "o-2", "--json", "--db", db_url))["order_id"] == "o-2"


def test_a_parcel_labelled_again_keeps_its_newer_label_when_the_older_one_is_heard_late(db_url, tmp_path):
    """Labelled TRK-A, then again TRK-B with another carrier; the first label's news reaches us
    last. The parcel is TRK-B's, as in time order: its scans are the parcel's, no false alarm."""
    b = story()  # shipped at +3 h with TRK-1 (colissimo)
    b.ship("sh-1", at(PLACED, hours=4), "TRK-B", carrier="dhl")
    events = b.jsonl().splitlines()
    first, older = [ln for ln in events if '"TRK-1"' not in ln], [ln for ln in events if '"TRK-1"' in ln]
    (tmp_path / "first.jsonl").write_text("\n".join(first) + "\n")
    (tmp_path / "older.jsonl").write_text("\n".join(older) + "\n")
    ordercare("replay", str(tmp_path / "first.jsonl"), "--json", "--db", db_url)
    ordercare("replay", str(tmp_path / "older.jsonl"), "--json", "--db", db_url)
    scans = EventBuilder("scan-")
    scans.scan("TRK-B", at(PLACED, hours=9), "accepted", "Paris")
    scans.scan("TRK-B", at(PLACED, days=1, hours=9), "in_transit", "Lyon")
    report = replay(db_url, scans, tmp_path, "--until", at(PLACED, days=2))
    assert report["rejected"] == []
    [ship] = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))["shipments"]
    assert (ship["carrier"], ship["tracking"]) == ("dhl", "TRK-B")
    assert [c["reason"] for c in cases(db_url)] == []


def test_a_registration_heard_after_a_newer_one_does_not_undo_it(db_url, tmp_path):
    """Anne switched to English and the seller now takes five days; their older registrations
    reach us after the newer ones, before Anne orders. Her confirmation is in English and the
    ship-by counts five days, as when everything comes in time order."""
    newer = EventBuilder()
    newer.customer("c-1", lang="en", name="Anne", at="2026-03-01T00:00:00+00:00")
    newer.seller("s-1", handling_days=5, at="2026-03-01T00:00:00+00:00")
    newer.sku("book", "A book")
    older = EventBuilder("old-")
    older.customer("c-1", lang="fr", name="Anne", at="2026-01-01T00:00:00+00:00")
    older.seller("s-1", handling_days=2, at="2026-01-01T00:00:00+00:00")
    order = EventBuilder("order-")
    order.order("o-1", "c-1", PLACED, [line("l1", "book", "s-1", 12.5)])
    for part in (newer, older, order):
        replay(db_url, part, tmp_path)
    assert [m["lang"] for m in messages(db_url) if m["order_id"] == "o-1"] == ["en"]
    dossier = json.loads(ordercare("dossier", "o-1", "--json", "--db", db_url))
    assert dossier["ship_by"].startswith("2026-06-04"), "five business days from Thursday 28 May (two: 1 June)"
