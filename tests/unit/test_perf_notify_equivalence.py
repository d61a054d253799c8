"""The hot-path shortcuts give exactly what the plain code gives (perf-notify)."""

from __future__ import annotations

import hashlib
import hmac
import random

from ordercare.notify.links import Links
from ordercare.notify.render import iso_local, local
from ordercare.watch.transit import ALL_LANES, TransitModel, crossing


def test_iso_local_is_isoformat_to_the_character() -> None:
    r = random.Random(7)
    for _ in range(20_000):
        at = r.randrange(-10**16, 10**17)
        if r.random() < 0.3:
            at -= at % 1_000_000
        tz = r.choice([0, 60, 120, -300, 330, -570, 845, -720, 840])
        assert iso_local(at, tz) == local(at, tz).isoformat()


def test_the_signature_is_hmac_sha256_whatever_the_key_length() -> None:
    for secret in (b"", b"short", b"ordercare-development-secret", b"k" * 64, b"long" * 40):
        links = Links("http://x", secret)
        for case_id, choice in (("C-1", "refund"), ("order:O-9", "report"), ("é/ü", "wait")):
            want = hmac.new(secret, f"{case_id}|{choice}".encode(), hashlib.sha256).hexdigest()[:32]
            assert links.sign(case_id, choice) == want
            assert links.verify(case_id, choice, want) == (choice in ("wait", "refund", "replacement"))
            assert not links.verify(case_id, choice, "0" * 32), "a forged signature is refused"
            assert not links.verify(case_id, choice, want[:-1] + ("0" if want[-1] != "0" else "1"))


def test_warning_at_is_the_crossing_of_the_distribution() -> None:
    r = random.Random(3)
    m = TransitModel(min_samples=5, window=50)
    for i in range(400):
        lane = r.choice(["FR-75", "FR-13", "DE"])
        steps = [(0, "shipped"), (r.randrange(1, 50), "accepted"), (r.randrange(50, 100), "in_transit")]
        m.learn("colibri", lane, steps, r.randrange(100, 400))
        for _ in range(5):
            status = r.choice(["shipped", "accepted", "in_transit", "out_for_delivery"])
            step, by, th = r.randrange(-50, 300), r.randrange(-50, 500), r.choice([0.1, 0.5, 0.85, 1.0])
            lane2 = r.choice([lane, "IT", ALL_LANES])
            xs = m.distribution("colibri", lane2, status)
            if step >= by or xs is None:
                want = None
            else:
                w = crossing(xs, by - step, th)
                want = None if w is None else step + w
            assert m.warning_at("colibri", lane2, status, step, by, th) == want, i
