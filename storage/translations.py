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
    return {"machine_translations": [dict(row) for row in rows]} if rows else {}


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    if telegram_id:
        await tx.execute("DELETE FROM translation_cache WHERE owner = ?", (telegram_id,))


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """Nothing outlives the retention period, even if the cache's own purge did not run."""
    return await _delete_older(tx, cutoff)
