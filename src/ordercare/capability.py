"""How a capability (seller health, the warehouse, the desk...) plugs into the engine.

A capability watches the events as the engine applies them, keeps its own state, may open
cases through the engine's casework, and persists its changes in the same transaction as
the engine's batch (so a crash loses and repeats nothing, for it too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

if TYPE_CHECKING:
    from ordercare.domain.order import Order
    from ordercare.engine import Engine


class Capability(Protocol):
    """A capability may also name the event types it ``handles`` (a set of event classes):
    it then hears those only (the warehouse has no use for 100k carrier scans). Without it,
    it hears every event."""

    name: str

    def load(self, conn: Connection, engine: Engine) -> None:
        """Load the state this capability needs, once per session."""

    def on_event(self, event: Any, order: Order | None, at_us: int, engine: Engine) -> None:
        """React to one applied event (``order`` is the order it concerns, if any)."""

    def flush(self, conn: Connection) -> None:
        """Write what changed, inside the engine's batch transaction."""
