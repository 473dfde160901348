"""Staff authorization: staff commands and buttons work only in the staff chat, only for its
current members, and administrative ones only for BOT_ADMIN_IDS.

Membership is asked of Telegram (getChatMember) and remembered for a few minutes, so a person
removed from the staff group loses access quickly without a call on every button press.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.common import answer, resident_texts
from bot.context import BotApplication, BotContext
from bot.registry import add_staff_command_description
from storage import staff_members

log = logging.getLogger(__name__)

StaffCallback = Callable[[Update, BotContext], Awaitable[None]]

_MEMBER_STATUSES = {
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
    ChatMemberStatus.RESTRICTED,
}
MEMBERSHIP_TTL_SECONDS = 300.0


def in_staff_chat(update: Update, context: BotContext) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.id == context.config.staff_chat_id


async def is_staff_member(context: BotContext, user_id: int) -> bool:
    """True if `user_id` is currently a member of the staff chat (cached briefly)."""
    staff_chat = context.config.staff_chat_id
    if staff_chat is None:
        return False
    cache = context.bot_data.staff_members
    cached = cache.get(user_id)
    now = time.monotonic()
    if cached is not None and now - cached[0] < MEMBERSHIP_TTL_SECONDS:
        return cached[1]
    try:
        member = await context.bot.get_chat_member(staff_chat, user_id)
        is_member = member.status in _MEMBER_STATUSES
    except TelegramError as error:
        log.warning("could not check staff membership: %s", error)
        is_member = False
    cache[user_id] = (now, is_member)
    return is_member


async def authorize_staff(update: Update, context: BotContext, *, admin: bool = False) -> bool:
    """Decide whether this update may use a staff tool; answer politely when not."""
    user = update.effective_user
    if user is None:
        return False
    if not in_staff_chat(update, context):
        await refuse(update, context)
        return False
    if not await is_staff_member(context, user.id):
        log.info("refused staff action from a non-member")
        await refuse(update, context)
        return False
    if admin and user.id not in context.config.admin_ids:
        await refuse_admin(update, context)
        return False
    # Remembered so colleagues can hand a case to them by @username (bots cannot look it up).
    await staff_members.seen(context.db, user.id, user.username, user.first_name, context.now())
    return True


async def refuse(update: Update, context: BotContext) -> None:
    """Residents get a polite refusal in their language; others in groups get nothing."""
    chat = update.effective_chat
    if update.callback_query is not None:
        t = context.staff_texts()
        if chat is not None and chat.type == chat.PRIVATE:
            t = await resident_texts(update, context)
        await context.ack(update, t._("Only staff can use this."), alert=True)
        return
    if chat is not None and chat.type == chat.PRIVATE:
        t = await resident_texts(update, context)
        await answer(update, context, t._("Sorry, this command is only for staff."))
    elif chat is not None and chat.id == context.config.staff_chat_id:
        t = context.staff_texts()
        await answer_in_thread(
            update, context, t._("Only members of the staff group can do this.")
        )


async def refuse_admin(update: Update, context: BotContext) -> None:
    t = context.staff_texts()
    if update.callback_query is not None:
        await context.ack(update, t._("Only administrators can do this."), alert=True)
        return
    await answer_in_thread(update, context, t._("Only administrators can do this."))


async def answer_in_thread(update: Update, context: BotContext, text: str, **kwargs: Any) -> None:
    """Reply in the staff chat, in the same forum topic the command came from."""
    message = update.effective_message
    chat = update.effective_chat
    if chat is None:
        return
    thread_id = message.message_thread_id if message and message.is_topic_message else None
    from bot.common import send

    await send(context, chat.id, text, message_thread_id=thread_id, **kwargs)


def add_staff_command(
    app: BotApplication,
    command: str,
    callback: StaffCallback,
    description: str | None = None,
    *,
    admin: bool = False,
    order: int = 50,
) -> None:
    """Register a staff command, guarded: wrong chat or non-member gets a refusal."""

    async def guarded(update: Update, context: BotContext) -> None:
        if await authorize_staff(update, context, admin=admin):
            await callback(update, context)

    app.add_handler(CommandHandler(command, guarded, filters=~filters.UpdateType.EDITED))
    if description:
        add_staff_command_description(app, command, description, order)


def add_staff_button(
    app: BotApplication, pattern: str, callback: StaffCallback, *, admin: bool = False
) -> None:
    """Register a staff button handler, checked like a staff command on every press."""

    async def guarded(update: Update, context: BotContext) -> None:
        if await authorize_staff(update, context, admin=admin):
            await callback(update, context)

    app.add_handler(CallbackQueryHandler(guarded, pattern=pattern))


async def staff_help(update: Update, context: BotContext) -> None:
    """List the staff commands, in the district's default language."""
    t = context.staff_texts()
    lines = [t._("Staff commands:")]
    for command, description, _ in sorted(context.bot_data.staff_commands, key=lambda c: c[2]):
        lines.append(f"/{command} - {t._(description)}")
    await answer_in_thread(update, context, "\n".join(lines))


def register(app: BotApplication) -> None:
    from bot.i18n import N_

    add_staff_command(app, "staff", staff_help, N_("List the staff commands"), order=0)
