"""Milk-run routing: PyVRP's routes hold under plain travel, and the checker is not fooled.

The solver tests run ~1.5 s per Solomon instance; the whole file stays well under 30 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import vrplib
from typer.testing import CliRunner

from ordercare.stock.feasibility import check, total_distance
from ordercare.stock.milkrun_cli import milkrun_app
from ordercare.stock.solomon import InstanceError, parse_solomon, read_solomon
from ordercare.stock.vrp import (
    SCALE,
    GeoSite,
    Instance,
    NoFeasiblePlan,
    Site,
    haversine_km,
    instance_from_sites,
    problem_data,
    solve,
)

# Three of Solomon's instances (public benchmark data) travel with the tests; the whole set of
# 56, in the project's shared data beside the repository, is read too when it is there.
SOLOMON = Path(__file__).parents[1] / "data" / "solomon"
SHARED = Path(__file__).parents[3] / "shared" / "data" / "solomon"


def tiny() -> Instance:
    """Four sites on a line east of the depot, two trucks of capacity 10."""
    depot = Site(0, 0, 0, ready=0, due=100)
    sites = (
        Site(1, 10, 0, demand=6, ready=0, due=50, service=5),
        Site(2, 20, 0, demand=6, ready=0, due=50, service=5),
        Site(3, 0, 10, demand=3, ready=30, due=40, service=5),
        Site(4, 0, 20, demand=3, ready=0, due=60, service=5),
    )
    return Instance("tiny", depot, sites, vehicles=2, capacity=10)


@pytest.mark.parametrize("name", ["C101", "R101", "RC201"])
def test_solomon_routes_are_feasible_under_plain_euclidean_travel(name: str) -> None:
    instance = read_solomon(SOLOMON / f"{name}.txt")
    solution = solve(instance, seconds=1.5, seed=1)
    routes = solution.as_lists()
    assert check(instance, routes) == []
    assert sorted(n for r in routes for n in r) == list(range(1, 101))
    assert solution.distance == pytest.approx(total_distance(instance, routes))
    assert solution.vehicles == len(routes) <= instance.vehicles


def test_each_stop_starts_inside_its_window_in_the_returned_schedule() -> None:
    instance = read_solomon(SOLOMON / "C101.txt")
    sites = {site.number: site for site in instance.sites}
    for route in solve(instance, seconds=1.0).routes:
        assert route.back_at_depot <= instance.depot.due
        for stop in route.stops:
            assert sites[stop.site].ready <= stop.start <= sites[stop.site].due
            assert stop.arrival <= stop.start


def test_tiny_instance_is_solved_and_split_by_capacity() -> None:
    instance = tiny()
    solution = solve(instance, seconds=0.3)
    assert check(instance, solution.as_lists()) == []
    assert solution.vehicles == 2
    assert all(route.load <= 10 for route in solution.routes)


def test_checker_catches_a_capacity_violation() -> None:
    problems = check(tiny(), [[1, 2], [3, 4]])
    assert problems == ["route 1 carries 12, over the truck capacity of 10"]


def test_checker_catches_a_late_arrival() -> None:
    # Site 3 opens at 30 and closes at 40: going there after site 4 (0,20) arrives at 40+.
    problems = check(tiny(), [[1, 4, 3], [2]])
    assert any("site 3 served at" in p and "late" in p for p in problems)


def test_checker_catches_a_missing_and_a_repeated_customer() -> None:
    problems = check(tiny(), [[1, 3], [2, 1]])
    assert "site 4 is not visited" in problems
    assert "site 1 is visited 2 times" in problems


def test_checker_catches_a_late_return_and_too_many_trucks() -> None:
    instance = tiny()
    late = Instance("late", Site(0, 0, 0, due=30), instance.sites, 2, 10)
    assert any("returns to the depot" in p for p in check(late, [[2]]))
    assert "3 routes but only 2 trucks" in check(instance, [[1, 3], [2], [4]])


def test_scaled_times_never_make_a_truck_earlier_than_reality() -> None:
    instance = tiny()
    data = problem_data(instance)
    durations = data.duration_matrix(0)
    real = instance.duration_matrix()
    for i in range(len(real)):
        for j in range(len(real)):
            assert durations[i, j] >= real[i][j] * SCALE
    for client, site in zip(data.clients(), instance.sites, strict=True):
        assert client.tw_late <= site.due * SCALE
        assert client.tw_early >= site.ready * SCALE
        assert client.service_duration >= site.service * SCALE


def test_an_impossible_site_is_named_before_solving() -> None:
    instance = tiny()
    heavy = Instance("heavy", instance.depot, (Site(7, 1, 1, demand=11),), 2, 10)
    with pytest.raises(NoFeasiblePlan, match="site 7: demand 11 exceeds truck capacity"):
        solve(heavy, seconds=0.1)


def test_cli_json_prints_distance_vehicles_routes_first() -> None:
    path = SOLOMON / "C101.txt"
    result = CliRunner().invoke(milkrun_app, ["solve", str(path), "--seconds", "1", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload)[:3] == ["distance", "vehicles", "routes"]
    instance = read_solomon(path)
    assert check(instance, payload["routes"]) == []
    assert payload["vehicles"] == len(payload["routes"])
    assert payload["distance"] == pytest.approx(total_distance(instance, payload["routes"]))


def test_cli_refuses_a_bad_file_with_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("R101\n\nVEHICLE\nNUMBER     CAPACITY\n  25  200\n\nCUSTOMER\nCUST NO.\n0 1 2\n")
    for path in (bad, tmp_path / "missing.txt"):
        result = CliRunner().invoke(milkrun_app, ["solve", str(path), "--json"])
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert str(path) in result.stderr


def test_reader_names_the_line_of_a_malformed_number() -> None:
    text = "X\nVEHICLE\nNUMBER CAPACITY\n2 10\nCUSTOMER\nCUST NO.\n0 0 0 0 0 9 0\n1 4 abc 1 0 9 1\n"
    with pytest.raises(InstanceError, match=r"<text>:8: 'abc' is not a finite number"):
        parse_solomon(text)


def test_reader_agrees_with_vrplib_on_every_benchmark_file() -> None:
    paths = sorted(SOLOMON.glob("*.txt")) + sorted(SHARED.glob("*.txt"))
    assert len(paths) >= 3
    for path in paths:
        ours, theirs = read_solomon(path), vrplib.read_instance(path, instance_format="solomon")
        places = ours.places
        assert (ours.vehicles, ours.capacity) == (theirs["vehicles"], theirs["capacity"])
        assert [[p.x, p.y] for p in places] == theirs["node_coord"].tolist()
        assert [p.demand for p in places] == theirs["demand"].tolist()
        assert [[p.ready, p.due] for p in places] == theirs["time_window"].tolist()
        assert [p.service for p in places] == theirs["service_time"].tolist()


def test_instance_from_sites_uses_km_and_minutes_and_solves() -> None:
    fc = GeoSite("FC Lyon-Saint-Exupéry", 45.7256, 5.0811)
    suppliers = [
        GeoSite("Villeurbanne", 45.7719, 4.8902, demand=4, ready=60, due=180, dock_minutes=20),
        GeoSite("Vénissieux", 45.6975, 4.8867, demand=4, ready=0, due=240, dock_minutes=20),
        GeoSite("Bourgoin", 45.5866, 5.2737, demand=5, dock_minutes=30),
        GeoSite("Meyzieu", 45.7667, 5.0036, demand=2, ready=30, due=120, dock_minutes=15),
    ]
    instance = instance_from_sites(
        fc, suppliers, trucks=2, capacity=10, speed_kmh=50, shift_minutes=480
    )
    km = haversine_km(fc, suppliers[0])
    assert 14 < km < 17  # FC to Villeurbanne, as the crow flies
    assert instance.duration_matrix()[0][1] == pytest.approx(km / 50 * 60)
    assert instance.sites[2].due == 480 and instance.sites[2].service == 30
    solution = solve(instance, seconds=0.3)
    assert check(instance, solution.as_lists()) == []
    assert sorted(n for r in solution.as_lists() for n in r) == [1, 2, 3, 4]
    for route in solution.routes:
        for stop in route.stops:
            supplier = suppliers[stop.site - 1]
            assert supplier.ready <= stop.start <= (supplier.due or 480)


def test_the_checker_does_not_need_the_solver() -> None:
    code = "import sys, ordercare.stock.feasibility; sys.exit('pyvrp' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_matrix_of_the_wrong_size_is_refused() -> None:
    instance = tiny()
    with pytest.raises(ValueError, match="distances must be 5 x 5, depot first"):
        Instance("bad", instance.depot, instance.sites, 2, 10, distances=((0.0,),))
