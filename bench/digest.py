"""Digest preparation: from the start of the weekly job to every outbox row committed, for a
district-sized list of subscribers (six languages, several age-group choices, 40+ activities).

It calls the digest's own `prepare_edition` (what `send_digest` runs before it sends) on a
database seeded with the real schema; nothing is sent.
"""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import engines
from bot.activities.digest import plan_edition, prepare_edition
from bot.config import Config
from bot.i18n import Catalogs
from storage import outbox
from storage.db import Database, parse_location

#: Monday 30 November 2026, 09:00 in Oslo: the digest's default time.
DIGEST_AT = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Oslo"))


async def run(
    tmp: Path,
    subscribers: int,
    activities: int,
    engine: str = "sqlite",
    server: str | None = None,
) -> dict[str, float]:
    async with engines.fresh(engine, tmp, server) as location:
        return await _run(location, subscribers, activities)


async def _run(location: str, subscribers: int, activities: int) -> dict[str, float]:
    await engines.seed_digest(location, subscribers, activities, DIGEST_AT)
    config = Config(token="1:bench", database=parse_location(location))
    catalogs = Catalogs(default_language=config.default_language)
    db = await Database.open(parse_location(location))
    try:
        rss_before = _reset_peak_rss()
        started = time.perf_counter()
        name = await prepare_edition(db, catalogs, config, DIGEST_AT)
        elapsed = time.perf_counter() - started
        rss_peak = _peak_rss()
        rows = (await outbox.counts(db, name)).pending
        # The same work without writing: how much of the time is rendering (once per language
        # and choice), how much SQLite (the rows, made by one INSERT ... SELECT).
        started = time.perf_counter()
        plan = await plan_edition(db, catalogs, config, DIGEST_AT)
        render_seconds = time.perf_counter() - started
        assert plan.parts
        # Python's own allocations at their peak while planning (a third pass, traced, so
        # neither timing above pays for the tracing): the rows themselves never pass through
        # Python, so this is what preparing holds in memory beyond the connection.
        tracemalloc.start()
        await plan_edition(db, catalogs, config, DIGEST_AT)
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        # What the edition stores: each distinct message once, however many rows point to it.
        bodies = await db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(text) + COALESCE(LENGTH(reply_markup), 0)), 0)"
            " FROM outbox_bodies"
        )
        assert bodies is not None
    finally:
        await db.close()
    if rows < subscribers:
        raise RuntimeError(f"only {rows} outbox rows for {subscribers} subscribers")
    return {
        "subscribers": float(subscribers),
        "activities": float(activities),
        "outbox_rows": float(rows),
        "seconds": elapsed,
        "render_seconds": render_seconds,
        "rows_per_s": rows / elapsed,
        "distinct_messages": float(bodies[0]),
        "stored_message_mb": bodies[1] / 1e6,
        # Memory of the preparing process: its peak resident size while preparing, and how
        # much above its size before (RSS, so the timing is not slowed by tracing).
        "peak_rss_mb": rss_peak,
        "rss_growth_mb": rss_peak - rss_before,
        "plan_tracemalloc_peak_mb": traced_peak / 1e6,
    }


def _peak_rss() -> float:
    """VmHWM of this process in MB (0 where /proc is missing)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    line = next(li for li in status.splitlines() if li.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _reset_peak_rss() -> float:
    """Start VmHWM again from the current size (Linux: write 5 to clear_refs), so the peak
    measures the preparation, not the seeding before it; returns the current peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _peak_rss()
