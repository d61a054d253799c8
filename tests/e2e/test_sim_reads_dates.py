"""The demo's customers read the restock dates we tell them in our own words, English and
French: the date their scorecard judges is the date the message says (the case keeps the
same), the supplier's later date replaces the first, and the date "we told you" is never
taken for the new one."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ordercare.sim.builder import at
from ordercare.sim.scorecard import inbox_of
from tests.e2e.cli import cases, messages, replay
from tests.e2e.test_fulfilment import DAY, fc_shop
from tests.e2e.test_restock_promise import lamp_order, purchase


def _day(days_since_epoch: int) -> date:
    return date(1970, 1, 1) + timedelta(days=days_since_epoch)


def test_the_sim_customer_reads_the_date_each_of_our_messages_gives_in_both_languages(db_url, tmp_path):
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=2, hours=1))    # Thursday 4 June
    lamp_order(b, "o-bob", "c-bob", DAY)
    lamp_order(b, "o-anne", "c-anne", at(DAY, minutes=5))
    b.add("purchase_order.updated", at(DAY, days=1, hours=1),
          {"po_id": "PO-1", "expected_at": at(DAY, days=7, hours=1), "reason": "strike at the port"})
    replay(db_url, b, tmp_path, "--until", at(DAY, days=3))

    sent = messages(db_url)
    inbox = inbox_of(cases(db_url), sent)
    for order_id, lang in (("o-bob", "en"), ("o-anne", "fr")):
        told = [m for m in sent if m["order_id"] == order_id and m["kind"] == "exception"]
        assert len(told) == 2 and all(m["lang"] == lang for m in told), "the stock-out, then the later date"
        read = inbox.dates[order_id]
        assert [datetime.fromisoformat(m["at"]) for m in told] == \
            [datetime.fromtimestamp(said / 1e6).astimezone() for said, _ in read]
        assert [_day(d) for _, d in read] == [date(2026, 6, 5), date(2026, 6, 10)], \
            "Friday 5 June (Thursday and a day), then Wednesday 10 June, never the old date repeated"
        [case] = [c for c in cases(db_url) if c["order_id"] == order_id]
        assert datetime.fromisoformat(case["restock_expected_at"]).date() == _day(read[-1][1])


def test_told_the_stock_is_in_time_for_the_ship_by_the_customer_holds_us_to_the_ship_by(db_url, tmp_path):
    """Ordered on Friday 5 June, ship-by Monday 8 June, stock expected that Friday afternoon:
    "around Saturday 6 June, in time to ship it by Monday 8 June". The customer expects the
    lamp to leave by Monday, not on Saturday."""
    fri = at(DAY, days=3)
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(fri, hours=6))
    lamp_order(b, "o-anne", "c-anne", fri)
    replay(db_url, b, tmp_path, "--until", at(fri, days=1))
    sent = messages(db_url)
    [(_, day)] = inbox_of(cases(db_url), sent).dates["o-anne"]
    assert "à temps pour l'expédier d'ici le lundi 8 juin" in sent[0]["text"]
    assert _day(day) == date(2026, 6, 8)
