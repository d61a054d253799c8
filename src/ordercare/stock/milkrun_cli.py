"""``ordercare milkrun``: pickup routes from the fulfilment centre, solved with PyVRP.

Thin on purpose: parse the arguments, call ``solomon.read_solomon`` and
``vrp.solve``, print. ``solve`` takes a Solomon VRPTW file so the solver can be
measured on the published benchmark with the same code path as the weekly plan.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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
    Console().print(table)
