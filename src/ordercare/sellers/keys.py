"""The sellers' keys: one token per seller, ``{seller_id}.{hmac}``, the HMAC-SHA256 of the
seller id under the deployment's ``ORDERCARE_SELLER_SECRET`` (hex, 40 characters).

The token is the seller's bearer credential on the sellers' API (``web/seller.py``) and the
key under which its webhook notices are signed (``notify/transports.py``): both sides hold
it, nothing else needs distributing. A new secret revokes every token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

SECRET_ENV = "ORDERCARE_SELLER_SECRET"


@dataclass(frozen=True)
class SellerKeys:
    secret: bytes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SellerKeys | None:
        """The keys under ``ORDERCARE_SELLER_SECRET`` (of ``env``, default the process's), if set."""
        secret = (os.environ if env is None else env).get(SECRET_ENV)
        return cls(secret.encode()) if secret else None

    def _mac(self, seller_id: str) -> str:
        return hmac.new(self.secret, f"seller-api|{seller_id}".encode(), hashlib.sha256).hexdigest()[:40]

    def token(self, seller_id: str) -> str:
        return f"{seller_id}.{self._mac(seller_id)}"

    def seller_of(self, token: str) -> str | None:
        """The seller a token was issued to, or ``None`` when it was not issued under this secret."""
        seller_id, _, mac = token.rpartition(".")
        if not seller_id or not hmac.compare_digest(self._mac(seller_id).encode(), mac.encode()):
            return None
        return seller_id
