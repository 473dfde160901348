"""Durable writes: how many confirmed tips (and survey answers) per second the storage layer
commits, through the functions the handlers call (`storage.tip_drafts.submit_draft`,
`storage.surveys.record_answer`), with as many at once as the bot handles concurrently.

Each call is one committed transaction (WAL, synchronous=NORMAL: safe against a crash of the
process, the same settings the bot runs with). Drafts and survey sessions are prepared first
and not timed.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bench import seed
from bot.surveys.definition import parse_survey
from storage import surveys, tip_drafts
from storage.db import Database

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
#: As many writers at once as the bot's update processor allows handlers.
CONCURRENCY = 64
SURVEY = Path(__file__).resolve().parent.parent / "surveys" / "example.toml"


async def _timed(calls: list, concurrency: int = CONCURRENCY) -> float:
    queue = list(reversed(calls))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def run(tmp: Path, count: int) -> dict[str, float]:
    path = tmp / "durable.sqlite3"
    conn = seed.create(path)
    seed.add_residents(conn, count)
    stamp = NOW.isoformat()
    with seed.transaction(conn):
        conn.executemany(
            "INSERT INTO tip_drafts (telegram_id, step, category, description, latitude,"
            " longitude, show_name, created_at, updated_at)"
            " VALUES (?, 'confirm', 'litter', ?, 59.96, 10.87, 0, ?, ?)",
            (
                (telegram_id, "Søppel ved busstoppet ved Stovner senter.", stamp, stamp)
                for telegram_id in seed.resident_ids(count)
            ),
        )
    conn.close()
    db = await Database.open(path)
    try:
        ids = list(seed.resident_ids(count))

        def submit(telegram_id: int):
            return lambda: tip_drafts.submit_draft(db, telegram_id, "nb", None, None, NOW)

        tip_seconds = await _timed([submit(i) for i in ids])
        stored = int(await db.fetchval("SELECT COUNT(*) FROM tips"))

        definition = parse_survey(SURVEY.read_text(encoding="utf-8"))
        survey_id, _ = await surveys.save_definition(db, definition, NOW)
        survey = await surveys.get(db, survey_id)
        assert survey is not None
        sessions = [await surveys.start(db, survey, i, "nb", NOW, date(2026, 11, 25)) for i in ids]
        second = survey.questions[1].id

        def answer(session: surveys.Session):
            return lambda: surveys.record_answer(
                db, session, value=4, next_question_id=second, now=NOW
            )

        answer_seconds = await _timed([answer(s) for s in sessions])
        answers = int(await db.fetchval("SELECT COUNT(*) FROM survey_answers"))
    finally:
        await db.close()
    if stored != count or answers != count:
        raise RuntimeError(f"stored {stored} tips and {answers} answers of {count}")
    return {
        "writes": float(count),
        "tips_per_s": count / tip_seconds,
        "survey_answers_per_s": count / answer_seconds,
    }
