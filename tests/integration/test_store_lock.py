"""Two engine passes at once on one store lose nothing: the second waits for the first.

Real processes (``python -m ordercare replay``), started together on the same store: one
records the payments of a thousand orders, the other their parcels. Each pass loads the
orders, changes them in memory and writes them back; without the store's writer lock the
second write would undo the first for every order both touched (a lost update, although both
events are in the event log). With it, every order ends up both paid and shipped, exactly as
if the two files had been replayed one after the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from ordercare import services
from ordercare.sim.builder import EventBuilder, at, line
from ordercare.store import repo

ORDERS = 1000
T0 = "2026-06-01T09:00:00+02:00"


def _files(tmp: Path) -> tuple[Path, Path, Path]:
    base, paid, shipped = EventBuilder("b-"), EventBuilder("p-"), EventBuilder("s-")
    base.customer("c1").seller("s1")
    for i in range(ORDERS):
        oid = f"o{i}"
        base.order(oid, "c1", T0, [line("l1", "sku-1", "s1"), line("l2", "sku-2", "s1")])
        paid.pay(oid, at(T0, hours=1), 20.0)
        shipped.create_shipment(f"sh{i}", oid, "s1", ["l1", "l2"], at(T0, hours=2))
        shipped.ship(f"sh{i}", at(T0, hours=3), f"TRK{i}")
    out = []
    for name, story in (("base", base), ("paid", paid), ("shipped", shipped)):
        path = tmp / f"{name}.jsonl"
        path.write_text(story.jsonl(), encoding="utf-8")
        out.append(path)
    return out[0], out[1], out[2]


def _replay(path: Path, db_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-m", "ordercare", "replay", str(path), "--json", "--db", db_url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def test_two_replays_at_once_lose_no_update(db_url: str, tmp_path: Path) -> None:
    base, paid, shipped = _files(tmp_path)
    db = services.open_store(db_url)
    services.replay(db, "base", list(enumerate(base.read_bytes().splitlines(), 1)))

    runs = [_replay(paid, db_url), _replay(shipped, db_url)]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()
        reports.append(json.loads(out))
    assert [r["applied"] for r in reports] == [ORDERS, 2 * ORDERS]

    with db.connect() as conn:
        orders = repo.load_orders(conn, [f"o{i}" for i in range(ORDERS)])
    assert len(orders) == ORDERS
    unpaid = [o.order_id for o in orders if o.paid_us is None]
    unshipped = [o.order_id for o in orders if not o.shipments or
                 any(s.shipped_us is None for s in o.shipments.values())]
    assert unpaid == [] and unshipped == []  # no pass undid the other's work
    db.dispose()


HOLDER = """
import sys
from ordercare.store.db import make_engine
from ordercare.store.lock import writer
with writer(make_engine(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_pass_waits_while_another_process_holds_the_lock(db_url: str) -> None:
    """The lock spans processes: a replay started while another process holds it does not
    touch the store until that process lets go."""
    db = services.open_store(db_url)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env)
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    story = EventBuilder().customer("c1").seller("s1").order("o1", "c1", T0, [line("l1", "sku-1", "s1")])
    done = threading.Event()
    worker = threading.Thread(target=lambda: (services.replay(db, "late", story.lines()), done.set()))
    worker.start()
    assert not done.wait(timeout=3)  # a three-event replay takes well under that: it is waiting
    assert _orders(db) == 0
    holder.communicate(b"")  # the holder lets go and exits
    worker.join(timeout=60)
    assert done.is_set() and _orders(db) == 1
    db.dispose()


def _orders(db: object) -> int:
    with db.connect() as conn:  # type: ignore[attr-defined]
        return len(repo.load_orders(conn, ["o1"]))


def test_a_store_named_by_a_file_uri_or_a_link_locks_its_real_file(tmp_path: Path) -> None:
    """The lock sits beside the file SQLite opened, however the URL names it, so that two
    processes naming one store differently still exclude each other."""
    real = tmp_path / "shop.db"
    link = tmp_path / "alias.db"
    db = services.open_store(f"sqlite:///file:{real}?uri=true")
    story = EventBuilder().customer("c1").seller("s1").order("o1", "c1", T0, [line("l1", "sku-1", "s1")])
    assert services.replay(db, "uri", story.lines()).applied == 3
    link.symlink_to(real)
    via_link = services.open_store(f"sqlite:///{link}")
    assert services.replay(via_link, "link", story.lines()).duplicates == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".lock") == ["shop.db.lock"]
    db.dispose()
    via_link.dispose()


def test_the_command_line_says_what_it_waits_for(db_url: str, tmp_path: Path) -> None:
    """`ordercare replay` started while another process holds the store says it is waiting
    (instead of hanging silently), then does its work once the store is free."""
    db = services.open_store(db_url)
    story = EventBuilder().customer("c1").seller("s1").order("o1", "c1", T0, [line("l1", "sku-1", "s1")])
    path = tmp_path / "late.jsonl"
    path.write_text(story.jsonl(), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env)
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    run = _replay(path, db_url)
    assert run.stderr is not None and b"waiting for another engine pass" in run.stderr.readline()
    holder.communicate(b"")
    out, _ = run.communicate(timeout=120)
    assert run.returncode == 0 and json.loads(out)["applied"] == 3
    db.dispose()
