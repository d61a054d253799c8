"""Benchmark: ingest into PostgreSQL (production's store) through the real path, with large
batches sent by ``COPY`` and a merge (``store/db.py``) versus one statement per row
(``executemany``, the baseline), measured in the same run on the same stream.

A throwaway cluster is started on a free port (as the test suite does), or
``ORDERCARE_TEST_PG_URL`` is used; each run gets a fresh database. The engine is pinned to
the first core and the server's processes to the second, as a database on its own host
would be. For scale, the same stream is also ingested into SQLite, and the event rows alone
are inserted raw into an identical PostgreSQL table both ways (the floors).

Run: ``python benchmarks/bench_pg_ingest.py [--events N]``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.pgcluster import Cluster  # noqa: E402  (the test suite's throwaway cluster)

from ordercare import services  # noqa: E402
from ordercare.intake import decode_lines  # noqa: E402
from ordercare.sim.stream import generate  # noqa: E402
from ordercare.store import db as store_db  # noqa: E402

EVENTS_DDL = ("CREATE TABLE {} (event_id TEXT PRIMARY KEY, type TEXT NOT NULL, at_us BIGINT NOT NULL, "
              "order_id TEXT, payload TEXT NOT NULL)")


def _pin() -> None:
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[0]})
    if len(cores) > 1:  # the server's processes (a local cluster) on the next core
        pids = subprocess.run(["pgrep", "-f", "postgres"], capture_output=True, text=True).stdout.split()
        for pid in pids:
            subprocess.run(["taskset", "-pc", str(cores[1]), pid], capture_output=True)


def _fresh_db(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def ingest(url: str, lines: list[bytes], copy_from: int) -> tuple[float, float]:
    """Events per second through ``services.replay``, and the seconds its writes took (the
    batches' flushes: building the rows and the database's work on them)."""
    store_db.COPY_FROM = copy_from
    db = services.open_store(url)
    flush = services.Session.flush
    writing = 0.0

    def timed_flush(self: services.Session, events: list) -> None:  # type: ignore[type-arg]
        nonlocal writing
        began = time.perf_counter()
        flush(self, events)
        writing += time.perf_counter() - began

    services.Session.flush = timed_flush  # type: ignore[method-assign]
    gc.collect()  # (the previous run's garbage is not this run's cost)
    try:
        started = time.perf_counter()
        services.replay(db, "bench", list(enumerate(lines, 1)))
        return len(lines) / (time.perf_counter() - started), writing
    finally:
        services.Session.flush = flush  # type: ignore[method-assign]
        db.dispose()


def raw_floor(url: str, lines: list[bytes]) -> dict[str, float]:
    intake = decode_lines(enumerate(lines, 1))
    rows = [(a.event.id, a.event.__struct_config__.tag, a.at_us, a.order_id, a.payload) for a in intake.accepted]
    out = {}
    with psycopg.connect(url) as conn:
        for name in ("executemany", "copy"):
            conn.execute(EVENTS_DDL.format(f"raw_{name}"))
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur:
                if name == "executemany":
                    cur.executemany(f"INSERT INTO raw_{name} VALUES (%s, %s, %s, %s, %s)", rows)
                else:
                    with cur.copy(f"COPY raw_{name} FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
            out[f"raw_{name}_rows_per_s"] = len(rows) / (time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    print(f"generating {args.events:,} events (not timed)...")
    lines = generate(args.events)
    cluster = None
    admin = os.environ.get("ORDERCARE_TEST_PG_URL")
    if not admin:
        cluster = Cluster()
        admin = cluster.start()
    try:
        _pin()
        result: dict[str, float | int] = {"events": args.events, "copy_from": store_db.COPY_FROM}
        default = store_db.COPY_FROM
        print("PostgreSQL, one statement per row (the baseline)...")
        result["pg_rowwise_events_per_s"], result["pg_rowwise_write_s"] = ingest(
            _fresh_db(admin, "bench_rowwise"), lines, 10**12)
        print(f"  {result['pg_rowwise_events_per_s']:,.0f} events/s, writes {result['pg_rowwise_write_s']:.1f} s")
        print(f"PostgreSQL, batches of {default}+ rows by COPY and a merge...")
        result["pg_copy_events_per_s"], result["pg_copy_write_s"] = ingest(
            _fresh_db(admin, "bench_copy"), lines, default)
        print(f"  {result['pg_copy_events_per_s']:,.0f} events/s, writes {result['pg_copy_write_s']:.1f} s")
        store_db.COPY_FROM = default
        print("the event rows alone, raw, into an identical table...")
        result.update(raw_floor(_fresh_db(admin, "bench_raw"), lines))
        print(f"  executemany {result['raw_executemany_rows_per_s']:,.0f} rows/s, "
              f"COPY {result['raw_copy_rows_per_s']:,.0f} rows/s")
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite, the same stream (for scale)...")
            result["sqlite_events_per_s"], result["sqlite_write_s"] = ingest(
                f"sqlite:///{tmp}/bench.db", lines, default)
            print(f"  {result['sqlite_events_per_s']:,.0f} events/s, writes {result['sqlite_write_s']:.1f} s")
    finally:
        if cluster is not None:
            cluster.stop()
    result["copy_vs_rowwise"] = result["pg_copy_events_per_s"] / result["pg_rowwise_events_per_s"]
    result["writes_copy_vs_rowwise"] = result["pg_rowwise_write_s"] / result["pg_copy_write_s"]
    result["pg_vs_sqlite"] = result["pg_copy_events_per_s"] / result["sqlite_events_per_s"]
    result["pg_vs_raw_copy_floor"] = result["pg_copy_events_per_s"] / result["raw_copy_rows_per_s"]
    print(f"COPY batches vs row by row: {result['copy_vs_rowwise']:.2f}× the events/s, "
          f"{result['writes_copy_vs_rowwise']:.2f}× faster writes; "
          f"PostgreSQL vs SQLite: {result['pg_vs_sqlite']:.2f}")
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
