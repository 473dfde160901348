"""Staff tools for surveys: upload a survey file, `/results SLUG`, `/survey_send SLUG [ACTIVITY]`.

All in the staff chat, in the district's default language. Loading and sending are for
administrators (BOT_ADMIN_IDS); results for every staff member.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram import InputFile, Update

from bot.context import BotContext
from bot.i18n import Texts
from bot.staff_chat import answer_in_thread, authorize_staff
from bot.surveys import invitations, results
from bot.surveys.definition import SurveyFileError, localized, parse_survey
from storage import activities, audit
from storage import surveys as store
from storage.db import Database
from storage.surveys import Survey, SurveyChangeError

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 100_000


async def load_survey(
    db: Database, source: str | bytes, default_language: str, now: datetime
) -> tuple[Survey, bool]:
    """Check a survey file and store it; raise `SurveyFileError` for any problem."""
    definition = parse_survey(source, default_language)
    try:
        survey_id, created = await store.save_definition(db, definition, now)
    except SurveyChangeError as error:
        raise SurveyFileError(str(error)) from None
    survey = await store.get(db, survey_id)
    assert survey is not None
    return survey, created


def deep_link(bot_username: str, slug: str) -> str:
    return f"https://t.me/{bot_username}?start=survey-{slug}"


async def upload(update: Update, context: BotContext) -> bool:
    """Staff message consumer: a `.toml` file sent into the staff chat is a survey to load."""
    message = update.effective_message
    document = message.document if message else None
    if document is None or not (document.file_name or "").lower().endswith(".toml"):
        return False
    if not await authorize_staff(update, context, admin=True):
        return True
    t = context.staff_texts()
    if (document.file_size or 0) > MAX_FILE_BYTES:
        await answer_in_thread(update, context, t._("This file is too big for a survey."))
        return True
    data = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        survey, created = await load_survey(
            context.db, data, context.config.default_language, context.now()
        )
    except SurveyFileError as error:
        log.info("survey file rejected")
        await answer_in_thread(
            update,
            context,
            t._(
                "❌ The survey was not saved. Please fix this in the file:\n{problem}",
                problem=str(error),
            ),
        )
        return True
    log.info("survey %s %s from the staff chat", survey.id, "added" if created else "updated")
    await answer_in_thread(
        update,
        context,
        saved_text(t, survey, created, context.bot.username, context.config.default_language),
    )
    return True


def saved_text(t: Texts, survey: Survey, created: bool, bot_username: str, default: str) -> str:
    headline = (
        t._("✅ New survey saved: {title}", title=localized(survey.title, t.language, default))
        if created
        else t._("✅ Survey updated: {title}", title=localized(survey.title, t.language, default))
    )
    return "\n".join(
        [
            headline,
            t.n_("{count} question", "{count} questions", len(survey.questions)),
            t._("Link for residents: {link}", link=deep_link(bot_username, survey.slug)),
            t._("Send it: /survey_send {slug}", slug=survey.slug),
        ]
    )


async def results_command(update: Update, context: BotContext) -> None:
    """`/results SLUG`: numbers, a bar chart of the smiley questions, choices and comments."""
    t = context.staff_texts()
    default = context.config.default_language
    if not context.args:
        await answer_in_thread(update, context, await _usage(context, t, "/results"))
        return
    survey = await store.by_slug(context.db, context.args[0].lower(), all_questions=True)
    if survey is None:
        await answer_in_thread(
            update, context, t._("There is no survey called {slug}.", slug=context.args[0])
        )
        return
    summary = await results.summarize(context.db, survey)
    user = update.effective_user
    if not survey.anonymous and user is not None:
        await audit.record(
            context.db,
            audit.Actor.staff(user.id, user.first_name),
            audit.Action.EXPORT_SURVEY,
            context.now(),
            subject=survey.slug,
            detail="/results",
        )
    chart = await asyncio.to_thread(results.smiley_chart, t, summary)
    message = update.effective_message
    thread_id = message.message_thread_id if message and message.is_topic_message else None
    if chart is not None:
        await context.bot.send_photo(
            context.config.staff_chat_id,  # type: ignore[arg-type]
            InputFile(chart, filename=f"{survey.slug}.png"),
            caption=t._("Smileys for {title}", title=localized(survey.title, t.language, default)),
            parse_mode="HTML",
            message_thread_id=thread_id,
        )
    for text in results.render_summary(t, summary, default):
        await answer_in_thread(update, context, text)


async def send_command(update: Update, context: BotContext) -> None:
    """`/survey_send SLUG [ACTIVITY_ID]`: invite subscribers, or who said "I'm going"."""
    t = context.staff_texts()
    args = context.args or []
    if not args or len(args) > 2 or (len(args) == 2 and not args[1].isdigit()):
        await answer_in_thread(update, context, await _usage(context, t, "/survey_send"))
        return
    survey = await store.by_slug(context.db, args[0].lower())
    if survey is None:
        await answer_in_thread(
            update, context, t._("There is no survey called {slug}.", slug=args[0])
        )
        return
    today = context.now().astimezone(context.config.timezone).date()
    if not survey.is_open(today):
        await answer_in_thread(
            update,
            context,
            t._("The survey {slug} is not open today, so nobody was invited.", slug=survey.slug),
        )
        return
    if len(args) == 2:
        activity = await activities.get(context.db, int(args[1]))
        if activity is None:
            await answer_in_thread(update, context, t._("There is no activity {id}.", id=args[1]))
            return
        candidates = await activities.going_residents(context.db, activity.id)
    else:
        candidates = [s.telegram_id for s in await activities.active_subscribers(context.db)]
    chosen = await invitations.choose(context.bot_data, survey, candidates, context.now())
    edition = await invitations.enqueue_invitations(
        context.bot_data, survey, chosen, context.now()
    )
    await answer_in_thread(
        update,
        context,
        t.n_(
            "Inviting {count} resident to {slug}.",
            "Inviting {count} residents to {slug}.",
            len(chosen.invited),
            slug=survey.slug,
        )
        + "\n"
        + t._(
            "Not invited: {already} answered or invited before, {recent} got an invitation"
            " this week, {busy} are talking with staff.",
            already=chosen.already + chosen.unknown,
            recent=chosen.recently_invited,
            busy=chosen.busy,
        ),
    )
    if chosen.invited:
        reports = await invitations.deliver_invitations(context.bot_data, edition)
        report = reports[0]
        await answer_in_thread(
            update,
            context,
            t._(
                "Invitations sent: {sent}. Blocked the bot: {blocked}. Failed: {failed}.",
                sent=report.sent,
                blocked=report.blocked,
                failed=report.failed,
            ),
        )


async def _usage(context: BotContext, t: Texts, command: str) -> str:
    slugs = [s.slug for s in await store.all_surveys(context.db) if s.activity_id is None]
    text = t._(
        "Write the survey's short name after the command, like this: {example}",
        example=f"{command} park-2026",
    )
    if slugs:
        text += "\n" + t._("Surveys: {slugs}", slugs=", ".join(slugs))
    return text
