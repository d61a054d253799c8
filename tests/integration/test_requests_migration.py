"""Migration 0009: the requests to send lines again. A store at 0008 (orders and cases
kept) gains the table, which takes a request; going down drops it and nothing else."""

from __future__ import annotations

from sqlalchemy import inspect, text

from ordercare.store.db import make_engine, migrate
from tests.support.migrations import config, to_revision

_ROW = ("INSERT INTO fulfil_requests (request_id, order_id, case_id, kind, addressed_to, customer_id, lines, "
        "requested_at, requested_us, ship_by, ship_by_us, status, shipment_ids, updated_at) VALUES "
        "('RQ-o-1-1', 'o-1', 'C-o-1-1', 'replace', 's-1', 'c-1', '[]', '2026-06-09T10:00:00+02:00', 1, "
        "'2026-06-11T23:59:59+02:00', 2, 'open', '[]', '2026-06-09T10:00:00+02:00')")


def test_the_requests_table_comes_with_0009_and_goes_with_it(db_url):
    db = make_engine(db_url)
    cfg = config()
    to_revision(db, cfg, "0008")
    with db.begin() as conn:
        conn.execute(text("INSERT INTO callbacks (case_id, order_id, customer_id, due_at, due_us, rule) "
                          "VALUES ('C-o-1-1', 'o-1', 'c-1', '2026-06-09T10:00:00+02:00', 1, 'desk')"))
    assert "fulfil_requests" not in inspect(db).get_table_names()
    migrate(db)
    with db.begin() as conn:
        conn.execute(text(_ROW))
        assert conn.execute(text("SELECT status FROM fulfil_requests")).scalar_one() == "open"
    to_revision(db, cfg, "0008", down=True)
    assert "fulfil_requests" not in inspect(db).get_table_names()
    with db.connect() as conn:
        assert conn.execute(text("SELECT case_id FROM callbacks")).scalar_one() == "C-o-1-1"
    migrate(db)
    with db.begin() as conn:
        conn.execute(text(_ROW))
    db.dispose()
