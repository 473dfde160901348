"""Residents stop or start announcements, separately from the weekly list: the button under
each announcement, or `/announcements off|on`."""

from __future__ import annotations

from telegram import Update

from bot.common import answer, current_resident
from bot.context import BotContext
from bot.i18n import Texts
from storage import announcements as store

OFF_WORDS = frozenset({"off", "stop", "av", "nei", "no"})
ON_WORDS = frozenset({"on", "start", "på", "ja", "yes"})


async def stop_button(update: Update, context: BotContext) -> None:
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    await store.stop(context.db, resident.telegram_id, context.now())
    await answer(update, context, _stopped_text(t))


def _stopped_text(t: Texts) -> str:
    return t._(
        "OK. You will not get announcements any more. The weekly list does not change. "
        "Start again: /announcements on"
    )


async def command(update: Update, context: BotContext) -> None:
    """`/announcements off|on`; without a word it says what is set."""
    resident, _ = await current_resident(update, context)
    t = context.texts(resident.language)
    word = (context.args[0].lower() if context.args else "").strip()
    if word in OFF_WORDS:
        await store.stop(context.db, resident.telegram_id, context.now())
        await answer(update, context, _stopped_text(t))
    elif word in ON_WORDS:
        await store.resume(context.db, resident.telegram_id)
        await answer(update, context, t._("OK. You get announcements from the district again."))
    else:
        stopped = await store.stopped(context.db, resident.telegram_id)
        await answer(
            update,
            context,
            (
                t._("You do not get announcements. Start them: /announcements on")
                if stopped
                else t._("You get announcements from the district. Stop them: /announcements off")
            ),
        )
