"""Transit times learned per carrier and lane: the model behind the "trending late" warning.

Every parcel delivered teaches it: the time from each step of its journey (the hand-over,
then each carrier scan) to its delivery is one sample of "time left from this status", for
its carrier and lane (country, and département in France) and for the carrier on all lanes
(the fallback while a lane has fewer than ``min_samples``). Each distribution keeps the last
``window`` samples in the order they were learnt (the carrier of last month, not of last
year) and a sorted copy for the questions below.

Seen ``waited`` µs after a step, with ``left`` µs from that step to the deliver-by, the
chance of missing it is the share of past parcels that, having waited that long from that
status, still arrived after the deadline. When no past parcel from that status ever took
longer than the time left, nothing says it will be late (a parcel silent for longer than
any before it is the stall detector's business, not a forecast)::

    p(waited) = #{x > left} / #{x > waited}

Before the deadline the numerator is fixed and the denominator only shrinks as the wait
grows, so p only rises until the next scan: the instant it reaches a threshold is one of the
samples, found with one bisection (``crossing``). The engine arms a wake exactly there and
never polls. The same code serves the engine's detector and the offline evaluation
(``ordercare.insights.trending``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ordercare.domain.order import Shipment

ALL_LANES = "*"
MIN_SAMPLES = 30
WINDOW = 2000

Key = tuple[str, str, str]                      # (carrier, lane, status)
Fetch = Callable[[str, str], dict[str, list[int]]]  # (carrier, lane) -> {status: samples, oldest first}


def lane_of(address: dict[str, Any] | None) -> str:
    """The destination lane: the country, and the département (two digits) in France."""
    if not address:
        return "?"
    country = address.get("country")
    if country != "FR":
        return country or "?"
    return "FR-" + (address.get("postcode") or "")[:2]


class Samples:
    """One distribution: samples in the order learnt (for the window) and sorted."""

    __slots__ = ("recent", "sorted")

    def __init__(self, recent: Iterable[int] = ()) -> None:
        self.recent: deque[int] = deque(recent)
        self.sorted: list[int] = sorted(self.recent)

    def add(self, x: int, window: int) -> None:
        recent, xs = self.recent, self.sorted
        recent.append(x)
        insort(xs, x)
        while len(recent) > window:
            del xs[bisect_left(xs, recent.popleft())]


def p_late(xs: list[int], waited: int, left: int) -> float:
    """Chance of missing the deadline ``left`` µs after the step, ``waited`` µs after it."""
    n = len(xs)
    alive = n - bisect_right(xs, waited)
    if alive == 0:
        return 1.0 if waited >= left else 0.0  # past the deadline it is late; before it, no evidence
    return (n - bisect_right(xs, max(waited, left))) / alive


def crossing(xs: list[int], left: int, threshold: float) -> int | None:
    """The smallest wait after the step at which ``p_late`` reaches ``threshold``, if that
    happens before the deadline (``left``); ``None`` otherwise.

    p(w) >= threshold  <=>  #{x > w} <= late / threshold  <=>  w >= xs[n - k - 1], with
    k the most parcels still on the way that keep the share of late ones at the threshold.
    """
    n = len(xs)
    late = n - bisect_right(xs, left)
    if late == 0:
        return None  # no past parcel from here ever missed such a deadline
    k = int(late / threshold)
    if (k + 1) * threshold <= late:      # float-safe: the largest k with late >= threshold * k
        k += 1
    elif k * threshold > late:
        k -= 1
    if k >= n:
        return 0
    at = xs[n - k - 1]                   # k >= late >= 1: the crossing keeps one alive
    return (at if at > 0 else 0) if at < left else None


class TransitModel:
    """Distributions of the time left to delivery by (carrier, lane, status), learnt online.

    ``fetch`` (optional) reads what the store already knows about a (carrier, lane) the
    first time it is needed; ``changed`` holds the distributions to write back.
    """

    def __init__(self, min_samples: int = MIN_SAMPLES, window: int = WINDOW, fetch: Fetch | None = None) -> None:
        self.min_samples = min_samples
        self.window = window
        self._fetch = fetch
        self._dists: dict[Key, Samples] = {}
        self._fetched: set[tuple[str, str]] = set()
        self.changed: set[Key] = set()

    def samples(self, key: Key) -> Samples:
        found = self._dists.get(key)
        if found is None:
            carrier, lane, _status = key
            if self._fetch is not None and (carrier, lane) not in self._fetched:
                self._fetched.add((carrier, lane))
                for status, xs in self._fetch(carrier, lane).items():
                    self._dists.setdefault((carrier, lane, status), Samples(xs))
            found = self._dists.get(key)
            if found is None:
                found = self._dists[key] = Samples()
        return found

    def learn(self, carrier: str, lane: str, steps: Iterable[tuple[int, str]], delivered_us: int) -> None:
        """One delivered parcel: ``steps`` are (at, status) of its hand-over and scans."""
        dists, window, changed = self._dists, self.window, self.changed
        for at, status in steps:
            left = delivered_us - at
            for key in ((carrier, lane, status), (carrier, ALL_LANES, status)):
                found = dists.get(key) or self.samples(key)
                recent, xs = found.recent, found.sorted  # Samples.add, inlined: 8 per parcel
                recent.append(left)
                insort(xs, left)
                while len(recent) > window:
                    del xs[bisect_left(xs, recent.popleft())]
                changed.add(key)

    def learn_delivery(self, address: dict[str, Any] | None, ship: Shipment) -> None:
        """A parcel just delivered (its first delivered scan): learn its whole journey."""
        if ship.carrier and ship.shipped_us is not None and ship.delivered_us is not None:
            self.learn(ship.carrier, lane_of(address), journey(ship), ship.delivered_us)

    def distribution(self, carrier: str, lane: str, status: str) -> list[int] | None:
        """Sorted times left from ``status``: the lane's, else the carrier's on all lanes;
        ``None`` while neither has seen ``min_samples`` parcels."""
        dists = self._dists
        found = dists.get((carrier, lane, status)) or self.samples((carrier, lane, status))
        xs = found.sorted
        if len(xs) >= self.min_samples:
            return xs
        found = dists.get((carrier, ALL_LANES, status)) or self.samples((carrier, ALL_LANES, status))
        xs = found.sorted
        return xs if len(xs) >= self.min_samples else None

    def warning_at(self, carrier: str, lane: str, status: str, step_us: int, deliver_by_us: int,
                   threshold: float) -> int | None:
        """The instant the warning speaks for a parcel whose last step (``status``) was at
        ``step_us``; ``None``: not before the deliver-by, or nothing known yet.

        ``distribution`` then ``crossing``, inlined: the detector asks this for every parcel
        in transit at every event of its order."""
        if step_us >= deliver_by_us:
            return None
        dists = self._dists
        key = (carrier, lane, status)
        xs = (dists.get(key) or self.samples(key)).sorted
        n = len(xs)
        if n < self.min_samples:
            key = (carrier, ALL_LANES, status)
            xs = (dists.get(key) or self.samples(key)).sorted
            n = len(xs)
            if n < self.min_samples:
                return None
        left = deliver_by_us - step_us
        late = n - bisect_right(xs, left)
        if late == 0:
            return None
        k = int(late / threshold)
        if (k + 1) * threshold <= late:
            k += 1
        elif k * threshold > late:
            k -= 1
        if k >= n:
            return step_us
        at = xs[n - k - 1]
        if at >= left:
            return None
        return step_us + at if at > 0 else step_us

    def rows(self, keys: Iterable[Key]) -> list[tuple[str, str, str, list[int]]]:
        """(carrier, lane, status, samples oldest first) for ``keys``: what to persist."""
        return [(*key, list(self._dists[key].recent)) for key in sorted(keys)]


def journey(ship: Shipment) -> list[tuple[int, str]]:
    """The steps a delivery teaches: the hand-over, then every scan before the door."""
    steps = [(ship.shipped_us or 0, "shipped")]
    steps += [(sc.at_us, sc.status) for sc in ship.scans if sc.status != "delivered"]
    return steps
