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
from sandbox import BotAPIDouble
from sandbox.models import FakeChat, SentMessage

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
        #: Messages to residents (private chats) that nobody was waiting for.
        self.unexpected = 0

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
        if message.chat_id > 0:
            self.unexpected += 1


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
        double.set_limits(
            global_per_second=None, private_chat_per_second=None, group_per_minute=None
        )
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


ROOT = Path(__file__).resolve().parent.parent


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    started_in: float  # seconds from spawn to the first getUpdates

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the process so far (VmHWM), in MB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(li for li in status.splitlines() if li.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


@asynccontextmanager
async def bot_process(
    double: BotAPIDouble, env: dict[str, str], module: str = "bot"
) -> AsyncIterator[BotProcess]:
    """Run `python -m bot run` (or the echo baseline) as operators do, in its own process."""
    import os
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    clean.update(
        BOT_TOKEN=double.token,
        BOT_API_BASE_URL=double.base_url,
        BOT_MAX_MESSAGES_PER_SECOND="1000000",
        BOT_GROUP_MESSAGES_PER_MINUTE="100000000",
        BOT_LOG_LEVEL="WARNING",
    )
    clean.update(env)
    args = [sys.executable, "-m", module] + (["run"] if module == "bot" else [])
    spawned = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=clean,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        while not double.polling:
            if process.returncode is not None:
                stderr = await process.stderr.read() if process.stderr else b""
                raise RuntimeError(f"{module} exited: {stderr.decode()[-2000:]}")
            await asyncio.sleep(0.005)
        yield BotProcess(process, time.perf_counter() - spawned)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


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
