"""SQLite's SQL, translated for PostgreSQL: the one place that knows both dialects.

Every statement in storage/ (and every migration) is written for SQLite. `to_postgres` rewrites
one statement for PostgreSQL, mechanically:

- `?` placeholders become `$1, $2, ...` (outside string literals, quoted names and comments);
- `INSERT OR IGNORE` becomes `INSERT ... ON CONFLICT DO NOTHING`;
- `INSERT OR REPLACE INTO t (cols)` becomes an upsert on t's primary key (`keys` names it);
- in table definitions: `id INTEGER PRIMARY KEY [AUTOINCREMENT]` becomes an identity column,
  `INTEGER` becomes `BIGINT` (Telegram IDs do not fit 32 bits), `REAL` `DOUBLE PRECISION`,
  `BLOB` `BYTEA`, `TEXT` compares bytes (`COLLATE "C"`) as in SQLite, and `WITHOUT ROWID`
  is dropped;
- `datetime('now')`, `json_object(...)` and `json_extract(col, '$.a.b')` get their
  PostgreSQL equivalents.

What cannot be translated this way (SQLite's `rowid`, PRAGMAs) is left alone: such a statement
fails loudly on PostgreSQL rather than doing something else, and its storage function gives
PostgreSQL its own text, chosen by `db.dialect`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

#: Literals, quoted names and comments: copied as they are, never translated inside.
_TOKENS = re.compile(
    r"""(?P<skip>'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/)|(?P<mark>\?)""",
    re.DOTALL,
)

_NOW = "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

# (Comments before the statement stand as \x00n\x00 markers here.)
_DDL = re.compile(
    r"^(?:\s|\x00\d+\x00)*(CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TABLE|ALTER\s+TABLE)\b",
    re.IGNORECASE,
)
#: SQLite's `temp.` schema is PostgreSQL's `pg_temp.`.
_TEMP_SCHEMA = re.compile(r"\btemp\.(?=\w)", re.IGNORECASE)
#: SQLite's `rowid` (insertion order, as a tie-breaker) has no PostgreSQL equivalent; `ctid`,
#: the row's place in the table, follows insertion order until the row is updated.
_ROWID = re.compile(r"(?<![\w.])((?:\w+\.)?)rowid\b", re.IGNORECASE)
_IDENTITY = re.compile(r"\bid\s+INTEGER\s+PRIMARY\s+KEY(?:\s+AUTOINCREMENT)?\b", re.IGNORECASE)
_TYPES = (
    (re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
    (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
    # SQLite compares text byte by byte (ISO timestamps, codes); so does the "C" collation,
    # whatever the server's locale is.
    # (Only the type, written in capitals after a column's name: a column may be called text.)
    (re.compile(r"\b(\w+\s+)TEXT\b"), r'\1TEXT COLLATE "C"'),
    (re.compile(r"\)\s*WITHOUT\s+ROWID\b", re.IGNORECASE), ")"),
)
_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_OR_REPLACE = re.compile(r"\bINSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_FUNCTIONS = (
    (re.compile(r"\bdatetime\(\s*'now'\s*\)", re.IGNORECASE), _NOW),
    (re.compile(r"\bjson_object\(", re.IGNORECASE), "json_build_object("),
    (re.compile(r"\bifnull\(", re.IGNORECASE), "COALESCE("),
)
_JSON_EXTRACT = re.compile(r"\bjson_extract\(\s*(\w+)\s*,\s*'\$\.([\w.]+)'\s*\)", re.IGNORECASE)


class UntranslatableError(ValueError):
    """A statement the translator cannot rewrite (give PostgreSQL its own text)."""


def to_postgres(sql: str, keys: Mapping[str, Sequence[str]] | None = None) -> str:
    """`sql` (one SQLite statement) rewritten for PostgreSQL; see the module docstring.

    `keys` maps a table to its primary key columns, for `INSERT OR REPLACE`.
    """
    if keys is None:
        return _translate(sql, None)
    frozen = tuple(sorted((table, tuple(columns)) for table, columns in keys.items()))
    return _translate(sql, frozen)


@lru_cache(maxsize=4096)
def _translate(sql: str, keys: tuple[tuple[str, tuple[str, ...]], ...] | None) -> str:
    # Functions whose arguments are literals first, then the code between literals; literals
    # and comments stay as written.
    for pattern, replacement in _FUNCTIONS:
        sql = pattern.sub(replacement, sql)
    sql = _json_extract(sql)
    pieces: list[str] = []
    code: list[str] = []
    number = 0
    position = 0
    for match in _TOKENS.finditer(sql):
        code.append(sql[position : match.start()])
        if match.group("mark"):
            number += 1
            code.append(f"${number}")
        else:
            code.append(_placeholder(len(pieces)))
            pieces.append(match.group("skip"))
        position = match.end()
    code.append(sql[position:])
    text = _rewrite("".join(code).rstrip().rstrip(";"), dict(keys) if keys else {})
    for index, piece in enumerate(pieces):
        text = text.replace(_placeholder(index), piece, 1)
    return text


def _placeholder(index: int) -> str:
    # A marker no SQL contains, standing in for a literal while the code is rewritten.
    return f"\x00{index}\x00"


def _rewrite(code: str, keys: dict[str, tuple[str, ...]]) -> str:
    if _DDL.match(code):
        code = _IDENTITY.sub("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", code)
        for pattern, replacement in _TYPES:
            code = pattern.sub(replacement, code)
    code = _TEMP_SCHEMA.sub("pg_temp.", code)
    code = _ROWID.sub(r"\1ctid", code)
    if _OR_IGNORE.search(code):
        code = _add_conflict(_OR_IGNORE.sub("INSERT INTO", code), "ON CONFLICT DO NOTHING")
    replace = _OR_REPLACE.search(code)
    if replace:
        table, columns = replace.group(1), [c.strip() for c in replace.group(2).split(",")]
        key = keys.get(table.lower())
        if not key:
            raise UntranslatableError(
                f"INSERT OR REPLACE INTO {table}: its primary key is unknown"
            )
        others = [c for c in columns if c not in key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
            if others
            else "DO NOTHING"
        )
        code = (
            code[: replace.start()]
            + f"INSERT INTO {table} ({replace.group(2)})"
            + code[replace.end() :]
        )
        code = _add_conflict(code, f"ON CONFLICT ({', '.join(key)}) {action}")
    return code


def _add_conflict(code: str, clause: str) -> str:
    """`clause` at the end of an INSERT, before its RETURNING if it has one."""
    returning = _RETURNING.search(code)
    if returning:
        return f"{code[: returning.start()].rstrip()} {clause} {code[returning.start() :]}"
    return f"{code} {clause}"


def _json_extract(code: str) -> str:
    def path(match: re.Match[str]) -> str:
        steps = ",".join(match.group(2).split("."))
        return f"({match.group(1)}::json #>> '{{{steps}}}')"

    return _JSON_EXTRACT.sub(path, code)
