"""Handling throughput and latency: many residents at once through the real stack (`python -m
bot run` in its own process: long polling, handlers, SQLite commits, replies), side by side with
a bare python-telegram-bot echo bot on the same double.

Load is closed-loop: `concurrency` residents each send an update, wait for the bot's answer and
send the next. At high concurrency that measures throughput (latency then is mostly waiting in
line); at low concurrency it measures the bot's own latency per update.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import AnswerWatch, bot_process, percentile
from tests.double import BotAPIDouble
from tests.double.models import FakeChat, FakeUser


@dataclass(frozen=True)
class Step:
    """One resident action and where its answer shows up."""

    name: str
    send: Callable[[BotAPIDouble, FakeUser], Any]
    answer_in_staff_chat: bool = False


def _menu_message(user: FakeUser) -> dict[str, Any]:
    return {
        "message_id": 1,
        "date": 0,
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "from": {"id": 1, "is_bot": True, "first_name": "bot"},
        "text": "menu",
    }


#: The realistic mix: commands, button presses and free messages; extended as features land.
STEPS: list[Step] = [
    Step("help", lambda d, u: d.send_text(u, "/help")),
    Step("start", lambda d, u: d.send_text(u, "/start")),
    Step("button", lambda d, u: d.press(u, _menu_message(u), "menu:privacy")),
    Step("text", lambda d, u: d.send_text(u, "Hei! Når er det åpent på torsdag?")),
    Step("sticker", lambda d, u: d.send_sticker(u)),
]


@dataclass
class World:
    double: BotAPIDouble
    staff_chat: FakeChat
    staff: list[FakeUser]


def make_world(double: BotAPIDouble) -> World:
    double.set_limits(global_per_second=None, private_chat_per_second=None, group_per_minute=None)
    staff = [double.add_user("Kari"), double.add_user("Ola")]
    return World(double, double.add_supergroup("Staff", members=staff, admins=staff), staff)


def residents(double: BotAPIDouble, count: int) -> list[FakeUser]:
    languages = itertools.cycle(["nb", "en", "ar", "so", "ur", "pl"])
    return [double.add_user(f"R{i}", language_code=next(languages)) for i in range(count)]


async def onboard(double: BotAPIDouble, users: list[FakeUser]) -> None:
    """Each resident has chosen a language already, as returning residents have."""
    watch = AnswerWatch(double)
    for user in users:
        first = watch.expect(user.id)
        double.send_text(user, "/start")
        await first
        chosen = watch.expect(user.id)
        double.press(user, _menu_message(user), f"lang:{user.language_code}")
        await chosen
        for _ in range(2):  # privacy notice and welcome
            with_welcome = watch.expect(user.id)
            await asyncio.wait_for(with_welcome, 10)
            break


async def drive(
    world: World, users: list[FakeUser], total: int, steps: list[Step]
) -> dict[str, float]:
    watch = AnswerWatch(world.double)
    latencies: list[float] = []
    per_user = max(1, total // len(users))
    rng = random.Random(7)

    async def resident(user: FakeUser) -> None:
        for _ in range(per_user):
            step = rng.choice(steps)
            chat = world.staff_chat.id if step.answer_in_staff_chat else user.id
            future = watch.expect(chat)
            started = time.perf_counter()
            step.send(world.double, user)
            answered = await asyncio.wait_for(future, timeout=60)
            latencies.append(answered - started)

    started = time.perf_counter()
    await asyncio.gather(*(resident(user) for user in users))
    elapsed = time.perf_counter() - started
    return {
        "updates": float(per_user * len(users)),
        "updates_per_s": per_user * len(users) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


async def run(tmp: Path, total: int, concurrency: int, *, echo: bool) -> dict[str, float]:
    async with BotAPIDouble() as double:
        world = make_world(double)
        users = residents(double, concurrency)
        env = {
            "BOT_DATABASE": str(tmp / "bot.sqlite3"),
            "BOT_STAFF_CHAT_ID": str(world.staff_chat.id),
        }
        module = "bench.echo_bot" if echo else "bot"
        async with bot_process(double, env, module=module):
            if not echo:
                await onboard(double, users)
                await double.settle(timeout=60)
            steps = [s for s in STEPS if not (echo and s.answer_in_staff_chat)]
            return await drive(world, users, total, steps)
