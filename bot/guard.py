"""Before any feature sees an update: keep floods and foreign chats out.

- A resident who sends very many messages very fast is asked to slow down, once, and the
  excess is dropped, so one person (or a script) cannot starve everybody else. Messages are
  counted when they arrive (`admit`, asked by `bot.processing`), not when their turn comes:
  a flood waiting behind its own first messages is cut off at once.
- The bot belongs in private chats and in the staff chat. Added to any other group or channel,
  it leaves; messages from such chats are ignored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from telegram import Chat, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ChatMemberHandler, TypeHandler

from bot.common import resident_texts, send
from bot.context import BotApplication, BotContext, BotData
from bot.processing import PerChatUpdateProcessor

log = logging.getLogger(__name__)

#: A resident may send this many updates at once, then one per `REFILL_SECONDS`.
BURST = 30
REFILL_SECONDS = 1.0
#: How often the "please slow down" answer may be repeated.
WARN_INTERVAL_SECONDS = 60.0
GUARD_GROUP = -100


@dataclass
class Bucket:
    tokens: float
    updated: float
    warned: float = -WARN_INTERVAL_SECONDS


class FloodGate:
    """A token bucket per resident: allows bursts, refuses a sustained flood."""

    def __init__(self, burst: int = BURST, refill_seconds: float = REFILL_SECONDS) -> None:
        self.burst = burst
        self.refill = refill_seconds
        self._buckets: dict[int, Bucket] = {}

    def allow(self, user_id: int, now: float) -> bool:
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) / self.refill)
        bucket.updated = now
        if len(self._buckets) > 10_000:
            self._forget_full(now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        return False

    def should_warn(self, user_id: int, now: float) -> bool:
        bucket = self._buckets[user_id]
        if now - bucket.warned >= WARN_INTERVAL_SECONDS:
            bucket.warned = now
            return True
        return False

    def _forget_full(self, now: float) -> None:
        full_after = self.burst * self.refill
        for user_id in [u for u, b in self._buckets.items() if now - b.updated > full_after]:
            del self._buckets[user_id]


async def guard(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None or update.my_chat_member is not None:
        return
    if chat.type in (Chat.GROUP, Chat.SUPERGROUP, Chat.CHANNEL):
        if chat.id != context.config.staff_chat_id:
            # Not ours: no feature may act on it.
            raise ApplicationHandlerStop
        return
    user = update.effective_user
    processor = context.application.update_processor
    if user is None or not isinstance(processor, PerChatUpdateProcessor):
        return
    if not processor.take_refusal(update):
        return
    gate = flood_gate(context.bot_data)
    if gate.should_warn(user.id, time.monotonic()):
        log.info("flood limit reached by a resident")
        t = await resident_texts(update, context)
        await send(context, chat.id, t._("You are sending very fast. Please wait a minute."))
    raise ApplicationHandlerStop


def flood_gate(data: BotData) -> FloodGate:
    gate: FloodGate = data.extras.setdefault("flood_gate", FloodGate())
    return gate


def admit(data: BotData, update: Update) -> bool:
    """The flood check, made when an update arrives (see `bot.processing`): a resident's
    messages count while they still wait for their turn, so a flood is cut off at once."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != Chat.PRIVATE or update.my_chat_member:
        return True  # the guard lets these through without asking (see `guard`)
    return flood_gate(data).allow(user.id, time.monotonic())


async def leave_foreign_chats(update: Update, context: BotContext) -> None:
    """Added to a group or channel that is not the staff chat: leave at once."""
    member = update.my_chat_member
    if member is None:
        return
    chat = member.chat
    if chat.type == Chat.PRIVATE or chat.id == context.config.staff_chat_id:
        return
    if member.new_chat_member.status in ("left", "kicked"):
        return
    log.info("leaving a %s the bot was added to", chat.type)
    try:
        await context.bot.leave_chat(chat.id)
    except TelegramError as error:
        log.warning("could not leave a foreign chat: %s", error)


def register(app: BotApplication) -> None:
    processor = app.update_processor
    if isinstance(processor, PerChatUpdateProcessor):
        processor.admission = lambda update: admit(app.bot_data, update)
    app.add_handler(TypeHandler(Update, guard), group=GUARD_GROUP)
    app.add_handler(
        ChatMemberHandler(leave_foreign_chats, ChatMemberHandler.MY_CHAT_MEMBER),
        group=GUARD_GROUP + 1,
    )
