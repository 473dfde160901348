"""Delivery rate: the delivery engine (`bot.delivery.deliver`, what sends the digest and survey
invitations) against the double's flood control.

1. Limited: the double enforces a global limit of `limit` messages per second (Telegram's 30,
   raised so that 2,000 messages take seconds, not minutes) and the engine is configured with
   the same rate. The limit is a rate with Telegram's "or so": a token bucket that lets
   `BURST` messages arrive at once (50 ms of network jitter at 100/s), so an evenly paced
   sender passes and one that bursts does not (`sandbox/limits.py`). Reported: achieved rate /
   limit, as the engine saw it (all messages over its whole run) and as the double saw it
   (first to last arrival), and how many 429s the double had to give.
2. Ceiling: no limits anywhere; how fast the engine itself goes (each message is an HTTP call
   and a committed outbox row).

The engine runs in its own process (`python -m bench.delivery DB RATE`), as the bot does, so
that the double's work (in this process) does not count against it. A third figure separates
the engine from the HTTP client: the same run with python-telegram-bot answered in memory
(`InstantRequest`, no sockets), i.e. the engine, PTB's objects and one SQLite commit per message.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import Bot
from telegram.request import BaseRequest, RequestData

from bot.config import Config
from bot.delivery import OutboxItem, deliver, enqueue
from bot.transport import AiohttpRequest
from sandbox import BotAPIDouble
from sandbox.limits import FloodControl
from storage import outbox
from storage.db import Database

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
#: How many messages the double's global limit lets arrive at once (see the module).
BURST = 5
#: A digest-like message: HTML and an "I'm going" keyboard.
TEXT = (
    "📅 <b>Aktiviteter neste uke</b>\n\n"
    + ("<b>📆 mandag 30. november</b>\n\n<b>1. Babysang</b>\n🕙 10:00–11:00 · Stovner bibliotek\n")
    * 6
)
KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": f"✋ {n}: Jeg kommer", "callback_data": f"act:go:{n}"},
            {"text": f"📅 {n}: Legg til i kalender", "callback_data": f"act:ics:{n}"},
        ]
        for n in range(1, 7)
    ]
}


async def run(tmp: Path, messages: int, limit: float | None) -> dict[str, float]:
    """Deliver `messages` one-message editions to as many residents; `limit` None = no limit."""
    tmp.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - before anything runs
    # What earlier runs left in this process (the double's records) stays out of the garbage
    # collector's way: its pauses would hold up the double, not the engine being measured.
    gc.collect()
    gc.freeze()
    async with BotAPIDouble() as double:
        if limit is None:
            double.set_limits(
                global_per_second=None, private_chat_per_second=None, group_per_minute=None
            )
        else:
            double.set_limits(global_per_second=limit, global_burst=BURST)
        users = [double.add_user(f"R{i}") for i in range(messages)]
        db = await Database.open(tmp / "delivery.sqlite3")
        try:
            items = [
                OutboxItem(
                    chat_id=user.id,
                    text=TEXT,
                    reply_markup=KEYBOARD,
                    resident_id=user.id,
                    on_blocked="digest",
                )
                for user in users
            ]
            await enqueue(db, "bench", items, NOW)
        finally:
            await db.close()
        result = await _deliver_in_process(double, tmp / "delivery.sqlite3", limit or 1e9)
        db = await Database.open(tmp / "delivery.sqlite3")
        try:
            counts = await outbox.counts(db, "bench")
        finally:
            await db.close()
    elapsed = result["seconds"]
    report = result["report"]
    if counts.sent != messages:
        raise RuntimeError(f"sent {counts.sent} of {messages}: {report}")
    rate = messages / elapsed
    figures = {"messages": float(messages), "msgs_per_s": rate, "seconds": elapsed}
    if limit is not None:
        arrivals = sorted(c.at for c in double.calls if c.method == "sendMessage" and c.ok)
        server_rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        figures.update(
            limit_per_s=float(limit),
            achieved_to_limit=rate / limit,
            arrivals_to_limit=server_rate / limit,
            sends_to_limit=result["sends_per_s"] / limit,
            sends_over_limit=float(result["sends_over_limit"]),
            http_429=float(double.flood_violations),
        )
    return figures


async def _deliver_in_process(double: BotAPIDouble, database: Path, rate: float) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(BOT_TOKEN=double.token, BOT_API_BASE_URL=double.base_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.delivery",
        str(database),
        repr(rate),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"delivery process failed: {err.decode()[-2000:]}")
    return json.loads(out)


class StampedRequest(AiohttpRequest):
    """The engine's HTTP client, noting when each send leaves: how evenly the engine paces,
    whatever happens to the requests on their way (a busy machine can hold them up)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sends: list[float] = []

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        if url.endswith("/sendMessage"):
            self.sends.append(time.monotonic())
        return await super().do_request(url, method, *args, **kwargs)


def over_limit(stamps: list[float], rate: float) -> int:
    """How many of these sends (sorted times) the double's limit would refuse had they arrived
    exactly when the engine sent them: the engine's pacing, without the way to the double."""
    clock = [0.0]
    limit = FloodControl(
        global_per_second=rate,
        global_burst=BURST,
        private_chat_per_second=None,
        group_per_minute=None,
        now=lambda: clock[0],
    )
    refused = 0
    for stamp in stamps:
        clock[0] = stamp
        refused += not limit.allow(1)
    return refused


async def _main(database: str, rate: float) -> None:
    """In the engine's process: deliver every pending row, print the time it took and how
    evenly the sends left."""
    config = Config.from_env()
    db = await Database.open(database)
    request = StampedRequest(connection_pool_size=64)
    try:
        async with Bot(config.token, base_url=f"{config.api_root}/bot", request=request) as bot:
            started = time.perf_counter()
            report = await deliver(bot, db, "bench", rate=rate)
            elapsed = time.perf_counter() - started
    finally:
        await db.close()
    cpu = time.process_time()
    sends = sorted(request.sends)
    pace = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 else 0.0
    refused = over_limit(sends, rate) if rate < 1e6 else 0
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "report": str(report),
                "cpu": cpu,
                "sends_per_s": pace,
                "sends_over_limit": refused,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], float(sys.argv[2])))


class InstantRequest(BaseRequest):
    """A Bot API that answers every send at once, in memory: what is left is the engine."""

    def __init__(self) -> None:
        self.message_ids = 0

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_: object
    ) -> tuple[int, bytes]:
        self.message_ids += 1
        params = request_data.parameters if request_data else {}
        if url.endswith("/getMe"):
            result: object = {"id": 1, "is_bot": True, "first_name": "bench", "username": "b"}
        else:
            result = {
                "message_id": self.message_ids,
                "date": 0,
                "chat": {"id": params.get("chat_id", 0), "type": "private"},
                "text": "ok",
            }
        return 200, json.dumps({"ok": True, "result": result}).encode()


async def run_engine_only(tmp: Path, messages: int) -> dict[str, float]:
    """The engine's own ceiling: no HTTP, no double, no limit."""
    db = await Database.open(tmp / "engine.sqlite3")
    try:
        items = [
            OutboxItem(chat_id=10_000_000 + n, text=TEXT, reply_markup=KEYBOARD)
            for n in range(messages)
        ]
        await enqueue(db, "bench", items, NOW)
        async with Bot("1:bench", request=InstantRequest()) as bot:
            started = time.perf_counter()
            report = await deliver(bot, db, "bench", rate=1e9)
            elapsed = time.perf_counter() - started
    finally:
        await db.close()
    if report.sent != messages:
        raise RuntimeError(f"sent {report.sent} of {messages}: {report}")
    return {"messages": float(messages), "msgs_per_s": messages / elapsed}
