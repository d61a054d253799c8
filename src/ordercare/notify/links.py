"""Self-service links: one click in our message tells us how the customer wants a problem
made good (keep waiting, a refund now, a replacement), instead of a letter to the desk.

A link names the case and the choice and carries a signature (HMAC-SHA256 under the
deployment's secret, ``ORDERCARE_LINK_SECRET``), so that nobody can choose a refund on
someone else's case by editing a URL. The links point at ``ordercare serve``
(``ORDERCARE_PUBLIC_URL``): opening one shows what the click will do; only the button on that
page (a POST) records the choice, because mail scanners open every link they see.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

CHOICES = ("wait", "refund", "replacement")
# Only for trying ordercare out: ``ordercare serve`` refuses it on a public address.
DEV_SECRET = "ordercare-development-secret"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# The case families whose messages offer choices: troubles getting the parcel home, and an
# item out of stock in our warehouse.
CHOICE_FAMILIES = frozenset({"delivery", "out_of_stock"})
# What a case lets the customer choose, by its reason (all of CHOICES otherwise). A parcel that
# never left has nothing to replace; an item out of stock needs no click to wait. For both,
# the refund cancels the line.
OFFERS: dict[str, tuple[str, ...]] = {"late_shipment": ("wait", "refund"), "out_of_stock": ("refund",)}
CANCELS = frozenset({"late_shipment", "out_of_stock"})


_LINK = re.compile(r"https?://\S+?/choice/([^/\s]+)/(wait|refund|replacement)\?t=([0-9a-f]+)")


def offered(reason: str) -> tuple[str, ...]:
    return OFFERS.get(reason, CHOICES)


def found_in(text: str) -> list[tuple[str, str, str]]:
    """The choice links in a message, as a mail client shows them: (case, choice, token)."""
    return [(unquote(m.group(1)), m.group(2), m.group(3)) for m in _LINK.finditer(text)]


@lru_cache(maxsize=8)
def _keyed(secret: bytes) -> Any:
    """HMAC-SHA256 keyed with ``secret``, nothing hashed yet: copied for each signature, so
    the key's pads are worked out once per secret, not once per link."""
    return hmac.new(secret, digestmod=hashlib.sha256)


MIN_SECRET = 16  # characters: below, a link secret is taken for none


@dataclass(frozen=True)
class Links:
    base_url: str
    secret: bytes

    @classmethod
    def from_env(cls) -> Links:
        base = os.environ.get("ORDERCARE_PUBLIC_URL", DEFAULT_BASE_URL).rstrip("/")
        # An empty or short secret (docker-compose's ${ORDERCARE_LINK_SECRET} when unset is
        # "") is no secret: the development one, which `serve` refuses on a public address.
        secret = os.environ.get("ORDERCARE_LINK_SECRET", "")
        return cls(base, (secret if len(secret) >= MIN_SECRET else DEV_SECRET).encode())

    @property
    def dev_secret(self) -> bool:
        return self.secret == DEV_SECRET.encode()

    def sign(self, case_id: str, choice: str) -> str:
        """HMAC-SHA256 of ``case|choice``, hex, first 32 characters: ``hmac.new(secret, msg,
        sha256)``, with the key's inner and outer hash states computed once per secret
        (a delivery message signs its report link: one per parcel delivered)."""
        mac = _keyed(self.secret).copy()
        mac.update(f"{case_id}|{choice}".encode())
        return mac.hexdigest()[:32]

    def verify(self, case_id: str, choice: str, token: str) -> bool:
        # (as bytes: compare_digest refuses text with non-ASCII characters, a forged token may have some)
        return choice in CHOICES and hmac.compare_digest(self.sign(case_id, choice).encode(), token.encode())

    def url(self, case_id: str, choice: str) -> str:
        return f"{self.base_url}/choice/{quote(case_id, safe='')}/{choice}?t={self.sign(case_id, choice)}"

    def report_url(self, order_id: str) -> str:
        """The link in a delivery message to report a problem with what arrived."""
        return f"{self.base_url}/report/{quote(order_id, safe='')}?t={self.sign(f'order:{order_id}', 'report')}"

    def verify_report(self, order_id: str, token: str) -> bool:
        return hmac.compare_digest(self.sign(f"order:{order_id}", "report").encode(), token.encode())

    def choices(self, case_id: str, reason: str) -> list[dict[str, object]]:
        """The choices a message about ``case_id`` offers, each with its link."""
        cancels = reason in CANCELS
        return [{"choice": c, "url": self.url(case_id, c), "cancels": cancels} for c in offered(reason)]
