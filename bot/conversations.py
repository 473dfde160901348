"""Where a message goes: the things a resident can be in the middle of, in one ordered list.

A resident's message that is not a command goes to the first *active* conversation in
`RESIDENT_CONVERSATIONS` that takes it; the order of the list is the precedence (a resident
with an open case who starts a tip is writing the tip until it is sent or stopped). Each
conversation

- says from the database whether it is active for a resident (`active`), so a restart or a
  crash changes nothing;
- takes the resident's message (`take`; False passes it on to the next active one);
- ends on /cancel (`cancel`; True if there was something to end).

A resident is *busy* (unasked messages such as survey invitations are held back) while any
conversation is active. A reply to one of the bot's own messages goes to the conversation that
sent it (`owns_reply`), whatever the order: the resident said plainly what it answers.

Messages in the staff chat go through `STAFF_CHAT_ROUTES`, in the same way: the first route that
takes the message ends the search. Whatever nobody takes gets the fallback's friendly answer
(`bot/fallback.py`).

To add a conversation: write its three functions next to the feature (active from the
database, take, cancel) and put one `Conversation(...)` line into the list below, where its
precedence belongs. Nothing else registers it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update

from bot.activities import management as activity_management
from bot.activities import subscribing
from bot.announcements import staff as announcement_staff
from bot.context import BotContext, BotData
from bot.handover import resident as handover_resident
from bot.handover import staff_side as handover_staff
from bot.surveys import answering as survey_answering
from bot.surveys import management as survey_management
from bot.tips import handling as tip_handling
from bot.tips import messages as tip_messages
from bot.tips import questions as tip_questions
from bot.tips import staff_form as tip_staff_form

log = logging.getLogger(__name__)

#: True while the resident (by Telegram id) is in the middle of the conversation.
Active = Callable[[BotData, int], Awaitable[bool]]
#: Takes a message (or a /cancel); False: not for this one after all.
Take = Callable[[Update, BotContext], Awaitable[bool]]
#: True if the bot message (by id) that the resident (by id) replied to belongs to it.
OwnsReply = Callable[[BotData, int, int], Awaitable[bool]]


@dataclass(frozen=True)
class Conversation:
    """Something a resident can be in the middle of."""

    name: str
    active: Active
    take: Take
    cancel: Take
    owns_reply: OwnsReply | None = None


@dataclass(frozen=True)
class StaffChatRoute:
    """A kind of message in the staff chat that a feature takes (a reply, a file, a form)."""

    name: str
    take: Take


#: What a resident can be in the middle of. The order is the precedence.
RESIDENT_CONVERSATIONS: tuple[Conversation, ...] = (
    Conversation(
        "tip draft",
        tip_messages.is_writing_tip,
        tip_messages.take_message,
        tip_messages.cancel_draft,
    ),
    Conversation(
        "survey",
        survey_answering.is_answering,
        survey_answering.take_message,
        survey_answering.cancel_session,
    ),
    Conversation(
        "case with staff",
        handover_resident.has_open_case,
        handover_resident.relay_from_resident,
        handover_resident.end_case_on_cancel,
    ),
    Conversation(
        "activity proposal",
        activity_management.is_proposing,
        activity_management.organiser_form_message,
        activity_management.cancel_form,
    ),
    Conversation(
        "subscription",
        subscribing.is_subscribing,
        subscribing.take_message,
        subscribing.cancel,
    ),
    Conversation(
        "answer to a staff question on a tip",
        tip_questions.has_open_question,
        tip_questions.take_answer_message,
        tip_questions.no_cancel,
        owns_reply=tip_questions.is_question_message,
    ),
)

#: What the staff chat's messages can be for, first match wins.
STAFF_CHAT_ROUTES: tuple[StaffChatRoute, ...] = (
    # A staff member filling in /activity_add answers it in the chat and topic they started in.
    StaffChatRoute("activity form", activity_management.staff_form_message),
    # A staff member writing a tip (/tip_new, /tip_from_case) answers it where they started it;
    # in a case topic their messages go to the tip, not to the resident, until it is saved.
    StaffChatRoute("staff tip form", tip_staff_form.take_message),
    # A staff member writing /announce answers it in the chat and topic they started in.
    StaffChatRoute("announcement", announcement_staff.take_message),
    StaffChatRoute("reply to a tip card", tip_handling.consume_staff_reply),
    StaffChatRoute("case topic", handover_staff.relay_from_staff),
    StaffChatRoute("survey file", survey_management.upload),
    StaffChatRoute("activity file", activity_management.upload_consumer),
)


async def active_conversations(data: BotData, telegram_id: int) -> list[Conversation]:
    return [c for c in RESIDENT_CONVERSATIONS if await c.active(data, telegram_id)]


async def is_busy(data: BotData, telegram_id: int) -> bool:
    """True while the resident is in the middle of anything: hold back unasked messages."""
    for conversation in RESIDENT_CONVERSATIONS:
        if await conversation.active(data, telegram_id):
            log.debug("resident busy with %s", conversation.name)
            return True
    return False


async def take_resident_message(update: Update, context: BotContext) -> bool:
    """Give a private message (not a command) to the conversation it belongs to.

    When no conversation is active, a resident who writes soon after their case was closed is
    asked whether to open a new one (a question about the message, not a conversation).
    """
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or (message.text or "").startswith("/"):
        return False
    data = context.bot_data
    replied = message.reply_to_message
    if replied is not None:
        for conversation in RESIDENT_CONVERSATIONS:
            owns = conversation.owns_reply
            if (
                owns is not None
                and await owns(data, user.id, replied.message_id)
                and await conversation.take(update, context)
            ):
                log.debug("reply taken by %s", conversation.name)
                return True
    for conversation in RESIDENT_CONVERSATIONS:
        if await conversation.active(data, user.id) and await conversation.take(update, context):
            log.debug("message taken by %s", conversation.name)
            return True
    return await handover_resident.offer_new_case(update, context)


async def take_staff_message(update: Update, context: BotContext) -> bool:
    for route in STAFF_CHAT_ROUTES:
        if await route.take(update, context):
            log.debug("staff message taken by %s", route.name)
            return True
    return False


async def cancel_all(update: Update, context: BotContext) -> bool:
    """/cancel: end every conversation the resident is in; True if there was one."""
    cancelled = False
    for conversation in RESIDENT_CONVERSATIONS:
        cancelled = await conversation.cancel(update, context) or cancelled
    return cancelled
