"""Relay latency: a resident's message until its copy is in the case's staff topic, and a staff
member's reply in the topic until its copy is in the resident's chat (`python -m bot run` in its
own process; a few conversations at once, as on a busy afternoon).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench import engines, handling
from bench.common import AnswerWatch, bot_process, percentile
from sandbox import BotAPIDouble

#: Conversations going on at the same time, and residents with an open case (each writes a
#: few messages, as people do; one resident writing hundreds would meet the flood guard).
CONVERSATIONS = 5
RESIDENTS = 50


async def run(
    tmp: Path, messages: int, engine: str = "sqlite", server: str | None = None
) -> dict[str, float]:
    async with BotAPIDouble() as double, engines.fresh(engine, tmp, server) as location:
        world = handling.make_world(double, RESIDENTS)
        world.scripts = dict.fromkeys(world.scripts, handling.CASE)
        staff = double.add_user("Kari")
        world.staff_chat.members[staff.id] = "administrator"
        await handling.seed_residents(location, world.users)
        env = {"BOT_DATABASE": location, "BOT_STAFF_CHAT_ID": str(world.staff_chat.id)}
        async with bot_process(double, env):
            await handling.open_cases(world, location)
            watch = AnswerWatch(double)
            to_staff: list[float] = []
            to_resident: list[float] = []
            turns = [world.users[n % len(world.users)] for n in range(messages)]
            turns.reverse()

            async def conversation() -> None:
                while turns:
                    user = turns.pop()
                    topic = world.case_topics[user.id]
                    arrived = watch.expect(world.staff_chat.id, topic)
                    started = time.perf_counter()
                    double.send_text(user, "Når kan jeg komme innom?")
                    to_staff.append(await asyncio.wait_for(arrived, 30) - started)
                    arrived = watch.expect(user.id)
                    started = time.perf_counter()
                    double.send_text(
                        staff,
                        "I morgen fra klokka ni.",
                        chat=world.staff_chat,
                        thread_id=topic,
                    )
                    to_resident.append(await asyncio.wait_for(arrived, 30) - started)

            await asyncio.gather(*(conversation() for _ in range(CONVERSATIONS)))
            await double.settle(timeout=60)
    return {
        "messages_each_way": float(len(to_staff)),
        "to_staff_p50_ms": percentile(to_staff, 50) * 1000,
        "to_staff_p99_ms": percentile(to_staff, 99) * 1000,
        "to_resident_p50_ms": percentile(to_resident, 50) * 1000,
        "to_resident_p99_ms": percentile(to_resident, 99) * 1000,
    }
