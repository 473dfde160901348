"""The tip flow's buttons, `tip:<action>[:<value>]` (all listed in `BUTTONS`): each acts only
in the steps listed for it, and only on the presser's own draft."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from telegram import Update

from bot.common import answer, current_resident, resident_and_texts
from bot.context import BotContext
from bot.i18n import Texts
from bot.menu import main_menu
from bot.tips import senders
from bot.tips.categories import find_category
from bot.tips.drafting import (
    after_category,
    ask_confirmation,
    ask_description,
    ask_identity,
    ask_place,
    flood_text,
    has_description,
    live_draft,
    over_flood_limit,
    similar_open_tip,
)
from bot.tips.keyboards import describe_keyboard
from bot.tips.messages import cancel_draft
from bot.tips.steps import TipStep
from storage import tip_drafts as store
from storage import tips
from storage.tip_drafts import Draft

log = logging.getLogger(__name__)

#: A press of "Send the tip" this soon after the tip was stored repeats the thanks.
RESEND_THANKS_WITHIN = timedelta(minutes=10)

ButtonHandler = Callable[[Update, BotContext, Texts, Draft, str], Awaitable[None]]


async def on_button(update: Update, context: BotContext) -> None:
    """Every resident button of the tip flow: `tip:<action>[:<value>]`.

    The draft is the resident's own (keyed by their Telegram id), so a button can only act on
    the presser's draft; a button whose step has passed, or of an abandoned draft, says so.
    """
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, *rest = query.data.split(":")
    value = rest[0] if rest else ""
    resident, t = await resident_and_texts(update, context)
    if action == CANCEL:
        await cancel_draft(update, context)
        await answer(
            update, context, t._("OK, the tip was deleted. Nothing was sent."), main_menu(t)
        )
        return
    draft = await live_draft(context, resident.telegram_id)
    if draft is None and action == "send" and await _sent_just_now(update, context, t):
        return
    if draft is None:
        await answer(
            update,
            context,
            t._("This tip is no longer open. You can start a new one."),
            main_menu(t),
        )
        return
    button = BUTTONS.get(action)
    if button is None or draft.step not in button.steps:
        await context.ack_stale(update, t)
        return
    await button.handler(update, context, t, draft, value)


async def _choose_category(
    update: Update, context: BotContext, t: Texts, draft: Draft, value: str
) -> None:
    chosen = find_category(value)
    if chosen is None:
        await context.ack_stale(update, t)
        return
    await after_category(update, context, t, chosen)


async def _send_here(
    update: Update, context: BotContext, t: Texts, draft: Draft, value: str
) -> None:
    chosen = find_category(draft.category)
    if chosen is None:
        await context.ack_stale(update, t)
        return
    await ask_place(update, context, t, draft.telegram_id, chosen)


async def _done_describing(
    update: Update, context: BotContext, t: Texts, draft: Draft, value: str
) -> None:
    if draft.step == TipStep.IDENTITY:
        # Pressed before (or handled again after a crash cut it short): ask the question again.
        await context.ack(update)
        await ask_identity(update, context, t, draft.telegram_id)
        return
    if not has_description(draft):
        await context.ack(update)
        await answer(
            update,
            context,
            t._("Please tell us what is wrong first: write a few words or send a voice message."),
            describe_keyboard(t),
        )
        return
    await ask_identity(update, context, t, draft.telegram_id)


async def _choose_identity(
    update: Update, context: BotContext, t: Texts, draft: Draft, value: str
) -> None:
    # "confirm": chosen before (or handled again after a crash): the new choice counts, and
    # the summary is shown again.
    if value not in ("0", "1"):
        await context.ack_stale(update, t)
        return
    await store.update_draft(context.db, draft.telegram_id, context.now(), show_name=int(value))
    chosen = await store.get_draft(context.db, draft.telegram_id)
    assert chosen is not None
    await ask_confirmation(update, context, t, chosen)


async def _me_too(update: Update, context: BotContext, t: Texts, draft: Draft, value: str) -> None:
    """Follow the tip that was offered to this resident (and only that one)."""
    if str(draft.similar_tip_id) != value:
        await context.ack_stale(update, t)
        return
    tip_id = int(value)
    tip = await tips.get_tip(context.db, tip_id)
    if tip is None or not tip.status.is_open:
        await context.ack(update)
        await ask_description(update, context, t, draft.telegram_id)
        return
    await tips.follow(context.db, tip_id, draft.telegram_id, context.now())
    await answer(
        update,
        context,
        t._(
            "👍 Thank you! You now follow {reference}. We will tell you when something happens.",
            reference=tip.reference,
        ),
        main_menu(t),
    )
    await senders.refresh_card(context, tip_id)


async def _write_new(
    update: Update, context: BotContext, t: Texts, draft: Draft, value: str
) -> None:
    await ask_description(update, context, t, draft.telegram_id)


async def _send(update: Update, context: BotContext, t: Texts, draft: Draft, value: str) -> None:
    """Confirm: store the tip, give the reference, then post it to staff.

    The reference is given only after the commit; posting to staff happens after that and is
    retried by the outbox job if Telegram fails, so a confirmed tip is never lost.
    """
    if await over_flood_limit(context, draft.telegram_id):
        await answer(update, context, flood_text(t), main_menu(t))
        return
    resident, _ = await current_resident(update, context)
    similar = await similar_open_tip(context, draft)
    duplicate = similar.id if similar else None
    tip_id = await store.submit_draft(
        context.db,
        draft.telegram_id,
        resident.language,
        resident.first_name,
        duplicate,
        context.now(),
    )
    if tip_id is None:
        await answer(
            update,
            context,
            t._("This tip is no longer open. You can start a new one."),
            main_menu(t),
        )
        return
    log.info("tip %s confirmed (topic %s)", tip_id, draft.category)
    if update.callback_query is not None and update.callback_query.message is not None:
        # The confirm buttons have done their job; a second press must not look possible.
        await _drop_buttons(update)
    await _thank(update, context, t, tip_id)
    await senders.flush(context)


async def _thank(update: Update, context: BotContext, t: Texts, tip_id: int) -> None:
    """Tell the resident the tip's number; recorded, so a replay does not say it twice."""
    await answer(
        update,
        context,
        t._("✅ Thank you! We got your tip.")
        + "\n"
        + t._("Your number is <b>{reference}</b>.", reference=tips.reference(tip_id))
        + "\n"
        + t._("We will tell you here when something happens. See your tips: /mytips"),
        main_menu(t),
    )
    await tips.mark_thanked(context.db, tip_id, context.now())


async def _sent_just_now(update: Update, context: BotContext, t: Texts) -> bool:
    """ "Send the tip" pressed for a draft that is already a tip: the bot stored it and then
    died before saying so, and handles the press again after the restart. Say it now,
    instead of "no longer open", which would make the resident think it was lost."""
    latest = await tips.tips_of_resident(context.db, update.effective_user.id, limit=1)  # type: ignore[union-attr]
    if not latest or context.now() - latest[0].created_at > RESEND_THANKS_WITHIN:
        return False
    await context.ack(update)
    if not await tips.thanked(context.db, latest[0].id):
        await _thank(update, context, t, latest[0].id)
    await senders.flush(context)
    return True


async def _drop_buttons(update: Update) -> None:
    from telegram.error import BadRequest

    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        log.info("could not remove confirm buttons: %s", error)


@dataclass(frozen=True)
class Button:
    """What a `tip:<action>` button does, and the steps in which it works; in any other
    step a press "does not work any more"."""

    handler: ButtonHandler
    steps: frozenset[TipStep]


S = TipStep
#: Every button of the flow, listed once (`cancel` works in every step).
BUTTONS: dict[str, Button] = {
    "cat": Button(_choose_category, frozenset({S.CATEGORY, S.EXTERNAL, S.PLACE})),
    "here": Button(_send_here, frozenset({S.EXTERNAL})),
    "done": Button(_done_describing, frozenset({S.DESCRIBE, S.IDENTITY})),
    "name": Button(_choose_identity, frozenset({S.IDENTITY, S.CONFIRM})),
    "metoo": Button(_me_too, frozenset({S.SIMILAR})),
    "new": Button(_write_new, frozenset({S.SIMILAR})),
    "send": Button(_send, frozenset({S.CONFIRM})),
}
CANCEL = "cancel"
#: The callback pattern of all the flow's buttons, for the handler's registration.
BUTTON_PATTERN = r"^tip:(" + "|".join([*BUTTONS, CANCEL]) + r")(:|$)"
