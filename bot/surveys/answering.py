"""Answering a survey: one question per message, one tap per answer.

Each answer is stored the moment it is given (so a resident who stops halfway still counts),
and where the resident is in a survey lives in the database (`survey_sessions`), so a restart
loses nothing. Every button carries the survey and question ids and is checked against that
state: an old or forged button changes nothing.

Callback data: `sv:go:<survey>` start, `sv:a:<survey>:<question>:<value or option>` answer,
`sv:m:<survey>:<question>:<option>` tick, `sv:d:<survey>:<question>` done ticking,
`sv:s:<survey>:<question>` skip, `sv:x:<survey>` stop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum, StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.common import answer, current_resident, resident_and_texts, resident_texts, send
from bot.context import BotContext, BotData
from bot.i18n import Texts
from bot.menu import SMILEYS, main_menu
from bot.steps import Flow, Move
from bot.surveys.definition import localized
from storage import surveys as store
from storage.surveys import Question, Session, Survey

log = logging.getLogger(__name__)

#: A free-text answer is taken only this long after the question; later, a message is
#: something else (a question for staff), not a late answer.
SESSION_TTL = timedelta(hours=6)
#: Text written while a button question waits is taken (with a hint) only this soon after it.
BUTTON_HINT_TTL = timedelta(minutes=30)
MAX_TEXT_ANSWER = 1000


class SessionStep(StrEnum):
    """A survey session has one step, repeated: a question waits for its answer. Which
    question is data (`survey_sessions.question_id`, the survey's order), not code."""

    QUESTION = "question"


SURVEY_SESSION = Flow(
    "survey session",
    (
        Move(None, SessionStep.QUESTION, "link, poster, invitation"),
        Move(SessionStep.QUESTION, SessionStep.QUESTION, "answer or skip: the next question"),
        Move(SessionStep.QUESTION, None, "last answer, Stop, /cancel"),
    ),
)


class Start(Enum):
    NEW = "new"
    RESUME = "resume"
    ANSWERED = "answered"
    CLOSED = "closed"


def decide_start(survey: Survey, today: date, answered: bool, session: Session | None) -> Start:
    """May this resident start (or go on with) this survey today?"""
    if not survey.is_open(today) or not survey.questions:
        return Start.CLOSED
    if session is not None and session.survey_id == survey.id:
        return Start.RESUME
    if answered:
        return Start.ANSWERED
    return Start.NEW


def district_today(context: BotContext) -> date:
    return context.now().astimezone(context.config.timezone).date()


def title_of(survey: Survey, t: Texts, default_language: str) -> str:
    return localized(survey.title, t.language, default_language)


# --- rendering ---------------------------------------------------------------------------------
def question_text(t: Texts, survey: Survey, question: Question, default_language: str) -> str:
    """The question with the survey's title and progress ("2/4"), all values escaped."""
    text = t._(
        "📋 {title} · {number}/{total}\n\n<b>{question}</b>",
        title=title_of(survey, t, default_language),
        number=survey.position(question.id),
        total=len(survey.questions),
        question=localized(question.text, t.language, default_language),
    )
    if question.kind == "multiple":
        text += "\n\n" + t._("Tap all that fit. Then press «Done».")
    elif question.kind == "text":
        text += "\n\n" + t._("Write your answer and send it.")
        if question.optional:
            text += " " + t._("Or press «Skip».")
    return text


def question_keyboard(
    t: Texts,
    survey: Survey,
    question: Question,
    default_language: str,
    ticked: set[int] | frozenset[int] = frozenset(),
) -> InlineKeyboardMarkup:
    prefix = f"sv:{{}}:{survey.id}:{question.id}"
    rows: list[list[InlineKeyboardButton]] = []
    if question.kind == "smiley":
        rows.append(
            [
                InlineKeyboardButton(face, callback_data=f"{prefix.format('a')}:{value}")
                for value, face in enumerate(SMILEYS, start=1)
            ]
        )
    elif question.kind == "choice":
        rows.extend(
            [
                InlineKeyboardButton(
                    localized(option.text, t.language, default_language),
                    callback_data=f"{prefix.format('a')}:{option.id}",
                )
            ]
            for option in question.options
        )
    elif question.kind == "multiple":
        rows.extend(
            [
                InlineKeyboardButton(
                    ("☑️ " if option.id in ticked else "▫️ ")
                    + localized(option.text, t.language, default_language),
                    callback_data=f"{prefix.format('m')}:{option.id}",
                )
            ]
            for option in question.options
        )
        rows.append([InlineKeyboardButton(t._("✅ Done"), callback_data=prefix.format("d"))])
    last = []
    if question.optional:
        last.append(InlineKeyboardButton(t._("⏭ Skip"), callback_data=prefix.format("s")))
    last.append(InlineKeyboardButton(t._("⏹ Stop"), callback_data=f"sv:x:{survey.id}"))
    rows.append(last)
    return InlineKeyboardMarkup(rows)


def answer_label(
    question: Question, t: Texts, default_language: str, given: Sequence[int | str]
) -> str:
    """How an answer reads back under its question ("Your answer: 🙂")."""
    if question.kind == "smiley":
        return SMILEYS[int(given[0]) - 1]
    if question.kind in ("choice", "multiple"):
        labels = []
        for option_id in given:
            option = question.option(int(option_id))
            if option is not None:
                labels.append(localized(option.text, t.language, default_language))
        return t.format_list(labels)
    return "✍️"


# --- starting ----------------------------------------------------------------------------------
async def begin(update: Update, context: BotContext, survey: Survey) -> None:
    """Start a survey for the resident behind `update`, or say why not."""
    resident, t = await resident_and_texts(update, context)
    default = context.config.default_language
    session = await store.session_of(context.db, resident.telegram_id)
    answered = await store.has_answered(context.db, survey.id, resident.telegram_id)
    decision = decide_start(survey, district_today(context), answered, session)
    if decision is Start.CLOSED:
        await answer(update, context, t._("This survey is closed. Thank you all the same!"))
        return
    if decision is Start.ANSWERED:
        await answer(
            update,
            context,
            t._("You have already answered this survey. Thank you! 💚"),
            main_menu(t),
        )
        return
    if decision is Start.NEW:
        session = await store.start(
            context.db,
            survey,
            resident.telegram_id,
            resident.language,
            context.now(),
            district_today(context),
        )
        log.info("survey %s started", survey.id)
    assert session is not None
    await context.ack(update)
    question = survey.question(session.question_id)
    if question is None:  # the survey was changed under the resident: start over cleanly
        await store.stop(context.db, resident.telegram_id)
        await begin(update, context, survey)
        return
    ticked = await store.ticked_options(context.db, session)
    await ask(context, resident.telegram_id, t, survey, question, default, ticked)


async def ask(
    context: BotContext,
    chat_id: int,
    t: Texts,
    survey: Survey,
    question: Question,
    default_language: str,
    ticked: set[int] | frozenset[int] = frozenset(),
) -> None:
    message = await send(
        context,
        chat_id,
        question_text(t, survey, question, default_language),
        question_keyboard(t, survey, question, default_language, ticked),
    )
    await store.set_message(context.db, chat_id, message.message_id)


async def finish(context: BotContext, chat_id: int, t: Texts) -> None:
    """Thank the resident, then end the session (kept until now: see `store._advance`)."""
    try:
        await send(
            context,
            chat_id,
            t._("Thank you! 💚 Your answers help us make the district better."),
            main_menu(t),
        )
    finally:
        await store.stop(context.db, chat_id)


# --- buttons -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Press:
    action: str
    survey_id: int
    question_id: int | None = None
    value: int | None = None


def parse_press(data: str) -> Press | None:
    """Read `sv:...` callback data; None if it is not well formed."""
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != "sv":
        return None
    try:
        numbers = [int(part) for part in parts[2:]]
    except ValueError:
        return None
    action = parts[1]
    expected = {"go": 1, "x": 1, "s": 2, "d": 2, "a": 3, "m": 3}.get(action)
    if expected != len(numbers):
        return None
    return Press(action, *numbers)


async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    t = await resident_texts(update, context)
    press = parse_press(query.data)
    survey = await store.get(context.db, press.survey_id) if press else None
    if press is None or survey is None:
        await context.ack_stale(update, t)
        return
    if press.action == "go":
        await begin(update, context, survey)
        return
    if press.action == "x":
        await stop_survey(update, context, t, survey.id)
        return
    await answer_press(update, context, t, survey, press)


async def stop_survey(update: Update, context: BotContext, t: Texts, survey_id: int) -> None:
    session = await store.session_of(context.db, update.effective_user.id)  # type: ignore[union-attr]
    if session is None or session.survey_id != survey_id:
        await context.ack_stale(update, t)
        return
    await end_session(context, session)
    await _remove_buttons(update, context)
    await answer(update, context, await stopped_text(context, t, session), main_menu(t))


async def end_session(context: BotContext, session: Session) -> None:
    await store.stop(context.db, session.resident_id)
    log.info("survey %s stopped", session.survey_id)


async def stopped_text(context: BotContext, t: Texts, session: Session) -> str:
    if await store.answered_anything(context.db, session.response_token):
        return t._("OK, I stopped. The answers you gave are saved. Thank you! 💚")
    return t._("OK, I stopped.")


async def answer_press(
    update: Update, context: BotContext, t: Texts, survey: Survey, press: Press
) -> None:
    """An answer, tick, done or skip button: check it against the session, then act."""
    resident_id = update.effective_user.id  # type: ignore[union-attr]
    default = context.config.default_language
    today = district_today(context)
    session = await store.session_of(context.db, resident_id)
    if (session is None or session.survey_id != survey.id) and _opens_survey(survey, press):
        # The first question can come in an invitation: tapping it starts the survey.
        answered = await store.has_answered(context.db, survey.id, resident_id)
        decision = decide_start(survey, today, answered, session)
        if decision is Start.ANSWERED:
            await context.ack(update, t._("You have already answered this survey. Thank you! 💚"))
            return
        if decision is Start.CLOSED:
            await context.ack(update, t._("This survey is closed. Thank you all the same!"))
            return
        resident, _ = await current_resident(update, context)
        session = await store.start(
            context.db, survey, resident_id, resident.language, context.now(), today
        )
    if session is not None and _next_not_shown(survey, session, press, update):
        # This tap was handled before a crash cut it short: the answer is stored, but the next
        # question never reached the resident. Show it now.
        await context.ack(update)
        question = survey.question(session.question_id)
        assert question is not None
        ticked = await store.ticked_options(context.db, session)
        await ask(context, resident_id, t, survey, question, default, ticked)
        return
    if (
        session is None
        or session.survey_id != survey.id
        or session.question_id != press.question_id
    ):
        await context.ack_stale(update, t)
        return
    if not survey.is_open(today):
        await context.ack(update, t._("This survey is closed. Thank you all the same!"))
        return
    question = survey.question(session.question_id)
    if question is None:
        await context.ack_stale(update, t)
        return
    following = survey.after(question.id)
    next_id = following.id if following else None
    now = context.now()

    if press.action == "a":
        given = _valid_answer(question, press.value)
        if given is None:
            await context.ack_stale(update, t)
            return
        kwargs = {"value": given} if question.kind == "smiley" else {"option_ids": [given]}
        if not await store.record_answer(
            context.db, session, next_question_id=next_id, now=now, **kwargs
        ):
            await context.ack(update)
            return
        label = answer_label(question, t, default, [given])
    elif press.action == "m":
        if question.kind != "multiple" or question.option(press.value or 0) is None:
            await context.ack_stale(update, t)
            return
        toggled = await store.toggle_option(context.db, session, press.value or 0, now)
        await context.ack(update)
        if toggled is not None:
            await _edit_markup(update, question_keyboard(t, survey, question, default, toggled))
        return
    elif press.action == "d":
        ticked = await store.ticked_options(context.db, session)
        if question.kind != "multiple":
            await context.ack_stale(update, t)
            return
        if not ticked and not question.optional:
            await context.ack(update, t._("Tap at least one answer first."), alert=True)
            return
        if not await store.move_on(context.db, session, next_question_id=next_id, now=now):
            await context.ack(update)
            return
        label = answer_label(question, t, default, sorted(ticked)) if ticked else "⏭"
    else:  # "s": skip
        if not question.optional:
            await context.ack_stale(update, t)
            return
        if not await store.move_on(context.db, session, next_question_id=next_id, now=now):
            await context.ack(update)
            return
        label = "⏭"
    await context.ack(update)
    await _show_answer(update, t, survey, question, default, label)
    await _next(context, resident_id, t, survey, following)


def _next_not_shown(survey: Survey, session: Session, press: Press, update: Update) -> bool:
    """True for a tap on the question just before the session's one while the session shows
    no message: the answer moved the session on, but the next question was never sent
    (sending it records its message in the session)."""
    following = survey.after(press.question_id) if press.question_id is not None else None
    return (
        session.survey_id == survey.id
        and following is not None
        and following.id == session.question_id
        and session.message_id is None
        and update.callback_query is not None
    )


def _opens_survey(survey: Survey, press: Press) -> bool:
    return (
        press.action == "a"
        and bool(survey.questions)
        and survey.questions[0].id == press.question_id
    )


def _valid_answer(question: Question, value: int | None) -> int | None:
    """The stored value of a tap, if it is one this question offers."""
    if value is None:
        return None
    if question.kind == "smiley":
        return value if 1 <= value <= len(SMILEYS) else None
    if question.kind == "choice":
        return value if question.option(value) is not None else None
    return None


async def _next(
    context: BotContext, chat_id: int, t: Texts, survey: Survey, following: Question | None
) -> None:
    if following is None:
        log.info("survey %s finished", survey.id)
        await finish(context, chat_id, t)
    else:
        await ask(context, chat_id, t, survey, following, context.config.default_language)


async def _show_answer(
    update: Update, t: Texts, survey: Survey, question: Question, default: str, label: str
) -> None:
    """Rewrite the answered question's message: its buttons go, the answer shows."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    text = (
        question_text(t, survey, question, default)
        + "\n\n"
        + t._("Your answer: {answer}", answer=label)
    )
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)
    except (BadRequest, Forbidden) as error:
        log.info("could not mark a survey question answered: %s", type(error).__name__)


async def _edit_markup(update: Update, keyboard: InlineKeyboardMarkup) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(keyboard)
    except (BadRequest, Forbidden) as error:
        log.info("could not update ticks: %s", type(error).__name__)


async def _remove_buttons(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except (BadRequest, Forbidden) as error:
        log.info("could not remove survey buttons: %s", type(error).__name__)


# --- free-text answers, /cancel ----------------------------------------------------------------
async def is_answering(data: BotData, resident_id: int) -> bool:
    """Active: a survey question was asked less than `SESSION_TTL` ago and waits."""
    session = await store.session_of(data.db, resident_id)
    return session is not None and data.clock() - session.updated_at <= SESSION_TTL


async def take_message(update: Update, context: BotContext) -> bool:
    """The survey conversation: a written answer while a question is waiting for one."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return False
    session = await store.session_of(context.db, user.id)
    if session is None or context.now() - session.updated_at > SESSION_TTL:
        return False
    survey = await store.get(context.db, session.survey_id)
    question = survey.question(session.question_id) if survey else None
    if survey is None or question is None:
        return False
    t = await resident_texts(update, context)
    if question.kind != "text":
        if context.now() - session.updated_at > BUTTON_HINT_TTL:
            return False
        await answer(
            update, context, t._("Please tap one of the buttons above. To stop, press «Stop».")
        )
        return True
    if not message.text:
        await answer(update, context, t._("Please write your answer in words."))
        return True
    if len(message.text) > MAX_TEXT_ANSWER:
        await answer(
            update,
            context,
            t._(
                "That is a bit long. Please write at most {limit} letters.", limit=MAX_TEXT_ANSWER
            ),
        )
        return True
    following = survey.after(question.id)
    stored = await store.record_answer(
        context.db,
        session,
        text=message.text.strip(),
        next_question_id=following.id if following else None,
        now=context.now(),
    )
    if not stored:
        return False
    log.info("survey %s: text answer stored", survey.id)
    if session.message_id is not None:
        try:
            await context.bot.edit_message_reply_markup(user.id, session.message_id)
        except (BadRequest, Forbidden) as error:
            log.info("could not remove survey buttons: %s", type(error).__name__)
    await _next(context, user.id, t, survey, following)
    return True


async def cancel_session(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    if user is None:
        return False
    session = await store.stop(context.db, user.id)
    if session is not None:
        log.info("survey %s stopped with /cancel", session.survey_id)
    return session is not None


# --- /survey and the deep link -----------------------------------------------------------------
async def list_surveys(update: Update, context: BotContext) -> None:
    """The open surveys the resident has not answered yet, as buttons."""
    resident, t = await resident_and_texts(update, context)
    default = context.config.default_language
    buttons = []
    for survey in await store.open_surveys(context.db, district_today(context)):
        if survey.questions and not await store.has_answered(
            context.db, survey.id, resident.telegram_id
        ):
            buttons.append(
                [
                    InlineKeyboardButton(
                        "⭐ " + title_of(survey, t, default), callback_data=f"sv:go:{survey.id}"
                    )
                ]
            )
    if not buttons:
        await answer(
            update,
            context,
            t._("There is no survey for you right now. Thank you for wanting to help! 💚"),
            main_menu(t),
        )
        return
    await answer(
        update,
        context,
        t._("Which survey do you want to answer? It takes about one minute."),
        InlineKeyboardMarkup(buttons),
    )


async def deep_link(update: Update, context: BotContext, slug: str) -> None:
    """`t.me/<bot>?start=survey-<slug>`: start that survey at once."""
    survey = await store.by_slug(context.db, slug.lower())
    if survey is None:
        t = await resident_texts(update, context)
        await answer(update, context, t._("I can't find this survey. Maybe it has ended."))
        await list_surveys(update, context)
        return
    await begin(update, context, survey)
