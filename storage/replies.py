"""Reply templates (see bot/bridge/templates.py): the answers staff give every week."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database


@dataclass(frozen=True)
class ReplyTemplate:
    key: str
    #: The button staff press, in the staff language.
    label: str
    #: {language: HTML text}; always has the staff language.
    texts: dict[str, str]


@dataclass(frozen=True)
class LoadSummary:
    added: int
    updated: int
    removed: int


async def replace_all(db: Database, templates: list[ReplyTemplate], now: datetime) -> LoadSummary:
    """Make the stored templates exactly `templates` (the file is the whole list)."""
    async with db.transaction() as tx:
        before = {row["key"] for row in await tx.fetchall("SELECT key FROM reply_templates")}
        keys = [template.key for template in templates]
        await tx.execute(
            f"DELETE FROM reply_templates WHERE key NOT IN ({', '.join('?' * len(keys))})",
            keys,
        )
        for position, template in enumerate(templates):
            await tx.execute(
                "INSERT INTO reply_templates (key, position, label, texts, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                " position = excluded.position, label = excluded.label,"
                " texts = excluded.texts, updated_at = excluded.updated_at",
                (
                    template.key,
                    position,
                    template.label,
                    json.dumps(template.texts, ensure_ascii=False),
                    now.isoformat(),
                ),
            )
    return LoadSummary(
        added=len(set(keys) - before),
        updated=len(set(keys) & before),
        removed=len(before - set(keys)),
    )


def _template(row: sqlite3.Row) -> ReplyTemplate:
    return ReplyTemplate(row["key"], row["label"], json.loads(row["texts"]))


async def all_templates(db: Database) -> list[ReplyTemplate]:
    rows = await db.fetchall("SELECT key, label, texts FROM reply_templates ORDER BY position")
    return [_template(row) for row in rows]


async def get(db: Database, key: str) -> ReplyTemplate | None:
    row = await db.fetchone("SELECT key, label, texts FROM reply_templates WHERE key = ?", (key,))
    return None if row is None else _template(row)
