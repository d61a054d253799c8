"""An independent check that a set of routes really works for an instance.

The solver works in scaled, rounded integers; this checker does not trust it. It
re-times every route with plain floating-point travel (Euclidean on the
coordinates unless the instance gives its own matrices), in pure Python with no
PyVRP, so a rounding or mapping bug in the solver shows up as a violation in
words a dispatcher can act on.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from ordercare.stock.vrp import Instance, Site

TOLERANCE = 1e-6
"""Slack for float summation noise only; any real lateness is far larger."""


def check(instance: Instance, routes: Sequence[Sequence[int]]) -> list[str]:
    """Return every violation found (empty list: feasible). Routes list site numbers."""
    problems = _coverage(instance, routes)
    if (used := sum(1 for r in routes if r)) > instance.vehicles:
        problems.append(f"{used} routes but only {instance.vehicles} trucks")
    index = {site.number: i for i, site in enumerate(instance.sites, start=1)}
    for k, route in enumerate(routes, start=1):
        known = [n for n in route if n in index]
        problems += _capacity(instance, k, known)
        problems += _timing(instance, k, [index[n] for n in known])
    return problems


def is_feasible(instance: Instance, routes: Sequence[Sequence[int]]) -> bool:
    """True when ``check`` finds nothing wrong."""
    return not check(instance, routes)


def _coverage(instance: Instance, routes: Sequence[Sequence[int]]) -> list[str]:
    """Every site exactly once, and nothing that is not a site (the depot included)."""
    seen = Counter(n for route in routes for n in route)
    wanted = {site.number for site in instance.sites}
    problems = [f"site {n} is not visited" for n in sorted(wanted - seen.keys())]
    problems += [f"site {n} is visited {c} times" for n, c in sorted(seen.items()) if c > 1]
    problems += [f"route visits unknown site {n}" for n in sorted(seen.keys() - wanted)]
    return problems


def _capacity(instance: Instance, k: int, route: Sequence[int]) -> list[str]:
    """The truck's total pickup must fit: a milk run only loads, never unloads on the way."""
    demand = {site.number: site.demand for site in instance.sites}
    load = sum(demand[n] for n in route)
    if load > instance.capacity:
        return [f"route {k} carries {load}, over the truck capacity of {instance.capacity}"]
    return []


def _timing(instance: Instance, k: int, route: Sequence[int]) -> list[str]:
    """Leave at depot opening; start service at max(arrival, ready); start by due; get back."""
    places = instance.places
    travel = _travel_time(instance)
    depot = instance.depot
    here, clock, problems = 0, depot.ready, []
    for there in route:
        site = places[there]
        start = max(clock + travel(here, there), site.ready)
        if start > site.due + TOLERANCE:
            problems.append(_late(k, site, start))
        clock = start + site.service
        here = there
    back = clock + travel(here, 0)
    if route and back > depot.due + TOLERANCE:
        problems.append(
            f"route {k} returns to the depot at {back:.3f}, after it closes at {depot.due:g}"
        )
    return problems


def _late(k: int, site: Site, start: float) -> str:
    """Words for a missed window: which route, which site, by how much."""
    return (
        f"route {k}: site {site.number} served at {start:.3f}, after its window "
        f"closes at {site.due:g} ({start - site.due:.3f} late)"
    )


def _travel_time(instance: Instance) -> Callable[[int, int], float]:
    """Travel time between matrix indices, recomputed here rather than taken from the solver."""
    if instance.durations is not None:
        table = instance.durations
        return lambda a, b: table[a][b]
    if instance.distances is not None:
        table = instance.distances
        return lambda a, b: table[a][b]
    return _euclid(instance)


def _euclid(instance: Instance) -> Callable[[int, int], float]:
    """Plain Euclidean distance between matrix indices, from the coordinates."""
    places = instance.places
    return lambda a, b: math.hypot(places[a].x - places[b].x, places[a].y - places[b].y)


def total_distance(
    instance: Instance, routes: Sequence[Sequence[int]], *, dimacs: bool = False
) -> float:
    """Re-score routes (depot to depot); ``dimacs`` truncates each arc to one decimal.

    The DIMACS convention is the one published best-known Solomon results use, so
    comparing against them needs our routes scored the same way.
    """
    index = {site.number: i for i, site in enumerate(instance.sites, start=1)}
    if instance.distances is not None:
        table = instance.distances
        arc: Callable[[int, int], float] = lambda a, b: table[a][b]  # noqa: E731
    else:
        arc = _euclid(instance)
    total = 0.0
    for route in routes:
        seq = [0, *(index[n] for n in route), 0] if route else []
        for a, b in zip(seq, seq[1:], strict=False):
            d = arc(a, b)
            total += math.floor(d * 10 + 1e-9) / 10 if dimacs else d
    return total
