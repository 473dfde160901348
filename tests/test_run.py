"""`python -m bot run` as operators start it: a real process talking to the double over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from sandbox import BotAPIDouble

ROOT = Path(__file__).resolve().parent.parent


async def test_run_answers_residents_and_stops_cleanly_on_sigterm(tmp_path: Path):
    async with BotAPIDouble() as double:
        staff = double.add_user("Kari")
        staff_chat = double.add_supergroup("Staff", members=[staff], admins=[staff])
        database = tmp_path / "data" / "bot.sqlite3"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        env.update(
            BOT_TOKEN=double.token,
            BOT_API_BASE_URL=double.base_url,
            BOT_DATABASE=str(database),
            BOT_STAFF_CHAT_ID=str(staff_chat.id),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            resident = double.add_user("Amina", language_code="so")
            double.send_text(resident, "/start")
            greeting = await double.next_message(resident, timeout=30)
            assert "Dooro luqaddaada" in greeting.text
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, stderr.decode()[-2000:]
        # The token never appears in the logs (httpx would log it in every URL).
        assert double.token not in stderr.decode()
        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute(
                "SELECT language FROM residents WHERE telegram_id = ?", (resident.id,)
            ).fetchone() == ("so",)


async def test_a_locked_database_delays_updates_loses_none_and_sigterm_still_stops(
    tmp_path: Path,
):
    async with BotAPIDouble() as double:
        staff = double.add_user("Kari")
        staff_chat = double.add_supergroup("Staff", members=[staff], admins=[staff])
        database = tmp_path / "data" / "bot.sqlite3"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        env.update(
            BOT_TOKEN=double.token,
            BOT_API_BASE_URL=double.base_url,
            BOT_DATABASE=str(database),
            BOT_STAFF_CHAT_ID=str(staff_chat.id),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=ROOT,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        log: list[str] = []
        refused = asyncio.Event()

        async def read_log() -> None:
            assert process.stderr is not None
            async for line in process.stderr:
                log.append(line.decode())
                if "the database refused" in log[-1]:
                    refused.set()

        reader = asyncio.create_task(read_log())
        resident = double.add_user("Amina", language_code="en")
        blocker: sqlite3.Connection | None = None
        try:
            double.send_text(resident, "/start")
            await double.next_message(resident, timeout=30)
            blocker = sqlite3.connect(database, timeout=30, isolation_level=None)
            # Another process holds the write lock for longer than the bot's busy timeout.
            blocker.execute("BEGIN EXCLUSIVE")
            double.send_text(resident, "secret words of Amina")
            await asyncio.wait_for(refused.wait(), timeout=30)
            blocker.execute("COMMIT")
            # The database is back: the message waiting in Telegram is handled, and so is the
            # next one (the poller did not die).
            assert (await double.next_message(resident, timeout=30)).text
            double.send_text(resident, "/help")
            assert (await double.next_message(resident, timeout=30)).text
            # Locked again, and the operator stops the bot meanwhile: it stops.
            refused.clear()
            blocker.execute("BEGIN EXCLUSIVE")
            double.send_text(resident, "/help")
            await asyncio.wait_for(refused.wait(), timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
            if blocker is not None:
                blocker.close()
            await reader
        assert process.returncode == 0, "".join(log)[-2000:]
        text = "".join(log)
        assert "the database refused" in text and "written after" in text
        assert "secret words" not in text  # ids and errors only, never what residents wrote
        with sqlite3.connect(database) as db:
            # Nothing was lost: the update that came while stopping waits in Telegram (not
            # acknowledged) or in the inbox, and nothing handled is unmarked.
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
