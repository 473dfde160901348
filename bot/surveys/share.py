""" "You said, we did": `/results_share SLUG WHAT HAPPENS NEXT` tells everyone who answered a
survey what came out of it and what the district will do, in their own language.

Residents who give their time to a survey rarely hear back; telling them closes the loop and
makes them answer the next one. The message goes through the delivery engine (throttled,
crash-safe) as one edition per survey, so each participant gets it once, even when staff send
the command twice or the bot restarts in the middle.
"""

from __future__ import annotations

from babel.numbers import format_decimal
from telegram import Update

from bot.context import BotContext
from bot.delivery import OutboxItem, deliver, delivery_bot, enqueue
from bot.i18n import Texts
from bot.staff_chat import answer_in_thread
from bot.surveys import results
from bot.surveys.definition import localized
from storage import residents
from storage import surveys as store
from storage.outbox import edition_exists

EDITION_PREFIX = "results-"
#: Room left for the summary in one Telegram message (4096 characters).
MESSAGE_LIMIT = 1500


def share_message(t: Texts, summary: results.Summary, staff_text: str, default: str) -> str:
    """The short summary in the participant's language, then the staff's words as written."""
    survey = summary.survey
    lines = [
        t._(
            "📣 <b>You said, we did: {title}</b>",
            title=localized(survey.title, t.language, default),
        ),
        t.n_(
            "{count} person answered. Thank you!",
            "{count} people answered. Thank you!",
            summary.responses,
        ),
    ]
    for result in summary.questions:
        if result.average is None:
            continue
        lines.append(
            t._(
                "{question}: {average} of 5",
                question=localized(result.question.text, t.language, default),
                average=format_decimal(result.average, "0.0", locale=t.locale),
            )
        )
    lines += ["", t._("<b>From the district office:</b>\n{text}", text=staff_text)]
    return "\n".join(lines)


async def results_share_command(update: Update, context: BotContext) -> None:
    """`/results_share SLUG TEXT`: share the results and the staff's TEXT with participants."""
    t = context.staff_texts()
    message = update.effective_message
    raw = (message.text or "") if message else ""
    parts = raw.split(maxsplit=2)
    if len(parts) < 3:
        await answer_in_thread(
            update,
            context,
            t._(
                "Write the survey's short name and what happens next, like this: {example}",
                example="/results_share park-2026 We will put new benches by the pond in May.",
            ),
        )
        return
    slug, staff_text = parts[1].lower(), parts[2].strip()
    if len(staff_text) > MESSAGE_LIMIT:
        await answer_in_thread(
            update,
            context,
            t._("Please make the text shorter (at most {limit} characters).", limit=MESSAGE_LIMIT),
        )
        return
    survey = await store.by_slug(context.db, slug, all_questions=True)
    if survey is None:
        await answer_in_thread(
            update, context, t._("There is no survey called {slug}.", slug=slug)
        )
        return
    edition = f"{EDITION_PREFIX}{survey.id}"
    if await edition_exists(context.db, edition):
        await answer_in_thread(
            update,
            context,
            t._("The results of {slug} were shared already; nobody gets them twice.", slug=slug),
        )
        return
    summary = await results.summarize(context.db, survey)
    default = context.config.default_language
    items = []
    for resident_id in await store.participants(context.db, survey.id):
        resident = await residents.get(context.db, resident_id)
        texts = context.texts(resident.language if resident else default)
        items.append(
            OutboxItem(
                chat_id=resident_id,
                text=share_message(texts, summary, staff_text, default),
                resident_id=resident_id,
            )
        )
    await enqueue(context.db, edition, items, context.now())
    await answer_in_thread(
        update,
        context,
        t.n_(
            "Sharing the results of {slug} with {count} resident.",
            "Sharing the results of {slug} with {count} residents.",
            len(items),
            slug=survey.slug,
        ),
    )
    if not items:
        return
    async with delivery_bot(context.config) as bot:
        report = await deliver(bot, context.db, edition, rate=context.config.delivery_rate)
    await answer_in_thread(
        update,
        context,
        t._(
            "Results shared: {sent}. Blocked the bot: {blocked}. Failed: {failed}.",
            sent=report.sent,
            blocked=report.blocked,
            failed=report.failed,
        ),
    )
