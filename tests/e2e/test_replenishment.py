"""Replenishment (issue 9) through the command line, on SQLite and PostgreSQL: six weeks of
platform orders at a Lyon FC, a toy whose demand jumps, and the reorder suggestions and the
Tuesday milk run that follow from them."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from ordercare import services
from ordercare.cli import app
from ordercare.sim.builder import EventBuilder, at, line
from ordercare.stock.reorder import CONTRACT_FIELDS
from ordercare.stock.reorder_cli import reorder_cmd

START = datetime.fromisoformat("2026-04-27T00:00:00+02:00")  # a Monday; 42 days of orders
AT = "2026-06-08T08:00:00+02:00"  # the Monday after, before the Tuesday milk run
FC = ("FC-LYS", 45.695, 4.945)
#            id         lat     lon    ready_from ready_until dock
SUPPLIERS = {"SUP-VIL": (45.772, 4.890, "08:00", "12:00", 20),   # Villeurbanne
             "SUP-VEN": (45.697, 4.886, "07:00", "11:00", 15),   # Vénissieux
             "SUP-VFR": (45.990, 4.718, "09:00", "15:00", 30),   # Villefranche-sur-Saône
             "SUP-VIE": (45.525, 4.874, "13:00", "17:00", 20),   # Vienne
             "SUP-GRE": (45.188, 5.724, "06:00", "06:45", 20)}   # Grenoble: too far for its window
#           sku        supplier  lead  g     stock  units/day (before, after the jump)
SKUS = {"TOY-HOT": ("SUP-VIL", 3, 800, 180, (2.0, 14.0)),
        "MUG": ("SUP-VEN", 5, 350, 200, (4.0, 4.0)),
        "LAMP": ("SUP-VFR", 7, 1200, 50, (1.0, 1.0)),
        "BOOK": ("SUP-VIE", 4, 500, 1000, (3.0, 3.0)),
        "SKI": ("SUP-GRE", 10, 2500, 15, (0.4, 0.4))}
JUMP_DAY = 32
FLEET = """timezone: Europe/Paris
departure_days: [tuesday]
shift: {{start: "06:00", end: "18:00"}}
trucks: {trucks}
capacity: {{kg: {kg}}}
speed_kmh: 45
road_factor: 1.3
default_dock_minutes: 20
solver_seconds: 1
"""


def _cli() -> typer.Typer:
    """The main app once ``reorder`` is mounted on it; until then, an app of their own."""
    if any(c.name == "reorder" for c in app.registered_commands):
        return app
    from ordercare.stock.milkrun_cli import milkrun_app

    local = typer.Typer()
    local.command("reorder")(reorder_cmd)
    local.add_typer(milkrun_app, name="milkrun")
    return local


def run(*args: str, expect: int = 0) -> Any:
    result = CliRunner().invoke(_cli(), list(args), catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout) if expect == 0 else result.output


def poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method: small rates only, which is all a test world needs."""
    limit, k, p = math.exp(-rate), 0, rng.random()
    while p > limit:
        k, p = k + 1, p * rng.random()
    return k


def lyon_world() -> EventBuilder:
    b = EventBuilder()
    setup = at(START, days=-2)
    b.seller("s-lyon", at=setup)
    for i in range(5):
        b.customer(f"c-{i}", lang="fr", at=setup)
    b.add("fc.registered", setup, {"fc_id": FC[0], "name": "Lyon Saint-Priest", "lat": FC[1], "lon": FC[2]})
    for sid, (lat, lon, opens, closes, dock) in SUPPLIERS.items():
        b.add("supplier.registered", setup, {"supplier_id": sid, "name": sid, "lat": lat, "lon": lon,
                                             "ready_from": opens, "ready_until": closes, "dock_minutes": dock})
    for sku, (supplier, lead, grams, stock, _rates) in SKUS.items():
        b.sku(sku, sku.title(), weight_g=grams, at=setup, seller_id="s-lyon", supplier_id=supplier,
              lead_time_days=lead)
        b.add("inventory.received", at(START, days=-1), {"fc_id": FC[0], "sku": sku, "qty": stock,
                                                         "seller_id": "s-lyon"})
    rng = random.Random(9)
    for day in range(42):
        for k, (sku, (*_, (before, after))) in enumerate(SKUS.items()):
            qty = poisson(rng, before if day < JUMP_DAY else after)
            if qty:
                oid = f"o-{day}-{sku}"
                b.order(oid, f"c-{(day + k) % 5}", at(START, days=day, hours=10 + k),
                        [line("l1", sku, "s-lyon", 20.0, qty, fulfilled_by="platform")])
    return b


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def minutes(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 60


def local(clock: str) -> str:
    """A supplier's HH:MM on the Tuesday of the run, as ISO local time."""
    return f"2026-06-09T{clock}:00+02:00"


def test_a_toy_whose_demand_jumps_is_reordered_and_the_tuesday_milk_run_collects_it(db_url, tmp_path: Path):
    report = services.replay(services.open_store(db_url), "lyon.jsonl", lyon_world().lines())
    assert report.rejected == [] and report.applied > 150

    rows = run("reorder", "--at", AT, "--json", "--db", db_url)
    assert all(list(r)[:len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS) for r in rows)
    by_sku = {r["sku"]: r for r in rows}
    hot = by_sku["TOY-HOT"]
    assert hot["fc_id"] == "FC-LYS" and hot["supplier_id"] == "SUP-VIL" and hot["order_qty"] > 0
    assert hot["forecast_per_day"] > 6  # it caught up with the jump (2/day before, 14 after)
    assert hot["order_qty"] >= hot["reorder_point"] - hot["available"]
    # The jump emptied the shelf: lines wait for stock, and they count against what is available.
    assert hot["backordered"] > 0 and hot["available"] < 0 and hot["days_of_cover"] == 0
    assert hot["available"] == hot["on_hand"] - hot["reserved"] - hot["backordered"]
    for r in rows:
        assert r["order_qty"] > 0 and r["available"] < r["reorder_point"]
    assert "BOOK" not in by_sku  # a thousand books on the shelf: nothing to order
    to_collect = {r["supplier_id"] for r in rows}
    assert {"SUP-VIL", "SUP-GRE"} <= to_collect and "SUP-VIE" not in to_collect

    weights = {s: sum(r["order_qty"] * SKUS[r["sku"]][2] for r in rows if r["supplier_id"] == s) / 1000
               for s in to_collect}
    kg = math.ceil(max(weights[s] for s in to_collect if s != "SUP-GRE"))  # the heaviest fills a truck
    plan = milkrun_plan(db_url, tmp_path, trucks=3, kg=kg)
    assert list(plan)[:6] == ["fc_id", "date", "vehicles", "distance_km", "routes", "unserved"]
    assert plan["fc_id"] == "FC-LYS" and plan["date"] == "2026-06-09"
    unserved = {u["supplier_id"]: u for u in plan["unserved"]}
    assert set(unserved) == {"SUP-GRE"} and "window" in unserved["SUP-GRE"]["reason"]
    visited = [stop["supplier_id"] for route in plan["routes"] for stop in route["stops"]]
    assert sorted(visited) == sorted(to_collect - {"SUP-GRE"})
    assert plan["vehicles"] == len(plan["routes"]) >= 2  # the load does not fit one truck

    distance = 0.0
    for route in plan["routes"]:
        assert route["weight_kg"] <= kg
        here, clock = FC[1:], local("06:00")
        assert route["stops"][0]["arrive"] >= clock
        for stop in route["stops"]:
            lat, lon, opens, closes, dock = SUPPLIERS[stop["supplier_id"]]
            km = haversine_km(here, (lat, lon)) * 1.3
            distance += km
            assert abs(minutes(clock, stop["arrive"]) - km / 45 * 60) < 0.02
            assert stop["start"] == max(stop["arrive"], local(opens))
            assert abs(minutes(stop["start"], stop["depart"]) - dock) < 0.02
            assert stop["depart"] <= local(closes)
            assert stop["qty"] == sum(r["order_qty"] for r in rows if r["supplier_id"] == stop["supplier_id"])
            assert abs(stop["weight_kg"] - weights[stop["supplier_id"]]) < 1e-6
            here, clock = (lat, lon), stop["depart"]
        km = haversine_km(here, FC[1:]) * 1.3
        distance += km
        assert abs(minutes(clock, route["return_at"]) - km / 45 * 60) < 0.02
        assert route["return_at"] <= local("18:00")
    assert abs(plan["distance_km"] - distance) < 0.01

    # One truck cannot carry it all: the pickups with the most days of cover wait for the next run.
    plan = milkrun_plan(db_url, tmp_path, trucks=1, kg=kg)
    kept = [stop["supplier_id"] for route in plan["routes"] for stop in route["stops"]]
    assert kept == ["SUP-VIL"] and plan["routes"][0]["weight_kg"] <= kg  # the hot toy goes first
    dropped = {u["supplier_id"]: u["reason"] for u in plan["unserved"]}
    assert set(dropped) == to_collect - {"SUP-VIL"}
    assert all(dropped[s].startswith("no room") for s in to_collect - {"SUP-VIL", "SUP-GRE"})


def test_what_is_already_on_order_is_not_ordered_again_until_it_arrives(db_url):
    """The buyer places the suggested purchase order: the next day's review counts it as on
    order and suggests nothing more for it; a partial receipt moves units from on order to
    the shelf, and only what is still missing stays on order."""
    store = services.open_store(db_url)
    assert services.replay(store, "lyon.jsonl", lyon_world().lines()).rejected == []
    hot = {r["sku"]: r for r in run("reorder", "--at", AT, "--json", "--db", db_url)}["TOY-HOT"]
    assert hot["on_order"] == 0 and hot["order_qty"] > 0
    ordered = hot["order_qty"]

    po = EventBuilder(prefix="po-")
    po.add("purchase_order.placed", AT, {"po_id": "PO-1", "supplier_id": "SUP-VIL", "fc_id": FC[0],
                                         "lines": [{"sku": "TOY-HOT", "qty": ordered}]})
    assert services.replay(store, "po.jsonl", po.lines()).rejected == []
    next_day = "2026-06-09T08:00:00+02:00"
    again = {r["sku"]: r for r in run("reorder", "--at", next_day, "--all", "--json", "--db", db_url)}
    toy = again["TOY-HOT"]
    assert toy["on_order"] == ordered and toy["available"] == hot["available"]  # nothing arrived yet
    # what is on order counts in the position: only the gap to the order-up-to level is asked for
    position = toy["available"] + ordered
    assert toy["order_qty"] == (max(toy["order_up_to"] - position, 0) if position < toy["reorder_point"] else 0)
    assert toy["order_qty"] < toy["order_up_to"] - toy["available"]

    arrived = ordered // 2
    receipt = EventBuilder(prefix="rcv-")
    receipt.add("inventory.received", "2026-06-09T14:00:00+02:00",
                {"fc_id": FC[0], "sku": "TOY-HOT", "qty": arrived, "seller_id": "s-lyon", "po_id": "PO-1"})
    assert services.replay(store, "receipt.jsonl", receipt.lines()).rejected == []
    book = run("reorder", "--at", "2026-06-10T08:00:00+02:00", "--all", "--json", "--db", db_url)
    [position] = [r for r in book if r["sku"] == "TOY-HOT"]
    assert position["on_order"] == ordered - arrived
    assert position["on_hand"] == hot["on_hand"] + arrived


def test_a_late_purchase_order_is_named_and_a_cancelled_one_is_ordered_again(db_url):
    """The buyer sees which purchase orders are late (past their expected date, units still
    outstanding); when the supplier cancels what is left, those units stop counting as on
    order and the next review asks for them again."""
    store = services.open_store(db_url)
    assert services.replay(store, "lyon.jsonl", lyon_world().lines()).rejected == []
    hot = {r["sku"]: r for r in run("reorder", "--at", AT, "--json", "--db", db_url)}["TOY-HOT"]
    ordered = hot["order_qty"]
    po = EventBuilder(prefix="po-")
    po.add("purchase_order.placed", AT, {"po_id": "PO-7", "supplier_id": "SUP-VIL", "fc_id": FC[0],
                                         "lines": [{"sku": "TOY-HOT", "qty": ordered}],
                                         "expected_at": "2026-06-10T12:00:00+02:00"})
    po.add("inventory.received", "2026-06-09T14:00:00+02:00",
           {"fc_id": FC[0], "sku": "TOY-HOT", "qty": 5, "seller_id": "s-lyon", "po_id": "PO-7"})
    assert services.replay(store, "po.jsonl", po.lines()).rejected == []

    [before] = run("purchase-orders", "--at", "2026-06-10T08:00:00+02:00", "--json", "--db", db_url)
    assert before["state"] == "open" and before["outstanding"] == ordered - 5
    [late] = run("purchase-orders", "--at", "2026-06-12T12:00:00+02:00", "--json", "--db", db_url)
    assert late["state"] == "late" and late["days_late"] == 2.0
    assert late["lines"] == [{"sku": "TOY-HOT", "ordered": ordered, "received": 5, "cancelled": 0,
                              "outstanding": ordered - 5}]

    cancel = EventBuilder(prefix="cx-")
    cancel.add("purchase_order.cancelled", "2026-06-12T13:00:00+02:00", {"po_id": "PO-7", "reason": "discontinued"})
    assert services.replay(store, "cancel.jsonl", cancel.lines()).rejected == []
    assert run("purchase-orders", "--at", "2026-06-12T14:00:00+02:00", "--json", "--db", db_url) == []
    [closed] = run("purchase-orders", "--at", "2026-06-12T14:00:00+02:00", "--all", "--json", "--db", db_url)
    assert closed["state"] == "received" and closed["lines"][0]["cancelled"] == ordered - 5
    book = run("reorder", "--at", "2026-06-13T08:00:00+02:00", "--all", "--json", "--db", db_url)
    [position] = [r for r in book if r["sku"] == "TOY-HOT"]
    assert position["on_order"] == 0 and position["order_qty"] > 0, "what will never come is asked for again"


def milkrun_plan(db: str, tmp: Path, trucks: int, kg: float) -> Any:
    (tmp / "fleet.yaml").write_text(FLEET.format(trucks=trucks, kg=kg))
    return run("milkrun", "plan", "--at", AT, "--json", "--db", db, "--seconds", "1",
               "--policy", str(tmp / "fleet.yaml"))


def test_a_time_without_an_offset_is_refused_with_exit_2():
    out = run("reorder", "--at", "2026-06-08T08:00:00", "--json", expect=2)
    assert "offset" in out
    out = run("milkrun", "plan", "--at", "2026-06-08", "--json", expect=2)
    assert "offset" in out


def test_a_fleet_file_with_an_unquoted_time_is_refused_naming_the_file_and_line(tmp_path: Path):
    bad = FLEET.format(trucks=2, kg=500).replace('end: "18:00"', "end: 18:00")  # YAML: 1080 minutes
    (tmp_path / "fleet.yaml").write_text(bad)
    out = run("milkrun", "plan", "--at", AT, "--policy", str(tmp_path / "fleet.yaml"), expect=2)
    assert "fleet.yaml: shift.end (line 3)" in out and "quotes" in out


def test_the_milk_run_collects_every_pickup_that_fits_beside_the_more_urgent_ones(db_url):
    """One 1,000 kg truck, four suppliers as urgent as each other: A and B open only 06:00-07:00
    on opposite sides of the FC (one truck cannot do both), C and D beside the FC all day.
    The truck collects A, C and D (900 kg); only B waits, for the window it clashes on."""
    from ordercare.stock.plan_policy import PlanPolicy
    from ordercare.stock.reorder_policy import SkuOverride, load_reorder_policy
    from ordercare.stock.service import milkrun_plans

    sites = {"A": (45.700, 4.800, "06:00", "07:00", 1000), "B": (45.700, 5.270, "06:00", "07:00", 2000),
             "C": (45.720, 4.950, "14:00", "16:00", 3000), "D": (45.670, 4.930, "09:00", "17:00", 5000)}
    b = EventBuilder()
    b.seller("s-1").customer("c-1")
    b.add("fc.registered", "2026-03-01T00:00:00+01:00", {"fc_id": "FC-1", "name": "FC", "lat": 45.695, "lon": 4.945})
    for s, (lat, lon, opens, closes, grams) in sites.items():
        b.add("supplier.registered", "2026-03-01T00:00:00+01:00",
              {"supplier_id": s, "name": s, "lat": lat, "lon": lon, "ready_from": opens, "ready_until": closes,
               "dock_minutes": 10})
        b.sku(f"K{s}", f"K{s}", weight_g=grams, at="2026-03-01T00:00:00+01:00", seller_id="s-1", supplier_id=s,
              lead_time_days=3)
        b.order(f"o-{s}", "c-1", "2026-06-01T10:00:00+02:00",
                [line("l1", f"K{s}", "s-1", 5.0, 1, fulfilled_by="platform")])
    db = services.open_store(db_url)
    try:
        services.replay(db, "x.jsonl", b.lines())
        reorder = load_reorder_policy().model_copy(
            update={"sku_overrides": {f"K{s}": SkuOverride(min_order_qty=100) for s in sites}})
        fleet = PlanPolicy(departure_days=("tuesday",), shift={"start": "06:00", "end": "18:00"}, trucks=1,
                           capacity={"kg": 1000}, speed_kmh=45, road_factor=1.3, default_dock_minutes=10,
                           solver_seconds=1)
        [plan] = milkrun_plans(db, datetime.fromisoformat("2026-06-08T08:00:00+02:00"), policy=fleet,
                               reorder_policy=reorder)
    finally:
        db.dispose()
    collected = sorted(s["supplier_id"] for r in plan["routes"] for s in r["stops"])
    assert len(collected) == 3 and {"C", "D"} <= set(collected), plan
    assert [u["supplier_id"] for u in plan["unserved"]] == sorted({"A", "B"} - set(collected))
    assert "no plan with it" in plan["unserved"][0]["reason"]
