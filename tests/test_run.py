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
