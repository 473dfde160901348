"""Is there a staff chat to hand cases to? Checked once at start with getChat.

Without a forum supergroup where the bot may manage topics, a resident who asks for a person
gets a polite "not available right now" in their language instead of an error, and the
operator reads one clear line in the log saying what to fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import ChatMemberAdministrator, ChatMemberOwner
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.context import BotApplication, BotData
from bot.registry import add_startup_hook

log = logging.getLogger(__name__)


@dataclass
class HandoverState:
    """What the handover keeps in memory; a restart re-checks or loses at most one notice."""

    #: False when the staff chat is missing or unusable (decided at start).
    staff_chat_ready: bool = True


def state(data: BotData) -> HandoverState:
    existing = data.extras.get("handover")
    if not isinstance(existing, HandoverState):
        existing = HandoverState()
        data.extras["handover"] = existing
    return existing


def staff_chat_ready(data: BotData) -> bool:
    return data.config.staff_chat_id is not None and state(data).staff_chat_ready


async def check_staff_chat(app: BotApplication) -> None:
    """Decide at start whether cases can be handed to staff; log what to fix if not."""
    data = app.bot_data
    problem = await _staff_chat_problem(app)
    state(data).staff_chat_ready = problem is None
    if problem is not None:
        log.error("talking to a person is switched off: %s", problem)


async def _staff_chat_problem(app: BotApplication) -> str | None:
    chat_id = app.bot_data.config.staff_chat_id
    if chat_id is None:
        return "BOT_STAFF_CHAT_ID is not set; set it to the staff supergroup's id"
    try:
        chat = await app.bot.get_chat(chat_id)
        if chat.type != chat.SUPERGROUP or not chat.is_forum:
            return (
                f"the staff chat {chat_id} is not a supergroup with Topics;"
                " switch on Topics in the group's settings"
            )
        member = await app.bot.get_chat_member(chat_id, app.bot.id)
    except (BadRequest, Forbidden) as error:
        return f"the staff chat {chat_id} cannot be reached ({error}); add the bot to the group"
    except TelegramError as error:
        # The network, not the setup: assume the chat works rather than turn residents away.
        log.warning("could not check the staff chat at start: %s", error)
        return None
    if isinstance(member, ChatMemberOwner):
        return None
    if not isinstance(member, ChatMemberAdministrator) or not member.can_manage_topics:
        return "the bot must be an administrator allowed to manage topics in the staff chat"
    return None


def mark_unusable(data: BotData, reason: str) -> None:
    """Creating a topic failed in a way only the operator can fix: stop offering handover."""
    if state(data).staff_chat_ready:
        log.error("talking to a person is switched off: %s", reason)
    state(data).staff_chat_ready = False


def register(app: BotApplication) -> None:
    add_startup_hook(app, check_staff_chat)
