"""The warehouse's tables (migration 0004) and the rows the capability keeps in them: stock,
the fate of each order line, each weighed parcel, and the pack check's learnt state.

They are kept queryable on purpose: insights reads stock-outs, returns and pack defects by
SKU, seller, centre and station straight from them (``service.warehouse_report``).
Times as in the core tables: integer microseconds, UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import lru_cache
from operator import attrgetter
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Float, Index, Integer, Table, Text, text

from ordercare.store.db import insert_many
from ordercare.store.schema import metadata

STOCK = "fulfil_stock"
LINES = "fulfil_lines"
PACKS = "fulfil_packs"
STATE = "fulfil_state"
PACKCHECK_KEY = "packcheck"
ON_ORDER_KEY = "on_order"  # the purchase orders on their way (``on_order.OnOrder``)
EARLY_KEY = "early_inspections"  # inspections heard before their parcel's weighing (``packing.py``)

# Stock per (fulfilment centre, SKU, seller): available = on_hand - reserved.
stock = Table(
    STOCK, metadata,
    Column("fc_id", Text, primary_key=True),
    Column("sku", Text, primary_key=True),
    Column("seller_id", Text, primary_key=True),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
)

# One row per order line the warehouse dealt with: platform lines from placement, and any
# line that came back. ``state``: reserved | short | consumed | released | cancelled |
# returned. ``short_us`` is set once a line could not be reserved (a stock-out, counted
# against its SKU even when stock came later). ``parts`` is JSON [[fc_id, qty], ...].
lines = Table(
    LINES, metadata,
    Column("order_id", Text, primary_key=True),
    Column("line_id", Text, primary_key=True),
    Column("sku", Text, nullable=False),
    Column("seller_id", Text, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("fulfilled_by", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("parts", Text, nullable=False),
    Column("placed_us", BigInteger),
    Column("short_us", BigInteger),
    Column("filled_us", BigInteger),
    Column("case_id", Text),
    Column("shipped_us", BigInteger),
    Column("returned_us", BigInteger),
    Column("return_condition", Text),
    Column("return_reason", Text),
    Column("return_fc", Text),
    Column("refund", Float),
    Index("ix_fulfil_lines_state", "state"),
    Index("ix_fulfil_lines_sku", "sku"),
)

# One row per weighed parcel. ``verdict``: passed | diverted | unchecked (no catalogue
# weight or no reading). ``state``: passed | held | inspected | rechecked | left_unchecked. A
# parcel the inspection found mis-packed (and put right) may be weighed again before it
# leaves: the ``recheck_*`` columns hold the latest such weighing (``rechecks`` counts them;
# ``rechecked`` once one passed) and the inspection that answered a re-check diverted again.
# ``facts``: every weighing and inspection heard, from which the row is derived again when one
# reaches us out of event-time order.
packs = Table(
    PACKS, metadata,
    Column("shipment_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("seller_id", Text),
    Column("fc_id", Text),
    Column("station", Text),
    Column("packed_us", BigInteger, nullable=False),
    Column("weight_g", Float, nullable=False),
    Column("expected_g", Float),
    Column("tolerance_g", Float),
    Column("deviation_g", Float),
    Column("basis", Text),
    Column("verdict", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("outcome", Text),
    Column("inspected_us", BigInteger),
    Column("shipped_us", BigInteger),
    Column("case_id", Text),
    Column("rechecks", Integer, nullable=False, server_default="0"),
    Column("recheck_us", BigInteger),
    Column("recheck_g", Float),
    Column("recheck_deviation_g", Float),
    Column("recheck_verdict", Text),
    Column("recheck_outcome", Text),
    Column("facts", Text),  # what the parcel went through, as heard (``PackRec.facts``): JSON
    Index("ix_fulfil_packs_state", "state"),
)

# Small key/value store: the pack check's learnt state (``PackCheck.dumps``).
state = Table(
    STATE, metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)


# ---- rows ------------------------------------------------------------------------------------

OPEN_LINE = ("reserved", "short")  # a line's states while its units are owed
LET_GO = ("released", "cancelled")  # given up before they shipped


@dataclass(slots=True)
class LineRec:
    """The warehouse's view of one order line (a row of ``fulfil_lines``)."""

    order_id: str
    line_id: str
    sku: str
    seller_id: str
    qty: int
    fulfilled_by: str
    state: str
    parts: list[tuple[str, int]] = field(default_factory=list)
    placed_us: int | None = None
    short_us: int | None = None
    filled_us: int | None = None
    case_id: str | None = None
    shipped_us: int | None = None
    returned_us: int | None = None
    return_condition: str | None = None
    return_reason: str | None = None
    return_fc: str | None = None
    refund: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.order_id, self.line_id)

    def row(self) -> tuple[Any, ...]:
        values = _line_values(self)
        return (*values[:7], _parts_json(tuple(self.parts)), *values[8:])

    @classmethod
    def from_row(cls, r: Any) -> LineRec:
        values = list(r)
        values[7] = [(fc, int(q)) for fc, q in json.loads(values[7])]
        return cls(*values)


@dataclass(slots=True)
class PackRec:
    """One weighed parcel (a row of ``fulfil_packs``)."""

    shipment_id: str
    order_id: str
    seller_id: str | None
    fc_id: str | None
    station: str | None
    packed_us: int
    weight_g: float
    expected_g: float | None = None
    tolerance_g: float | None = None
    deviation_g: float | None = None
    basis: str | None = None
    verdict: str = "unchecked"
    state: str = "passed"
    outcome: str | None = None
    inspected_us: int | None = None
    shipped_us: int | None = None
    case_id: str | None = None
    rechecks: int = 0
    recheck_us: int | None = None
    recheck_g: float | None = None
    recheck_deviation_g: float | None = None
    recheck_verdict: str | None = None
    recheck_outcome: str | None = None
    # Every weighing and inspection of the parcel heard, whatever their order:
    # ``[at_us, "w", learnt, weight_g, station, fc_id]`` or ``[at_us, "i", learnt, outcome]``
    # (``learnt``: 1 once the pack check learnt from it, so that reading them again does not
    # teach it twice). Empty on a row stored before they were kept (``pack_facts`` rebuilds them).
    facts: list[list[Any]] = field(default_factory=list)

    def row(self) -> tuple[Any, ...]:
        return (*_pack_values(self)[:-1], json.dumps(self.facts) if self.facts else None)

    @classmethod
    def from_row(cls, r: Any) -> PackRec:
        values = list(r)
        values[-1] = json.loads(values[-1]) if values[-1] else []
        return cls(*values)


STOCK_COLS = ("fc_id", "sku", "seller_id", "on_hand", "reserved")
LINE_COLS = tuple(f.name for f in fields(LineRec))
PACK_COLS = tuple(f.name for f in fields(PackRec))
assert tuple(c.name for c in lines.columns) == LINE_COLS, "LineRec must follow fulfil_lines"
assert tuple(c.name for c in packs.columns) == PACK_COLS, "PackRec must follow fulfil_packs"
_line_values = attrgetter(*LINE_COLS)
_pack_values = attrgetter(*PACK_COLS)


@lru_cache(maxsize=4096)
def _parts_json(parts: tuple[tuple[str, int], ...]) -> str:
    """``parts`` as stored. Lines share a few shapes (one centre, a few quantities), and
    ``json.dumps`` of a short list costs more than the rest of the row: each shape once."""
    return json.dumps([list(p) for p in parts])


# ---- reads and writes ------------------------------------------------------------------------

def _select(table: str, cols: tuple[str, ...], where: str) -> Any:
    return text(f"SELECT {', '.join(cols)} FROM {table} WHERE {where}")


def stock_rows(conn: Connection) -> Iterator[Any]:
    yield from conn.execute(text(f"SELECT {', '.join(STOCK_COLS)} FROM {STOCK}"))


def open_lines(conn: Connection) -> list[LineRec]:
    """Lines still holding or waiting for stock: what a new session must know."""
    rows = conn.execute(_select(LINES, LINE_COLS, "state IN ('reserved', 'short')"))
    return [LineRec.from_row(r) for r in rows]


def order_lines(conn: Connection, order_id: str) -> list[LineRec]:
    rows = conn.execute(_select(LINES, LINE_COLS, "order_id = :o"), {"o": order_id})
    return [LineRec.from_row(r) for r in rows]


def open_packs(conn: Connection) -> list[PackRec]:
    """Parcels held for inspection, or gone without one (a late inspection may clear them)."""
    rows = conn.execute(_select(PACKS, PACK_COLS, "state IN ('held', 'left_unchecked')"))
    return [PackRec.from_row(r) for r in rows]


def pack(conn: Connection, shipment_id: str) -> PackRec | None:
    r = conn.execute(_select(PACKS, PACK_COLS, "shipment_id = :s"), {"s": shipment_id}).first()
    return PackRec.from_row(r) if r is not None else None


def stored_state(conn: Connection, key: str) -> bytes | None:
    """A piece of the warehouse's learnt or running state (the pack check, stock on order)."""
    sql = text(f"SELECT value FROM {STATE} WHERE key = :k")
    r = conn.execute(sql, {"k": key}).first()
    return r[0].encode() if r is not None else None


def packcheck_state(conn: Connection) -> bytes | None:
    return stored_state(conn, PACKCHECK_KEY)


def write(conn: Connection, stock_rows: Iterable[tuple[Any, ...]], line_recs: Iterable[LineRec],
          pack_recs: Iterable[PackRec], states: dict[str, bytes]) -> None:
    """Upsert the changed rows (and the pieces of state that changed, by key)."""
    insert_many(conn, STOCK, STOCK_COLS, stock_rows, conflict="fc_id, sku, seller_id",
                update=("on_hand", "reserved"))
    insert_many(conn, LINES, LINE_COLS, [r.row() for r in line_recs],
                conflict="order_id, line_id", update=LINE_COLS[2:])
    insert_many(conn, PACKS, PACK_COLS, [r.row() for r in pack_recs],
                conflict="shipment_id", update=PACK_COLS[1:])
    if states:
        insert_many(conn, STATE, ("key", "value"), [(k, v.decode()) for k, v in sorted(states.items())],
                    conflict="key", update=("value",))
