"""The self-service pages, over HTTP (FastAPI's test client on the real app and store):
opening a link changes nothing, the button records the choice once, a forged link is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

from ordercare import services
from ordercare.notify.links import Links
from ordercare.web.app import create_app
from tests.e2e.cli import replay
from tests.e2e.test_self_service import links_in, shop, stalled
from tests.support.web import served

CLICK = datetime.fromisoformat("2026-06-05T12:30:00+02:00")


def refunds(store, case_id: str) -> list[dict]:
    [case] = services.list_cases(store, case_id)
    return [a for a in case["actions"] if a["type"] == "refund"]


def test_open_the_link_confirm_once_and_refuse_a_forged_one(db_url, tmp_path):
    replay(db_url, stalled(shop(), "o-1", "c-anne"), tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    store = services.open_store(db_url)
    [case] = services.list_cases(store)
    [first] = services.list_messages(store, case["id"])
    links = Links.from_env()
    url = links.url(case["id"], "refund")
    assert url in first["text"], "the message carries the very link the app checks"
    path = urlsplit(url).path + "?" + urlsplit(url).query
    client = TestClient(create_app(store, links, clock=lambda: CLICK))

    page = client.get(path)
    assert page.status_code == 200 and "Remboursez-moi maintenant" in page.text and "<form method='post'" in page.text
    assert "iPod nano 8GB, Pink silicone case for iPod nano" in page.text and "in_transit — Orléans" in page.text, \
        "the page says what the choice is about: the items, and where the parcel was last seen"
    assert refunds(store, case["id"]) == [], "opening a link (a mail scanner does) records nothing"

    forged = path.replace("/refund?", "/replacement?")
    assert client.post(forged).status_code == 404
    assert client.post(path[:-4] + "0000").status_code == 404
    assert refunds(store, case["id"]) == []

    done = client.post(path)
    assert done.status_code == 200 and "C'est fait" in done.text and "158,90" in done.text
    again = client.post(path)
    assert again.status_code == 200
    assert [a["amount"] for a in refunds(store, case["id"])] == [158.9], "a second click refunds nothing more"
    [kept] = [e for e in _events(store) if e[0] == "customer.choice"]
    assert kept[1] == case["order_id"]
    store.dispose()


def test_wait_is_noted_without_a_mail(db_url, tmp_path):
    replay(db_url, stalled(shop(), "o-2", "c-bob"), tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    store = services.open_store(db_url)
    [case] = services.list_cases(store)
    before = len(services.list_messages(store, case["id"]))
    wait = links_in(services.list_messages(store, case["id"])[0]["text"])["wait"]
    client = TestClient(create_app(store, Links.from_env(), clock=lambda: CLICK))
    page = client.post(f"/choice/{wait[0]}/wait?t={wait[1]}")
    assert page.status_code == 200 and "we keep watching" in page.text
    assert len(services.list_messages(store, case["id"])) == before
    [case] = services.list_cases(store, case["id"])
    assert [a.get("rule") for a in case["actions"] if a["type"] == "customer_choice"] == ["wait"]
    store.dispose()


def _events(store) -> list[tuple[str, str]]:
    from sqlalchemy import text
    with store.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(text("SELECT type, order_id FROM events"))]


def test_serve_refuses_the_development_secret_on_a_public_address(sqlite_url, monkeypatch):
    from typer.testing import CliRunner

    from ordercare.cli import app
    monkeypatch.delenv("ORDERCARE_LINK_SECRET", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--db", sqlite_url])
    assert result.exit_code == 2 and "ORDERCARE_LINK_SECRET" in result.output



def test_a_case_id_with_a_slash_or_a_space_survives_the_link(sqlite_url):
    """Order ids are the shop's: a link must still find a case named ``C-2026/06 A-1``."""
    from ordercare.sim.builder import EventBuilder, at, line
    b = EventBuilder()
    b.customer("c-bob", lang="en", name="Bob").seller("s-books", handling_days=2).sku("book", "Le Petit Prince")
    b.order("2026/06 A", "c-bob", "2026-06-01T10:00:00+02:00", [line("l1", "book", "s-books", 12.5)])
    b.pay("2026/06 A", at("2026-06-01T10:00:00+02:00", minutes=1), 12.5)
    store = services.open_store(sqlite_url)
    services.replay(store, "story", b.lines(), datetime.fromisoformat("2026-06-05T00:00:00+02:00"))
    [case] = services.list_cases(store)
    [first] = services.list_messages(store, case["id"])
    refund = links_in(first["text"])["refund"]
    assert refund[0] == case["id"] == "C-2026/06 A-1"
    client = TestClient(create_app(store, Links.from_env(), clock=lambda: CLICK))
    url = Links.from_env().url(case["id"], "refund")
    path = url.removeprefix(Links.from_env().base_url)
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 200
    assert refunds(store, case["id"])[0]["amount"] == 12.5
    store.dispose()


def test_report_a_problem_from_the_delivery_message(db_url, tmp_path):
    """Opening the report link shows a form; the answers show what will be recorded; only the
    button records it, once; a link for another order is refused."""
    from ordercare.sim.builder import line
    from tests.e2e.test_self_service import delivered
    b = delivered(shop(), "o-r", [line("l1", "ipod", "s-audio", 149.0), line("l2", "case", "s-audio", 9.9)], 158.9)
    replay(db_url, b, tmp_path, "--until", "2026-06-04T00:00:00+02:00")
    store = services.open_store(db_url)
    links = Links.from_env()
    url = urlsplit(links.report_url("o-r"))
    client = TestClient(create_app(store, links, clock=lambda: CLICK))
    form = client.get(f"{url.path}?{url.query}")
    assert form.status_code == 200 and "name='problem'" in form.text and "Pink silicone case for iPod nano" in form.text
    asked = f"{url.path}?{url.query}&line=l2&problem=wrong_item&wants=refund"
    page = client.get(asked)
    assert page.status_code == 200 and "It is not what I ordered" in page.text and "<form method='post'" in page.text
    assert services.list_cases(store) == [], "looking changes nothing"
    assert client.get(asked.replace("o-r", "o-x")).status_code == 404

    done = client.post(asked)
    assert done.status_code == 200 and "9.90" in done.text
    assert client.post(asked).status_code == 200  # pressed twice
    [case] = services.list_cases(store)
    assert case["reason"] == "not_as_described"
    assert [(a["line_ids"], a["amount"]) for a in case["actions"] if a["type"] == "refund"] == [(["l2"], 9.9)]
    store.dispose()


HOLDER = """
import sys
from ordercare.store.db import make_engine
from ordercare.store.lock import writer
with writer(make_engine(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_while_another_process_holds_the_store_clicks_wait_or_say_busy_and_pages_answer(db_url, tmp_path):
    """A long replay elsewhere holds the store: a click waits its turn, at most ``lock_wait``,
    then says "busy, press again" (nothing recorded). Meanwhile fifty clicks waiting (more
    than the server's worker threads) do not stop the pages from answering. Once the store is
    free, the click records."""
    replay(db_url, stalled(shop(), "o-1", "c-anne"), tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    store = services.open_store(db_url)
    [case] = services.list_cases(store)
    url = Links.from_env().url(case["id"], "refund")
    path = urlsplit(url).path + "?" + urlsplit(url).query
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    app = create_app(store, Links.from_env(), clock=lambda: CLICK, lock_wait=5.0)
    with served(app) as base, httpx.Client(base_url=base, timeout=60) as web:
        answers: list[int] = []
        waiting = [threading.Thread(target=lambda: answers.append(httpx.post(base + path, timeout=60).status_code))
                   for _ in range(50)]
        for thread in waiting:
            thread.start()
        time.sleep(0.5)  # let them reach the app
        assert web.get("/health").status_code == 200  # pages answer while fifty clicks wait...
        assert web.get(path).status_code == 200
        assert answers == []  # ...not after them (the clicks wait their 5 s holding no worker thread)
        for thread in waiting:
            thread.join(timeout=120)
        assert answers == [503] * 50 and refunds(store, case["id"]) == []  # nothing recorded while busy
        busy = web.post(path)
        assert "appuyer à nouveau" in busy.text and busy.headers["Retry-After"] == "60"

        holder.communicate(b"")  # the replay elsewhere is over
        assert web.post(path).status_code == 200
    assert [a["amount"] for a in refunds(store, case["id"])] == [158.9]
    store.dispose()


def test_the_same_button_pressed_again_a_minute_later_is_done_not_a_conflict(db_url, tmp_path):
    """Customers press twice, on a live clock: the second press shows the same answer, refunds
    nothing more and leaves no dead letter for an operator to puzzle over."""
    from datetime import timedelta
    replay(db_url, stalled(shop(), "o-1", "c-anne"), tmp_path, "--until", "2026-06-05T12:00:00+02:00")
    store = services.open_store(db_url)
    [case] = services.list_cases(store)
    links = Links.from_env()
    url = urlsplit(links.url(case["id"], "refund"))
    moments = iter([CLICK, CLICK + timedelta(minutes=1)])
    client = TestClient(create_app(store, links, clock=lambda: next(moments)))
    first = client.post(url.path + "?" + url.query)
    second = client.post(url.path + "?" + url.query)
    assert first.status_code == second.status_code == 200 and "C'est fait" in second.text
    assert [a["amount"] for a in refunds(store, case["id"])] == [158.9]
    assert services.list_rejected(store) == []
    forged = client.post(url.path + "?t=%C3%A9" + "0" * 31)
    assert forged.status_code == 404, "a token with a non-ASCII character is a bad link, not a crash"
    store.dispose()


def test_serve_takes_an_empty_link_secret_for_none(sqlite_url, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from ordercare.cli import app
    served_on: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: served_on.append(k))  # (never a real server here)
    monkeypatch.setenv("ORDERCARE_LINK_SECRET", "")  # docker-compose's ${ORDERCARE_LINK_SECRET}, unset
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--db", sqlite_url])
    assert served_on == [] and result.exit_code == 2 and "ORDERCARE_LINK_SECRET" in result.output
