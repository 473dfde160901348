"""Shared pieces: a running bot against the double with flood limits lifted, answer tracking,
and statistics."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app import build_application, running
from bot.config import Config
from bot.context import BotApplication
from tests.double import BotAPIDouble
from tests.double.models import FakeChat, SentMessage

#: Our own limits lifted so that a benchmark measures the code, not the throttle; the delivery
#: benchmark sets its own limit explicitly.
UNTHROTTLED = {"max_messages_per_second": 1e9, "group_messages_per_minute": 1e9}


class AnswerWatch:
    """Resolves waiters when the bot sends a message to a chat (no polling)."""

    def __init__(self, double: BotAPIDouble) -> None:
        self._waiters: dict[tuple[int, int | None], deque[asyncio.Future[float]]] = defaultdict(
            deque
        )
        double.sent_listeners.append(self._on_sent)

    def expect(self, chat_id: int, thread_id: int | None = None) -> asyncio.Future[float]:
        """A future resolved with the time the next message to that chat (and thread) is sent."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[(chat_id, thread_id)].append(future)
        return future

    def _on_sent(self, message: SentMessage) -> None:
        now = time.perf_counter()
        for key in ((message.chat_id, message.thread_id), (message.chat_id, None)):
            waiters = self._waiters.get(key)
            while waiters:
                future = waiters.popleft()
                if not future.done():
                    future.set_result(now)
                    return


@dataclass
class Live:
    double: BotAPIDouble
    app: BotApplication | None
    config: Config
    staff_chat: FakeChat
    staff_users: list[Any] = field(default_factory=list)


@asynccontextmanager
async def live_bot(tmp: Path, *, start_app: bool = True, **overrides: Any) -> AsyncIterator[Live]:
    async with BotAPIDouble() as double:
        double.set_limits(global_per_second=None, private_chat_per_second=None,
                          group_per_minute=None)
        staff = [double.add_user("Kari"), double.add_user("Ola")]
        staff_chat = double.add_supergroup("Staff", members=staff, admins=staff)
        settings: dict[str, Any] = {
            "token": double.token,
            "api_base_url": double.base_url,
            "database": tmp / "bot.sqlite3",
            "staff_chat_id": staff_chat.id,
            "admin_ids": frozenset(u.id for u in staff),
            **UNTHROTTLED,
        }
        settings.update(overrides)
        config = Config(**settings)
        if not start_app:
            yield Live(double, None, config, staff_chat, staff)
            return
        app = build_application(config)
        async with running(app, poll_timeout=5):
            yield Live(double, app, config, staff_chat, staff)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Median, min and max of every figure over the runs."""
    keys = runs[0].keys()
    return {
        key: {
            "median": statistics.median(run[key] for run in runs),
            "min": min(run[key] for run in runs),
            "max": max(run[key] for run in runs),
        }
        for key in keys
    }
