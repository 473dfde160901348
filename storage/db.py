"""The database: one interface, two engines (SQLite and PostgreSQL), migrations and transactions.

SQLite is the embedded default for one district; PostgreSQL (`BOT_DATABASE=postgresql://...`)
serves a city on a shared, managed server. Every statement in storage/ is written once, in
SQLite's dialect; `storage.dialect.to_postgres` translates it for PostgreSQL in one place.

One aiosqlite connection serves the whole bot's writes. Handlers run concurrently, so every
statement on it goes through one lock: a transaction opened by one handler can never swallow
another handler's write. WAL mode lets backups and command-line tools read while the bot writes.

Single-row reads (`fetchone`, `fetchval`: the resident behind an update, their draft, their open
case) go to a second, read-only connection and run directly, without the hop to aiosqlite's
thread: such a lookup takes microseconds, the hop a context switch each way, and a busy bot does
several per update. In WAL mode a reader never waits for the writer and sees every committed
transaction. Lists (`fetchall`, which may be long) stay on the async connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiosqlite
import asyncpg

log = logging.getLogger(__name__)

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Params = Sequence[Any] | dict[str, Any]

#: What a failing database raises, on either engine (for `except DatabaseErrors:`).
DatabaseErrors: tuple[type[Exception], ...] = (
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class BackupError(Exception):
    """The backup could not be made; the message says why, for an operator."""


def backup_file(source: Path, target: Path, timeout: float = 30.0) -> None:
    """Copy the database at `source` to `target` with SQLite's online backup, reading only.

    The source is opened read-only (a backup never migrates or writes the live database, so a
    read-only file or mount works) and the copy gives up after `timeout` seconds if another
    process keeps the database locked; Python's backup loop would otherwise wait forever.
    A partial `target` is removed. Raises BackupError.
    """
    deadline = time.monotonic() + timeout

    def give_up_when_late(status: int, remaining: int, total: int) -> None:
        if time.monotonic() > deadline:
            raise BackupError(f"the database stayed locked for {timeout:.0f} s; try again later")

    uri = f"file:{quote(str(source.resolve()))}?mode=ro"
    try:
        live = sqlite3.connect(uri, uri=True, timeout=timeout)
    except sqlite3.Error as error:
        raise BackupError(f"cannot open the database: {error}") from None
    try:
        try:
            live.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as error:
            raise BackupError(f"cannot read the database: {error}") from None
        try:
            copy = sqlite3.connect(target)
        except sqlite3.Error as error:
            raise BackupError(f"cannot write {target}: {error}") from None
        try:
            live.backup(copy, pages=256, progress=give_up_when_late, sleep=0.1)
        except sqlite3.Error as error:
            raise BackupError(f"the backup failed: {error}") from None
        finally:
            copy.close()
    except BackupError:
        target.unlink(missing_ok=True)
        raise
    finally:
        live.close()


DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class PostgresLocation:
    """A PostgreSQL database named by its URL (`postgresql://user@host:port/dbname`).

    Beside `Path` (an SQLite file) it is the other kind of `BOT_DATABASE`. It has `exists()`
    like a Path so command-line tools can ask both the same question; whether the server is
    reachable only opening it can tell.
    """

    url: str

    def exists(self) -> bool:
        return True

    def __str__(self) -> str:
        # Never print a password an operator put into the URL.
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))


#: Where the database is: an SQLite file (":memory:" too) or a PostgreSQL URL.
DatabaseLocation = Path | PostgresLocation


def parse_location(text: str) -> DatabaseLocation:
    """`BOT_DATABASE`: a path or `sqlite:///path` is SQLite, `postgresql://` (or `postgres://`)
    PostgreSQL. Raises ValueError for another URL scheme (a typo must not become a file name).
    """
    text = text.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(text)
        if not parts.hostname and not parts.path.strip("/"):
            raise ValueError(f"{text!r} names no server and no database")
        return PostgresLocation(text)
    if scheme == "sqlite":
        # sqlite:///relative/file, sqlite:////absolute/file (the SQLAlchemy convention).
        path = text[len("sqlite:///") :] if text.lower().startswith("sqlite:///") else ""
        if not path:
            raise ValueError(f"{text!r}: write sqlite:///path/to/file")
        return Path(path)
    if scheme:
        raise ValueError(f"{text!r}: use a file path, sqlite:///path or postgresql://...")
    return Path(text)


class Database(ABC):
    """A migrated database. `Database.open` picks the engine from the location.

    Rows read like sqlite3.Row on both engines: `row["name"]` and `row[0]` (asyncpg's Record
    does both). SQL is written in SQLite's dialect; where one statement cannot be translated,
    a storage function chooses between two texts by `db.dialect`.
    """

    #: "sqlite" or "postgresql".
    dialect: str = "sqlite"
    #: PostgreSQL: the number of the instance lock this process holds beside this handle
    #: (storage/chat_locks.py), None while it holds none. The scheduler lease and the delivery
    #: lock taken through this handle name it, so that another instance can take them over
    #: the moment this process dies instead of waiting for them to expire.
    instance: int | None = None

    @classmethod
    async def open(
        cls,
        location: DatabaseLocation | str,
        migrations: list[tuple[int, str, str]] | None = None,
    ) -> Database:
        """Open (creating if needed) and migrate the database at `location`.

        `migrations` defaults to the files in storage/migrations (tests pass their own).
        """
        if isinstance(location, PostgresLocation):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(location, migrations)
        return await SQLiteDatabase.connect(location, migrations)

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]: ...

    @abstractmethod
    async def write_returning(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """One data-changing statement with RETURNING, committed on its own."""

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement, committed on its own; return the row id an INSERT made."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction, committed when the block ends and rolled back on error."""

    @abstractmethod
    async def backup(self, target: Path | str) -> None: ...

    @abstractmethod
    async def schema_version(self) -> int: ...

    async def applied_migrations(self) -> set[int]:
        rows = await self.fetchall("SELECT number FROM schema_migrations")
        return {row[0] for row in rows}

    async def _apply_pending(self, migrations: list[tuple[int, str, str]]) -> None:
        """Apply each migration not applied yet, in its own transaction, recording its number
        (the same for both engines; each engine makes `schema_migrations` first)."""
        applied = await self.applied_migrations()
        for number, name, sql in migrations:
            if number in applied:
                continue
            log.info("applying migration %s", name)
            async with self.transaction() as tx:
                await tx.executescript(sql)
                await tx.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))", (number, name)
                )
                await self._after_migration(tx)

    @abstractmethod
    async def _after_migration(self, tx: Transaction) -> None:
        """Engine-specific bookkeeping inside a migration's transaction."""


class Transaction(ABC):
    """Statements inside one open transaction (see `Database.transaction`)."""

    #: The engine's dialect, as `Database.dialect`.
    dialect: str = "sqlite"

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @abstractmethod
    async def executescript(self, sql: str) -> None: ...


class SQLiteDatabase(Database):
    """A migrated SQLite database with serialized access."""

    dialect = "sqlite"

    def __init__(
        self, conn: aiosqlite.Connection, path: Path | str, reader: sqlite3.Connection | None
    ) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._reader = reader
        self.path = path

    @classmethod
    async def connect(
        cls, path: Path | str, migrations: list[tuple[int, str, str]] | None = None
    ) -> SQLiteDatabase:
        """Open (creating if needed) and migrate the database at `path`.

        `migrations` defaults to the files in storage/migrations (tests pass their own).
        """
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        # In WAL mode NORMAL is durable against process crashes (what SIGKILL is); only an OS
        # crash or power cut could lose the last commits.
        await conn.execute("PRAGMA synchronous=NORMAL")
        db = cls(conn, path, None)
        await db._migrate(_migrations() if migrations is None else migrations)
        db._reader = _reader(path)
        return db

    async def close(self) -> None:
        async with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            await self._conn.close()

    # --- reading and writing ---
    # Each aiosqlite call is a hop to the database thread and back; execute_fetchall does a
    # whole query in one hop instead of three (execute, fetch, close).
    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        # PRAGMAs describe a connection: ask the one that writes.
        if self._reader is not None and sql.lstrip()[:6].upper() != "PRAGMA":
            row: sqlite3.Row | None = self._reader.execute(sql, params).fetchone()
            return row
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, params)
        return rows[0] if rows else None  # type: ignore[index]

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def write_returning(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """One data-changing statement with RETURNING, committed on its own.

        Outside an explicit transaction SQLite commits every statement by itself, atomically;
        a single upsert needs no BEGIN/COMMIT round trips.
        """
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement, committed on its own; return the row id an INSERT made.

        Outside an explicit transaction SQLite makes a single statement atomic and commits it
        (waiting out a CLI process's write lock, busy_timeout), in one hop to the database
        thread instead of three (BEGIN, the statement, COMMIT).
        """
        async with self._lock:
            row = await self._conn.execute_insert(sql, params)
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A write transaction, committed when the block ends and rolled back on error.

        `BEGIN IMMEDIATE` takes the write lock up front, so a backup or a CLI process writing
        at the same time makes us wait (busy timeout) instead of failing halfway.
        """
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteTransaction(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def backup(self, target: Path | str) -> None:
        """Write a consistent copy of the live database to `target` (SQLite online backup)."""
        async with self._lock:
            dest = await aiosqlite.connect(str(target))
            try:
                await self._conn.backup(dest)
            finally:
                await dest.close()

    # --- migrations ---
    async def schema_version(self) -> int:
        return int(await self.fetchval("PRAGMA user_version"))

    async def _migrate(self, migrations: list[tuple[int, str, str]]) -> None:
        """Apply every migration not applied yet, each in its own transaction.

        Applied migrations are tracked by number in a table (not only as a maximum), so a
        database that got migration 4 before 2 and 3 existed still gets 2 and 3 later.
        `PRAGMA user_version` mirrors the highest number for tools that look there.
        """
        async with self.transaction() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)"
            )
            legacy = int(await tx.fetchval("PRAGMA user_version") or 0)
            known = await tx.fetchval("SELECT COUNT(*) FROM schema_migrations")
            if legacy and not known:
                # A database from before this table: user_version counted the migrations.
                for number, name, _ in migrations:
                    if number <= legacy:
                        await tx.execute(
                            "INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))",
                            (number, name),
                        )
        await self._apply_pending(migrations)

    async def _after_migration(self, tx: Transaction) -> None:
        # `PRAGMA user_version` mirrors the highest number for tools that look there.
        highest = await tx.fetchval("SELECT MAX(number) FROM schema_migrations")
        await tx.execute(f"PRAGMA user_version = {int(highest)}")


def _reader(path: Path | str) -> sqlite3.Connection | None:
    """The read-only connection for single-row reads (none for an in-memory database, which a
    second connection could not see)."""
    if str(path) == ":memory:":
        return None
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    reader = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    reader.row_factory = sqlite3.Row
    # Readers wait only while the database is being recovered after a crash; never for long.
    reader.execute("PRAGMA busy_timeout=1000")
    return reader


class SQLiteTransaction(Transaction):
    """Statements inside one open SQLite transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        try:
            return cursor.lastrowid or 0
        finally:
            await cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return rows[0] if rows else None  # type: ignore[index]

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def executescript(self, sql: str) -> None:
        # executescript would COMMIT the open transaction first; run statement by statement.
        for statement in _split_sql(sql):
            await self._conn.execute(statement)


def _split_sql(script: str) -> list[str]:
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def _migrations(
    dialect: str = "sqlite", folder: Traversable | None = None
) -> list[tuple[int, str, str]]:
    """Numbered `NNNN_name.sql` files from storage/migrations, in order.

    For PostgreSQL a `NNNN_name.pg.sql` beside a migration replaces it (for the few a
    mechanical translation cannot carry over); the name recorded stays the `.sql` one.
    """
    found = []
    folder = resources.files("storage.migrations") if folder is None else folder
    files = {entry.name: entry for entry in folder.iterdir()}
    for file_name, entry in files.items():
        match = _MIGRATION_RE.match(file_name)
        if match:
            override = files.get(file_name[: -len(".sql")] + ".pg.sql")
            source = override if dialect == "postgresql" and override is not None else entry
            found.append((int(match.group(1)), file_name, source.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found
