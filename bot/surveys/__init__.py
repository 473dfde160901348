"""Surveys that people answer: one tap per question, from a deep link, a QR poster, an
invitation, or the question after an activity.

    definition.py   the TOML format, checked
    answering.py    one question per message, answers stored as given
    invitations.py  who may be invited, through the delivery engine
    feedback.py     the smiley question after an activity
    results.py      counts, chart, CSV and XLSX
    poster.py       the printable QR poster
    management.py   upload, /results, /survey_send
    cli.py          `python -m bot surveys ...`
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BotApplication, BotContext
from bot.i18n import N_
from bot.registry import add_deep_link, add_resident_command
from bot.staff_chat import add_staff_command
from bot.surveys import answering, feedback, management, share


async def _menu(update: Update, context: BotContext) -> None:
    await answering.list_surveys(update, context)


def register(app: BotApplication) -> None:
    app.add_handler(
        CommandHandler("survey", answering.list_surveys, filters=filters.ChatType.PRIVATE)
    )
    app.add_handler(CallbackQueryHandler(_menu, pattern=r"^menu:surveys$"))
    app.add_handler(CallbackQueryHandler(answering.on_button, pattern=r"^sv:"))
    add_deep_link(app, "survey", answering.deep_link)
    add_resident_command(app, "survey", N_("Answer a short survey"), 40)
    add_staff_command(
        app,
        "results",
        management.results_command,
        N_("Results of a survey: /results SLUG"),
        order=40,
    )
    add_staff_command(
        app,
        "survey_send",
        management.send_command,
        N_("Invite residents to a survey: /survey_send SLUG [activity]"),
        admin=True,
        order=41,
    )
    add_staff_command(
        app,
        "results_share",
        share.results_share_command,
        N_("Tell everyone who answered what happens next: /results_share SLUG TEXT"),
        admin=True,
        order=42,
    )
    feedback.schedule(app)
