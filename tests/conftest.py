"""Shared fixtures: a fresh database per test, on SQLite and on a real PostgreSQL.

The PostgreSQL cluster is started once per session. Its tests never skip silently: when
PostgreSQL cannot be started the suite fails, unless ORDERCARE_SKIP_PG=1 says so out loud.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.pgcluster import Cluster, PgUnavailable

_counter = itertools.count()
_SKIPS = ("ORDERCARE_SKIP_PG", "ORDERCARE_SKIP_BROWSER")


def pytest_configure(config: pytest.Config) -> None:
    """In CI every test runs: asking to skip some is a mistake, said at once."""
    asked = [name for name in _SKIPS if os.environ.get(name) == "1"]
    if os.environ.get("CI") and asked:
        raise pytest.UsageError(f"CI runs every test: unset {', '.join(asked)}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test fails the run (a green run must mean every test ran)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if os.environ.get("CI") and skipped and session.exitstatus == 0:
        if reporter is not None:
            reporter.write_line(f"CI: {skipped} test(s) skipped; every test must run in CI", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    if os.environ.get("ORDERCARE_TEST_PG_URL"):
        yield os.environ["ORDERCARE_TEST_PG_URL"]
        return
    if os.environ.get("ORDERCARE_SKIP_PG") == "1":
        pytest.skip("ORDERCARE_SKIP_PG=1: PostgreSQL tests skipped on request")
    cluster = Cluster()
    try:
        url = cluster.start()
    except PgUnavailable as exc:
        cluster.stop()
        pytest.fail(f"PostgreSQL could not be started: {exc}")
    yield url
    cluster.stop()


def _admin(pg_server: str) -> psycopg.Connection:
    return psycopg.connect(pg_server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _new_pg_database(pg_server: str) -> str:
    name = f"t{os.getpid()}_{next(_counter)}"
    with _admin(pg_server) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(pg_server: str, url: str) -> None:
    """Drop a test's database, closing whatever the test left connected to it: an engine's
    pool, a kept engine session of an app not yet garbage-collected. The cluster's
    connection slots are few; leftovers would make a later test fail to connect."""
    with _admin(pg_server) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on the throwaway cluster (dropped after the test)."""
    url = _new_pg_database(pg_server)
    yield url
    _drop_pg_database(pg_server, url)


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/ordercare.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every storage test runs on both databases."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def twin_url(db_url: str, request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A second fresh database of the same kind as ``db_url``: to compare two ways of
    getting to the same state."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/twin.db"
        return
    server = str(request.getfixturevalue("pg_server"))
    url = _new_pg_database(server)
    yield url
    _drop_pg_database(server, url)
