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
    bridged = await db.fetchall(
        "SELECT b.tip_id, b.translated, b.transcript, b.transcript_translated, b.updated_at"
        " FROM tip_bridge b JOIN tips t ON t.id = b.tip_id WHERE t.telegram_id = ?"
        " ORDER BY b.tip_id",
        (telegram_id,),
    )
    data: dict[str, Any] = {}
    if bridged:
        data["tips_translated_and_transcribed"] = [dict(row) for row in bridged]
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


# --- tips: translated description and voice transcript (tip_bridge) ---
@dataclass(frozen=True)
class TipBridge:
    tip_id: int
    translated: str | None = None
    translated_from: str | None = None
    transcript: str | None = None
    transcript_translated: str | None = None
    transcript_language: str | None = None
    note: str | None = None


_TIP_FIELDS = (
    "translated",
    "translated_from",
    "transcript",
    "transcript_translated",
    "transcript_language",
    "note",
)


async def tip_bridge(db: Database, tip_id: int) -> TipBridge | None:
    row = await db.fetchone(
        f"SELECT tip_id, {', '.join(_TIP_FIELDS)} FROM tip_bridge WHERE tip_id = ?", (tip_id,)
    )
    return TipBridge(**dict(row)) if row is not None else None


async def tip_bridges(db: Database, tip_ids: list[int]) -> dict[int, TipBridge]:
    """For the export: the bridge rows of many tips."""
    found: dict[int, TipBridge] = {}
    for start in range(0, len(tip_ids), 500):
        chunk = tip_ids[start : start + 500]
        rows = await db.fetchall(
            f"SELECT tip_id, {', '.join(_TIP_FIELDS)} FROM tip_bridge"
            f" WHERE tip_id IN ({', '.join('?' * len(chunk))})",
            tuple(chunk),
        )
        for row in rows:
            found[row["tip_id"]] = TipBridge(**dict(row))
    return found


async def save_tip_bridge(db: Database, entry: TipBridge, now: datetime) -> None:
    """Store what was made for a tip; only if the tip still has its text (not erased)."""
    await db.execute(
        f"INSERT OR REPLACE INTO tip_bridge (tip_id, {', '.join(_TIP_FIELDS)}, updated_at)"
        " SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS"
        " (SELECT 1 FROM tips WHERE id = ? AND telegram_id IS NOT NULL)",
        (
            entry.tip_id,
            *(getattr(entry, name) for name in _TIP_FIELDS),
            now.isoformat(),
            entry.tip_id,
        ),
    )
