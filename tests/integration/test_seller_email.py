"""A seller with no webhook gets its notices by e-mail: the address and language it gave in
``seller.registered``, through a real SMTP server on loopback (aiosmtpd), by
``send --transport seller-email``; once, under a stable Message-ID. A seller with a webhook
gets them there, not by mail; one with neither keeps them in its feed. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from ordercare.notify.outbox import send_due
from ordercare.notify.transports import make_transport
from tests.integration.test_outbox_smtp import SmtpServer, SmtpSink, sender_config
from tests.integration.test_seller_api import NOW, world


def mail_world(db_url, tmp_path):  # type: ignore[no-untyped-def]
    """Bob's case never came; he chose a replacement, asked of s-books (which gave an e-mail
    address, in French); he also asks both sellers about it; s-audio gave no address."""
    store, _, _ = world(db_url, tmp_path, asks=True, also=lambda b: b.add(
        "seller.registered", "2026-05-01T00:00:00+02:00",
        {"seller_id": "s-books", "name": "Librairie du Coin", "email": "commandes@librairie.example", "lang": "fr"}))
    return store


def test_a_seller_without_a_webhook_reads_what_it_owes_in_its_own_language_by_mail(db_url, tmp_path):
    store = mail_world(db_url, tmp_path)
    with SmtpServer(SmtpSink()) as server:
        config = sender_config(server.port)
        report = send_due(store, NOW, make_transport("seller-email", config), config, "seller-mailer")
        mails = server.sink.mails()
        assert report.sent == len(mails) == 3 and report.failed == 0
        assert {m["To"] for m in mails} == {"Librairie du Coin <commandes@librairie.example>"}, \
            "s-audio gave no address: nothing mailed to it (its feed holds its notice)"
        by_subject = {m["Subject"]: m for m in mails}
        asked = next(m for s, m in by_subject.items() if s.startswith("À renvoyer : commande o-5"))
        body = asked.get_content()
        assert "1 × Pink silicone case for iPod nano" in body and "3 rue Neuve, 69002 Lyon" in body
        assert "POST /seller/api/shipments" in body and asked["Content-Language"] == "fr"
        overdue = next(m for s, m in by_subject.items() if s.startswith("En retard"))
        assert "aucun colis n'a été confirmé" in overdue.get_content()
        question = next(m for s, m in by_subject.items() if s.startswith("Un acheteur vous écrit"))
        text = question.get_content()
        assert "Is it coming this time?" in text and "06 12 34 56 78" not in text and "bob.martin" not in text, \
            "the buyer's contact details are masked, as in the feed"
        assert question["Subject"].endswith("avant le dimanche 21 juin à 8h00"), \
            "answer by (in words, local time): then the guarantee refunds"
        assert "au plus tard le jeudi 11 juin à 23h59" in body, "the ship-by, in words"

        later = NOW + timedelta(days=1)
        again = send_due(store, later, make_transport("seller-email", config), config, "seller-mailer")
        assert again.sent == 0 and len(server.sink.mails()) == 3, "each notice once"
        assert len({m["Message-ID"] for m in mails}) == 3


def test_a_seller_with_a_webhook_is_not_mailed(db_url, tmp_path):
    from tests.integration.test_seller_api import auth, client
    store = mail_world(db_url, tmp_path)
    c = client(store)
    hooked = c.put("/seller/api/webhook", json={"url": "https://hooks.librairie.example/ordercare"},
                   headers=auth("s-books"))
    assert hooked.status_code == 200
    with SmtpServer(SmtpSink()) as server:
        config = sender_config(server.port)
        assert send_due(store, NOW, make_transport("seller-email", config), config, "seller-mailer").sent == 0
        assert server.sink.mails() == [], "its webhook takes its notices"
