"""Fresh PostgreSQL databases for the tests that run on both storage engines.

The server is named by `STIKK_TEST_POSTGRESQL` (default: the local server's `test` database, as
user postgres); each test gets a database of its own, `stikk_test_<random>`, dropped afterwards.
Without a reachable server those tests skip, saying how to run them, except under `CI=true`,
where they fail: CI must test both engines.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from storage.db import PostgresLocation

ADMIN_URL = os.environ.get("STIKK_TEST_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")
HOW = (
    "to run the PostgreSQL tests, start a PostgreSQL server and set STIKK_TEST_POSTGRESQL to a "
    "URL of a user who may CREATE DATABASE (default postgresql://postgres@127.0.0.1:5432/test)"
)

_unreachable: list[str] = []  # remembered, so a missing server costs one timeout per run


async def _connect() -> asyncpg.Connection:
    if _unreachable:
        _give_up(_unreachable[0])
    try:
        return await asyncpg.connect(ADMIN_URL, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        _unreachable.append(f"{type(error).__name__}: {error}")
        _give_up(_unreachable[0])
        raise


def _give_up(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"no PostgreSQL server at {ADMIN_URL} ({reason}); CI=true requires it")
    pytest.skip(f"no PostgreSQL server at {ADMIN_URL} ({reason}); {HOW}")


async def fresh_database() -> AsyncIterator[PostgresLocation]:
    """A new, empty database on the test server, dropped when the test ends."""
    admin = await _connect()
    name = f"stikk_test_{secrets.token_hex(6)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{name}"))
        try:
            yield PostgresLocation(url)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


#: Runs a test once per engine: `@on_both_engines` on a test that takes `database_location`
#: (or `bot`, whose database it is).
on_both_engines = pytest.mark.parametrize(
    "database_location",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
    indirect=True,
)
