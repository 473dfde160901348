"""The staff side of tips: status buttons, merging duplicates, follow-up questions (a reply to
any message of a tip), and the export command."""

from __future__ import annotations

import logging
from datetime import date

from telegram import InputFile, Update

from bot import outbox
from bot.context import BotContext, BotData
from bot.i18n import Texts
from bot.staff_chat import answer_in_thread
from bot.tips import export, questions, senders
from bot.tips.categories import label_of
from bot.tips.status import BUTTON_CODES
from bot.tips.status import label as status_label
from storage import audit, tip_questions
from storage import tips as store

log = logging.getLogger(__name__)


async def on_status_button(update: Update, context: BotContext) -> None:
    """`tip:st:<tip id>:<code>`: store who changed the status and when, then tell people."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    t = context.staff_texts()
    parts = query.data.split(":")
    status = BUTTON_CODES.get(parts[3]) if len(parts) == 4 else None
    tip_id = int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else None
    tip = await store.get_tip(context.db, tip_id) if tip_id is not None else None
    if status is None or tip is None:
        await context.ack_stale(update, t)
        return
    change = await store.set_status(context.db, tip.id, status, user.id, context.now())
    if change is None:
        await context.ack(
            update, t._("No change: the status is {status}.", status=status_label(t, tip.status))
        )
        return
    log.info("tip %s set to %s by staff %s", tip.id, status.value, user.id)
    await context.ack(update, t._("Status: {status}", status=status_label(t, status)))
    await senders.refresh_card(context, tip.id, last_change=(user.first_name, context.now()))
    await senders.flush(context)


async def on_merge_button(update: Update, context: BotContext) -> None:
    """`tip:merge:<duplicate>:<original>`: the duplicate's people follow the original."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and query.data is not None and user is not None
    t = context.staff_texts()
    parts = query.data.split(":")
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        await context.ack_stale(update, t)
        return
    duplicate_id, original_id = int(parts[2]), int(parts[3])
    tip = await store.get_tip(context.db, duplicate_id)
    # The button must belong to this tip's card: its hint names the original.
    if tip is None or tip.possible_duplicate_of != original_id:
        await context.ack_stale(update, t)
        return
    change = await store.merge(context.db, duplicate_id, original_id, user.id, context.now())
    if change is None:
        await context.ack(update, t._("These tips cannot be merged."))
        return
    log.info("tip %s merged into %s by staff %s", duplicate_id, original_id, user.id)
    await context.ack(
        update,
        t._("🔗 Merged into {other}", other=store.reference(original_id)),
    )
    await senders.refresh_card(context, duplicate_id)
    await senders.refresh_card(context, original_id)
    original = await store.get_tip(context.db, original_id)
    if original is not None and original.staff_card_message_id:
        # Under the original's card, through the outbox like every other message.
        await outbox.note_to_staff(
            context.db,
            f"tip-merged:{duplicate_id}",
            t._(
                "🔗 {duplicate} was merged into this tip.",
                duplicate=store.reference(duplicate_id),
            ),
            context.now(),
            thread_id=original.staff_thread_id,
            reply_to=original.staff_card_message_id,
        )
    await senders.flush(context)


async def consume_staff_reply(update: Update, context: BotContext) -> bool:
    """A staff member replied to a message of a tip: send it to the resident as a question."""
    message = update.effective_message
    user = update.effective_user
    chat_id = context.config.staff_chat_id
    if message is None or user is None or chat_id is None or message.reply_to_message is None:
        return False
    tip_id = await store.tip_of_staff_message(
        context.db, chat_id, message.reply_to_message.message_id
    )
    if tip_id is None:
        return False
    t = context.staff_texts()
    tip = await store.get_tip(context.db, tip_id)
    text = (message.text or "").strip()
    if tip is None or tip.telegram_id is None:
        await answer_in_thread(update, context, t._("This resident can no longer be reached."))
        return True
    if not text or text.startswith("/"):
        await answer_in_thread(
            update, context, t._("Only text can be sent to the resident as a question.")
        )
        return True
    question_id = await tip_questions.add_question(
        context.db, tip.id, tip.telegram_id, user.id, text, context.now()
    )
    await store.record_staff_message(context.db, chat_id, message.message_id, tip.id, "staff")
    # Through the outbox: sent now, or after an outage; staff read "sent" when it went out.
    thread = message.message_thread_id if message.is_topic_message else None
    await questions.ask_resident(context, question_id, tip.telegram_id, thread, message.message_id)
    return True


async def export_command(update: Update, context: BotContext) -> None:
    """`/tipsexport [csv|xlsx|open311] [YYYY-MM-DD]`: post the export file in the staff chat."""
    t = context.staff_texts()
    args = list(context.args or [])
    fmt = "xlsx"
    since: date | None = None
    for arg in args:
        if arg.lower() in export.FORMATS:
            fmt = arg.lower()
            continue
        try:
            since = date.fromisoformat(arg)
        except ValueError:
            await answer_in_thread(
                update,
                context,
                t._("Use: /tipsexport [csv|xlsx|open311] [YYYY-MM-DD]"),
            )
            return
    try:
        data = await export.export_bytes(context.db, fmt, since, context.config, t)
    except Exception:  # whatever broke, the administrator hears it and the log has the cause
        log.exception("the %s export of tips failed", fmt)
        await answer_in_thread(
            update, context, t._("⚠️ The export could not be made. The error is in the log.")
        )
        return
    user = update.effective_user
    assert user is not None
    await audit.record(
        context.db,
        audit.Actor.staff(user.id, user.first_name),
        audit.Action.EXPORT_TIPS,
        context.now(),
        detail=export.export_detail(fmt, since),
    )
    message = update.effective_message
    thread = message.message_thread_id if message and message.is_topic_message else None
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id,
        InputFile(data, filename=export.file_name(fmt, context.now())),
        message_thread_id=thread,
    )


async def open_tips_header(bot_data: BotData, telegram_id: int, t: Texts) -> list[str]:
    """Lines for the header of a staff case: the resident's open tips, so staff see the whole
    picture (for example that the person asking about the playground reported it last week)."""
    tips = await store.open_tips_for(bot_data.db, telegram_id)
    if not tips:
        return []
    lines = [t._("Open tips from this resident:")]
    for tip in tips[:5]:
        lines.append(
            t._(
                "{reference} · {topic} · {status}",
                reference=tip.reference,
                topic=t._(label_of(tip.category)),
                status=status_label(t, tip.status),
            )
        )
    return lines
