"""The command menus, set with setMyCommands for every shipped language and for staff."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from bot.context import BotApplication
from bot.i18n import SUPPORTED_LANGUAGES, client_codes

log = logging.getLogger(__name__)


async def publish_commands(app: BotApplication) -> None:
    data = app.bot_data
    resident_commands = sorted(data.resident_commands, key=lambda item: item[2])
    for language in SUPPORTED_LANGUAGES:
        t = data.catalogs.texts(language)
        commands = [
            BotCommand(name, t._(description)) for name, description, _ in resident_commands
        ]
        for code in client_codes(language):
            await app.bot.set_my_commands(
                commands, scope=BotCommandScopeAllPrivateChats(), language_code=code
            )
        if language == data.config.default_language:
            # Clients in languages we do not ship get the district's default language.
            await app.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
    staff_chat = data.config.staff_chat_id
    if staff_chat is not None and data.staff_commands:
        t = data.staff_texts()
        staff = sorted(data.staff_commands, key=lambda item: item[2])
        try:
            await app.bot.set_my_commands(
                [BotCommand(name, t._(description)) for name, description, _ in staff],
                scope=BotCommandScopeChat(staff_chat),
            )
        except TelegramError as error:
            log.warning("could not set the staff chat's commands: %s", error)
