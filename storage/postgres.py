"""The PostgreSQL engine behind `Database`, on an asyncpg connection pool.

Statements arrive in SQLite's dialect and are translated by `storage.dialect.to_postgres`.
Unlike the single SQLite connection, the pool runs transactions side by side; PostgreSQL's own
locking keeps them apart (READ COMMITTED, row locks on writes).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import asyncpg

from storage.db import (
    Database,
    Params,
    PostgresLocation,
    Transaction,
    _migrations,
    _split_sql,
)
from storage.dialect import to_postgres

log = logging.getLogger(__name__)

_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*PRAGMA\b", re.IGNORECASE)
_CHANGES = re.compile(r"^\s*SELECT\s+changes\(\s*\)\s*;?\s*$", re.IGNORECASE)
_STATUS_COUNT = re.compile(r"(\d+)\s*$")

#: `SELECT changes()` (SQLite: rows changed by this connection's last statement) answered from
#: the command status of the last statement this task ran outside a transaction.
_changes: ContextVar[int] = ContextVar("changes", default=0)

_KEYS_SQL = """
SELECT c.relname AS table_name, a.attname AS column_name
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
WHERE i.indisprimary AND n.nspname = current_schema()
ORDER BY c.relname, array_position(i.indkey, a.attnum)
"""

_ID_TABLES_SQL = """
SELECT table_name FROM information_schema.columns
WHERE table_schema = current_schema() AND column_name = 'id'
"""


class Schema:
    """What the translation needs to know of the tables: primary keys and `id` columns."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, ...]] = {}
        self.with_id: set[str] = set()

    async def load(self, conn: asyncpg.Connection) -> None:
        keys: dict[str, list[str]] = {}
        for row in await conn.fetch(_KEYS_SQL):
            keys.setdefault(row["table_name"], []).append(row["column_name"])
        self.keys = {table: tuple(columns) for table, columns in keys.items()}
        self.with_id = {row["table_name"] for row in await conn.fetch(_ID_TABLES_SQL)}

    def sql(self, sql: str) -> str:
        return to_postgres(sql, self.keys)

    def insert_returning_id(self, sql: str) -> str | None:
        """`sql` with `RETURNING id` when it inserts into a table with an id column."""
        match = _INSERT_INTO.match(sql)
        if not match or _RETURNING.search(sql) or match.group(1).lower() not in self.with_id:
            return None
        return f"{self.sql(sql)} RETURNING id"


def _args(params: Params) -> Sequence[Any]:
    """The parameters for asyncpg. PostgreSQL's text cannot hold a NUL character (SQLite's
    can): it becomes U+FFFD, the replacement character, which is what an export shows for it
    from SQLite too, so a tip reads the same from either engine."""
    if isinstance(params, dict):
        raise TypeError("named parameters are not supported on PostgreSQL; use ? placeholders")
    return [
        value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value
        for value in params
    ]


async def _execute(
    conn: asyncpg.Connection, schema: Schema, sql: str, params: Params
) -> tuple[int, int]:
    """Run one statement: (the id an INSERT made or 0, how many rows it changed)."""
    if _PRAGMA.match(sql):
        return 0, 0  # SQLite's connection settings mean nothing here.
    returning = schema.insert_returning_id(sql)
    if returning is not None:
        value = await conn.fetchval(returning, *_args(params))
        return (0, 0) if value is None else (int(value), 1)
    status = await conn.execute(schema.sql(sql), *_args(params))
    count = _STATUS_COUNT.search(status or "")
    return 0, int(count.group(1)) if count else 0


def _changes_row(count: int) -> sqlite3.Row:
    # A one-column row, read like the row SQLite's changes() returns.
    row: sqlite3.Row = (count,)  # type: ignore[assignment]
    return row


class PostgresDatabase(Database):
    """A migrated PostgreSQL database on a pool of connections."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, location: PostgresLocation) -> None:
        self._pool = pool
        self.path = location
        self._schema = Schema()

    @classmethod
    async def connect(
        cls, location: PostgresLocation, migrations: list[tuple[int, str, str]] | None = None
    ) -> PostgresDatabase:
        pool = await asyncpg.create_pool(location.url, min_size=1, max_size=10)
        db = cls(pool, location)
        try:
            await db._migrate(_migrations("postgresql") if migrations is None else migrations)
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self._pool.close()

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        if _CHANGES.match(sql):
            return _changes_row(_changes.get())
        row: sqlite3.Row | None = await self._pool.fetchrow(self._schema.sql(sql), *_args(params))
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._pool.fetch(self._schema.sql(sql), *_args(params)))

    async def write_returning(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._pool.fetch(self._schema.sql(sql), *_args(params)))

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._pool.acquire() as conn:
            new_id, count = await _execute(conn, self._schema, sql, params)
        _changes.set(count)
        return new_id

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield PostgresTransaction(conn, self._schema)

    async def backup(self, target: Path | str) -> None:
        raise NotImplementedError(
            "a PostgreSQL database is backed up with pg_dump (or the server's own backups)"
        )

    async def schema_version(self) -> int:
        return int(await self.fetchval("SELECT COALESCE(MAX(number), 0) FROM schema_migrations"))

    async def _migrate(self, migrations: list[tuple[int, str, str]]) -> None:
        """Apply every migration not applied yet, each in its own transaction (see SQLite's)."""
        async with self.transaction() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)"
            )
        await self._apply_pending(migrations)
        async with self._pool.acquire() as conn:
            await self._schema.load(conn)

    async def _after_migration(self, tx: Transaction) -> None:
        """Nothing: `schema_migrations` is the only record PostgreSQL needs."""


class PostgresTransaction(Transaction):
    """Statements inside one open PostgreSQL transaction, on one pooled connection."""

    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection, schema: Schema) -> None:
        self._conn = conn
        self._schema = schema
        self._changes = 0

    async def execute(self, sql: str, params: Params = ()) -> int:
        new_id, self._changes = await _execute(self._conn, self._schema, sql, params)
        return new_id

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(self._schema.sql(sql), [_args(row) for row in rows])

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        if _CHANGES.match(sql):
            return _changes_row(self._changes)
        row: sqlite3.Row | None = await self._conn.fetchrow(self._schema.sql(sql), *_args(params))
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.fetch(self._schema.sql(sql), *_args(params)))

    async def executescript(self, sql: str) -> None:
        for statement in _split_sql(sql):
            if _PRAGMA.match(statement):
                continue
            await self._conn.execute(self._schema.sql(statement))
        # A migration may have made tables: the next statement must know their keys.
        await self._schema.load(self._conn)
