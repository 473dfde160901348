"""Footprint: start-up time (spawn until the first long poll) and peak memory (VmHWM) of
`python -m bot run` on a district-sized database: 100,000 residents, 10,000 tips, 50,000
digest subscriptions and a week of activities.

Memory is read twice: right after start-up, and after 200 residents have each been answered
once (the caches and connection pools a working bot has).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench import seed
from bench.common import AnswerWatch, bot_process
from bench.digest import DIGEST_AT
from sandbox import BotAPIDouble


def prepare(path: Path, residents: int, tips: int, subscriptions: int) -> dict[str, float]:
    started = time.perf_counter()
    conn = seed.create(path)
    seed.add_residents(conn, residents)
    added_tips = seed.add_tips(conn, tips, residents=residents)
    seed.add_subscriptions(conn, subscriptions)
    seed.add_activities(conn, 45, DIGEST_AT)
    conn.close()
    return {
        "residents": float(residents),
        "tips": float(added_tips),
        "subscriptions": float(subscriptions),
        "seed_seconds": time.perf_counter() - started,
    }


async def run(tmp: Path, residents: int, tips: int, subscriptions: int) -> dict[str, float]:
    path = tmp / "footprint.sqlite3"
    figures = prepare(path, residents, tips, subscriptions)
    async with BotAPIDouble() as double:
        double.set_limits(
            global_per_second=None, private_chat_per_second=None, group_per_minute=None
        )
        staff = [double.add_user("Kari"), double.add_user("Ola")]
        staff_chat = double.add_supergroup("Staff", members=staff, admins=staff)
        env = {"BOT_DATABASE": str(path), "BOT_STAFF_CHAT_ID": str(staff_chat.id)}
        async with bot_process(double, env) as bot:
            figures["startup_s"] = bot.started_in
            figures["rss_after_start_mb"] = bot.peak_rss_mb()
            watch = AnswerWatch(double)
            users = [double.add_user(f"N{i}", language_code="pl") for i in range(200)]
            answers = []
            for user in users:
                answers.append(watch.expect(user.id))
                double.send_text(user, "/start")
            await asyncio.wait_for(asyncio.gather(*answers), timeout=120)
            figures["peak_rss_mb"] = bot.peak_rss_mb()
    return figures
