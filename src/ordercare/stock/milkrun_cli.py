"""``ordercare milkrun``: pickup routes from the fulfilment centre, solved with PyVRP.

Thin on purpose: parse the arguments, call a service, print. ``solve`` takes a
Solomon VRPTW file so the solver can be measured on the published benchmark with
the same code path as the weekly plan; ``plan`` reads the store (reorder
suggestions, suppliers, the FC) through ``stock.service.milkrun_plans``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ordercare.cli_common import out
from ordercare.rules import RulesError
from ordercare.stock.reorder_cli import AtOpt, DbOpt, fail, open_db, parse_at, print_json
from ordercare.stock.solomon import InstanceError, read_solomon
from ordercare.stock.vrp import NoFeasiblePlan, Solution, solve

milkrun_app = typer.Typer(
    help="Milk-run pickup routes: trucks leave the FC, collect from suppliers in their "
    "windows, and return.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_BAD_INPUT = 2


@milkrun_app.callback()
def _group() -> None:
    """Milk-run pickup routes (keeps ``solve`` a sub-command even while it is the only one)."""


@milkrun_app.command("solve")
def solve_command(
    file: Annotated[Path, typer.Argument(help="VRPTW instance in Solomon's text format.")],
    seconds: Annotated[float, typer.Option(min=0.1, help="Solver time budget.")] = 10.0,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same time, same routes.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Solve a Solomon VRPTW instance; distance is plain (unrounded) Euclidean."""
    try:
        instance = read_solomon(file)
        solution = solve(instance, seconds=seconds, seed=seed)
    except (InstanceError, NoFeasiblePlan) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from err
    if as_json:
        typer.echo(json.dumps(_as_json(solution)))
    else:
        _print_table(instance.name, solution)


def _as_json(solution: Solution) -> dict[str, object]:
    """The contract's three keys first; the per-stop times follow for planners."""
    return {
        "distance": solution.distance,
        "vehicles": solution.vehicles,
        "routes": solution.as_lists(),
        "schedule": [
            [{"site": s.site, "arrival": s.arrival, "start": s.start} for s in route.stops]
            for route in solution.routes
        ],
    }


def _print_table(name: str, solution: Solution) -> None:
    """One row per truck: what a dispatcher reads before handing out the routes."""
    table = Table(title=f"{name}: {solution.vehicles} trucks, distance {solution.distance:.2f}")
    for column in ("truck", "stops", "load", "distance", "back at", "route"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for k, route in enumerate(solution.routes, start=1):
        table.add_row(
            str(k),
            str(len(route.stops)),
            str(route.load),
            f"{route.distance:.2f}",
            f"{route.back_at_depot:.1f}",
            " ".join(map(str, route.sites)),
        )
    out.print(table)


@milkrun_app.command("plan")
def plan_command(
    at: AtOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    db: DbOpt = None,
    seconds: Annotated[
        float | None, typer.Option(min=0.1, help="Solver time budget (default: the policy's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same time, same routes.")] = 0,
    fc: Annotated[str | None, typer.Option("--fc", help="Plan this FC only.")] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="A plan policy (fleet) file instead of the "
                                  "packaged plan_policy.yaml.")
    ] = None,
) -> None:
    """The next milk run from the FC: pickup routes for this week's reorder suggestions.

    With several FCs (and no --fc) --json prints an array of plans, one per FC.
    """
    from ordercare.stock.plan_policy import load_plan_policy
    from ordercare.stock.service import milkrun_plans

    moment = parse_at(at)
    try:
        fleet = load_plan_policy(policy)
    except RulesError as exc:
        raise fail(str(exc)) from None
    store = open_db(db)
    try:
        plans = milkrun_plans(store, moment, policy=fleet, seconds=seconds, seed=seed, fc_id=fc)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print_json(plans[0] if len(plans) == 1 else plans)
        return
    for plan in plans:
        _print_plan(plan)


def _print_plan(plan: dict[str, object]) -> None:
    """Per truck, its stops with times: what a dispatcher hands to the driver."""
    console = out
    routes = plan["routes"]
    assert isinstance(routes, list)
    trucks = "1 truck" if plan["vehicles"] == 1 else f"{plan['vehicles']} trucks"
    title = f"{plan['fc_id']} milk run {plan['date']}: {trucks}, {plan['distance_km']:.1f} km"
    table = Table("truck", "supplier", "arrive", "start", "depart", "qty", "kg", title=title)
    for route in routes:
        for stop in route["stops"]:
            table.add_row(str(route["truck"]), stop["supplier_id"], stop["arrive"][11:16],
                          stop["start"][11:16], stop["depart"][11:16], str(stop["qty"]),
                          f"{stop['weight_kg']:.1f}")
        table.add_row(str(route["truck"]), "back at FC", route["return_at"][11:16], "", "", "", "")
    console.print(table)
    for item in plan["unserved"]:  # type: ignore[attr-defined]
        console.print(f"  not served: {item['supplier_id'] or '(no supplier)'} "
                      f"({item['qty']} units): {item['reason']}", highlight=False)
    for warning in plan["warnings"]:  # type: ignore[attr-defined]
        console.print(f"  warning: {warning}", highlight=False)
