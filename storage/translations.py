"""The translation cache (see bot/bridge/translation.py): hash of a text -> its translation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Transaction

#: How long a cached translation is kept: long enough that a replayed update, a repeated
#: template or a back-translation never asks the server again, short enough not to become an
#: archive of what residents wrote.
CACHE_DAYS = 30


@dataclass(frozen=True)
class CachedTranslation:
    owner: int
    text_hash: str
    source: str
    target: str
    translated: str
    detected: str | None
    confidence: float | None


async def lookup(
    db: Database, owner: int, text_hash: str, source: str, target: str
) -> CachedTranslation | None:
    row = await db.fetchone(
        "SELECT translated, detected, confidence FROM translation_cache"
        " WHERE owner = ? AND text_hash = ? AND source = ? AND target = ?",
        (owner, text_hash, source, target),
    )
    if row is None:
        return None
    return CachedTranslation(
        owner, text_hash, source, target, row["translated"], row["detected"], row["confidence"]
    )


async def remember(db: Database, entry: CachedTranslation, now: datetime) -> None:
    await db.execute(
        "INSERT OR REPLACE INTO translation_cache"
        " (owner, text_hash, source, target, translated, detected, confidence, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.owner,
            entry.text_hash,
            entry.source,
            entry.target,
            entry.translated,
            entry.detected,
            entry.confidence,
            now.isoformat(),
        ),
    )


async def count(db: Database) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM translation_cache"))


async def purge(db: Database, older_than: datetime) -> int:
    """Drop cached translations made before `older_than`; return how many went."""
    async with db.transaction() as tx:
        return await _delete_older(tx, older_than)


async def _delete_older(tx: Transaction, older_than: datetime) -> int:
    await tx.execute(
        "DELETE FROM translation_cache WHERE created_at < ?", (older_than.isoformat(),)
    )
    return int(await tx.fetchval("SELECT changes()"))


# --- personal data (see storage/privacy.py) ---
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    rows = await db.fetchall(
        "SELECT target, translated, created_at FROM translation_cache WHERE owner = ?"
        " ORDER BY created_at",
        (telegram_id,),
    )
    waiting = await db.fetchall(
        "SELECT text, created_at FROM bridge_texts WHERE owner = ? ORDER BY created_at",
        (telegram_id,),
    )
    data: dict[str, Any] = {}
    if rows:
        data["machine_translations"] = [dict(row) for row in rows]
    if waiting:
        data["waiting_for_translation"] = [dict(row) for row in waiting]
    return data


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    if telegram_id:
        await tx.execute("DELETE FROM translation_cache WHERE owner = ?", (telegram_id,))
        await tx.execute("DELETE FROM bridge_texts WHERE owner = ?", (telegram_id,))


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """Nothing outlives the retention period, even if the cache's own purge did not run."""
    await tx.execute("DELETE FROM bridge_texts WHERE created_at < ?", (cutoff.isoformat(),))
    waiting = int(await tx.fetchval("SELECT changes()"))
    return waiting + await _delete_older(tx, cutoff)


# --- words waiting for a translation (bridge_texts) ---
async def hold_text(
    db: Database | Transaction, key: str, owner: int, text: str, now: datetime
) -> None:
    """Keep a resident's words until the translation task `key` has posted its translation."""
    await db.execute(
        "INSERT OR IGNORE INTO bridge_texts (key, owner, text, created_at) VALUES (?, ?, ?, ?)",
        (key, owner, text, now.isoformat()),
    )


async def held_text(db: Database, key: str) -> str | None:
    value = await db.fetchval("SELECT text FROM bridge_texts WHERE key = ?", (key,))
    return str(value) if value is not None else None


async def drop_text(db: Database, key: str) -> None:
    await db.execute("DELETE FROM bridge_texts WHERE key = ?", (key,))


# --- /translate off|on per case ---
async def translation_off(db: Database, case_id: int) -> bool:
    return bool(
        await db.fetchval("SELECT 1 FROM case_translation_off WHERE case_id = ?", (case_id,))
    )


async def set_translation(
    db: Database, case_id: int, on: bool, user_id: int, now: datetime
) -> None:
    if on:
        await db.execute("DELETE FROM case_translation_off WHERE case_id = ?", (case_id,))
    else:
        await db.execute(
            "INSERT OR REPLACE INTO case_translation_off (case_id, user_id, changed_at)"
            " VALUES (?, ?, ?)",
            (case_id, user_id, now.isoformat()),
        )
