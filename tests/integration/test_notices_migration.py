"""Migration 0010: the sellers' notices and webhooks. A store at 0009 (its requests kept)
gains both tables, which take a notice the outbox can claim; going down drops them and
nothing else."""

from __future__ import annotations

from sqlalchemy import inspect, text

from ordercare.notify.outbox import claim
from ordercare.sellers import notices
from ordercare.store.db import make_engine, migrate
from tests.integration.test_requests_migration import _ROW
from tests.support.migrations import config, to_revision

NOTICE = notices.Notice("s-1:request:RQ-o-1-1", "s-1", notices.REQUEST, "o-1", "2026-06-09T10:00:00+02:00", 1,
                        {"request_id": "RQ-o-1-1"})


def test_the_notice_tables_come_with_0010_and_go_with_it(db_url):
    db = make_engine(db_url)
    cfg = config()
    to_revision(db, cfg, "0009")
    with db.begin() as conn:
        conn.execute(text(_ROW))
    assert not {"seller_notices", "seller_webhooks"} & set(inspect(db).get_table_names())
    migrate(db)
    with db.begin() as conn:
        notices.set_webhook(conn, "s-1", "https://s-1.example/hook", "2026-06-09T09:00:00+02:00", 0)
        notices.write(conn, [NOTICE])
        notices.write(conn, [NOTICE])  # (written again: kept as it was)
    with db.begin() as conn:
        assert claim(conn, "w", 10, 20, 5, box=notices.SELLER_NOTICES) == [NOTICE.notice_id]
        assert [n["seq"] for n in notices.feed(conn, "s-1")] == [1]
    to_revision(db, cfg, "0009", down=True)
    assert not {"seller_notices", "seller_webhooks"} & set(inspect(db).get_table_names())
    with db.connect() as conn:
        assert conn.execute(text("SELECT status FROM fulfil_requests")).scalar_one() == "open"
    migrate(db)
    with db.begin() as conn:
        notices.write(conn, [NOTICE])
    db.dispose()
