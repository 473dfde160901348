"""Privacy rights and the guard in front of every feature."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import residents
from tests.harness import BotHarness

ROOT = Path(__file__).resolve().parent.parent


async def _run_cli(bot: BotHarness, *args: str) -> tuple[int, str, str]:
    """Run `python -m bot ...` against the test double while the test's loop keeps serving it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(
        BOT_TOKEN=bot.double.token,
        BOT_API_BASE_URL=bot.double.base_url,
        BOT_DATABASE=str(bot.config.database),
        BOT_STAFF_CHAT_ID=str(bot.staff_chat.id),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_mydata_sends_everything_stored(bot: BotHarness):
    ewa = bot.resident("Ewa", language_code="pl")
    await ewa.says("/start")
    await ewa.presses("Polski")
    await ewa.says("/mydata")
    document = ewa.last
    assert document.method == "sendDocument"
    assert document.filename == "my-data.json"
    assert "wszystko" in document.text  # the caption, in Polish
    data = json.loads(bot.double.file_bytes(document.file_id))
    assert data["residents"]["telegram_id"] == ewa.id
    assert data["residents"]["language"] == "pl"


async def test_deleteme_erases_after_confirmation(bot: BotHarness):
    ali = bot.resident("Ali", language_code="so")
    await ali.says("/start")
    await ali.presses("Soomaali")
    await ali.says("/deleteme")
    assert "tirtirno" in ali.last.text
    await ali.presses("Maya")
    assert await residents.get(bot.db, ali.id) is not None
    await ali.says("/deleteme")
    await ali.presses("Haa")
    assert "Xogtaada waa la tirtiray" in ali.last.text
    assert await residents.get(bot.db, ali.id) is None


async def test_forged_forget_button_for_another_resident_is_refused(bot: BotHarness):
    victim = bot.resident("Victim", language_code="en")
    await victim.says("/start")
    attacker = bot.resident("Mallory", language_code="en")
    await attacker.says("/deleteme")
    await attacker.presses_data(attacker.last, f"privacy:forget:{victim.id}")
    assert await residents.get(bot.db, victim.id) is not None
    assert bot.double.answered_callbacks[-1]["text"] == "This button does not work any more."


async def test_staff_can_forget_a_resident_from_the_command_line(bot: BotHarness):
    ola = bot.resident("Ola", language_code="nb")
    await ola.says("/start")
    code, out, _ = await _run_cli(bot, "residents", "forget", str(ola.id))
    assert code == 0 and "erased" in out
    assert await residents.get(bot.db, ola.id) is None


async def test_check_reports_a_bot_that_is_not_admin(bot: BotHarness):
    code, out, _ = await _run_cli(bot, "check")
    assert code == 0, out
    assert "can manage topics" in out
    not_admin = bot.double.add_supergroup("Other staff", is_forum=True, bot_is_admin=False)
    bot.staff_chat = not_admin
    code, out, _ = await _run_cli(bot, "check")
    assert code == 1
    assert "FIX   the bot is not an administrator" in out


@pytest.mark.sqlite_only  # on PostgreSQL the command points to pg_dump (test_config.py)
async def test_backup_writes_a_readable_copy(bot: BotHarness, tmp_path: Path):
    kari = bot.resident("Kari")
    await kari.says("/start")
    target = tmp_path / "backups" / "copy.sqlite3"
    code, out, _ = await _run_cli(bot, "backup", str(target))
    assert code == 0 and target.exists() and "backup written" in out
    with sqlite3.connect(target) as copy:
        ids = [row[0] for row in copy.execute("SELECT telegram_id FROM residents")]
    assert kari.id in ids
    code, _, err = await _run_cli(bot, "backup", str(target))
    assert code == 1 and "exists" in err


def _backup(database: Path, target: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_DATABASE"] = str(database)
    return subprocess.run(
        [sys.executable, "-m", "bot", "backup", *options, str(target)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _database(path: Path) -> Path:
    from storage.db import Database

    db = await Database.open(path)
    await db.execute(
        "INSERT INTO residents (telegram_id, language, first_seen, last_seen)"
        " VALUES (7, 'nb', '2026-11-25', '2026-11-25')"
    )
    await db.close()
    return path


async def test_backup_of_a_locked_database_gives_up_with_a_clear_message(tmp_path: Path):
    database = await _database(tmp_path / "bot.sqlite3")
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        # Another process keeps the database to itself (not even readers may enter).
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE IF NOT EXISTS held (x)")
        holder.execute("COMMIT")
        result = _backup(database, tmp_path / "copy.sqlite3", "--timeout", "1")
    finally:
        holder.close()
    assert result.returncode == 1
    assert "no backup written" in result.stderr and "locked" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "copy.sqlite3").exists()
    # Once it is free again, the same command works.
    result = _backup(database, tmp_path / "copy.sqlite3", "--timeout", "1")
    assert result.returncode == 0, result.stderr


async def test_backup_of_a_read_only_or_broken_database(tmp_path: Path):
    database = await _database(tmp_path / "bot.sqlite3")
    with database.open("r+b") as raw:
        raw.seek(18)
        raw.write(bytes([3, 2]))  # a file format SQLite may read but never write
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        sqlite3.connect(database).execute("CREATE TABLE t (x)")
    result = _backup(database, tmp_path / "copy.sqlite3")
    assert result.returncode == 0, result.stderr  # a backup only reads
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        assert copy.execute("SELECT telegram_id FROM residents").fetchall() == [(7,)]
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a database" * 100)
    result = _backup(broken, tmp_path / "copy2.sqlite3")
    assert result.returncode == 1 and "no backup written" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_flood_is_answered_once_and_cut_off(bot: BotHarness):
    bot.double.set_limits(private_chat_per_second=None)
    spammer = bot.resident("Bot-like", language_code="en")
    started = time.monotonic()
    for i in range(45):
        bot.double.send_text(spammer.user, f"message {i}")
    await bot.settle()
    elapsed = time.monotonic() - started
    replies = spammer.new_messages()
    warnings = [m for m in replies if "sending very fast" in m.text]
    assert len(warnings) == 1
    # The burst of 30, plus what refilled (one a second) while the flood was handled.
    answered = len(replies) - len(warnings)
    assert 30 <= answered <= 30 + math.ceil(elapsed)
    assert answered < 45


async def test_a_flood_of_500_does_not_hold_up_another_resident(bot: BotHarness):
    # Telegram's limit per private chat makes each answer to the flood take its time.
    bot.double.set_limits(private_chat_per_second=5)
    spammer = bot.resident("Bot-like", language_code="en")
    other = bot.resident("Amina", language_code="en")
    started = time.monotonic()
    for i in range(500):
        bot.double.send_text(spammer.user, f"message {i}")
    bot.double.send_text(other.user, "hello")
    await bot.settle()
    elapsed = time.monotonic() - started
    order = [m.chat_id for m in bot.double.sent if m.chat_id in (spammer.id, other.id)]
    assert other.id in order
    # Amina is answered while the flood's answers still go out, not after all 500 were looked
    # at (the first 30 would all have been answered before her).
    assert order[: order.index(other.id)].count(spammer.id) < 30
    # The guard counted the waiting messages: the burst of 30 and what refilled, one warning.
    replies = spammer.new_messages()
    assert len([m for m in replies if "sending very fast" in m.text]) == 1
    assert len(replies) - 1 <= 30 + math.ceil(elapsed)
    unhandled = await bot.db.fetchval("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL")
    assert unhandled == 0, "every refused message is marked handled, none is left to retry"


async def test_bot_leaves_groups_it_was_not_meant_for(bot: BotHarness):
    stranger = bot.double.add_user("Stranger")
    group = bot.double.add_supergroup("Random group", is_forum=False, members=[stranger])
    bot.double.add_bot_to_chat(group, stranger)
    await bot.settle()
    assert group.id in bot.double.left_chats
    bot.double.send_text(stranger, "/start", chat=group)
    await bot.settle()
    assert bot.double.messages_to(group) == []


async def test_edited_message_gets_an_explanation(bot: BotHarness):
    john = bot.resident("John", language_code="en")
    await john.says("/start")
    await john.presses("English")
    original = bot.double.send_text(john.user, "hello")
    await bot.settle()
    john.new_messages()
    await john.does("edit_text", original, "hello again")
    assert "can't see changes" in john.last.text
