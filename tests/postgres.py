"""Fresh PostgreSQL databases for the tests that run on both storage engines.

The server is named by `STIKK_TEST_POSTGRESQL` (default: the local server's `test` database, as
user postgres); each test gets a database of its own, `stikk_test_<random>`, dropped afterwards.
It is a copy of a template that holds every migration (`CREATE DATABASE ... TEMPLATE`, about
ten times faster than migrating each one), made once per schema and test worker and named by a
hash of the migrations, so a changed migration makes a new one. A test marked
`empty_database` gets an empty database instead (it tests the migrations themselves).
Without a reachable server those tests skip, saying how to run them, except under `CI=true`,
where they fail: CI must test both engines.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from storage.db import Database, DatabaseLocation, PostgresLocation, _migrations

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


def _url(name: str) -> str:
    return urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{name}"))


def _template_name() -> str:
    """`stikk_template_<worker>_<hash of the PostgreSQL migrations>`."""
    digest = hashlib.blake2b(digest_size=6)
    for number, name, sql in _migrations("postgresql"):
        digest.update(f"{number}:{name}:{sql}".encode())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"stikk_template_{worker}_{digest.hexdigest()}"


async def _template(admin: asyncpg.Connection) -> str:
    """The migrated template of this worker, made (and older ones of it dropped) if missing."""
    name = _template_name()
    if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        return name
    stale = await admin.fetch(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2",
        name.rsplit("_", 1)[0] + "\\_%",
        name,
    )
    for row in stale:
        await admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    building = f"{name}_building"
    await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{building}"')
    db = await Database.open(PostgresLocation(_url(building)))
    await db.close()
    # Renamed only once complete: a run stopped halfway never leaves a broken template.
    await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return name


async def fresh_database(empty: bool = False) -> AsyncIterator[PostgresLocation]:
    """A new database on the test server with every migration applied (`empty`: none),
    dropped when the test ends."""
    admin = await _connect()
    name = f"stikk_test_{secrets.token_hex(6)}"
    try:
        template = "template0" if empty else await _template(admin)
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        try:
            yield PostgresLocation(_url(name))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def bot_database(location: DatabaseLocation) -> str:
    """The `BOT_DATABASE` value that names `location` (for commands run as processes)."""
    return location.url if isinstance(location, PostgresLocation) else str(location)


#: Runs a test once per engine: `@on_both_engines` on a test that takes `database_location`
#: (or `bot`, whose database it is).
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
on_both_engines = pytest.mark.parametrize("database_location", ENGINES, indirect=True)
