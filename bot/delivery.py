"""The delivery engine: the one place that sends broadcasts (the digest, survey invitations).

    added = await enqueue(db, "digest-2026-W48", items)       # rows first, nothing sent yet
    report = await deliver(bot, db, "digest-2026-W48", rate=25)

Every message is an outbox row before it is sent (`storage/outbox.py`), so a crash or
`kill -9` loses nothing and the next run sends only the rows still pending; enqueueing an
edition again adds nothing, so a second run sends nothing.

Throughput: sends follow a schedule, message i at t0 + i/`rate` (`Pacer`): no bursts (Telegram
counts per second), and no drift either, since a send that wakes a little late does not push
the ones after it back; the engine keeps the configured rate, not a little below it. One chat
gets at most one message per `per_chat_interval` (3 s for groups and channels, which Telegram
allows 20 per minute). A 429 pauses every sender for `retry_after`;
a 403 marks the chat blocked and ends what the row's `on_blocked` names (`storage/blocked.py`);
a 400 is recorded as failed at once (sending it again cannot help); other errors are retried
with back-off and then recorded as failed. What an error means is decided in one place,
`bot/telegram_errors.py`, shared with the outbox of single messages (`bot/outbox.py`).

The one window that cannot be closed: between Telegram's OK and the commit that marks the row
sent (the Bot API has no idempotency key). It is kept as small as possible: each row is
committed on its own, immediately after the answer, before anything else is done. A crash in
exactly that instant (or a timeout after Telegram already accepted a message) may send that one
message again on the next run; nothing is ever lost.

Use a bot without python-telegram-bot's AIORateLimiter (`delivery_bot(config)`): the engine
does its own throttling and must see 429s itself to count and honour them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import Bot, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.config import Config
from bot.telegram_errors import Outcome, RetryPolicy, classify
from bot.transport import AiohttpRequest
from storage import blocked, outbox
from storage.db import Database
from storage.outbox import OutboxItem, PendingRow, enqueue

__all__ = [
    "DeliveryReport",
    "OutboxItem",
    "deliver",
    "delivery_bot",
    "enqueue",
]

log = logging.getLogger(__name__)

#: Telegram's documented ceiling for a bot's messages per second (without paid broadcasts).
TELEGRAM_MAX_RATE = 30.0
#: Groups and channels: 20 messages per minute.
GROUP_INTERVAL = 3.0
#: How often a run refreshes its lock (storage.outbox.LOCK_ORPHANED_SECONDS counts on it).
LOCK_REFRESH_SECONDS = 5.0

ProgressCallback = Callable[["DeliveryReport"], Awaitable[None] | None]


@dataclass
class DeliveryReport:
    """What one run did, in outbox rows (messages)."""

    total: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    #: Another run held the delivery lock; this one sent nothing.
    busy: bool = False

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.failed


async def post_to_staff_chat(bot: Bot, config: Config, text: str, what: str) -> None:
    """A broadcast's closing figures in the staff chat; a failure only costs that note."""
    if config.staff_chat_id is None:
        return
    try:
        await bot.send_message(config.staff_chat_id, text, parse_mode=ParseMode.HTML)
    except TelegramError as error:
        log.warning("could not post the %s in the staff chat: %s", what, error)


@asynccontextmanager
async def delivery_bot(config: Config) -> AsyncIterator[Bot]:
    """A Bot for broadcasts: no AIORateLimiter (the engine throttles and sees every 429)."""
    bot = Bot(
        config.token,
        base_url=f"{config.api_root}/bot",
        base_file_url=f"{config.api_root}/file/bot",
        request=AiohttpRequest(connection_pool_size=64),
    )
    async with bot:
        yield bot


async def deliver(
    bot: Bot,
    db: Database,
    edition: str | None = None,
    *,
    rate: float,
    per_chat_interval: float = 1.0,
    on_progress: ProgressCallback | None = None,
    max_attempts: int = 4,
    backoff: float = 0.5,
) -> DeliveryReport:
    """Send every pending outbox row (of one edition, or all); return what happened.

    Returns at once with `busy=True` if another run (the weekly job, an operator's command)
    is delivering: two runs would send the same rows twice.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    report = DeliveryReport()
    owner = outbox.new_lock_owner()
    if not await outbox.acquire_lock(db, owner, db.instance):
        report.busy = True
        log.warning("delivery skipped: another run is sending")
        return report
    heartbeat = asyncio.create_task(_keep_lock(db, owner))
    try:
        rows = await outbox.pending(db, edition)
        report.total = len(rows)
        run = _Run(bot, db, report, rate, per_chat_interval, on_progress, max_attempts, backoff)
        await run.send_all(rows)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        await outbox.release_lock(db, owner)
    log.info(
        "delivery of %s: %d sent, %d blocked, %d failed, %d retried",
        edition or "all editions",
        report.sent,
        report.blocked,
        report.failed,
        report.retried,
    )
    return report


async def _keep_lock(db: Database, owner: str) -> None:
    while True:
        await asyncio.sleep(LOCK_REFRESH_SECONDS)
        await outbox.refresh_lock(db, owner)


def _now() -> datetime:
    return datetime.now(UTC)


class Pacer:
    """A token schedule: the i-th send may start at t0 + i/rate, and never earlier.

    Senders take slots one at a time, each when the one before it has come (`_Run` holds a
    lock while a sender waits for its slot), and the next slot is the previous one plus the
    interval, not the moment the sender woke plus the interval: an event loop that wakes a
    sender a few milliseconds late does not push every later send back (a limiter that waits
    a full interval after each wake-up loses that latency each time: 10% of the rate,
    measured). A slot is at most `tolerance` in the past: after a longer stall (a busy
    machine) the schedule starts again from now instead of catching up in a burst, so at
    most 1 + tolerance x rate sends ever go at once. None starts before `not_before` (the end of a
    flood-control pause).
    """

    def __init__(
        self, rate: float, tolerance: float = 0.02, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = 1.0 / rate
        self.tolerance = tolerance
        self.clock = clock
        self.next_slot = -math.inf

    def reserve(self, not_before: float = -math.inf) -> float:
        """The start time of the next slot (monotonic seconds); it is now taken."""
        now = self.clock()
        # Within the tolerance a late slot is kept (no drift); beyond it the schedule restarts
        # now (no burst to catch up). The first slot is now.
        slot = self.next_slot if self.next_slot >= now - self.tolerance else now
        slot = max(slot, not_before)
        self.next_slot = slot + self.interval
        return slot


class _Run:
    """One delivery run: workers take whole chats, so a chat's parts go in order."""

    def __init__(
        self,
        bot: Bot,
        db: Database,
        report: DeliveryReport,
        rate: float,
        per_chat_interval: float,
        on_progress: ProgressCallback | None,
        max_attempts: int,
        backoff: float,
    ) -> None:
        self.bot = bot
        self.db = db
        self.report = report
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        self.on_progress = on_progress
        self.policy = RetryPolicy(max_attempts=max_attempts, base=backoff, cap=60.0)
        # Sends are spaced evenly on a schedule, never a burst of `rate` at once; one sender
        # at a time waits for the next slot.
        self.pacer = Pacer(rate)
        self.turns = asyncio.Lock()
        self.paused_until = 0.0
        #: Keyboards as Telegram objects, built once per distinct keyboard (rows share them).
        self.keyboards: dict[int, InlineKeyboardMarkup] = {}

    async def send_all(self, rows: list[PendingRow]) -> None:
        chats: dict[tuple[str, int], list[PendingRow]] = {}
        for row in rows:
            chats.setdefault((row.edition, row.chat_id), []).append(row)
        queue: asyncio.Queue[list[PendingRow]] = asyncio.Queue()
        for group in chats.values():
            queue.put_nowait(group)
        # Enough concurrent requests to fill the rate despite network latency.
        workers = max(1, min(len(chats), 64, math.ceil(self.rate)))
        await asyncio.gather(*(self._worker(queue) for _ in range(workers)))

    async def _worker(self, queue: asyncio.Queue[list[PendingRow]]) -> None:
        while not queue.empty():
            group = queue.get_nowait()
            interval = self.per_chat_interval if group[0].chat_id > 0 else GROUP_INTERVAL
            interval = max(interval, self.per_chat_interval)
            last = -math.inf
            for row in group:
                wait = last + interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                outcome = await self._send_row(row)
                last = time.monotonic()
                await self._progress()
                if outcome == "blocked":
                    break  # the chat's remaining parts were marked blocked with it

    async def _progress(self) -> None:
        if self.on_progress is not None:
            result = self.on_progress(self.report)
            if inspect.isawaitable(result):
                await result

    async def _wait_turn(self) -> None:
        # A loop: another sender may meet a 429 while this one waits for its slot; the slot
        # is then void and the sender queues again behind the pause.
        while True:
            async with self.turns:
                slot = self.pacer.reserve(not_before=self.paused_until)
                delay = slot - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if self.paused_until <= time.monotonic():
                return

    def _keyboard(self, row: PendingRow) -> InlineKeyboardMarkup | None:
        if not row.reply_markup:
            return None
        key = id(row.reply_markup)
        if key not in self.keyboards:
            self.keyboards[key] = InlineKeyboardMarkup.de_json(row.reply_markup, self.bot)
        return self.keyboards[key]

    async def _send_row(self, row: PendingRow) -> str:
        attempts = row.attempts
        while True:
            await self._wait_turn()
            try:
                message = await _send(self.bot, row, self._keyboard(row))
            except TelegramError as error:
                verdict = classify(error)
                if verdict.outcome is Outcome.WAIT:
                    # Everyone waits: Telegram counts the bot, not the sender.
                    until = time.monotonic() + verdict.wait
                    self.paused_until = max(self.paused_until, until)
                    self.report.retried += 1
                    log.info("flood control: waiting %.1fs (row %d)", verdict.wait, row.id)
                    continue
                if verdict.outcome is Outcome.BLOCKED:
                    handler = blocked.handler(row.on_blocked)
                    marked = await outbox.mark_blocked(
                        self.db, row, verdict.reason, _now(), handler
                    )
                    self.report.blocked += max(marked, 1)
                    log.info("chat %d refuses the bot (row %d): %s", row.chat_id, row.id, error)
                    return "blocked"
                if verdict.outcome is not Outcome.RETRY:  # a bad request: it cannot help
                    await outbox.mark_failed(self.db, row.id, verdict.reason, _now())
                    self.report.failed += 1
                    log.warning("row %d failed: %s", row.id, error)
                    return "failed"
                attempts = await outbox.record_attempt(self.db, row.id, verdict.reason)
                if self.policy.gives_up(attempts):
                    await outbox.mark_failed(self.db, row.id, verdict.reason, _now())
                    self.report.failed += 1
                    log.warning("row %d failed after %d attempts: %s", row.id, attempts, error)
                    return "failed"
                self.report.retried += 1
                await asyncio.sleep(self.policy.delay(attempts))
                continue
            # Commit at once: this is the window in which a crash could send it twice.
            await outbox.mark_sent(self.db, row.id, message.message_id, _now())
            self.report.sent += 1
            return "sent"


async def _send(bot: Bot, row: PendingRow, markup: InlineKeyboardMarkup | None) -> Message:
    if row.kind == "document":
        assert row.document is not None
        return await bot.send_document(
            row.chat_id,
            InputFile(row.document, filename=row.filename),
            caption=row.text,
            parse_mode=ParseMode.HTML if row.text else None,
            reply_markup=markup,
        )
    assert row.text is not None
    return await bot.send_message(
        row.chat_id,
        row.text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
