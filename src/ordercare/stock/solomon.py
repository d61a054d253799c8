"""Read a VRPTW instance in Solomon's text format into the neutral routing model.

Solomon's files are the lingua franca of time-window routing benchmarks, so
reading them lets us measure the milk-run solver against published best-known
results. The layout is small (a name, a VEHICLE block, a CUSTOMER table of seven
numbers per row, the depot first), and we read it ourselves rather than through
``vrplib`` because its reader turns a malformed number into -1 without a word;
here every malformed line is refused with its line number. The unit tests check
that both readers agree on the benchmark files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

from ordercare.stock.vrp import Instance, Site

COLUMNS = ("CUST NO.", "XCOORD.", "YCOORD.", "DEMAND", "READY TIME", "DUE DATE", "SERVICE TIME")


class InstanceError(ValueError):
    """The file could not be read as a Solomon instance; the message says where and why."""


def read_solomon(path: str | os.PathLike[str]) -> Instance:
    """Read ``path``; routes will name customers by their CUST NO. (the depot is row one)."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as err:
        raise InstanceError(f"{where}: cannot read the file ({err.strerror or err})") from err
    except UnicodeDecodeError as err:
        raise InstanceError(f"{where}: not a text file ({err.reason})") from err
    return parse_solomon(text, str(where))


def parse_solomon(text: str, where: str = "<text>") -> Instance:
    """Parse the text of a Solomon file; ``where`` names it in error messages."""
    lines = _content_lines(text)
    name, _ = _expect(lines, where, "the instance name", None)
    _expect(lines, where, "the VEHICLE heading", "VEHICLE")
    _expect(lines, where, "the NUMBER CAPACITY heading", "CAPACITY")
    vehicles, capacity = _fleet(*_expect(lines, where, "the fleet line", None), where)
    _expect(lines, where, "the CUSTOMER heading", "CUSTOMER")
    _expect(lines, where, "the column headings", "CUST")
    rows = [_site(line, number, where) for line, number in lines]
    if len(rows) < 2:
        raise InstanceError(f"{where}: the CUSTOMER table needs the depot and one customer")
    _check_numbers(rows, where)
    return Instance(name, rows[0], tuple(rows[1:]), vehicles, capacity)


Line = tuple[str, int]


def _content_lines(text: str) -> Iterator[Line]:
    """Non-blank lines, stripped, with their 1-based line number for error messages."""
    return ((line.strip(), n) for n, line in enumerate(text.splitlines(), 1) if line.strip())


def _expect(lines: Iterator[Line], where: str, what: str, word: str | None) -> Line:
    """The next line, which must exist and (when ``word`` is given) contain that word."""
    line = next(lines, None)
    if line is None:
        raise InstanceError(f"{where}: ends before {what}; is this a Solomon VRPTW file?")
    if word is not None and word not in line[0].upper():
        raise InstanceError(
            f"{where}:{line[1]}: expected {what} ({word}), found {line[0][:40]!r}; "
            "is this a Solomon VRPTW file?"
        )
    return line


def _fleet(text: str, number: int, where: str) -> tuple[int, int]:
    """The VEHICLE block's numbers: how many trucks, and the capacity of each."""
    parts = text.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise InstanceError(
            f"{where}:{number}: expected two whole numbers (NUMBER CAPACITY), found {text!r}"
        )
    return int(parts[0]), int(parts[1])


def _site(text: str, number: int, where: str) -> Site:
    """One CUSTOMER row: seven numbers, with whole numbers for CUST NO. and DEMAND."""
    parts = text.split()
    if len(parts) != len(COLUMNS):
        raise InstanceError(
            f"{where}:{number}: a CUSTOMER row needs {len(COLUMNS)} numbers "
            f"({', '.join(COLUMNS)}), found {len(parts)}"
        )
    try:
        values = [_number(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_number(p))
        raise InstanceError(f"{where}:{number}: {bad!r} is not a finite number") from None
    cust, x, y, demand, ready, due, service = values
    if not (cust.is_integer() and demand.is_integer()) or min(cust, demand, service) < 0:
        raise InstanceError(
            f"{where}:{number}: CUST NO. and DEMAND must be whole numbers and "
            "DEMAND, SERVICE TIME not negative"
        )
    if ready > due:
        raise InstanceError(f"{where}:{number}: READY TIME {ready:g} is after DUE DATE {due:g}")
    return Site(int(cust), x, y, int(demand), ready, due, service)


def _number(text: str) -> float:
    """A finite float: 'nan' or 'inf' in a table is a typo, not a time window."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _is_number(text: str) -> bool:
    """True when ``_number`` accepts the text; used only to name the offending cell."""
    try:
        _number(text)
    except ValueError:
        return False
    return True


def _check_numbers(rows: list[Site], where: str) -> None:
    """Customer numbers name the stops in every route, so they must be unique."""
    seen: set[int] = set()
    for site in rows:
        if site.number in seen:
            raise InstanceError(f"{where}: CUST NO. {site.number} appears twice")
        seen.add(site.number)
