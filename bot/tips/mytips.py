"""/mytips: a resident's tips, and those they follow, with the current status."""

from __future__ import annotations

from telegram import Update

from bot.common import answer, resident_and_texts
from bot.context import BotContext
from bot.i18n import Texts
from bot.menu import main_menu
from bot.tips.categories import find_category
from bot.tips.status import label as status_label
from storage import tips as store


async def my_tips(update: Update, context: BotContext) -> None:
    resident, t = await resident_and_texts(update, context)
    tips = await store.tips_of_resident(context.db, resident.telegram_id)
    await answer(
        update, context, my_tips_text(t, tips, resident.telegram_id, context), main_menu(t)
    )


def my_tips_text(t: Texts, tips: list[store.Tip], telegram_id: int, context: BotContext) -> str:
    if not tips:
        return t._("You have not sent any tips yet. Press «Report a tip or problem» to send one.")
    lines = [t._("<b>Your tips</b>"), ""]
    for tip in tips:
        chosen = find_category(tip.category)
        name = t._(chosen.label) if chosen else tip.category
        lines.append(t._("<b>{reference}</b> · {topic}", reference=tip.reference, topic=name))
        details = t._(
            "{date} · {status}",
            date=t.date(tip.created_at, context.config.timezone, fmt="medium"),
            status=status_label(t, tip.status),
        )
        if tip.telegram_id != telegram_id:
            details += " · " + t._("you follow it")
        lines.append(details)
        lines.append("")
    return "\n".join(lines).strip()
