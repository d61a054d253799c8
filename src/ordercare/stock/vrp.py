"""The milk-run routing model (VRPTW) and its solver, PyVRP.

A milk run is a loop from the fulfilment centre (the depot) to suppliers, each
visited once inside its time window, with dock minutes spent there, on trucks of
limited capacity. The model here is neutral: it knows sites, windows, a fleet and
a travel metric, not Solomon files nor suppliers. Readers (``solomon.py``) and
planners (``instance_from_sites``) build it; ``solve`` turns it into routes.

PyVRP works in integers, so times and distances are scaled by ``SCALE`` and
rounded in the direction that can only make a schedule *harder*: travel and
dock times up, window openings up, window closings down. A plan the solver calls
feasible is therefore feasible with the plain, unrounded travel times too.
PyVRP itself is imported lazily so that the model (and the independent checker
that reads it) loads without the solver.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyvrp

SCALE = 1000
"""Integer units per distance/time unit: rounding overstates each arc's time by < 1/1000."""

Matrix = tuple[tuple[float, ...], ...]


class NoFeasiblePlan(ValueError):
    """Raised when no plan meets every window and capacity; the message says why."""


@dataclass(frozen=True)
class Site:
    """A place a truck visits (or the depot it starts from), times in the instance's unit.

    ``number`` is the caller's name for the site (Solomon's customer number); routes
    are reported in these numbers so that a reader can find the line in its file.
    """

    number: int
    x: float = 0.0
    y: float = 0.0
    demand: int = 0
    ready: float = 0.0
    due: float = math.inf
    service: float = 0.0
    name: str = ""


@dataclass(frozen=True)
class Instance:
    """One routing problem: a depot, the sites to visit, and K trucks of one capacity.

    Travel uses ``distances`` when given (row/column 0 is the depot, then ``sites``
    in order), else plain Euclidean distance between coordinates. Travel *time*
    uses ``durations`` when given, else equals distance (Solomon's convention).
    """

    name: str
    depot: Site
    sites: tuple[Site, ...]
    vehicles: int
    capacity: int
    distances: Matrix | None = None
    durations: Matrix | None = None

    def __post_init__(self) -> None:
        """Refuse shapes that would make routes ambiguous or matrices misaligned."""
        numbers = [site.number for site in self.places]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"{self.name}: site numbers must be unique (the depot's included)")
        size = len(numbers)
        for label, matrix in (("distances", self.distances), ("durations", self.durations)):
            if matrix is not None and (len(matrix) != size or any(len(r) != size for r in matrix)):
                raise ValueError(f"{self.name}: {label} must be {size} x {size}, depot first")

    @property
    def places(self) -> tuple[Site, ...]:
        """The depot followed by the sites: the index order of every matrix."""
        return (self.depot, *self.sites)

    @cached_property
    def _euclidean(self) -> Matrix:
        """Plain Euclidean distances, computed once: the solver and the planner share them."""
        pts = self.places
        return tuple(tuple(math.hypot(a.x - b.x, a.y - b.y) for b in pts) for a in pts)

    def distance_matrix(self) -> Matrix:
        """Distances between places: the given matrix, else Euclidean on coordinates."""
        return self.distances if self.distances is not None else self._euclidean

    def duration_matrix(self) -> Matrix:
        """Travel times between places; equal to distances unless given separately."""
        return self.durations if self.durations is not None else self.distance_matrix()

    @cached_property
    def index(self) -> dict[int, int]:
        """Map a site number to its matrix index, for turning routes into indices."""
        return {site.number: i for i, site in enumerate(self.sites, start=1)}


@dataclass(frozen=True)
class Stop:
    """One visit of a route: when the truck arrives, starts docking, and leaves."""

    site: int
    arrival: float
    start: float
    departure: float


@dataclass(frozen=True)
class Route:
    """One truck's loop: its stops in order, load collected, distance, and return time."""

    stops: tuple[Stop, ...]
    load: int
    distance: float
    leave_depot: float
    back_at_depot: float

    @property
    def sites(self) -> list[int]:
        """Site numbers in visit order, depot omitted (the contract's route shape)."""
        return [stop.site for stop in self.stops]


@dataclass(frozen=True)
class Solution:
    """The solver's answer, measured with plain unrounded travel (never the scaled ints)."""

    routes: tuple[Route, ...]
    distance: float

    @property
    def vehicles(self) -> int:
        """Trucks used: one per non-empty route."""
        return len(self.routes)

    def as_lists(self) -> list[list[int]]:
        """Routes as lists of site numbers, the shape the CLI and the checker take."""
        return [route.sites for route in self.routes]


def schedule(instance: Instance, sites: Sequence[int]) -> Route:
    """Time one route with real travel: leave at depot opening, wait for windows to open.

    Why the earliest departure: it is the schedule the checker verifies, and any
    later departure that still meets every window is a planner's choice on top.
    """
    index = instance.index
    dist, dur = instance.distance_matrix(), instance.duration_matrix()
    places = instance.places
    here, clock, load, total = 0, instance.depot.ready, 0, 0.0
    stops: list[Stop] = []
    for number in sites:
        there = index[number]
        site = places[there]
        arrival = clock + dur[here][there]
        start = max(arrival, site.ready)
        clock = start + site.service
        stops.append(Stop(number, arrival, start, clock))
        total += dist[here][there]
        load += site.demand
        here = there
    total += dist[here][0]
    back = clock + dur[here][0]
    return Route(tuple(stops), load, total, instance.depot.ready, back)


def obvious_problems(instance: Instance) -> list[str]:
    """Sites no truck could ever serve, in words, so the user fixes data, not the solver.

    Checked before solving because PyVRP would just report 'infeasible' after
    spending its whole time budget.
    """
    problems = []
    if instance.vehicles < 1:
        problems.append("the fleet has no trucks")
    dur = instance.duration_matrix()
    depot = instance.depot
    for i, site in enumerate(instance.sites, start=1):
        label = site.name or f"site {site.number}"
        if site.demand > instance.capacity:
            problems.append(f"{label}: demand {site.demand} exceeds truck capacity")
        if site.ready > site.due:
            problems.append(f"{label}: window opens ({site.ready:g}) after it closes")
        start = max(depot.ready + dur[0][i], site.ready)
        if start > site.due:
            problems.append(f"{label}: cannot be reached before its window closes")
        elif start + site.service + dur[i][0] > depot.due:
            problems.append(f"{label}: a truck could not get back before the depot closes")
    return problems


def _up(value: float, scale: int, safe: bool = True) -> int:
    """Scale and round up: used for anything that makes a truck later."""
    if not math.isfinite(value):
        return _BIG
    return math.ceil(value * scale) if safe else round(value * scale)


def _down(value: float, scale: int, safe: bool = True) -> int:
    """Scale and round down: used for deadlines, so a scaled deadline is never later."""
    if not math.isfinite(value):
        return _BIG
    return math.floor(value * scale) if safe else round(value * scale)


_BIG = 1 << 40  # "no deadline", well below PyVRP's MAX_VALUE (1 << 44)


def _matrices(instance: Instance, scale: int, safe: bool) -> tuple[Any, Any]:
    """Integer distance (nearest) and duration (rounded up) matrices for PyVRP.

    Distance only steers the objective, so rounding to nearest is unbiased;
    duration decides feasibility, so it is rounded up.
    """
    import numpy as np

    dist = np.rint(np.asarray(instance.distance_matrix()) * scale).astype(np.int64)
    dur = np.asarray(instance.duration_matrix()) * scale
    return dist, (np.ceil(dur) if safe else np.rint(dur)).astype(np.int64)


def problem_data(
    instance: Instance, scale: int = SCALE, safe_rounding: bool = True
) -> pyvrp.ProblemData:
    """Translate the neutral instance into PyVRP's integer problem data.

    ``safe_rounding=False`` rounds every time to nearest instead; it exists only
    so the benchmark can measure what the safe direction costs.
    """
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType

    safe, depot = safe_rounding, instance.depot
    opens, closes = _up(depot.ready, scale, safe), _down(depot.due, scale, safe)
    clients = [
        Client(
            location=i,
            pickup=[site.demand],
            service_duration=_up(site.service, scale, safe),
            tw_early=_up(site.ready, scale, safe),
            tw_late=_down(site.due, scale, safe),
            name=site.name or str(site.number),
        )
        for i, site in enumerate(instance.sites, start=1)
    ]
    fleet = VehicleType(
        num_available=instance.vehicles,
        capacity=[instance.capacity],
        fixed_cost=1,  # one scaled unit: a tie-break towards fewer trucks, never a trade
        tw_early=opens,
        tw_late=closes,
    )
    locations = [Location(x=p.x, y=p.y) for p in instance.places]
    depots = [Depot(location=0, tw_early=opens, tw_late=closes)]
    dist, dur = _matrices(instance, scale, safe)
    return ProblemData(locations, clients, depots, [fleet], [dist], [dur])


def solve(
    instance: Instance,
    seconds: float = 10.0,
    seed: int = 0,
    *,
    scale: int = SCALE,
    safe_rounding: bool = True,
) -> Solution:
    """Minimise total distance with PyVRP within ``seconds``; raise if no feasible plan.

    Raises ``NoFeasiblePlan`` naming the sites at fault when the data makes a
    plan impossible, or saying so when the solver found none in the time given.
    ``scale`` and ``safe_rounding`` are measurement knobs (see ``problem_data``).
    """
    from pyvrp import solve as pyvrp_solve
    from pyvrp.stop import MaxRuntime

    if problems := obvious_problems(instance):
        raise NoFeasiblePlan("; ".join(problems))
    if not instance.sites:
        return Solution((), 0.0)
    data = problem_data(instance, scale, safe_rounding)
    result = pyvrp_solve(data, MaxRuntime(seconds), seed=seed, collect_stats=False)
    if not result.best.is_feasible():
        raise NoFeasiblePlan(
            f"no plan meets every window and capacity with {instance.vehicles} trucks "
            f"(searched {seconds:g} s); add trucks, widen windows or allow more time"
        )
    return solution_from_routes(instance, _site_lists(instance, result.best))


def _site_lists(instance: Instance, best: pyvrp.Solution) -> list[list[int]]:
    """PyVRP routes back to the caller's site numbers (client k is place k + 1)."""
    from pyvrp import ActivityType

    return [
        [instance.sites[act.idx].number for act in route if act.type == ActivityType.CLIENT]
        for route in best.routes()
    ]


def solution_from_routes(instance: Instance, routes: Sequence[Sequence[int]]) -> Solution:
    """Build a timed solution from bare routes, measured with plain unrounded travel."""
    timed = tuple(schedule(instance, r) for r in routes if r)
    return Solution(timed, sum(route.distance for route in timed))


@dataclass(frozen=True)
class GeoSite:
    """A supplier (or the FC) on the map, with its window in minutes from the shift start.

    ``due=None`` means "until the end of the shift"; ``dock_minutes`` is the time
    the truck spends at the dock, loading.
    """

    name: str
    lat: float
    lon: float
    demand: int = 0
    ready: float = 0.0
    due: float | None = None
    dock_minutes: float = 0.0


EARTH_RADIUS_KM = 6371.0088


def haversine_km(a: GeoSite, b: GeoSite) -> float:
    """Great-circle distance: the honest lower bound of road distance between two points."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def instance_from_sites(
    fc: GeoSite,
    suppliers: Sequence[GeoSite],
    *,
    trucks: int,
    capacity: int,
    speed_kmh: float,
    shift_minutes: float,
    road_factor: float = 1.0,
    name: str = "milk-run",
) -> Instance:
    """Model a milk run from real coordinates: km for distance, minutes for time.

    Travel minutes are ``km * road_factor / speed_kmh * 60``; the shift starts at
    minute 0 and the FC closes at ``shift_minutes``. Suppliers are numbered 1..n
    in the order given, so routes map back with ``suppliers[number - 1]``.
    """
    if speed_kmh <= 0:
        raise ValueError(f"truck speed must be positive, got {speed_kmh} km/h")
    places = (fc, *suppliers)
    km = tuple(tuple(haversine_km(a, b) * road_factor for b in places) for a in places)
    minutes = tuple(tuple(d / speed_kmh * 60.0 for d in row) for row in km)
    depot = Site(0, x=fc.lon, y=fc.lat, ready=0.0, due=shift_minutes, name=fc.name)
    sites = tuple(
        Site(
            number=i,
            x=s.lon,
            y=s.lat,
            demand=s.demand,
            ready=s.ready,
            due=shift_minutes if s.due is None else s.due,
            service=s.dock_minutes,
            name=s.name,
        )
        for i, s in enumerate(suppliers, start=1)
    )
    return Instance(name, depot, sites, trucks, capacity, distances=km, durations=minutes)
