"""`python -m bot digest send` as a real process, killed with SIGKILL in the middle of a run
and started again: every subscriber gets exactly one digest, within Telegram's limits, and a
further run sends nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.activities.digest import edition_name
from bot.config import Config
from sandbox import BotAPIDouble
from storage import activities, outbox, residents
from storage.activities import Occurrence
from storage.db import Database, DatabaseLocation
from tests.postgres import bot_database

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIBERS = 320


async def digest_send(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "digest",
        "send",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_until(condition) -> None:
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 (polls the double's counters)
            await asyncio.sleep(0.02)


async def test_killed_digest_run_resumes_and_sends_each_digest_once(
    database_location: DatabaseLocation,
):
    async with BotAPIDouble() as double:
        staff = double.add_user("Kari")
        staff_chat = double.add_supergroup("Bydel staff", members=[staff], admins=[staff])
        users = [double.add_user(f"R{i}", language_code="nb") for i in range(SUBSCRIBERS)]
        # Telegram's shape of limits, scaled up together with the bot's rate.
        double.set_limits(global_per_second=400, private_chat_per_second=1, private_burst=1)

        database = database_location
        now = datetime.now(UTC)
        db = await Database.open(database)
        start = now + timedelta(days=1)
        await activities.save_series(
            db,
            "babytreff",
            "staff",
            [Occurrence(start, start, start + timedelta(hours=1), "Babytreff", place="Stovner")],
            now,
        )
        for i, user in enumerate(users):
            await residents.touch(db, user.id, "nb" if i % 2 else "ar", None, now)
            await activities.subscribe(db, user.id, ["all"], now)
        await db.close()

        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "BOT_TOKEN": double.token,
            "BOT_API_BASE_URL": double.base_url,
            "BOT_DATABASE": bot_database(database),
            "BOT_STAFF_CHAT_ID": str(staff_chat.id),
            "BOT_DELIVERY_RATE": "300",
        }

        def delivered() -> int:
            return sum(1 for m in double.sent if m.chat_id > 0)

        # First run: Telegram stalls after 120 messages; the process is killed while waiting.
        double.hold_sends(after=120)
        first = await digest_send(env)
        await wait_until(lambda: double.held > 0)

        # Every answer Telegram gave before the stall is committed before we pull the plug
        # (waiting on the database, not on a guess of how long that takes on a busy machine;
        # reading beside the writer is fine on both engines).
        peek = await Database.open(database)
        try:
            async with asyncio.timeout(30):
                while (  # noqa: ASYNC110 (polls the database)
                    await peek.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
                    != delivered()
                ):
                    await asyncio.sleep(0.02)
        finally:
            await peek.close()
        first.kill()  # SIGKILL: no cleanup, no finally blocks
        assert await first.wait() == -9
        await asyncio.sleep(0.2)
        double.release_sends()
        before_restart = delivered()
        assert 0 < before_restart < SUBSCRIBERS

        db = await Database.open(database)
        edition = edition_name(now, Config(token="1:x"))
        counts = await outbox.counts(db, edition)
        # Every message Telegram accepted is recorded as sent; the rest is still pending.
        assert counts.sent == before_restart
        assert counts.pending == SUBSCRIBERS - before_restart
        await db.close()

        # Second run: sends only what is left, and the staff chat gets the summary.
        second = await digest_send(env)
        out, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 0, err.decode()
        assert f"{SUBSCRIBERS - before_restart} sent" in out.decode()
        for user in users:
            assert len(double.messages_to(user)) == 1, user.id
        assert double.flood_violations == 0
        summary = double.messages_to(staff_chat)[-1].text
        assert f"{SUBSCRIBERS - before_restart} sendt" in summary

        # Third run: nothing left to send.
        third = await digest_send(env)
        out, _ = await asyncio.wait_for(third.communicate(), 60)
        assert third.returncode == 0 and "nothing left to send" in out.decode()
        assert delivered() == SUBSCRIBERS
