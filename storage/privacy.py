"""Personal data across features: export everything about a resident, erase it, expire it.

Each feature's storage module that holds personal data is listed in `PERSONAL_DATA` (in the
order it is exported; erasure goes backwards) and provides:

    async def export_resident(db: Database, telegram_id: int) -> dict   # what we hold, readable
    async def forget_resident(tx: Transaction, telegram_id: int) -> None  # erase or anonymise
    async def expire(tx: Transaction, cutoff: datetime) -> int           # retention; rows touched

so that /mydata, /deleteme, `python -m bot residents forget` and the retention job never miss a
table a later feature added.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from storage import (
    activities,
    announcements,
    cases,
    inbox,
    outbox,
    residents,
    staff_erasure,
    staff_tips,
    surveys,
    tips,
    translations,
)
from storage.db import Database

#: No storage module imports this one (nothing registers itself here), so the list is plain.
PERSONAL_DATA: tuple[ModuleType, ...] = (
    residents,
    cases,
    tips,
    staff_tips,
    activities,
    outbox,
    surveys,
    inbox,
    translations,
    announcements,
)


async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    """Everything stored about one resident, by feature."""
    data: dict[str, Any] = {}
    for module in PERSONAL_DATA:
        section = await module.export_resident(db, telegram_id)
        if section:
            data[module.__name__.rpartition(".")[2]] = section
    return data


async def forget_resident(db: Database, telegram_id: int, now: datetime | None = None) -> bool:
    """Erase a resident everywhere in one transaction; False if we did not know them.

    The same transaction plans what goes from the staff chat (case topics, tip cards, media,
    map pins): outbox tasks the running bot sends (`storage/staff_erasure.py`).
    """
    known = await residents.get(db, telegram_id) is not None
    async with db.transaction() as tx:
        await staff_erasure.plan_for_resident(tx, telegram_id, now or datetime.now(UTC))
        # Features first: their rows may refer to the resident row, which goes last.
        for module in reversed(PERSONAL_DATA):
            await module.forget_resident(tx, telegram_id)
    return known


async def expire(db: Database, cutoff: datetime, now: datetime | None = None) -> int:
    """Remove personal data from finished cases and tips older than `cutoff`, and plan the
    removal of their traces in the staff chat."""
    touched = 0
    async with db.transaction() as tx:
        await staff_erasure.plan_expiring(
            tx, *tips.expiring(cutoff), cutoff=cutoff, now=now or datetime.now(UTC)
        )
        for module in PERSONAL_DATA:
            expire_fn = getattr(module, "expire", None)
            if expire_fn is not None:
                touched += await expire_fn(tx, cutoff)
    return touched
