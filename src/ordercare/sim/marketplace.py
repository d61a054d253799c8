"""The simulated marketplace as a library: ``simulate(orders, days, seed)`` builds a seeded,
deterministic world of customers, sellers, warehouses and carriers, tells every order's
story, and returns the contract events (JSON lines, ready for ``services.replay``) with the
ground truth kept beside them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from ordercare.domain.events import TYPE_RANK
from ordercare.domain.promise import PromisePolicy
from ordercare.policy import load_policies
from ordercare.sim.clock import DAY, START_US, iso, local_dt
from ordercare.sim.stockroom import StockStory, play_all
from ordercare.sim.stories import Storyteller
from ordercare.sim.truth import OrderFacts, Problem
from ordercare.sim.world import Market, build_market

_encode = msgspec.json.Encoder().encode


@dataclass
class SimWorld:
    seed: int
    days: int
    start_us: int
    end_us: int
    market: Market
    orders: list[OrderFacts]
    lines: list[tuple[int, bytes]]
    times: list[int]  # each line's event time (µs), ascending
    owners: list[str | None]  # the order each line is about (None: parties, stock)
    stock: StockStory | None = None  # the stockroom: purchasing routines, stock-outs, forecasts

    @property
    def problems(self) -> list[Problem]:
        return [p for o in self.orders for p in o.problems]

    def orders_on(self, skus: set[str]) -> set[str]:
        """The orders with a line of these SKUs: they share its stock, so a replay of some of
        them must hold all of them for the stock-outs to be the same."""
        return {o.order_id for o in self.orders if skus & set(o.skus)}

    def lines_of(self, orders: set[str]) -> list[tuple[int, bytes]]:
        """The lines about these orders, and every line about no order (parties, stock)."""
        return [line for line, owner in zip(self.lines, self.owners, strict=True)
                if owner is None or owner in orders]

    def until(self) -> datetime:
        """The end of the horizon, as the aware datetime ``replay`` takes for ``until``."""
        return local_dt(self.end_us, 120)


def placing_days(days: int) -> float:
    """Orders are placed over the horizon but its last days, so most stories can end."""
    return days - min(9.0, max(3.0, days * 0.15))


def simulate(orders: int = 20_000, days: int = 60, seed: int = 7,
             policy: PromisePolicy | None = None) -> SimWorld:
    rng = random.Random(seed)
    start, end = START_US, START_US + days * DAY
    market = build_market(random.Random(rng.random()), orders, start, end - start)
    teller = Storyteller(random.Random(rng.random()), market, policy or load_policies().promise, days,
                         placing_days(days))
    teller.registrations()
    heads = [teller.head(n) for n in range(1, orders + 1)]
    placements = [p for h in heads if (p := h.placement()) is not None]
    stock = play_all(market.managed_skus, placements, orders=orders, days=days, place_days=placing_days(days),
                     total_weight=sum(k.weight for k in market.skus), end_us=end, seed=seed)
    facts = [teller.rest(h, stock.played.ready) for h in heads]
    teller.stock(heads, stock.initial, stock.played.receipts, stock.played.purchase_orders)
    order = sorted(range(len(teller.events)), key=lambda i: (teller.events[i][0], TYPE_RANK[teller.events[i][1]]))
    events = [teller.events[i] for i in order]
    lines = serialise(events, "w")
    return SimWorld(seed, days, start, end, market, facts, lines, [e[0] for e in events],
                    [teller.owners[i] for i in order], stock)



def serialise(events: list[tuple[int, str, dict[str, Any], int]], prefix: str) -> list[tuple[int, bytes]]:
    """Contract JSON lines, in event-time order, ids ``<prefix>-1``, ``<prefix>-2``...
    (``events`` is sorted in place: its times line up with the lines returned)."""
    events.sort(key=lambda e: (e[0], TYPE_RANK[e[1]]))
    return [(i, _encode({"id": f"{prefix}-{i}", "type": t, "at": iso(at, tz), "data": data}))
            for i, (at, t, data, tz) in enumerate(events, 1)]
