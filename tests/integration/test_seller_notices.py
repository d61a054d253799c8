"""The sellers' notices: what ordercare asks of a seller reaches it as it happens, in a feed it
reads from its last number (``/seller/api/notices``) and, once it registered a webhook, pushed
to its own server (a real HTTP server on 127.0.0.1 that checks the signature keyed by the
seller's token) by ``send --transport seller-webhook``: at least once, retried with backoff,
byte-identical on a repeat. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from ordercare import services
from ordercare.notify.outbox import send_due
from ordercare.notify.sender_config import ENV_SELLER_PRIVATE
from ordercare.notify.transports import make_transport
from ordercare.rules import RulesError
from ordercare.sellers.keys import SECRET_ENV
from tests.e2e.cli import cases, ordercare, replay
from tests.e2e.test_replacement_requests import case_never_came
from tests.e2e.test_self_service import shop
from tests.integration.test_outbox_webhook import Consumer, config_for
from tests.integration.test_seller_api import ADDRESS, KEYS, NOW, auth, client, world

# (the sellers' receivers here run on 127.0.0.1: the operator of a test bench allows it)
ENV = {SECRET_ENV: KEYS.secret.decode(), ENV_SELLER_PRIVATE: "allow"}


@pytest.fixture(autouse=True)
def _receivers_on_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SELLER_PRIVATE, "allow")


def push(store, now):  # type: ignore[no-untyped-def]
    config = config_for("http://127.0.0.1:9/unused")  # (the URL is each seller's own)
    return send_due(store, now, make_transport("seller-webhook", config, env=ENV), config, "seller-sender")


def feed(c, seller: str, after: int = 0) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = c.get(f"/seller/api/notices?after={after}", headers=auth(seller))
    assert answer.status_code == 200
    return answer.json()["notices"]


def test_a_seller_with_a_webhook_hears_of_the_replacement_it_owes_signed_and_once(db_url, tmp_path):
    b = case_never_came(shop(), address=ADDRESS)
    replay(db_url, b, tmp_path, "--until", "2026-06-09T00:00:00+02:00")
    store = services.open_store(db_url)
    c = client(store)
    with Consumer(KEYS.token("s-books"), fail_first=1) as books:
        bad = c.put("/seller/api/webhook", json={"url": "ftp://books.example/hook"}, headers=auth("s-books"))
        assert bad.status_code == 422
        assert c.get("/seller/api/webhook", headers=auth("s-books")).status_code == 404
        hooked = c.put("/seller/api/webhook", json={"url": books.url}, headers=auth("s-books"))
        assert hooked.status_code == 200 and hooked.json()["url"] == books.url
        assert "keyed by your API token" in hooked.json()["signing"]

        [first] = cases(db_url)
        b.choose("o-5", first["id"], "2026-06-09T10:00:00+02:00", "replacement")
        replay(db_url, b, tmp_path, "--until", "2026-06-20T00:00:00+02:00")

        # In the feed at once: what to send, by name, where to, by when.
        [told] = [n for n in feed(c, "s-books") if n["type"] == "request.created"]
        [rq] = services.list_requests(store)
        assert told["data"]["request_id"] == rq["id"] and told["order_id"] == "o-5"
        assert [(x["line_id"], x["title"], x["qty"]) for x in told["data"]["lines"]] == [
            ("l2", "Pink silicone case for iPod nano", 1)]
        assert told["data"]["ship_to"] == ADDRESS and told["data"]["ship_by"] == rq["ship_by"]
        assert told["at"] == "2026-06-09T10:00:00+02:00", "when the customer chose"
        assert not [n for n in feed(c, "s-audio") if n["type"] == "request.created"], "asked of s-books only"
        assert feed(c, "s-books", after=told["seq"]) == [n for n in feed(c, "s-books") if n["seq"] > told["seq"]]

        # Its ship-by passed with nothing sent: told that too, at that instant.
        [late] = [n for n in feed(c, "s-books") if n["type"] == "request.overdue"]
        assert late["at"] == rq["ship_by"] and late["data"]["request_id"] == rq["id"] and late["seq"] > told["seq"]

        # Pushed: the first attempt fails (500), is retried after the backoff, never twice.
        report = push(store, NOW)
        assert (report.sent, report.failed) == (1, 1), "the request failed, the overdue notice went"
        assert push(store, NOW).sent == 0, "backing off: nothing due yet"
        later = NOW + timedelta(hours=1)
        assert push(store, later).sent == 1
        assert push(store, later + timedelta(days=1)).sent == 0, "delivered once, never again"
        [(h1, body1, code1)] = [r for r in books.requests if json.loads(r[1])["id"] == told["id"] and r[2] == 500]
        [(h2, body2, code2)] = [r for r in books.requests if json.loads(r[1])["id"] == told["id"] and r[2] == 204]
        assert body1 == body2, "a retry repeats the same bytes"
        assert h2["Idempotency-Key"] == told["id"] and h2["X-Ordercare-Seller"] == "s-books"
        assert json.loads(body2) == {k: v for k, v in told.items() if k != "delivery"}, \
            "the webhook gets what the feed shows"
        assert sorted(n["type"] for n in books.accepted()) == ["request.created", "request.overdue"]
        state = c.get("/seller/api/webhook", headers=auth("s-books")).json()
        assert state["notices"] == {"pending": 0, "sent": 2, "dead": 0}
        assert [n["delivery"]["status"] for n in feed(c, "s-books")] == ["sent", "sent"]


def test_a_replacement_refunded_instead_is_called_off_at_the_seller(db_url, tmp_path):
    store, b, first = world(db_url, tmp_path)
    c = client(store)
    [chase] = [x for x in cases(db_url) if x["id"] != first["id"] and x["reason"] == "late_shipment"]
    b.choose("o-5", chase["id"], "2026-06-20T09:00:00+02:00", "refund")
    replay(db_url, b, tmp_path, "--until", "2026-06-25T00:00:00+02:00")
    assert services.list_requests(store)[0]["status"] == "cancelled"
    said = [(n["type"], n["at"]) for n in feed(c, "s-books") if n["type"].startswith("request.")]
    assert said == [("request.created", "2026-06-09T10:00:00+02:00"),
                    ("request.overdue", services.list_requests(store)[0]["ship_by"]),
                    ("request.cancelled", "2026-06-20T09:00:00+02:00")], "do not send it: refunded"
    replay(db_url, b, tmp_path, "--until", "2026-06-30T00:00:00+02:00")
    assert len([n for n in feed(c, "s-books") if n["type"] == "request.cancelled"]) == 1, "told once"
    with store.connect() as conn:
        numbers = [seq for (seq,) in conn.execute(text("SELECT seq FROM seller_notices ORDER BY seq"))]
    assert numbers == list(range(1, len(numbers) + 1)), "a notice told again takes no number: no gaps"


def test_the_buyers_question_and_the_guarantee_reach_the_seller_masked(db_url, tmp_path):
    store, b, _ = world(db_url, tmp_path, asks=True)
    c = client(store)
    [asked] = [n for n in feed(c, "s-books") if n["type"] == "buyer.message"]
    assert asked["data"]["message_id"] == "bm-1" and asked["data"]["masked"] == 2
    assert "06 12 34 56 78" not in json.dumps(asked) and "bob.martin@example.org" not in json.dumps(asked)
    assert asked["data"]["answer_by"] == "2026-06-21T08:00:00+02:00", "48 h, then the guarantee refunds the buyer"
    assert asked["delivery"] == {"status": "not_pushed"}, "no webhook: the feed holds it"
    assert [n["type"] for n in feed(c, "s-audio")] == ["buyer.message"], "asked of both sellers of the order"
    assert push(store, NOW).sent == 0, "nobody to push to"

    replay(db_url, b, tmp_path, "--until", "2026-06-22T00:00:00+02:00")
    [claimed] = [n for n in feed(c, "s-books") if n["type"] == "guarantee.claimed"]
    [case] = [x for x in cases(db_url) if x["reason"] == "seller_unresponsive" and x["line_ids"] == ["l2"]]
    assert claimed["data"]["case_id"] == case["id"] and claimed["data"]["unanswered_message_id"] == "bm-1"
    assert claimed["at"] == "2026-06-21T08:00:00+02:00" and claimed["data"]["line_ids"] == ["l2"]
    assert claimed["seq"] > asked["seq"]


def test_a_webhook_pushes_what_comes_after_it_and_one_seller_down_holds_back_no_one(db_url, tmp_path):
    store, b, _ = world(db_url, tmp_path, asks=True)
    c = client(store)
    assert [n["data"]["message_id"] for n in feed(c, "s-audio")] == ["bm-1"], "before any webhook"
    with Consumer(KEYS.token("s-audio")) as audio:
        dead = "http://127.0.0.1:9/closed"  # nothing listens: s-books' server is down
        assert c.put("/seller/api/webhook", json={"url": dead}, headers=auth("s-books")).status_code == 200
        assert c.put("/seller/api/webhook", json={"url": audio.url}, headers=auth("s-audio")).status_code == 200
        b.add("buyer_seller.message", "2026-06-20T08:00:00+02:00",
              {"message_id": "bm-2", "order_id": "o-5", "from": "buyer", "text": "Any news?"})
        replay(db_url, b, tmp_path, "--until", "2026-06-20T09:00:00+02:00")
        report = push(store, NOW)
        assert report.sent == 1 and report.failed == 1 and report.transport_error is None
        [got] = audio.accepted()
        assert (got["type"], got["data"]["message_id"]) == ("buyer.message", "bm-2"), \
            "what came after the webhook; bm-1, from before, stays in the feed"
        books = c.get("/seller/api/webhook", headers=auth("s-books")).json()
        assert books["notices"]["pending"] == 1 and "127.0.0.1:9" in books["last_error"]["error"]

        # s-books gives up its webhook: what waited stays in its feed, no longer pushed.
        assert c.delete("/seller/api/webhook", headers=auth("s-books")).status_code == 204
        assert c.delete("/seller/api/webhook", headers=auth("s-books")).status_code == 404
        assert push(store, NOW + timedelta(days=1)).sent == 0
        assert [n["delivery"]["status"] for n in feed(c, "s-books") if n["data"].get("message_id") == "bm-2"] == [
            "not_pushed"]


def test_pushing_to_sellers_needs_the_secret_their_tokens_come_from():
    try:
        make_transport("seller-webhook", config_for("http://127.0.0.1:9/x"), env={})
    except RulesError as exc:
        assert SECRET_ENV in str(exc)
    else:
        raise AssertionError("no secret, no signing: refused")


def test_a_notice_that_died_goes_again_once_the_seller_fixed_its_server(db_url, tmp_path, monkeypatch):
    store, b, _ = world(db_url, tmp_path, asks=True)
    c = client(store)
    with Consumer(KEYS.token("s-audio"), fail_first=5) as audio:
        c.put("/seller/api/webhook", json={"url": audio.url}, headers=auth("s-audio"))
        b.add("buyer_seller.message", "2026-06-20T08:00:00+02:00",
              {"message_id": "bm-2", "order_id": "o-5", "from": "buyer", "text": "Any news?"})
        replay(db_url, b, tmp_path, "--until", "2026-06-20T09:00:00+02:00")
        reports = [push(store, NOW + timedelta(hours=h)) for h in range(5)]  # 5 attempts, backoff ≤ 10 min
        assert [(r.failed, r.dead) for r in reports] == [(1, 0)] * 4 + [(0, 1)]
        assert c.get("/seller/api/webhook", headers=auth("s-audio")).json()["notices"]["dead"] == 1
        assert push(store, NOW + timedelta(days=1)).sent == 0, "dead: not tried again by itself"

        monkeypatch.setenv(SECRET_ENV, KEYS.secret.decode())
        out = ordercare("send", "--transport", "seller-webhook", "--once", "--requeue-dead", "--db", db_url)
        assert "requeued 1 dead" in out and "sent 1" in out
        assert [n["data"]["message_id"] for n in audio.accepted()] == ["bm-2"]
        assert c.get("/seller/api/webhook", headers=auth("s-audio")).json()["notices"] == {
            "pending": 0, "sent": 1, "dead": 0}


def test_a_seller_redelivers_its_own_dead_notices_and_no_one_elses(db_url, tmp_path):
    store, b, _ = world(db_url, tmp_path, asks=True)
    c = client(store)
    with Consumer(KEYS.token("s-audio"), fail_first=5) as audio, \
            Consumer(KEYS.token("s-books"), fail_first=5) as books:
        assert c.post("/seller/api/webhook/redeliver", headers=auth("s-audio")).status_code == 404, "no webhook yet"
        c.put("/seller/api/webhook", json={"url": audio.url}, headers=auth("s-audio"))
        c.put("/seller/api/webhook", json={"url": books.url}, headers=auth("s-books"))
        b.add("buyer_seller.message", "2026-06-20T08:00:00+02:00",
              {"message_id": "bm-2", "order_id": "o-5", "from": "buyer", "text": "Any news?"})
        replay(db_url, b, tmp_path, "--until", "2026-06-20T09:00:00+02:00")
        for h in range(5):  # both servers answer 500 five times: both notices die
            push(store, NOW + timedelta(hours=h))
        for who in ("s-audio", "s-books"):
            assert c.get("/seller/api/webhook", headers=auth(who)).json()["notices"]["dead"] == 1

        again = c.post("/seller/api/webhook/redeliver", headers=auth("s-audio"))
        assert again.status_code == 200 and again.json() == {"requeued": 1}
        assert push(store, NOW + timedelta(hours=6)).sent == 1
        assert [n["data"]["message_id"] for n in audio.accepted()] == ["bm-2"]
        assert c.get("/seller/api/webhook", headers=auth("s-audio")).json()["notices"] == {
            "pending": 0, "sent": 1, "dead": 0}
        assert c.get("/seller/api/webhook", headers=auth("s-books")).json()["notices"]["dead"] == 1, \
            "s-books' dead notice is s-books' to redeliver"
        assert books.accepted() == []
        assert c.post("/seller/api/webhook/redeliver", headers=auth("s-audio")).json() == {"requeued": 0}


def _not_http_server() -> tuple[str, Any]:
    """An endpoint that answers something that is not HTTP (a TLS port, a broken proxy)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed at the end of the test
            conn.recv(65536)
            conn.sendall(b"HELLO THIS IS NOT HTTP\r\n\r\n")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/hook", listener


def test_one_sellers_endpoint_answering_nonsense_fails_its_own_notice_and_the_others_go(db_url):
    from datetime import UTC, datetime

    from ordercare.notify.sender_config import load_sender_config
    from ordercare.sellers import notices

    store = services.open_store(db_url)
    bad_url, listener = _not_http_server()
    config = load_sender_config(env={})
    try:
        with Consumer(KEYS.token("s-good")) as good:
            with store.begin() as c:
                notices.set_webhook(c, "s-bad", bad_url, "2026-06-01T00:00:00+00:00", 0)
                notices.set_webhook(c, "s-good", good.url, "2026-06-01T00:00:00+00:00", 0)
                notices.write(c, [
                    notices.Notice("s-bad:x:1", "s-bad", "buyer.message", "o-1", "2026-06-01T10:00:00+00:00",
                                   1_780_308_000_000_000, {"text": "hi"}),
                    notices.Notice("s-good:x:2", "s-good", "buyer.message", "o-2", "2026-06-01T10:00:01+00:00",
                                   1_780_308_001_000_000, {"text": "hi"})])
            transport = make_transport("seller-webhook", config, env={**ENV, SECRET_ENV: "seller-secret-for-tests"})
            report = send_due(store, datetime(2026, 6, 2, tzinfo=UTC), transport, config, "w1")
            assert report.sent == 1 and report.failed == 1
            assert len(good.requests) == 1, "the good seller's notice went"
        with store.connect() as c:
            bad = c.execute(text("SELECT status, attempts, last_error FROM seller_notices "
                                 "WHERE notice_id = 's-bad:x:1'")).one()
        assert bad.status == "pending" and bad.attempts == 1 and "not HTTP" in bad.last_error
    finally:
        listener.close()
        store.dispose()
