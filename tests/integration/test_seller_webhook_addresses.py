"""A seller chooses where its notices are pushed; it must not be able to make our sender call
our own network (loopback, private ranges, the cloud metadata service at 169.254.169.254):
such an address is refused when registered, and checked again at each delivery (a name may
come to resolve inside), and a seller's server cannot redirect a notice elsewhere. An operator
whose sellers' receivers run beside ordercare (a test bench) says so with
``ORDERCARE_SELLER_WEBHOOK_PRIVATE=allow``."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ordercare.notify.outbox import DeliveryError, send_due
from ordercare.notify.sender_config import ENV_SELLER_PRIVATE, public_webhook
from ordercare.notify.transports import make_transport
from ordercare.sellers.keys import SECRET_ENV
from ordercare.sellers.notices import OutgoingNotice
from tests.e2e.cli import replay
from tests.integration.test_outbox_webhook import Consumer, config_for
from tests.integration.test_seller_api import KEYS, NOW, auth, client, world


def push(store: Any, now: datetime, allow: bool) -> Any:
    config = config_for("http://127.0.0.1:9/unused")  # (the URL is each seller's own)
    env = {SECRET_ENV: KEYS.secret.decode()}
    if allow:
        env[ENV_SELLER_PRIVATE] = "allow"
    return send_due(store, now, make_transport("seller-webhook", config, env=env), config, "seller-sender")


INSIDE = [
    "http://127.0.0.1:8080/admin",
    "http://localhost/hook",
    "http://api.localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://[::1]:9000/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "http://0x7f.1/hook",  # and in hexadecimal, shortened
    "http://0.0.0.0/hook",
]


def test_a_seller_cannot_register_a_webhook_inside_our_network(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_SELLER_PRIVATE, raising=False)
    store, _, _ = world(db_url, tmp_path)
    c = client(store)
    for url in INSIDE:
        refused = c.put("/seller/api/webhook", json={"url": url}, headers=auth("s-books"))
        assert refused.status_code == 422, url
        assert "public internet address" in refused.json()["detail"]
    assert c.get("/seller/api/webhook", headers=auth("s-books")).status_code == 404, "nothing registered"


def test_a_public_address_is_registered_without_asking_the_dns(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_SELLER_PRIVATE, raising=False)
    store, _, _ = world(db_url, tmp_path)
    c = client(store)
    for url in ("https://hooks.books.example/ordercare", "https://93.184.216.34/hook"):
        answer = c.put("/seller/api/webhook", json={"url": url}, headers=auth("s-books"))
        assert answer.status_code == 200 and answer.json()["url"] == url


def test_every_resolved_address_of_a_name_is_checked_at_delivery(monkeypatch):
    def resolves(host: str, port: Any, **_: Any) -> list[Any]:
        return [(2, 1, 6, "", ("93.184.216.34", port)), (2, 1, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr("socket.getaddrinfo", resolves)
    with pytest.raises(ValueError, match="10.0.0.7"):
        public_webhook("https://hooks.books.example/x", resolve=True)
    assert public_webhook("https://hooks.books.example/x", resolve=False) == "https://hooks.books.example/x"


def test_a_delivery_connects_to_the_address_checked_not_to_what_the_name_answers_next(monkeypatch):
    """DNS rebinding: the seller's name answers a public address when the delivery checks it,
    then one inside when the connection is made. The delivery dials the address it checked."""
    monkeypatch.delenv(ENV_SELLER_PRIVATE, raising=False)
    answers = iter(["93.184.216.34", "127.0.0.1"])

    def resolves(host: str, port: Any, *_: Any, **__: Any) -> list[Any]:
        return [(2, 1, 6, "", (next(answers, "127.0.0.1"), port))]

    dialled: list[Any] = []

    def connect(address: Any, *_: Any, **__: Any) -> Any:
        dialled.append(address)
        raise ConnectionRefusedError("(the test dials nothing)")

    monkeypatch.setattr("socket.getaddrinfo", resolves)
    monkeypatch.setattr("socket.create_connection", connect)
    transport = make_transport("seller-webhook", config_for("http://127.0.0.1:9/unused"),
                               env={SECRET_ENV: KEYS.secret.decode()})
    for url, port in (("https://hooks.books.example/ordercare", 443), ("http://hooks.books.example:8080/x", 8080)):
        dialled.clear()
        answers = iter(["93.184.216.34", "127.0.0.1"])
        with pytest.raises(DeliveryError):
            transport.deliver(OutgoingNotice("n-1", "s-books", url, b"{}", 0))
        assert dialled == [("93.184.216.34", port)], "the address checked, never the one answered next"


def _hooked_story(db_url: str, tmp_path: Any, monkeypatch: Any, url: str) -> tuple[Any, Any]:
    """s-books' webhook at ``url`` (registered while the operator allowed it), then a buyer's
    question for it: one notice to push."""
    store, b, _ = world(db_url, tmp_path)
    c = client(store)
    monkeypatch.setenv(ENV_SELLER_PRIVATE, "allow")
    assert c.put("/seller/api/webhook", json={"url": url}, headers=auth("s-books")).status_code == 200
    b.add("buyer_seller.message", "2026-06-20T08:00:00+02:00",
          {"message_id": "bm-2", "order_id": "o-5", "from": "buyer", "text": "Any news?"})
    replay(db_url, b, tmp_path, "--until", "2026-06-20T09:00:00+02:00")
    return store, c


def test_a_webhook_that_leads_inside_is_not_called_at_delivery(db_url, tmp_path, monkeypatch):
    """Registered while allowed (or a name that came to resolve inside since): the sender,
    without the allowance, does not call it; the seller sees why."""
    with Consumer(KEYS.token("s-books")) as books:
        store, c = _hooked_story(db_url, tmp_path, monkeypatch, books.url)
        monkeypatch.delenv(ENV_SELLER_PRIVATE)
        report = push(store, NOW, allow=False)
        assert (report.sent, report.failed) == (0, 1)
        assert books.requests == [], "our sender never called inside"
        state = c.get("/seller/api/webhook", headers=auth("s-books")).json()
        assert "public internet address" in state["last_error"]["error"]

        # Allowed (a test bench), the same notice goes, once its backoff is over.
        assert push(store, NOW + timedelta(hours=2), allow=True).sent == 1
        assert len(books.accepted()) == 1


class _Server:
    """A server that counts every request, whatever its method, and answers ``code`` (with
    ``Location: target`` when given): a seller's server redirecting, or what lies inside."""

    def __init__(self, code: int, target: str | None = None) -> None:
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.hits += 1
                self.send_response(code)
                if target is not None:
                    self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = _answer  # noqa: N815 (http.server's names)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> _Server:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("code", [301, 302, 303, 307])
def test_a_sellers_server_cannot_redirect_a_notice_elsewhere(db_url, tmp_path, monkeypatch, code):
    with _Server(204) as inside, _Server(code, inside.url) as seller:
        store, _ = _hooked_story(db_url, tmp_path, monkeypatch, seller.url)
        report = push(store, NOW, allow=True)
        assert (report.sent, report.failed) == (0, 1)
        assert seller.hits == 1 and inside.hits == 0, "the redirect was not followed"
