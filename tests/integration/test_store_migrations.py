"""An upgrade is all or nothing: killed half-way, it leaves the store at its old revision,
which the next open upgrades; two processes opening a new store at once both get it whole."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import event, inspect, text

from ordercare import services
from ordercare.store.db import make_engine, migrate
from tests.support.migrations import config, to_revision


def test_an_upgrade_killed_half_way_leaves_the_store_as_it_was_and_the_next_open_upgrades_it(db_url):
    db = make_engine(db_url)
    to_revision(db, config(), "0011")
    added = {"n": 0}

    def killed_at_the_third_column(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("ALTER TABLE FULFIL_PACKS ADD COLUMN"):
            added["n"] += 1
            if added["n"] == 3:
                raise KeyboardInterrupt("killed during the upgrade")

    event.listen(db, "before_cursor_execute", killed_at_the_third_column)
    with pytest.raises(KeyboardInterrupt):
        migrate(db)
    event.remove(db, "before_cursor_execute", killed_at_the_third_column)
    assert added["n"] == 3, "the upgrade was stopped in the middle of migration 0012"
    with db.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0011"
        columns = [c["name"] for c in inspect(conn).get_columns("fulfil_packs")]
    assert "rechecks" not in columns, "no column of the half-done upgrade is left"
    db.dispose()
    services.open_store(db_url).dispose()  # the next open upgrades it whole
    with make_engine(db_url).connect() as conn:
        assert "rechecks" in [c["name"] for c in inspect(conn).get_columns("fulfil_packs")]


def _open(url: str, start: object, out: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    try:
        services.open_store(url).dispose()
        out.put("ok")  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 (reported to the test)
        out.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def test_two_processes_opening_a_new_sqlite_store_at_once_both_get_it(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    for trial in range(3):
        url = f"sqlite:///{tmp_path}/new-{trial}.db"
        start, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(url, start, out)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert sorted(out.get(timeout=5) for _ in procs) == ["ok", "ok"]
