"""Read a VRPTW instance in Solomon's text format into the neutral routing model.

Solomon's files are the lingua franca of time-window routing benchmarks, so
reading them lets us measure the milk-run solver against published best-known
results. ``vrplib`` does the parsing; this module turns its arrays into
``vrp.Instance`` and every failure into one ``InstanceError`` that names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import vrplib

from ordercare.stock.vrp import Instance, Site


class InstanceError(ValueError):
    """The file could not be read as a Solomon instance; the message says where and why."""


def read_solomon(path: str | os.PathLike[str]) -> Instance:
    """Read ``path``; customer numbers are row positions (depot 0), as in Solomon's files."""
    where = Path(path)
    try:
        raw = vrplib.read_instance(where, instance_format="solomon", compute_edge_weights=False)
    except OSError as err:
        raise InstanceError(f"{where}: cannot read the file ({err.strerror or err})") from err
    except UnicodeDecodeError as err:
        raise InstanceError(f"{where}: not a text file ({err.reason})") from err
    except (RuntimeError, ValueError, IndexError, TypeError) as err:
        raise InstanceError(
            f"{where}: not in Solomon's VRPTW format (name, VEHICLE/NUMBER CAPACITY, "
            f"CUSTOMER table of 7 numeric columns): {err}"
        ) from err
    return _instance(where, raw)


def _instance(where: Path, raw: dict[str, object]) -> Instance:
    """Build the model from vrplib's arrays, refusing tables that are not a depot + customers."""
    try:
        coords, demand = raw["node_coord"], raw["demand"]
        windows, service = raw["time_window"], raw["service_time"]
        rows = [
            Site(
                number=i,
                x=float(coords[i][0]),  # type: ignore[index]
                y=float(coords[i][1]),  # type: ignore[index]
                demand=int(demand[i]),  # type: ignore[index]
                ready=float(windows[i][0]),  # type: ignore[index]
                due=float(windows[i][1]),  # type: ignore[index]
                service=float(service[i]),  # type: ignore[index]
            )
            for i in range(len(coords))  # type: ignore[arg-type]
        ]
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise InstanceError(f"{where}: the CUSTOMER table is malformed ({err})") from err
    if len(rows) < 2:
        raise InstanceError(f"{where}: the CUSTOMER table needs the depot and one customer")
    _check_values(where, rows)
    vehicles, capacity = int(raw["vehicles"]), int(raw["capacity"])  # type: ignore[call-overload]
    return Instance(str(raw.get("name", where.stem)), rows[0], tuple(rows[1:]), vehicles, capacity)


def _check_values(where: Path, rows: list[Site]) -> None:
    """Refuse negative demands or service and windows that close before they open."""
    for site in rows:
        if site.demand < 0 or site.service < 0:
            raise InstanceError(f"{where}: customer {site.number} has a negative demand or service")
        if site.ready > site.due:
            raise InstanceError(
                f"{where}: customer {site.number} has READY TIME {site.ready:g} "
                f"after DUE DATE {site.due:g}"
            )
