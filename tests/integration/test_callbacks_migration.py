"""Migration 0008: a callback may belong to no order. A store at 0007 keeps its callbacks
through the upgrade, takes an orderless one after it, and goes down again cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ordercare.store.db import make_engine, migrate
from tests.support.migrations import config, to_revision

_ROW = ("INSERT INTO callbacks (case_id, order_id, customer_id, due_at, due_us, rule) "
        "VALUES (:c, :o, 'c-1', '2026-05-28T09:14:00+02:00', 1, 'desk')")


def test_callbacks_survive_the_upgrade_and_an_orderless_one_the_way_back_is_dropped(db_url):
    db = make_engine(db_url)
    cfg = config()
    to_revision(db, cfg, "0007")
    with db.begin() as conn:
        conn.execute(text(_ROW), {"c": "C-o-1-1", "o": "o-1"})
    with pytest.raises(IntegrityError), db.begin() as conn:  # before: every callback has an order
        conn.execute(text(_ROW), {"c": "C-c-1-desk-1", "o": None})
    migrate(db)
    with db.begin() as conn:
        conn.execute(text(_ROW), {"c": "C-c-1-desk-1", "o": None})
        kept = conn.execute(text("SELECT case_id, order_id, status FROM callbacks ORDER BY case_id")).all()
    assert [tuple(r) for r in kept] == [("C-c-1-desk-1", None, "due"), ("C-o-1-1", "o-1", "due")]
    to_revision(db, cfg, "0007", down=True)
    with db.connect() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT case_id, order_id FROM callbacks"))] == [
            ("C-o-1-1", "o-1")]
    db.dispose()
