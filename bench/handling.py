"""Handling throughput and latency: many residents at once through the real stack (long
polling, handlers, SQLite commits, replies), side by side with a bare python-telegram-bot echo
bot on the same double.

Load is closed-loop: `CONCURRENCY` residents each send an update, wait for the bot's answer, and
send the next, so latency is the bot's own (update queued at the double -> answer received by
the double), not a queue we built up ourselves.
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

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler
from telegram.ext import filters as tg_filters

from bench.common import AnswerWatch, Live, live_bot, percentile
from tests.double import BotAPIDouble
from tests.double.models import FakeUser

CONCURRENCY = 50


@dataclass(frozen=True)
class Step:
    """One resident action and where its answer shows up."""

    name: str
    send: Callable[[BotAPIDouble, FakeUser, Any], None]
    answer_in_staff_topic: bool = False


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
    Step("help", lambda d, u, _: d.send_text(u, "/help")),
    Step("start", lambda d, u, _: d.send_text(u, "/start")),
    Step("button", lambda d, u, _: d.press(u, _menu_message(u), "menu:privacy")),
    Step("text", lambda d, u, _: d.send_text(u, "Hei! Når er det åpent på torsdag?")),
    Step("sticker", lambda d, u, _: d.send_sticker(u)),
]


async def _onboard(live: Live, users: list[FakeUser]) -> None:
    watch = AnswerWatch(live.double)
    for user in users:
        first = watch.expect(user.id)
        live.double.send_text(user, "/start")
        await first
        done = watch.expect(user.id)
        live.double.press(user, _menu_message(user), f"lang:{user.language_code}")
        await done
    await live.double.settle(timeout=60)


async def _drive(
    live: Live, users: list[FakeUser], total: int, steps: list[Step]
) -> dict[str, float]:
    watch = AnswerWatch(live.double)
    latencies: list[float] = []
    per_user = total // len(users)
    rng = random.Random(7)

    async def resident(user: FakeUser) -> None:
        for _ in range(per_user):
            step = rng.choice(steps)
            thread = None
            future = watch.expect(live.staff_chat.id if step.answer_in_staff_topic else user.id)
            started = time.perf_counter()
            step.send(live.double, user, thread)
            answered = await asyncio.wait_for(future, timeout=30)
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


def _users(double: BotAPIDouble, count: int) -> list[FakeUser]:
    languages = itertools.cycle(["nb", "en", "ar", "so", "ur", "pl"])
    return [double.add_user(f"R{i}", language_code=next(languages)) for i in range(count)]


async def run_ours(tmp: Path, total: int) -> dict[str, float]:
    async with live_bot(tmp) as live:
        users = _users(live.double, CONCURRENCY)
        await _onboard(live, users)
        return await _drive(live, users, total, STEPS)


async def run_echo(tmp: Path, total: int) -> dict[str, float]:
    """The baseline: python-telegram-bot's echo example, nothing else."""
    async with BotAPIDouble() as double:
        double.set_limits(global_per_second=None, private_chat_per_second=None,
                          group_per_minute=None)
        app = (
            ApplicationBuilder()
            .token(double.token)
            .base_url(f"{double.base_url}/bot")
            .base_file_url(f"{double.base_url}/file/bot")
            .build()
        )

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            text = (message.text if message else None) or "ok"
            await context.bot.send_message(update.effective_chat.id, text)

        async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.callback_query.answer()
            await context.bot.send_message(update.effective_chat.id, "pressed")

        app.add_handler(MessageHandler(tg_filters.ALL, echo))
        app.add_handler(CallbackQueryHandler(press))
        await app.initialize()
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await app.start()
        try:
            users = _users(double, CONCURRENCY)
            staff_chat = double.add_supergroup("Staff")
            live = Live(double, app, None, staff_chat)  # type: ignore[arg-type]
            steps = [s for s in STEPS if not s.answer_in_staff_topic]
            return await _drive(live, users, total, steps)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
