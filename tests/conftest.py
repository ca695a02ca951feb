"""Shared fixtures. Test modules live in one folder per package (tests/common, tests/downloader...).

Helpers for building archives, origins and databases live in tests/support/ (importable as
`support.*`, since pytest.ini puts tests/ on the path).
"""

from gevent import monkey

monkey.patch_all()

import pytest  # noqa: E402

from support.postgres import PostgresServer, throwaway_database  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server():
    """A reachable Postgres server: the local one, or a private temporary cluster."""
    server = PostgresServer.find_or_start()
    yield server
    server.stop()


@pytest.fixture
def db_dsn(postgres_server):
    """DSN of a fresh, empty database that is dropped after the test."""
    with throwaway_database(postgres_server) as dsn:
        yield dsn
