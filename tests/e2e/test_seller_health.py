"""Seller health, end to end: three sellers over 60 days, replayed through the real engine.

* S1 ships well: 2 negative feedbacks in 300 orders — good all along;
* S2 gathers 5 defects in 300 orders (negative feedback, a chargeback, and a guarantee claim
  after a buyer message left unanswered) — warned, then suspended once its window holds 200
  orders; its new orders are flagged; reinstated on a plan of action, suspended again by
  the next defect;
* S3 cancels 7.5 % of its orders for stock-outs — at risk, warned once.

Runs on SQLite and PostgreSQL (``db_url``), through ``services.replay`` and the CLI.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

import typer
from typer.testing import CliRunner

from ordercare import services
from ordercare.sellers import notices
from ordercare.sellers.cli import seller_cmd, sellers_cmd
from ordercare.sim.builder import EventBuilder, line
from tests.e2e.cli import cases, messages

START = datetime.fromisoformat("2026-03-02T00:00:00+00:00")  # a Monday
SELLERS = ("S1", "S2", "S3")
ORDERS = 300  # per seller: 5 a day for 60 days
S3_CANCELS = {5, 18, 31}  # of every 40 orders: 7.5 %
# (seller, day, slot) of each defective order, and how the defect comes
DEFECTS = {
    ("S1", 50, 0): "feedback-1", ("S1", 55, 0): "feedback-2",
    ("S2", 10, 0): "feedback-1", ("S2", 12, 0): "chargeback", ("S2", 30, 0): "feedback-2",
    ("S2", 45, 0): "unanswered", ("S2", 55, 0): "feedback-1",
}
EMAIL = "Hello, could you write to me at jean.dupont@gmail.com about the colour?"


def day(d: float, **delta: float) -> datetime:
    return START + timedelta(days=d, **delta)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def oid(seller: str, d: int, k: int) -> str:
    return f"{seller}-{d:02d}-{k}"


def placed_at(d: int, k: int) -> datetime:
    return day(d, hours=8 + 2 * k)


def world() -> EventBuilder:
    b = EventBuilder()
    for i in range(6):
        b.customer(f"c-{i}", lang="fr" if i % 2 else "en", name=f"Client {i}")
    for s in SELLERS:
        b.seller(s).sku(f"sku-{s}", f"Widget from {s}")
    for s in SELLERS:
        for i in range(ORDERS):
            d, k = divmod(i, 5)
            o, placed = oid(s, d, k), placed_at(d, k)
            promise = {"ship_by": iso(placed + timedelta(days=2)),
                       "deliver_by": iso(placed + timedelta(days=5))}
            b.order(o, f"c-{i % 6}", placed, [line("l1", f"sku-{s}", s, 20.0)], promise=promise)
            b.pay(o, placed + timedelta(minutes=1), 20.0)
            if s == "S3" and i % 40 in S3_CANCELS:
                b.cancel(o, placed + timedelta(hours=3), "seller", "out_of_stock")
                continue
            b.create_shipment(f"sh-{o}", o, s, ["l1"], placed + timedelta(hours=2))
            b.ship(f"sh-{o}", placed + timedelta(days=1), f"T-{o}")
            b.scan(f"T-{o}", placed + timedelta(days=1, hours=6), "in_transit", "Paris")
            b.scan(f"T-{o}", placed + timedelta(days=3), "delivered", "Lyon")
            defect = DEFECTS.get((s, d, k))
            if defect and defect.startswith("feedback"):
                b.add("feedback.left", placed + timedelta(days=4),
                      {"order_id": o, "seller_id": s, "rating": int(defect[-1])})
            elif defect == "chargeback":
                b.add("chargeback.filed", placed + timedelta(days=5), {"order_id": o, "amount": 20.0})
            elif defect == "unanswered":
                b.add("buyer_seller.message", placed + timedelta(days=1),
                      {"message_id": "m-unanswered", "order_id": o, "from": "buyer",
                       "text": "Where is my parcel? Nobody answers."})
    # a buyer leaves an e-mail address in a message to S1, who answers within the day
    o = oid("S1", 20, 1)
    b.add("buyer_seller.message", placed_at(20, 1) + timedelta(hours=1),
          {"message_id": "m-email", "order_id": o, "from": "buyer", "text": EMAIL})
    b.add("buyer_seller.message", placed_at(20, 1) + timedelta(hours=5),
          {"message_id": "m-reply", "order_id": o, "from": "seller", "text": "It is blue. Best, S1"})
    # the last word of the period: a buyer writes to S3, after every other event
    b.add("buyer_seller.message", LAST_MESSAGE,
          {"message_id": "m-last", "order_id": oid("S3", 59, 4), "from": "buyer",
           "text": "Is it gift-wrapped?"})
    return b


LAST_MESSAGE = day(62, hours=18)


def run_replay(db: str, lines: list[tuple[int, bytes]], until: datetime | None = None) -> Any:
    report = services.replay(services.open_store(db), "story", lines, until)
    assert report.rejected == []
    return report


def cli(*args: str, expect: int = 0) -> Any:
    """The seller commands, mounted as the main app will mount them."""
    app = typer.Typer()
    app.command("sellers")(sellers_cmd)
    app.command("seller")(seller_cmd)
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout) if "--json" in args and expect == 0 else result.output


def by_seller(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["seller_id"]: r for r in rows}


def seller_cases(db: str, seller: str) -> list[dict[str, Any]]:
    return [c for c in cases(db, sellers=True) if c["origin"] == "seller" and c["id"].startswith(f"S-{seller}-")]


def test_three_sellers_over_sixty_days(db_url: str) -> None:
    events = world()
    report = run_replay(db_url, events.lines())
    assert report.applied == len(events.events)

    # -- the contract's view at the end of the period -------------------------------------
    rows = cli("sellers", "--json", "--db", db_url)
    assert [list(r)[:7] for r in rows][0] == [
        "seller_id", "orders", "order_defect_rate", "late_shipment_rate", "cancel_rate",
        "valid_tracking_rate", "status"]
    end = by_seller(rows)
    assert {s: r["status"] for s, r in end.items()} == {
        "S1": "good", "S2": "suspended", "S3": "at_risk"}
    assert end["S1"]["order_defect_rate"] == 2 / end["S1"]["orders"] < 0.01
    assert end["S2"]["order_defect_rate"] == 5 / end["S2"]["orders"] >= 0.01
    assert end["S2"]["orders"] >= 200
    assert end["S3"]["cancel_rate"] > 0.025 and end["S3"]["order_defect_rate"] == 0
    for r in end.values():
        assert r["late_shipment_rate"] == 0 and r["valid_tracking_rate"] == 1

    # -- status changes: cases of origin seller, once per change ----------------------------
    assert seller_cases(db_url, "S1") == []
    s2 = seller_cases(db_url, "S2")
    assert [a["type"] for c in s2 for a in c["actions"]] == ["seller_warning", "seller_suspension"]
    warning, suspension = s2
    assert warning["status"] == "resolved" and suspension["status"] == "open"
    assert suspension["order_id"] is None and suspension["reason"] == "seller_performance"
    suspended_at = datetime.fromisoformat(suspension["opened_at"])
    assert suspended_at == placed_at(39, 4), "the instant its 200th order entered the window"
    s3 = seller_cases(db_url, "S3")
    assert [a["type"] for c in s3 for a in c["actions"]] == ["seller_warning"]

    detail = cli("seller", "S2", "--json", "--db", db_url)
    change = [h for h in detail["history"] if h["status"] == "suspended"]
    assert len(change) == 1 and change[0]["case_id"] == suspension["id"]
    assert any("order_defect_rate 1.50% (3 of 200)" in r for r in change[0]["reasons"])
    odr = next(m for m in detail["metrics"] if m["metric"] == "order_defect_rate")
    assert (odr["numerator"], odr["window_days"]) == (5, 60)
    assert odr["order_ids"] == sorted(oid("S2", d, k) for (s, d, k) in DEFECTS if s == "S2")
    assert detail["metrics"][0]["window"]["to"] == detail["at"]

    # -- new orders of a suspended seller are flagged -----------------------------------------
    flagged = detail["flagged_orders"]
    assert flagged[0]["order_id"] == oid("S2", 40, 0) and len(flagged) == 100
    assert end["S2"]["flagged_orders"] == 100 and end["S1"]["flagged_orders"] == 0

    # -- the unanswered message: after 48 h the guarantee refunds the buyer and claims ---------
    unanswered = oid("S2", 45, 0)
    [case] = [c for c in cases(db_url) if c["reason"] == "seller_unresponsive"]
    assert case["order_id"] == unanswered and case["origin"] == "proactive"
    sent = placed_at(45, 0) + timedelta(days=1)
    assert datetime.fromisoformat(case["opened_at"]) == sent + timedelta(hours=48)
    kinds = {a["type"]: a for a in case["actions"]}
    assert kinds["refund"]["amount"] == 20.0 and kinds["refund"]["return_required"] is False
    assert kinds["guarantee_claim"]["line_ids"] == ["l1"]
    told = [m for m in messages(db_url) if m["case_id"] == case["id"]]
    assert len(told) == 1 and "20,00 EUR" in told[0]["text"] and told[0]["lang"] == "fr"
    assert "48 heures" in told[0]["text"] and told[0]["subject"].endswith("nous vous avons remboursé")
    assert detail["messages"]["taken_over_by_guarantee"] == [
        {"message_id": "m-unanswered", "order_id": unanswered, "case_id": case["id"]}]
    assert unanswered in next(m for m in detail["metrics"]
                              if m["metric"] == "response_rate")["order_ids"]

    # -- the relay masks contact details and counts them ------------------------------------
    s1 = cli("seller", "S1", "--json", "--db", db_url)
    assert s1["masked_contact_details"] == {"from_seller": 0, "from_buyer": 1}
    assert s1["messages"]["from_buyer"] == 1 and s1["messages"]["from_seller"] == 1
    assert s1["status"] == "good" and s1["history"] == []
    then = cli("seller", "S1", "--json", "--at", iso(day(22)), "--db", db_url)
    response = next(m for m in then["metrics"] if m["metric"] == "response_rate")
    assert (response["numerator"], response["denominator"]) == (1, 1), "answered within 24 h"
    with services.open_store(db_url).connect() as conn:
        from sqlalchemy import text
        relayed = conn.execute(text("SELECT text, masked FROM buyer_seller_messages "
                                    "WHERE message_id = 'm-email'")).one()
    assert relayed[0] == EMAIL.replace("jean.dupont@gmail.com", "[e-mail retiré]"), "to fr words"
    assert relayed[1] == 1

    # -- as of the middle of the period --------------------------------------------------------
    mid = by_seller(cli("sellers", "--json", "--at", iso(day(30)), "--db", db_url))
    assert {s: r["orders"] for s, r in mid.items()} == {"S1": 150, "S2": 150, "S3": 150}
    assert mid["S2"]["order_defect_rate"] == 2 / 150 and mid["S2"]["status"] == "at_risk"
    assert mid["S1"]["status"] == "good"
    assert mid["S3"]["cancel_rate"] == 2 / 35 and mid["S3"]["status"] == "at_risk"
    assert cli("seller", "S2", "--json", "--at", iso(day(30)), "--db", db_url)["history"][0][
        "status"] == "at_risk"

    # -- the last message's 48 h pass after the last event: the clock alone fires it -----------
    assert not [c for c in cases(db_url) if c["order_id"] == oid("S3", 59, 4)
                and c["reason"] == "seller_unresponsive"]
    run_replay(db_url, [], until=LAST_MESSAGE + timedelta(days=3))
    [late] = [c for c in cases(db_url) if c["order_id"] == oid("S3", 59, 4)
              and c["reason"] == "seller_unresponsive"]
    assert datetime.fromisoformat(late["opened_at"]) == LAST_MESSAGE + timedelta(hours=48)

    # -- reinstatement is a recorded decision; good until the next defect ----------------------
    cli("seller", "S1", "--reinstate", "--note", "why not", "--db", db_url, expect=1)
    done = cli("seller", "S2", "--reinstate", "--note", "plan of action accepted", "--by", "tess",
               "--json", "--db", db_url)
    assert done["status"] == "good" and done["resolved_case"] == suspension["id"]
    now = by_seller(cli("sellers", "--json", "--db", db_url))
    assert now["S2"]["status"] == "good" and now["S2"]["reinstated_at"] == done["reinstated"]["at"]
    detail = cli("seller", "S2", "--json", "--db", db_url)
    assert detail["reinstatement"] == {"at": done["reinstated"]["at"], "by": "tess",
                                       "note": "plan of action accepted"}
    assert [c["status"] for c in seller_cases(db_url, "S2")] == ["resolved", "resolved"]

    clock = datetime.fromisoformat(done["reinstated"]["at"])
    quiet = clock + timedelta(hours=3)
    run_replay(db_url, [], until=quiet)
    assert by_seller(cli("sellers", "--json", "--db", db_url))["S2"]["status"] == "good"
    assert len(seller_cases(db_url, "S2")) == 2, "no case while nothing new happens"

    again = EventBuilder(prefix="again-")
    again.add("feedback.left", quiet + timedelta(hours=1),
              {"order_id": oid("S2", 50, 2), "seller_id": "S2", "rating": 1})
    run_replay(db_url, again.lines(), until=quiet + timedelta(hours=3))
    assert by_seller(cli("sellers", "--json", "--db", db_url))["S2"]["status"] == "suspended"
    actions = [a["type"] for c in seller_cases(db_url, "S2") for a in c["actions"]]
    assert actions == ["seller_warning", "seller_suspension", "seller_suspension"]

    # -- the seller heard of each change of its standing, in order (its notice feed) ------------
    with services.open_store(db_url).connect() as conn:
        told = [n for n in notices.feed(conn, "S2") if n["type"] == "standing.changed"]
        assert not [n for n in notices.feed(conn, "S1") if n["type"] == "standing.changed"]
    assert [(n["data"]["status"], n["data"]["previous"], n["data"]["reinstated"]) for n in told] == [
        ("at_risk", "good", False), ("suspended", "at_risk", False), ("good", "suspended", True),
        ("suspended", "good", False)]
    assert told[1]["data"]["case_id"] == suspension["id"]
    assert datetime.fromisoformat(told[1]["at"]) == suspended_at
    assert any("order_defect_rate" in r for r in told[1]["data"]["figures"]["reasons"]), "with the figures"

    # -- replaying the same file again changes nothing -------------------------------------------
    before = (cases(db_url), cli("sellers", "--json", "--db", db_url))
    report = services.replay(services.open_store(db_url), "story", events.lines())
    assert report.applied == 0 and report.duplicates == len(events.events)
    assert (cases(db_url), cli("sellers", "--json", "--db", db_url)) == before


def test_the_seller_history_depends_on_event_time_only(db_url: str) -> None:
    """Two files, lines shuffled, tiny batches: the same changes, at the same instants."""
    lines = world().lines()
    random.Random(6).shuffle(lines)
    cut = iso(day(30))
    first = [(n, raw) for n, raw in lines if json.loads(raw)["at"] < cut]
    store = services.open_store(db_url)
    services.replay(store, "first", first, batch=97)
    services.replay(store, "second", lines, batch=389)
    history = {s: [(h["at"], h["status"]) for h in cli("seller", s, "--json", "--db", db_url)[
        "history"]] for s in SELLERS}
    assert history == {
        "S1": [],
        "S2": [(iso(placed_at(10, 0) + timedelta(days=4)), "at_risk"),  # 1 defect in 71 orders
               (iso(placed_at(39, 4)), "suspended")],  # its 200th order: 3 defects in 200
        # at risk once its 7-day window holds enough orders (policy warning.min_count) to mean it
        "S3": [("2026-03-03T16:00:00+00:00", "at_risk")],
    }


def test_a_chargeback_naming_a_seller_counts_against_that_seller_only(db_url: str) -> None:
    """Two sellers share each of four orders. A chargeback naming SA (the platform read the
    bank's reason: SA's item never came) is SA's defect alone; one naming no seller, or a
    seller not on the order, is held against both."""
    b = EventBuilder()
    b.customer("c-1", lang="en", name="Ann")
    for s in ("SA", "SB"):
        b.seller(s)
    start = START + timedelta(days=1)
    for i in range(4):
        b.order(f"o-{i}", "c-1", iso(start + timedelta(hours=i)),
                [line("l1", "MUG", "SA", 9.0), line("l2", "BOOK", "SB", 12.0)])
    b.add("chargeback.filed", iso(start + timedelta(days=3)), {"order_id": "o-0", "amount": 9.0, "seller_id": "SA"})
    b.add("chargeback.filed", iso(start + timedelta(days=3)), {"order_id": "o-1", "amount": 21.0})
    b.add("chargeback.filed", iso(start + timedelta(days=3)), {"order_id": "o-2", "amount": 9.0, "seller_id": "SZ"})
    run_replay(db_url, b.lines())
    end = by_seller(cli("sellers", "--json", "--db", db_url))
    assert end["SA"]["orders"] == end["SB"]["orders"] == 4
    assert end["SA"]["order_defect_rate"] == 3 / 4
    assert end["SB"]["order_defect_rate"] == 2 / 4, "o-1 and o-2 only: o-0's chargeback was SA's"


def test_a_defect_the_platform_removes_stops_counting_against_the_seller(db_url: str) -> None:
    """SA has four orders: negative feedback on o-0 (about the delivery the platform made),
    a chargeback on o-1. A later file says the platform removed that feedback: SA's defect
    rate goes from 2/4 to 1/4. A removal naming no order we hold, or no kind of defect, is a
    dead letter with its reason."""
    b = EventBuilder()
    b.customer("c-1", lang="en", name="Ann")
    b.seller("SA")
    start = START + timedelta(days=1)
    for i in range(4):
        b.order(f"o-{i}", "c-1", iso(start + timedelta(hours=i)), [line("l1", "MUG", "SA", 9.0)])
    b.add("feedback.left", iso(start + timedelta(days=3)), {"order_id": "o-0", "seller_id": "SA", "rating": 1})
    b.add("chargeback.filed", iso(start + timedelta(days=3)), {"order_id": "o-1", "amount": 9.0})
    run_replay(db_url, b.lines())
    assert by_seller(cli("sellers", "--json", "--db", db_url))["SA"]["order_defect_rate"] == 2 / 4

    later = EventBuilder(prefix="r-")
    later.add("seller_defect.removed", iso(start + timedelta(days=5)),
              {"order_id": "o-0", "seller_id": "SA", "kind": "negative_feedback", "reason": "about our delivery"})
    later.add("seller_defect.removed", iso(start + timedelta(days=5)),
              {"order_id": "o-9", "seller_id": "SA", "kind": "chargeback"})
    later.add("seller_defect.removed", iso(start + timedelta(days=5)),
              {"order_id": "o-1", "seller_id": "SA", "kind": "late_shipment"})
    later.add("seller_defect.removed", iso(start + timedelta(days=5)),
              {"order_id": "o-1", "seller_id": "SB", "kind": "chargeback"})  # a seller not on the order
    report = services.replay(services.open_store(db_url), "later", later.lines())
    assert [r["line"] for r in report.rejected] == [2, 3, 4]
    assert "unknown order 'o-9'" in report.rejected[0]["reason"]
    assert "kind" in report.rejected[1]["reason"]
    assert report.rejected[2]["reason"] == "order 'o-1' has no seller 'SB' (its sellers: SA)"
    assert set(by_seller(cli("sellers", "--json", "--db", db_url))) == {"SA"}, "no phantom seller"
    end = by_seller(cli("sellers", "--json", "--db", db_url))["SA"]
    assert end["order_defect_rate"] == 1 / 4, "the chargeback still counts; the feedback no longer does"
