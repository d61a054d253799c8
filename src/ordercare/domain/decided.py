"""Facts the engine decides itself and tells its capabilities (``Engine.tell_capabilities``).

They are not events of the contract (nothing outside sends them, nothing stores them): the
engine made the decision while applying some event (the desk promised a replacement while
answering a contact), and the capabilities that keep their own books (the warehouse's
stock) must hear of it at that instant, as they hear an event from outside.
"""

from __future__ import annotations

from msgspec import Struct


class SentAgain(Struct, frozen=True):
    """The desk asked for these lines of ``order_id`` to be sent again (a replacement, a
    re-sending): request ``request_id`` (``Order.requests``) to ``to``, "platform" (our
    warehouse) or a seller, made at ``at_us`` (when the customer asked)."""

    order_id: str
    request_id: str
    kind: str  # "replace" | "reship"
    to: str
    line_ids: tuple[str, ...]
    at_us: int
