"""Feedback after activities: "How many smileys do you give it?" to those who said they'd come.

A repeating job looks for activities that ended recently. For each one it makes a small
anonymous survey (a smiley question and an optional comment, in every language) and invites
the residents who pressed "I'm going", through the delivery engine and the invitation rules
(one invitation a week, none during a conversation with staff). An activity is marked handled
in the same transaction that records its invitations, so a restart sends nothing twice; the
look-back window means an activity that ended while the bot was down is still asked about.

On by default; `BOT_ACTIVITY_FEEDBACK=off` switches it off.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta

from bot.context import BotApplication, BotContext, BotData
from bot.i18n import N_, SUPPORTED_LANGUAGES
from bot.surveys import invitations
from bot.surveys.definition import QuestionDef, SurveyDef
from storage import activities
from storage import surveys as store
from storage.activities import Activity

log = logging.getLogger(__name__)

JOB_NAME = "survey-activity-feedback"
INTERVAL = timedelta(minutes=15)
#: Activities that ended up to this long ago are still asked about (after downtime).
LOOK_BACK = timedelta(days=2)
#: Feedback can be given for this long after the activity.
OPEN_FOR = timedelta(days=14)
#: A survey left halfway is ended after this long (its answers stay).
STALE_SESSION = timedelta(days=1)
#: No invitations at night (local time): they wait for the morning.
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)

RATING_QUESTION = N_("How many smileys do you give «{activity}»?")
COMMENT_QUESTION = N_("Do you want to tell us more? Write it here.")
FEEDBACK_TITLE = N_("Feedback: {activity}")
FEEDBACK_INTRO = N_("You said you would come to «{activity}». Thank you! 😊")


def plain(data: BotData, language: str, message: str, **values: str) -> str:
    """A translated message filled with plain (unescaped) values, for storing as survey text.

    Survey texts are plain text and are escaped when shown; escaping here too would show
    `&amp;` to the resident.
    """
    translated = data.catalogs.texts(language).translations.gettext(message)
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), translated)


def feedback_definition(data: BotData, activity: Activity) -> SurveyDef:
    """The two-question survey for one activity, in every shipped language."""

    def each(message: str) -> dict[str, str]:
        return {
            language: plain(data, language, message, activity=activity.title_in(language))
            for language in SUPPORTED_LANGUAGES
        }

    day = activity.ends_at.astimezone(data.config.timezone).date()
    return SurveyDef(
        slug=f"activity-{activity.id}",
        title=each(FEEDBACK_TITLE),
        anonymous=True,
        opens_on=day,
        closes_on=day + OPEN_FOR,
        questions=(
            QuestionDef("rating", "smiley", each(RATING_QUESTION), optional=False),
            QuestionDef("comment", "text", each(COMMENT_QUESTION), optional=True),
        ),
    )


def is_quiet(now: datetime, data: BotData) -> bool:
    local = now.astimezone(data.config.timezone).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


async def feedback_round(data: BotData, now: datetime) -> list[str]:
    """Queue feedback questions for activities that ended; return the editions queued."""
    if is_quiet(now, data):
        return []
    editions = []
    for activity in await activities.activities_ended_between(data.db, now - LOOK_BACK, now):
        if await store.feedback_done(data.db, activity.id):
            continue
        edition = await _ask_about(data, activity, now)
        if edition:
            editions.append(edition)
    return editions


async def _ask_about(data: BotData, activity: Activity, now: datetime) -> str | None:
    going = await activities.going_residents(data.db, activity.id)
    if not going:
        async with data.db.transaction() as tx:
            await store.mark_feedback_done(tx, activity.id, None, now)
        return None
    survey = await store.by_activity(data.db, activity.id)
    if survey is None:
        survey_id, _ = await store.save_definition(
            data.db, feedback_definition(data, activity), now, activity_id=activity.id
        )
        survey = await store.get(data.db, survey_id)
    assert survey is not None
    chosen = await invitations.choose(data, survey, going, now)
    # HTML, not plain text: this goes into the message as it is (the title escaped).
    intro = {
        language: data.catalogs.texts(language)._(
            FEEDBACK_INTRO, activity=activity.title_in(language)
        )
        for language in SUPPORTED_LANGUAGES
    }
    edition = await invitations.enqueue_invitations(
        data, survey, chosen, now, first_question_intro=intro
    )
    async with data.db.transaction() as tx:
        await store.mark_feedback_done(tx, activity.id, survey.id, now)
    log.info(
        "activity %s: feedback asked of %d, %d held back",
        activity.id,
        len(chosen.invited),
        chosen.skipped,
    )
    return edition


async def invitations_job(context: BotContext) -> None:
    """The repeating job: end abandoned sessions, queue feedback that is due (unless switched
    off), then send every survey invitation still pending (also those a restart interrupted)."""
    data = context.bot_data
    await store.end_stale_sessions(data.db, context.now() - STALE_SESSION)
    if data.config.activity_feedback:
        await feedback_round(data, context.now())
    if await invitations.pending_editions(data):
        await invitations.deliver_invitations(data)


def schedule(app: BotApplication) -> None:
    if app.job_queue is None:
        return
    app.job_queue.run_repeating(
        invitations_job, interval=INTERVAL, first=timedelta(seconds=30), name=JOB_NAME
    )
