"""Handling throughput and latency: many residents at once through the real stack (`python -m
bot run` in its own process: long polling, handlers, SQLite commits, replies), side by side with
a bare python-telegram-bot echo bot on the same double.

The residents are a district's returning residents (already in the database, language chosen)
and do what residents do, each from start to end:

- browsing (60 %): /start, the privacy button, /help, /activities, a question, a sticker;
- writing a tip (25 %): /tip, a topic button, the place, the description, "done", "anonymous",
  "send" (the tip is committed and posted to the staff chat);
- talking to staff (15 %): their case is open, so every message is copied into the case's
  topic; the answer measured is that copy.

Load is closed-loop: `concurrency` workers each play their residents one step at a time,
waiting for the bot's answer before the next step. At high concurrency that measures
throughput (latency then is mostly waiting in line); at low concurrency it measures the bot's
own latency per update. The echo bot gets the same updates and answers each with one message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import engines, seed
from bench.common import AnswerWatch, bot_process, percentile
from sandbox import BotAPIDouble
from sandbox.models import FakeChat, FakeUser


@dataclass(frozen=True)
class Step:
    """One resident action, and how many messages the bot answers it with (the first one is
    what the latency measures; the next step waits for all of them)."""

    name: str
    send: Callable[[BotAPIDouble, FakeUser], Any]
    answers: int = 1
    in_case_topic: bool = False


def _message(user: FakeUser) -> dict[str, Any]:
    """The bot message a button sits under (buttons are checked against the database, not
    against this message)."""
    return {
        "message_id": 1,
        "date": 0,
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "from": {"id": 1, "is_bot": True, "first_name": "bot"},
        "text": "menu",
    }


def _press(data: str) -> Callable[[BotAPIDouble, FakeUser], Any]:
    return lambda double, user: double.press(user, _message(user), data)


def _say(text: str) -> Callable[[BotAPIDouble, FakeUser], Any]:
    return lambda double, user: double.send_text(user, text)


BROWSING = [
    Step("start", _say("/start")),
    Step("privacy button", _press("menu:privacy")),
    Step("help", _say("/help")),
    Step("activities", _say("/activities")),
    Step("question", _say("Hei! Når er det åpent på torsdag?")),
    Step("sticker", lambda double, user: double.send_sticker(user)),
]
TIP = [
    Step("tip", _say("/tip")),
    Step("tip topic", _press("tip:cat:sports")),
    Step("tip place", _say("Ballbingen ved Stovner skole"), answers=2),
    Step("tip description", _say("Nettet i det ene målet er revet i stykker.")),
    Step("tip done", _press("tip:done")),
    Step("tip anonymous", _press("tip:name:0")),
    Step("tip send", _press("tip:send")),
]
CASE = [
    Step("relay", _say(f"Melding {n} til saksbehandleren"), in_case_topic=True) for n in range(5)
]
#: Out of every 20 residents: 12 browse, 5 write a tip, 3 talk to staff.
SCRIPTS = [BROWSING] * 12 + [TIP] * 5 + [CASE] * 3


def updates_per_resident() -> float:
    return sum(len(script) for script in SCRIPTS) / len(SCRIPTS)


@dataclass
class World:
    double: BotAPIDouble
    staff_chat: FakeChat
    users: list[FakeUser]
    scripts: dict[int, list[Step]]
    #: resident id -> the thread of their open case in the staff chat
    case_topics: dict[int, int]
    #: latencies of the last drive, by step (for finding the slow ones)
    by_step: dict[str, list[float]] = field(default_factory=dict)


def make_world(double: BotAPIDouble, residents: int) -> World:
    double.set_limits(global_per_second=None, private_chat_per_second=None, group_per_minute=None)
    staff = [double.add_user("Kari"), double.add_user("Ola")]
    staff_chat = double.add_supergroup("Staff", members=staff, admins=staff)
    users = [
        double.add_user(f"R{i}", language_code=seed.LANGUAGES[i % 6]) for i in range(residents)
    ]
    scripts = {user.id: SCRIPTS[i % len(SCRIPTS)] for i, user in enumerate(users)}
    return World(double, staff_chat, users, scripts, {})


async def seed_residents(location: str, users: list[FakeUser]) -> None:
    """Returning residents: in the database already, with their language chosen."""
    await engines.seed_residents(location, users[0].id, len(users))


async def open_cases(world: World, location: str) -> None:
    """Residents who talk to staff: /contact and a first message (which opens the topic)."""
    talking = [u for u in world.users if world.scripts[u.id] is CASE]
    for user in talking:
        world.double.send_text(user, "/contact")
    await world.double.settle(timeout=120)
    for user in talking:
        world.double.send_text(user, "Hei, jeg trenger hjelp med barnehageplass.")
    # settle() sees the double go quiet; the bot may still be busy: wait for the database.
    deadline = time.monotonic() + 120
    while True:
        await world.double.settle(timeout=120)
        world.case_topics = await engines.case_topics(location)
        missing = [u.id for u in talking if world.case_topics.get(u.id) is None]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(missing)} residents have no case topic")
        await asyncio.sleep(0.1)


async def drive(
    world: World, watch: AnswerWatch, concurrency: int, total: int, *, echo: bool
) -> dict[str, float]:
    """`concurrency` workers play residents' scripts until `total` updates were answered."""
    latencies: list[float] = []
    to_staff: list[float] = []  # the messages copied into a case's topic
    others: list[float] = []  # every step answered in the resident's own chat
    world.by_step = {}
    queue = list(reversed(world.users))
    budget = [total]

    async def play(user: FakeUser) -> None:
        for step in world.scripts[user.id]:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            if step.in_case_topic and not echo:
                expected = [watch.expect(world.staff_chat.id, world.case_topics[user.id])]
            else:
                expected = [watch.expect(user.id) for _ in range(1 if echo else step.answers)]
            started = time.perf_counter()
            step.send(world.double, user)
            first = await asyncio.wait_for(expected[0], timeout=60)
            latencies.append(first - started)
            (to_staff if step.in_case_topic and not echo else others).append(first - started)
            world.by_step.setdefault(step.name, []).append(first - started)
            await asyncio.wait_for(asyncio.gather(*expected), timeout=60)

    async def worker() -> None:
        while queue and budget[0] > 0:
            await play(queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "updates": float(len(latencies)),
        "updates_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        # The relays into the staff group wait in one line (the outbox sends them one after
        # another); every other step is answered in the resident's own chat.
        "relay_p50_ms": percentile(to_staff, 50) * 1000 if to_staff else 0.0,
        "relay_p99_ms": percentile(to_staff, 99) * 1000 if to_staff else 0.0,
        "others_p99_ms": percentile(others, 99) * 1000,
    }


async def run(
    tmp: Path,
    total: int,
    concurrency: int,
    *,
    echo: bool,
    engine: str = "sqlite",
    server: str | None = None,
) -> dict[str, float]:
    residents = int(total / updates_per_resident()) + concurrency
    async with BotAPIDouble() as double, engines.fresh(engine, tmp, server) as location:
        world = make_world(double, residents)
        if not echo:
            await seed_residents(location, world.users)
        env = {"BOT_DATABASE": location, "BOT_STAFF_CHAT_ID": str(world.staff_chat.id)}
        module = "bench.echo_bot" if echo else "bot"
        async with bot_process(double, env, module=module):
            if not echo:
                await open_cases(world, location)
            watch = AnswerWatch(double)
            figures = await drive(world, watch, concurrency, total, echo=echo)
            # Every answer counted came from the step that asked for it: nothing is left over
            # once the bot is idle (a step answered with more messages than declared would
            # leave one behind and make the next step's latency look shorter).
            await double.settle(timeout=60)
            if watch.unexpected:
                raise RuntimeError(f"{watch.unexpected} answers nobody waited for")
            return figures
