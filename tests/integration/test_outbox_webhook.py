"""The outbox delivered to a signed webhook: a real HTTP server on 127.0.0.1 that checks the
HMAC signature over the raw body, as a consumer would, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ordercare import services
from ordercare.notify.outbox import header_message_id, send_due
from ordercare.notify.sender_config import SenderConfig, load_sender_config, with_overrides
from ordercare.notify.transports import make_transport
from ordercare.rules import RulesError
from tests.integration.test_outbox_smtp import AFTER, stored, stuck_order_story

SECRET = "s3cret-shared-with-the-consumer"


class Consumer:
    """A webhook consumer: verifies the signature, answers 500 to the first ``fail_first``
    deliveries, records every request it got (headers, raw body, its answer)."""

    def __init__(self, secret: str, fail_first: int = 0) -> None:
        self.secret = secret.encode()
        self.fail_first = fail_first
        self.lock = threading.Lock()
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        consumer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(consumer.secret, body, hashlib.sha256).hexdigest()
                given = self.headers.get("X-Ordercare-Signature", "")
                with consumer.lock:
                    if not hmac.compare_digest(expected, given):
                        code = 401
                    elif consumer.fail_first > 0:
                        consumer.fail_first -= 1
                        code = 500
                    else:
                        code = 204
                    consumer.requests.append((dict(self.headers), body, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ordercare"

    def __enter__(self) -> Consumer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _h, body, code in self.requests if code == 204]


@pytest.fixture
def consumer() -> Iterator[Consumer]:
    with Consumer(SECRET) as c:
        yield c


def config_for(url: str) -> SenderConfig:
    return with_overrides(load_sender_config(env={}), webhook={"url": url, "timeout_seconds": 5},
                          retry={"max_attempts": 5, "base_backoff_seconds": 30,
                                 "backoff_cap_seconds": 600})


def post(db: Any, url: str, now: Any, secret: str = SECRET) -> Any:
    config = config_for(url)
    transport = make_transport("webhook", config, env={config.webhook.secret_env: secret})
    return send_due(db, now, transport, config, "hook-sender")


def test_each_message_is_posted_once_signed_and_complete(db_url, consumer):
    db = services.open_store(db_url)
    written = stuck_order_story(db)

    report = post(db, consumer.url, AFTER)
    assert (report.sent, report.failed) == (len(written), 0)
    assert [code for _h, _b, code in consumer.requests] == [204] * len(written), "signatures hold"

    got = {d["id"]: d for d in consumer.accepted()}
    assert set(got) == {m["id"] for m in written}
    for m in written:
        d = got[m["id"]]
        assert (d["text"], d["subject"], d["lang"], d["case_id"], d["kind"]) == \
            (m["text"], m["subject"], m["lang"], m["case_id"], m["kind"])
        assert d["to"] == {"email": "c-anne@example.com", "name": "Anne Lefèvre"}
        assert d["message_id_header"] == header_message_id(m["id"], "ordercare")
    headers = {h["Idempotency-Key"]: h for h, _b, _c in consumer.requests}
    assert all(headers[i]["X-Ordercare-Message-Id"] == got[i]["message_id_header"] for i in got)
    assert all(h["Content-Type"] == "application/json; charset=utf-8" for h in headers.values())
    apology = next(d for d in got.values() if d["kind"] == "exception")
    assert "désolés" in apology["text"]
    threaded = [d for d in got.values() if d["in_reply_to"]]
    assert threaded and all(d["in_reply_to"] == apology["message_id_header"] for d in threaded)

    assert post(db, consumer.url, AFTER + timedelta(days=1)).sent == 0, "a second run sends nothing"
    assert len(consumer.requests) == len(written)


def test_a_500_is_retried_after_the_backoff_with_the_same_signed_body(db_url):
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    n = len(written)
    with Consumer(SECRET, fail_first=n) as consumer:
        first = post(db, consumer.url, AFTER)
        assert (first.sent, first.failed) == (0, n)
        assert all("HTTP 500" in s["last_error"] for s in stored(db).values())
        assert post(db, consumer.url, AFTER + timedelta(seconds=29)).sent == 0, "backing off"
        second = post(db, consumer.url, AFTER + timedelta(seconds=30))
    assert (second.sent, second.failed) == (n, 0)
    assert Counter(code for _h, _b, code in consumer.requests) == {500: n, 204: n}
    by_id: dict[str, list[tuple[bytes, str]]] = {}
    for h, body, _code in consumer.requests:
        by_id.setdefault(h["Idempotency-Key"], []).append((body, h["X-Ordercare-Signature"]))
    assert all(len(v) == 2 and v[0] == v[1] for v in by_id.values()), "a repeat is identical"
    assert {(s["status"], s["attempts"]) for s in stored(db).values()} == {("sent", 2)}


def test_a_consumer_refuses_a_body_signed_with_another_secret(db_url, consumer):
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    report = post(db, consumer.url, AFTER, secret="not-the-shared-secret")
    assert (report.sent, report.failed) == (0, len(written))
    assert all("HTTP 401" in s["last_error"] for s in stored(db).values())


def test_an_unreachable_webhook_counts_no_attempt(db_url):
    db = services.open_store(db_url)
    written = stuck_order_story(db)
    with Consumer(SECRET) as gone:
        url = gone.url  # a port nobody listens on once it is closed
    report = post(db, url, AFTER)
    assert report.transport_error and "cannot reach the webhook" in report.transport_error
    assert report.deferred == len(written)
    assert {(s["status"], s["attempts"], s["claimed_by"]) for s in stored(db).values()} == \
        {("pending", 0, None)}


def test_the_webhook_needs_its_secret_and_says_which_variable():
    config = load_sender_config(env={})
    with pytest.raises(RulesError, match=r"ORDERCARE_WEBHOOK_SECRET, which is not set"):
        make_transport("webhook", config, env={})
    with pytest.raises(RulesError, match=r"--transport 'fax' is not one of smtp, webhook"):
        make_transport("fax", config, env={})
