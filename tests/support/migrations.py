"""Moving a store to a given Alembic revision, up or down, as the migration tests do."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("ordercare.store") / "migrations"))
    return cfg


def to_revision(db: Engine, cfg: Config, revision: str, down: bool = False) -> None:
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
