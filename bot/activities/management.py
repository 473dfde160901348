"""Staff and organisers: importing files, adding and cancelling single activities, the digest
preview, registering volunteer organisers, and reviewing their proposals."""

from __future__ import annotations

import csv
import html
import io
import logging
from datetime import tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import TelegramError

from bot.activities import forms, notices
from bot.activities.digest import preview_parts
from bot.activities.importer import (
    ImportSummary,
    import_file,
    is_calendar_file,
    is_csv_file,
    store_series,
)
from bot.activities.render import NOTICE_MARKS, coming_week, render_activity
from bot.common import answer, resident_and_texts, send
from bot.context import BotContext, BotData
from bot.i18n import SUPPORTED_LANGUAGES, Raw, Texts, normalize_language
from bot.staff_chat import answer_in_thread, refuse_admin
from storage import activities, audit

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ERRORS_SHOWN = 20
#: Activities shown by /activity_list (a few weeks of a busy district).
LIST_LIMIT = 40


def import_report(t: Texts, summary: ImportSummary) -> str:
    lines = [
        t._(
            "Import done: {added} new, {updated} updated, {cancelled} cancelled.",
            added=summary.added,
            updated=summary.updated,
            cancelled=summary.cancelled,
        )
    ]
    if summary.errors:
        lines.append(t.n_("{count} problem:", "{count} problems:", len(summary.errors)))
        for line, problem in summary.errors[:MAX_ERRORS_SHOWN]:
            lines.append(t._("Line {line}: {problem}", line=line, problem=Raw(problem.text(t))))
    return "\n".join(lines)


async def upload_consumer(update: Update, context: BotContext) -> bool:
    """An .ics or .csv file sent into the staff chat is imported (administrators only)."""
    message = update.effective_message
    user = update.effective_user
    if message is None or message.document is None or user is None:
        return False
    name = message.document.file_name or ""
    if not (is_calendar_file(name) or is_csv_file(name)):
        return False
    if user.id not in context.config.admin_ids:
        await refuse_admin(update, context)
        return True
    t = context.staff_texts()
    if (message.document.file_size or 0) > MAX_FILE_BYTES:
        await answer_in_thread(update, context, t._("The file is too big (at most 5 MB)."))
        return True
    file = await message.document.get_file()
    data = bytes(await file.download_as_bytearray())
    summary = await import_file(context.db, name, data, context.config.timezone, context.now())
    notices.send_soon(context)  # cancellations and new times reach those going
    log.info(
        "imported a %s file: %d series, %d problems",
        name[-4:],
        summary.series,
        len(summary.errors),
    )
    await answer_in_thread(update, context, import_report(t, summary))
    return True


# --- single activities ---
def _thread_of(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


async def activity_add(update: Update, context: BotContext) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    form = forms.new_form("staff", user.id, message.chat_id, _thread_of(message), context.now())
    await activities.save_form(context.db, form)
    await answer_in_thread(
        update, context, forms.ask(context.staff_texts(), forms.current_step(form))
    )


async def staff_form_message(update: Update, context: BotContext) -> bool:
    """Staff chat route: the answer to the staff member's form, in the chat and forum topic
    where they started it (`/cancel` there stops it)."""
    message, user = update.effective_message, update.effective_user
    if message is None or message.text is None or user is None:
        return False
    form = await activities.form_of(context.db, user.id)
    if (
        not forms.is_live(form, context.now())
        or form is None
        or form.kind != "staff"
        or (form.chat_id, form.thread_id) != (message.chat_id, _thread_of(message))
    ):
        return False
    t = context.staff_texts()
    if message.text.strip().lower().startswith("/cancel"):
        await activities.delete_form(context.db, user.id)
        await answer_in_thread(update, context, t._("OK, I stopped."))
        return True
    if message.text.startswith("/"):
        return False
    form, step, retry = forms.answer_form(
        form, message.text, message.message_id, context.config.timezone, context.now()
    )
    if step is not None:
        await activities.save_form(context.db, form)
        await answer_in_thread(update, context, forms.ask(t, step, retry))
        return True
    series = forms.series_from_form(form)
    await store_series(context.db, series, context.config.timezone, context.now())
    await activities.delete_form(context.db, user.id)  # only now: nothing is lost in a crash
    saved = await activities.series_activities(context.db, series.uid)
    text = t._("Saved. It is listed now:")
    if saved:
        text += "\n\n" + render_activity(t, saved[0], context.config.timezone, None)
    await answer_in_thread(update, context, text)
    return True


async def activity_cancel(update: Update, context: BotContext) -> None:
    """`/activity_cancel ID`, or without an id: pick one of the coming week's activities."""
    t = context.staff_texts()
    tz = context.config.timezone
    if context.args and context.args[0].isdigit():
        activity = await activities.get(context.db, int(context.args[0]))
        if activity is None:
            await answer_in_thread(update, context, t._("There is no activity with that number."))
            return
        await activities.cancel_activity(context.db, activity.id, context.now())
        notices.send_soon(context)
        await answer_in_thread(
            update,
            context,
            t._(
                "Cancelled: {title}, {day}.",
                title=activity.title,
                day=t.datetime(activity.starts_at, tz, "short"),
            ),
        )
        return
    start, end = coming_week(context.now(), tz)
    items = await activities.listed_between(context.db, start, end)
    if not items:
        await answer_in_thread(update, context, t._("No activities in the coming 7 days."))
        return
    rows = [
        [
            InlineKeyboardButton(
                f"❌ {t.datetime(a.starts_at, tz, 'short')} {a.title}"[:60],
                callback_data=f"act:cancel:{a.id}",
            )
        ]
        for a in items[:30]
    ]
    await answer_in_thread(
        update,
        context,
        t._("Which activity is cancelled? (Or write /activity_cancel NUMBER.)"),
        keyboard=InlineKeyboardMarkup(rows),
    )


async def cancel_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    t = context.staff_texts()
    raw = query.data.rsplit(":", 1)[1]
    activity = await activities.get(context.db, int(raw)) if raw.isdigit() else None
    if activity is None:
        await context.ack_stale(update, t)
        return
    changed = await activities.cancel_activity(context.db, activity.id, context.now())
    if changed:
        notices.send_soon(context)
    user = update.effective_user
    await context.ack(update, t._("Cancelled.") if changed else t._("It was already cancelled."))
    if changed and query.message is not None:
        await answer_in_thread(
            update,
            context,
            t._(
                "{name} cancelled {title}, {day}.",
                name=user.first_name if user else "",
                title=activity.title,
                day=t.datetime(activity.starts_at, context.config.timezone, "short"),
            ),
        )


async def activity_list(update: Update, context: BotContext) -> None:
    """`/activity_list`: the coming activities with their number, time, places and waiting
    list (the number is what /activity_cancel and /activity_export take)."""
    t = context.staff_texts()
    tz = context.config.timezone
    rows = await activities.upcoming_with_counts(context.db, context.now(), LIST_LIMIT)
    if not rows:
        await answer_in_thread(update, context, t._("No coming activities."))
        return
    lines = []
    for row in rows:
        activity = row.activity
        parts = [f"#{activity.id}", t.datetime(activity.starts_at, tz, "short"), activity.title]
        if activity.capacity is not None:
            parts.append(
                t._("places: {going}/{capacity}", going=row.going, capacity=activity.capacity)
            )
        else:
            parts.append(t._("going: {count}", count=row.going))
        if row.waiting:
            parts.append(t._("waiting list: {count}", count=row.waiting))
        if activity.cancelled:
            parts.append(t._(NOTICE_MARKS["cancelled"]))
        lines.append(html.escape(" · ".join(parts), quote=False))
    await answer_in_thread(update, context, "\n".join(lines))


def export_csv(t: Texts, rows: list[activities.ExportRow], tz: tzinfo) -> bytes:
    """The list for the organisers: a first name only where the resident allowed it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "name", "list", "since"])
    for row in rows:
        writer.writerow(
            [
                row.number,
                row.first_name or t._("anonymous #{number}", number=row.number),
                "waiting" if row.waiting else "going",
                row.since.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return out.getvalue().encode("utf-8-sig")  # a spreadsheet reads the BOM as UTF-8


async def activity_export(update: Update, context: BotContext) -> None:
    """`/activity_export ID`: the list as a CSV file in the staff chat; an export of personal
    data, so it is recorded in the audit trail."""
    t = context.staff_texts()
    activity = None
    if context.args and context.args[0].lstrip("#").isdigit():
        activity = await activities.get(context.db, int(context.args[0].lstrip("#")))
    if activity is None:
        await answer_in_thread(
            update, context, t._("Write /activity_export NUMBER (the number from /activity_list).")
        )
        return
    rows = await activities.export_list(context.db, activity.id)
    tz = context.config.timezone
    user = update.effective_user
    assert user is not None
    await audit.record(
        context.db,
        audit.Actor.staff(user.id, user.first_name),
        audit.Action.EXPORT_ACTIVITY_LIST,
        context.now(),
        subject=f"activity {activity.id}",
        detail=f"{len(rows)} rows",
    )
    message, chat = update.effective_message, update.effective_chat
    assert chat is not None
    waiting = sum(row.waiting for row in rows)
    await context.bot.send_document(
        chat.id,
        InputFile(export_csv(t, rows, tz), filename=f"activity-{activity.id}.csv"),
        caption=t._(
            "«{title}», {day}: {going} with a place, {waiting} on the waiting list.",
            title=activity.title,
            day=t.datetime(activity.starts_at, tz, "short"),
            going=len(rows) - waiting,
            waiting=waiting,
        ),
        parse_mode="HTML",
        message_thread_id=message.message_thread_id
        if message and message.is_topic_message
        else None,
    )


async def digest_preview(update: Update, context: BotContext) -> None:
    """`/digest [lang]`: this week's list as a subscriber to everything sees it."""
    requested = context.args[0] if context.args else context.config.default_language
    language = normalize_language(requested)  # `fa` and `fa_AF` both mean Dari
    t = context.staff_texts()
    if language is None:
        await answer_in_thread(
            update, context, t._("Languages: {codes}", codes=", ".join(SUPPORTED_LANGUAGES))
        )
        return
    start, end = coming_week(context.now(), context.config.timezone)
    items = await activities.listed_between(context.db, start, end)
    if not items:
        await answer_in_thread(update, context, t._("No activities in the coming 7 days."))
        return
    for part in preview_parts(context.texts(language), items, context.config):
        markup = (
            InlineKeyboardMarkup.de_json(part.reply_markup, context.bot)
            if part.reply_markup is not None
            else None
        )
        await answer_in_thread(update, context, part.text, keyboard=markup)


# --- organisers ---
async def organiser_add(update: Update, context: BotContext) -> None:
    """`/organiser_add ID Name` or, replying to a message, `/organiser_add Name`."""
    t = context.staff_texts()
    message = update.effective_message
    assert message is not None
    args = list(context.args or [])
    target = None
    replied = message.reply_to_message
    if replied is not None and replied.from_user and not replied.from_user.is_bot:
        target = replied.from_user.id
    elif args and args[0].lstrip("-").isdigit():
        target = int(args.pop(0))
    if target is None:
        await answer_in_thread(
            update,
            context,
            t._("Write /organiser_add TELEGRAM-ID Name, or reply to their message."),
        )
        return
    name = " ".join(args)[:100]
    user = update.effective_user
    added = await activities.add_organiser(
        context.db, target, name, user.id if user else None, context.now()
    )
    await answer_in_thread(
        update,
        context,
        t._("{id} is an organiser now. They can send /propose to the bot.", id=target)
        if added
        else t._("{id} is already an organiser.", id=target),
    )


async def organiser_remove(update: Update, context: BotContext) -> None:
    t = context.staff_texts()
    if not context.args or not context.args[0].isdigit():
        await answer_in_thread(update, context, t._("Write /organiser_remove TELEGRAM-ID."))
        return
    removed = await activities.remove_organiser(context.db, int(context.args[0]))
    await answer_in_thread(
        update,
        context,
        t._("Removed.") if removed else t._("That person is not an organiser."),
    )


async def propose(update: Update, context: BotContext) -> None:
    """An organiser starts a proposal in their private chat."""
    resident, t = await resident_and_texts(update, context)
    if await activities.organiser_name(context.db, resident.telegram_id) is None:
        await answer(
            update,
            context,
            t._("Only registered organisers can suggest activities. Ask the district office."),
        )
        return
    form = forms.new_form(
        "organiser", resident.telegram_id, resident.telegram_id, None, context.now()
    )
    await activities.save_form(context.db, form)
    await answer(
        update,
        context,
        t._("Thank you for sharing an activity! I ask you a few short questions.")
        + "\n\n"
        + forms.ask(t, forms.current_step(form)),
    )


async def is_proposing(data: BotData, telegram_id: int) -> bool:
    """Active: the organiser is answering the /propose questions in their private chat."""
    form = await activities.form_of(data.db, telegram_id)
    return (
        forms.is_live(form, data.clock())
        and form is not None
        and form.kind == "organiser"
        and form.chat_id == telegram_id
    )


async def cancel_form(update: Update, context: BotContext) -> bool:
    """/cancel in the private chat ends the person's activity form, if one is going on."""
    user = update.effective_user
    if user is None:
        return False
    form = await activities.form_of(context.db, user.id)
    if form is None:
        return False
    await activities.delete_form(context.db, user.id)
    return forms.is_live(form, context.now())


async def organiser_form_message(update: Update, context: BotContext) -> bool:
    """The proposal conversation: the organiser's answer to the question waiting."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return False
    form = await activities.form_of(context.db, user.id)
    if form is None or form.kind != "organiser":
        return False
    resident, t = await resident_and_texts(update, context)
    if message.text is None:
        await answer(update, context, t._("Please answer with text."))
        return True
    form, step, retry = forms.answer_form(
        form, message.text, message.message_id, context.config.timezone, context.now()
    )
    if step is not None:
        await activities.save_form(context.db, form)
        await answer(update, context, forms.ask(t, step, retry))
        return True
    name = await activities.organiser_name(context.db, resident.telegram_id)
    if name is None:  # removed while writing
        await activities.delete_form(context.db, resident.telegram_id)
        await answer(update, context, t._("Sorry, you are not an organiser any more."))
        return True
    series = forms.series_from_form(form, organiser=name)
    await store_series(
        context.db,
        series,
        context.config.timezone,
        context.now(),
        status="proposed",
        proposed_by=resident.telegram_id,
    )
    await activities.delete_form(context.db, resident.telegram_id)  # only now: nothing lost
    await answer(update, context, t._("Thank you! Staff will look at it soon. 🙏"))
    await post_proposal(context, series.uid, name)
    return True


async def post_proposal(context: BotContext, uid: str, organiser: str) -> None:
    staff_chat = context.config.staff_chat_id
    saved = await activities.series_activities(context.db, uid)
    if staff_chat is None or not saved:
        return
    t = context.staff_texts()
    text = (
        t._("🙋 New activity from the organiser {name}:", name=organiser or "?")
        + "\n\n"
        + render_activity(t, saved[0], context.config.timezone, None)
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t._("✅ Approve"), callback_data=f"act:ok:{uid}"),
                InlineKeyboardButton(t._("❌ Reject"), callback_data=f"act:no:{uid}"),
            ]
        ]
    )
    try:
        await send(context, staff_chat, text, keyboard)
    except TelegramError as error:
        log.warning("could not post a proposal to the staff chat: %s", error)


async def review_button(update: Update, context: BotContext) -> None:
    """Approve or reject a proposal; the organiser is told in their language."""
    query = update.callback_query
    assert query is not None and query.data is not None
    t = context.staff_texts()
    _, action, uid = query.data.split(":", 2)
    approve = action == "ok"
    changed = await activities.set_series_status(
        context.db, uid, "listed" if approve else "rejected", context.now()
    )
    saved = await activities.series_activities(context.db, uid)
    if not changed or not saved:
        await context.ack(update, t._("This was decided already."))
        return
    await context.ack(update, t._("Approved.") if approve else t._("Rejected."))
    user = update.effective_user
    name = user.first_name if user else ""
    title = saved[0].title
    await answer_in_thread(
        update,
        context,
        t._("{name} approved «{title}».", name=name, title=title)
        if approve
        else t._("{name} rejected «{title}».", name=name, title=title),
    )
    organiser = saved[0].proposed_by
    if organiser is not None:
        await tell_organiser(context, organiser, saved[0].title, approve)


async def tell_organiser(context: BotContext, telegram_id: int, title: str, approve: bool) -> None:
    from storage import residents

    resident = await residents.get(context.db, telegram_id)
    t = context.texts(resident.language if resident else None)
    text = (
        t._("Good news: «{title}» is now in the list of activities. Thank you!", title=title)
        if approve
        else t._("«{title}» was not added to the list. Ask the district office why.", title=title)
    )
    try:
        await send(context, telegram_id, text)
    except TelegramError as error:
        log.info("could not tell an organiser about a review: %s", error)
