"""Copying a district's data from one database to another (SQLite to PostgreSQL, or back).

Both databases are migrated to the same schema first; the target must be empty. Tables are
copied in the order their foreign keys need (a table after those it refers to), in one
transaction, and the copy is checked by counting every table's rows on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.db import Database

_BATCH = 1000


class CopyError(Exception):
    """The copy was refused or did not match; the message says why, for an operator."""


@dataclass(frozen=True)
class CopiedTable:
    name: str
    rows: int


async def tables(db: Database) -> list[str]:
    """The bot's tables (not the migrations' bookkeeping), each after the tables it refers to."""
    if db.dialect == "postgresql":
        names = [
            row[0]
            for row in await db.fetchall(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ]
        references = {
            (row[0], row[1])
            for row in await db.fetchall(
                "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text"
                " FROM pg_constraint c WHERE c.contype = 'f'"
            )
        }
    else:
        names = [
            row[0]
            for row in await db.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        references = set()
        for name in names:
            for row in await db.fetchall(f'PRAGMA foreign_key_list("{name}")'):
                references.add((name, row["table"]))
    names = sorted(name for name in names if name != "schema_migrations")
    return _dependencies_first(names, references)


def _dependencies_first(names: list[str], references: Iterable[tuple[str, str]]) -> list[str]:
    needs: dict[str, set[str]] = {name: set() for name in names}
    for table, referred in references:
        if table in needs and referred in needs and referred != table:
            needs[table].add(referred)
    ordered: list[str] = []
    while needs:
        ready = sorted(name for name, wanted in needs.items() if not wanted - set(ordered))
        if not ready:
            raise CopyError(f"the tables refer to each other in a circle: {sorted(needs)}")
        for name in ready:
            ordered.append(name)
            del needs[name]
    return ordered


async def counts(db: Database, names: Iterable[str]) -> dict[str, int]:
    return {name: int(await db.fetchval(f'SELECT COUNT(*) FROM "{name}"')) for name in names}


async def copy(source: Database, target: Database) -> list[CopiedTable]:
    """Copy every row of `source` into the empty `target`; returns the rows per table.

    Raises CopyError when the schemas differ, the target holds data, or the counts after the
    copy do not match (the target's transaction is then rolled back: nothing half-copied).
    """
    if await source.applied_migrations() != await target.applied_migrations():
        raise CopyError("the two databases are at different migrations; start the newer bot once")
    names = await tables(source)
    missing = set(names) - set(await tables(target))
    if missing:
        raise CopyError(f"the target has no tables {sorted(missing)}")
    filled = {name: n for name, n in (await counts(target, names)).items() if n}
    if filled:
        raise CopyError(
            "the target is not empty ("
            + ", ".join(f"{name}: {n} rows" for name, n in sorted(filled.items()))
            + "); copy only into a new database"
        )
    expected = await counts(source, names)
    async with target.transaction() as tx:
        for name in names:
            rows = await source.fetchall(f'SELECT * FROM "{name}"')
            if not rows:
                continue
            columns = list(rows[0].keys())
            sql = (
                f'INSERT INTO "{name}" ({", ".join(columns)})'
                f" VALUES ({', '.join('?' for _ in columns)})"
            )
            for start in range(0, len(rows), _BATCH):
                await tx.executemany(sql, [tuple(row) for row in rows[start : start + _BATCH]])
        if target.dialect == "postgresql":
            # Rows came with their ids (and other numbered columns): new rows must be
            # numbered after them.
            numbered = await tx.fetchall(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema()"
                " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
            )
            for table, column in numbered:
                if table in names:
                    await tx.fetchval(
                        f"SELECT setval(pg_get_serial_sequence(?, '{column}'),"
                        f' (SELECT COALESCE(MAX("{column}"), 0) + 1 FROM "{table}"), false)',
                        (table,),
                    )
        copied: dict[str, int] = {}
        for name in names:
            copied[name] = int(await tx.fetchval(f'SELECT COUNT(*) FROM "{name}"'))
        if copied != expected:
            wrong = sorted(name for name in names if copied[name] != expected[name])
            raise CopyError(f"the row counts differ after the copy in {wrong}; nothing was kept")
    return [CopiedTable(name, expected[name]) for name in names]
