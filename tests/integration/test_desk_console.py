"""The agents' console under ``/desk`` (FastAPI's test client on the real app and store): off
without a token, closed without the cookie; the home lists what needs a person (callbacks due,
replacements nobody sent, open cases); a case page shows the file and its forms act through
the same services as ``ordercare act`` and ``callback-done``."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi.testclient import TestClient

from ordercare import services
from ordercare.notify.links import Links
from ordercare.web.app import create_app
from tests.e2e.cli import replay
from tests.e2e.test_replacement_requests import case_never_came
from tests.e2e.test_self_service import shop

TOKEN = "desk-secret-for-tests"
NOW = datetime.fromisoformat("2026-06-20T10:00:00+02:00")


def world(db_url, tmp_path):
    """Bob's case never came; he chose a replacement, which the seller never sent."""
    b = case_never_came(shop())
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    store = services.open_store(db_url)
    [first] = services.list_cases(store)
    b.choose("o-5", first["id"], "2026-06-09T10:00:00+02:00", "replacement")
    replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")
    return store, first


FORM = {"content-type": "application/x-www-form-urlencoded"}


def post(c: TestClient, case_id: str, what: str, body: str, **headers: str):  # type: ignore[no-untyped-def]
    """Post a form from the case's own page, with the key its forms carry."""
    page = c.get(f"/desk/case/{case_id}").text
    key = re.search(r"name='csrf' value='([0-9a-f]+)'", page)
    assert key, "the case page carries its forms' key"
    return c.post(f"/desk/case/{case_id}/{what}", content=f"{body}&csrf={key.group(1)}", headers={**FORM, **headers})


def client(store, token: str | None = TOKEN) -> TestClient:
    return TestClient(create_app(store, Links.from_env(), clock=lambda: NOW, desk_token=token or ""),
                      follow_redirects=True)


def test_the_console_is_off_without_a_token_and_closed_without_the_cookie(db_url, tmp_path):
    store, _ = world(db_url, tmp_path)
    assert client(store, token=None).get("/desk").status_code == 404, "no token set: no console at all"
    c = client(store)
    assert c.get("/desk").status_code == 401
    assert c.get("/desk/login?t=guess").status_code == 401
    assert c.post("/desk/case/x/act", content="agent=eve&action=refund",
                  headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 401
    home = c.get(f"/desk/login?t={TOKEN}")
    assert home.status_code == 200 and "Callbacks due" in home.text, "logged in, the cookie opens it"


def test_home_lists_what_needs_a_person_and_the_case_page_acts(db_url, tmp_path):
    store, first = world(db_url, tmp_path)
    c = client(store)
    home = c.get(f"/desk/login?t={TOKEN}").text
    [rq] = services.list_requests(store, status="overdue")
    assert rq["id"] in home and "s-books" in home, "the replacement the seller never sent is listed"
    chase = next(x for x in services.list_cases(store) if x["reason"] == "late_shipment")
    assert chase["id"] in home, "its open case too"

    [due] = services.list_callbacks(store)
    assert due["case_id"] == chase["id"] and due["rule"] == "late_2d", "two days late: a person calls"
    tried = post(c, chase["id"], "callback", "agent=lea&outcome=no_answer&note=voicemail")
    assert "call recorded: No answer" in tried.text
    assert [t["note"] for t in services.list_callbacks(store)[0]["attempts"]] == ["voicemail"], "still due"

    page = c.get(f"/desk/case/{chase['id']}").text
    assert "Pink silicone case for iPod nano" in page and "sent again 2026-06-09T10:00:00+02:00" in page
    assert rq["id"] in page and "overdue" in page, "what was asked of the seller, and where it stands"
    assert "We&#x27;re sorry" not in page and "Your order o-5 is delayed" in page, "what we wrote, by subject"

    post(c, chase["id"], "callback", "agent=lea&outcome=reached")
    assert services.list_callbacks(store) == [], "reached: the call is made"
    done = post(c, chase["id"], "act", "agent=lea&action=refund&line=l2&note=on+the+phone")
    assert done.status_code == 200 and "Refund (no return): done" in done.text
    [after] = services.list_cases(store, chase["id"])
    assert [a["amount"] for a in after["actions"] if a["type"] == "refund"] == [9.9]
    assert [a["note"] for a in after["actions"] if a["type"] == "agent_action"] == ["on the phone"]
    assert after["status"] == "resolved"
    assert services.list_requests(store)[0]["status"] == "cancelled", "the seller need not send it any more"
    told = [m for m in services.list_messages(store, chase["id"]) if m["kind"] == "reply"]
    assert told and "As agreed with our team" in told[-1]["text"]
    assert "lea:refund" in c.get(f"/desk/case/{chase['id']}").text


def test_a_bad_form_changes_nothing_and_says_why(db_url, tmp_path):
    store, first = world(db_url, tmp_path)
    c = client(store)
    c.get(f"/desk/login?t={TOKEN}")
    before = services.list_cases(store, first["id"])[0]["actions"]
    page = post(c, first["id"], "act", "agent=&action=refund").text
    assert "choose an action and say who you are" in page
    page = post(c, first["id"], "act", "agent=lea&action=update_address").text
    assert "needs a street, a postcode and a city" in page
    page = post(c, first["id"], "act", "agent=lea&action=refund&line=l9").text
    assert "has no line l9" in page
    page = post(c, first["id"], "callback", "agent=lea&outcome=reached").text
    assert re.search("no callback is due on case", page)
    assert services.list_cases(store, first["id"])[0]["actions"] == before


def test_a_replacement_nobody_sent_is_asked_again_and_one_still_to_come_is_not(db_url, tmp_path):
    store, first = world(db_url, tmp_path)
    c = client(store)
    c.get(f"/desk/login?t={TOKEN}")
    page = post(c, first["id"], "act", "agent=lea&action=replace").text
    assert "Send a replacement: done (replace)" in page
    old, new = services.list_requests(store)
    assert (old["status"], new["status"]) == ("cancelled", "open"), "the one never sent gives way to the new one"
    told = [m for m in services.list_messages(store, first["id"]) if m["kind"] == "reply"][-1]
    assert "leaves us by" in told["text"] and "on its way" not in told["text"]
    page = post(c, first["id"], "act", "agent=tom&action=replace").text
    assert "nothing to do" in page, "asked again a minute ago, still to come: not a third one"
    assert len(services.list_requests(store)) == 2
    told = [m for m in services.list_messages(store, first["id"]) if m["kind"] == "reply"][-1]
    assert "What we are sending you again leaves us by" in told["text"] and "on its way" not in told["text"]


def test_the_same_form_sent_twice_changes_the_address_once_and_mails_once(db_url, tmp_path):
    """Lea fixes Bob's address and her browser sends the form twice (a double click, a reload
    that posts again): one address change, one mail; the second press says it is done."""
    store, first = world(db_url, tmp_path)
    c = client(store)
    c.get(f"/desk/login?t={TOKEN}")
    page = c.get(f"/desk/case/{first['id']}").text
    csrf = re.search(r"name='csrf' value='([0-9a-f]+)'", page)
    once = re.search(r"name='submission' value='([0-9a-f]+)'", page)
    assert csrf and once, "the act form carries its one-time key"
    body = (f"agent=lea&action=update_address&line1=5+rue+Haute&postcode=69001&city=Lyon&country=FR"
            f"&csrf={csrf.group(1)}&submission={once.group(1)}")
    done = c.post(f"/desk/case/{first['id']}/act", content=body, headers=FORM)
    assert "done (" in done.text
    acted = services.list_cases(store, first["id"])[0]["actions"]
    mailed = services.list_messages(store)
    again = c.post(f"/desk/case/{first['id']}/act", content=body, headers=FORM)
    assert "done already" in again.text
    assert services.list_cases(store, first["id"])[0]["actions"] == acted
    assert services.list_messages(store) == mailed, "no second mail"
    fresh = c.get(f"/desk/case/{first['id']}").text
    assert re.search(r"name='submission' value='([0-9a-f]+)'", fresh).group(1) != once.group(1), \
        "a form shown again is a new act"


def test_a_form_from_elsewhere_does_not_act(db_url, tmp_path):
    """The cookie goes along with a post from another app on the same site: the console takes
    a form only from its own pages (same origin, and the key its forms carry)."""
    store, first = world(db_url, tmp_path)
    c = client(store)
    c.get(f"/desk/login?t={TOKEN}")
    chase = next(x for x in services.list_cases(store) if x["reason"] == "late_shipment")
    forged = c.post(f"/desk/case/{chase['id']}/act", content="agent=mallory&action=refund&line=l2", headers=FORM)
    assert forged.status_code == 403, "no key"
    elsewhere = post(c, chase["id"], "act", "agent=mallory&action=refund&line=l2",
                     origin="http://evil.localhost:3000", **{"sec-fetch-site": "same-site"})
    assert elsewhere.status_code == 403, "another origin, even with the key"
    [after] = services.list_cases(store, chase["id"])
    assert not [a for a in after["actions"] if a["type"] == "refund"]
    assert post(c, chase["id"], "act", "agent=lea&action=refund&line=l2", origin="http://testserver",
                **{"sec-fetch-site": "same-origin"}).status_code == 200, "its own page posts"


def test_the_agent_calling_about_late_stock_sees_the_date_the_customer_was_told(db_url, tmp_path):
    """The restock date passed: a call is due; the case page says what date the customer was
    last given, and the message that told them so."""
    from ordercare.sim.builder import at
    from tests.e2e.test_fulfilment import DAY, fc_shop
    from tests.e2e.test_restock_promise import lamp_order, purchase
    b = fc_shop()
    purchase(b, "PO-1", at(DAY, days=-3), 5, at(DAY, days=1, hours=1))
    purchase(b, "PO-2", at(DAY, days=-1), 5, at(DAY, days=8, hours=1))
    lamp_order(b, "o-lamp", "c-bob", DAY)
    replay(db_url, b, tmp_path, "--until", at(DAY, days=5))
    store = services.open_store(db_url)
    [due] = services.list_callbacks(store)
    assert due["rule"] == "restock_overdue"
    c = client(store)
    assert due["case_id"] in c.get(f"/desk/login?t={TOKEN}").text
    page = c.get(f"/desk/case/{due['case_id']}").text
    assert "New stock told to the customer as expected around 2026-06-11T10:00:00+02:00" in page
    assert "is still out of stock" in page
