"""Where the early warning's transit model lives between sessions: an engine capability.

The model (``watch/transit.py``) is the engine's ``transit``: each parcel the engine sees
delivered (its first ``delivered`` scan, once, however often the carrier repeats it) teaches
it the time from each step to the door, and the detectors read it at every review. This
capability gives the engine its model when a session starts and writes it back.

Why a table and not a rebuild at load: ``ordercare watch`` opens a session per tick and loads
only the orders that fall due, so rebuilding the model from the delivered orders' stored
state would decode every delivered order on every tick. The table holds one row per
(carrier, lane, status) with its recent samples (at most ``window``), read lazily the first
time a lane is needed and written behind, changed rows only, in the engine's batch
transaction: a replay killed mid-way and run again learns each parcel once, like the rest.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, text

from ordercare.domain.order import Order
from ordercare.store.db import insert_many
from ordercare.watch.transit import TransitModel

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[int]).decode


def read_lane(db: Engine, carrier: str, lane: str) -> dict[str, list[int]]:
    """What the store knows about one (carrier, lane): samples per status, oldest first."""
    with db.connect() as conn:
        rows = conn.execute(text("SELECT status, samples FROM transit_times WHERE carrier = :c AND lane = :l"),
                            {"c": carrier, "l": lane}).all()
    return {r[0]: _decode(bytes(r[1])) for r in rows}


def write_model(conn: Connection, model: TransitModel) -> None:
    """Write the distributions that changed since the last write."""
    if not model.changed:
        return
    insert_many(conn, "transit_times", ("carrier", "lane", "status", "n", "samples"),
                [(c, lane, s, len(xs), _encode(xs)) for c, lane, s, xs in model.rows(model.changed)],
                conflict="carrier, lane, status", update=("n", "samples"))
    model.changed.clear()


class TransitLearning:
    """Keeps the engine's transit model: loads it lazily, teaches it, writes it behind."""

    name = "transit"
    handles: frozenset[type] = frozenset()  # no event: the engine teaches the model itself

    def __init__(self) -> None:
        self.model: TransitModel | None = None

    def load(self, conn: Connection, engine: Any) -> None:
        policy = engine.policies.watch.trending_late
        db = conn.engine
        self.model = TransitModel(policy.min_samples, policy.window, fetch=lambda c, lane: read_lane(db, c, lane))
        engine.transit = self.model

    def on_event(self, event: Any, order: Order | None, at_us: int, engine: Any) -> None:
        return None  # the engine teaches the model itself, at the first delivered scan

    def flush(self, conn: Connection) -> None:
        if self.model is not None:
            write_model(conn, self.model)
