"""Machine translation in cases, both ways.

- Resident to staff: each relayed message is copied exactly; when its text is in another
  language than `BOT_STAFF_LANGUAGE`, a `case-translation` task posts the translation as a reply
  to the copy (or a short note that translation failed). The relay never waits for it.
- Staff to resident: a reply in the staff language goes out translated into the resident's
  language, with the original in an expandable quote; the topic gets what the resident received
  and a back-translation, so staff can catch a bad translation. `/translate off` switches this
  off for one case (a colleague speaks the language); a message starting with `!` goes as
  written. Translation down: the reply goes as written and staff are told.

The texts are never logged; a resident's words wait in `bridge_texts` only until translated.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from typing import Any

from telegram import Message, ReplyParameters, Update

from bot import outbox
from bot.bridge.out_of_line import result_of
from bot.bridge.service import Problem
from bot.bridge.transcription import MAX_AUDIO_SECONDS, TranscriptionFailed
from bot.bridge.translation import Translation, TranslationResult
from bot.bridge.voice import Heard, Recording, hear, recording_of, transcriber
from bot.common import send
from bot.context import BotApplication, BotContext
from bot.handover.topics import language_name
from bot.i18n import N_, Texts
from bot.staff_chat import add_staff_command, answer_in_thread
from storage import cases, residents, translations
from storage.cases import Case

log = logging.getLogger(__name__)

#: Telegram's limit for a message's text, less room for the quote's line breaks.
MESSAGE_LIMIT = 4000


def bridge_on(context: BotContext) -> bool:
    """A translation server is configured (without one, everything works as before)."""
    translator = context.bot_data.translator
    return translator is not None and translator.client is not None


def message_words(message: Message | None) -> str:
    if message is None:
        return ""
    return (message.text or message.caption or "").strip()


# --- resident to staff ---
def text_key(row: int) -> str:
    return f"case-translation:{row}"


def transcript_key(row: int) -> str:
    return f"case-transcript:{row}"


async def hold_for_translation(
    context: BotContext, case: Case, row: int, message: Message | None
) -> None:
    """Keep the words of a resident's message until its translation is posted (and, for a
    voice or video note, what is needed to fetch it for a transcript)."""
    recording = recording_of(message)
    if recording is not None and case.resident_id is not None and transcriber(context.bot_data):
        await translations.hold_text(
            context.db,
            transcript_key(row),
            case.resident_id,
            json.dumps(recording.to_dict()),
            context.now(),
        )
    words = message_words(message)
    if not words or case.resident_id is None or not bridge_on(context):
        return
    await translations.hold_text(context.db, text_key(row), case.resident_id, words, context.now())


async def enqueue_translation(context: BotContext, case: Case, row: int, copy_id: int) -> None:
    """After the copy is in the topic: translate it (a task of its own; never holds the copy)."""
    payload = {"case_id": case.id, "copy_id": copy_id}
    for kind, key in (
        ("case-translation", text_key(row)),
        ("case-transcript", transcript_key(row)),
    ):
        if await translations.held_text(context.db, key) is not None:
            await outbox.enqueue(context.db, kind, key, payload, context.now())


def translation_heading(t: Texts, result: Translation, chosen: str) -> str:
    if result.detected and result.detected != chosen:
        return t._(
            "🌐 Machine translation from {language} (the resident chose {chosen}):",
            language=language_name(t, result.detected),
            chosen=language_name(t, chosen),
        )
    return t._("🌐 Machine translation:")


async def send_translation(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `case-translation`: the translation as a reply to the copy in the topic."""
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    case = await cases.get(context.db, task.payload["case_id"])
    words = await translations.held_text(context.db, task.key)
    translator = context.bot_data.translator
    if case is None or case.resident_id is None or words is None or translator is None:
        return None  # erased meanwhile
    owner, target = case.resident_id, context.config.staff_language

    async def translate() -> TranslationResult:
        return await translator.translate(words, "auto", target, owner=owner)

    result = await result_of(context, task, translate)
    t = context.staff_texts()
    if isinstance(result, Translation):
        if result.source == target:
            await translations.drop_text(context.db, task.key)
            return None  # written in the staff language: nothing to add
        resident = await residents.get(context.db, owner)
        chosen = resident.language if resident else case.language
        text = translation_heading(t, result, chosen) + "\n" + html.escape(result.text)
    else:
        log.info("translation in case %s failed: %s", case.id, result.reason)
        text = t._("⚠️ Translation failed. The message above is as the resident wrote it.")

    return await _under_the_copy(context, case, task, text)


async def _under_the_copy(
    context: BotContext, case: Case, task: outbox.Task, text: str
) -> int | None:
    """Post the bot's HTML `text` as a reply to the resident's copy; the held words go."""
    chat_id = context.config.staff_chat_id
    assert chat_id is not None

    async def thread() -> int | None:
        return case.topic_id

    async def general() -> int | None:
        return None

    async def post(where: int | None) -> Message:
        return await send(
            context,
            chat_id,
            text,
            message_thread_id=where,
            reply_parameters=ReplyParameters(
                task.payload["copy_id"], allow_sending_without_reply=True
            ),
        )

    sent = await outbox.in_topic(thread, general, post)
    await translations.drop_text(context.db, task.key)
    return sent.message_id


def heard_text(t: Texts, heard: Heard) -> str:
    """A transcript and its translation, as staff read them (or why there is none)."""
    transcript = heard.transcript
    if isinstance(transcript, TranscriptionFailed):
        if transcript.reason is Problem.TOO_LONG:
            return t._(
                "🎤 The voice message is longer than {seconds} seconds: no transcript.",
                seconds=MAX_AUDIO_SECONDS,
            )
        return t._("🎤 The voice message could not be written down.")
    lines = [t._("🎤 Transcript of the voice message:\n{text}", text=transcript.text)]
    translation = heard.translation
    if isinstance(translation, Translation):
        lines.append(
            t._(
                "🌐 Machine translation from {language}:\n{text}",
                language=language_name(t, translation.source),
                text=translation.text,
            )
        )
    elif translation is not None and translation.reason is not Problem.NOT_CONFIGURED:
        lines.append(t._("⚠️ Translation failed."))
    return "\n\n".join(lines)


async def send_transcript(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `case-transcript`: a voice note's transcript and translation under its copy."""
    case = await cases.get(context.db, task.payload["case_id"])
    held = await translations.held_text(context.db, task.key)
    if case is None or case.resident_id is None or held is None:
        return None
    recording, owner = Recording.from_dict(json.loads(held)), case.resident_id

    async def work() -> Heard:
        return await hear(context, recording, owner)

    heard = await result_of(context, task, work)
    return await _under_the_copy(
        context, case, task, heard_text(context.staff_texts(), heard)
    )


# --- staff to resident ---
@dataclass(frozen=True)
class ReplyTranslation:
    """A staff reply's way to the resident: the translation and its back-translation."""

    forward: TranslationResult
    back: TranslationResult | None


async def plan_reply(
    context: BotContext, case: Case, message: Message, resident_language: str
) -> dict[str, Any]:
    """What the `case-reply` payload adds for the bridge: `{"as_written": text}` for a `!`
    message, `{"translate": {...}}` when the reply is to be translated, else nothing."""
    text = message.text
    if text is None:
        return {}
    if text.startswith("!") and text[1:].strip():
        return {"as_written": text[1:].lstrip()}
    if (
        not bridge_on(context)
        or resident_language == context.config.staff_language
        or await translations.translation_off(context.db, case.id)
    ):
        return {}
    return {
        "translate": {
            "text": text,
            "source": context.config.staff_language,
            "target": resident_language,
        }
    }


async def translate_reply(context: BotContext, task: outbox.Task, owner: int) -> ReplyTranslation:
    """The translation of a staff reply, made out of line (raises Postpone until done)."""
    plan = task.payload["translate"]
    translator = context.bot_data.translator
    assert translator is not None

    async def both() -> ReplyTranslation:
        forward = await translator.translate(
            plan["text"], plan["source"], plan["target"], owner=owner
        )
        if not isinstance(forward, Translation):
            return ReplyTranslation(forward, None)
        back = await translator.translate(
            forward.text, plan["target"], plan["source"], owner=owner
        )
        return ReplyTranslation(forward, back)

    return await result_of(context, task, both)


def translated_reply_text(
    resident_t: Texts, staff_language: str, translated: str, original: str, signature: str
) -> str:
    """The resident's message: the translation, then the original in an expandable quote."""
    written = resident_t._(
        "Written in {language} by the staff:",
        language=language_name(resident_t, staff_language),
    )
    if len(translated) + len(signature) + len(written) + len(original) > MESSAGE_LIMIT:
        return html.escape(translated) + html.escape(signature)  # no room for the original
    return (
        html.escape(translated)
        + html.escape(signature)
        + "\n\n<blockquote expandable>"
        + written
        + "\n"
        + html.escape(original)
        + "</blockquote>"
    )


def topic_record(t: Texts, language: str, translation: ReplyTranslation) -> str:
    """What the topic shows after a translated reply went out."""
    assert isinstance(translation.forward, Translation)
    lines = [
        t._(
            "📨 The resident got this, machine-translated into {language}:",
            language=language_name(t, language),
        ),
        "<blockquote>" + html.escape(translation.forward.text) + "</blockquote>",
    ]
    if isinstance(translation.back, Translation):
        lines.append(t._("Back-translation, to check it:"))
        lines.append("<blockquote>" + html.escape(translation.back.text) + "</blockquote>")
    else:
        lines.append(t._("The back-translation failed."))
    return "\n".join(lines)


# --- /translate off|on ---
async def translate_command(update: Update, context: BotContext) -> None:
    """`/translate off|on` in a case topic: machine translation of staff replies for this case."""
    t = context.staff_texts()
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    case = None
    if message.is_topic_message and message.message_thread_id is not None:
        case = await cases.by_topic(context.db, message.message_thread_id)
    if case is None:
        await answer_in_thread(update, context, t._("Use this command inside a case topic."))
        return
    word = (context.args or [""])[0].lower()
    if word not in ("on", "off"):
        state = await translations.translation_off(context.db, case.id)
        await answer_in_thread(
            update,
            context,
            (
                t._("Translation is off in this case.")
                if state
                else t._("Translation is on in this case.")
            )
            + "\n"
            + t._("Write /translate off or /translate on."),
        )
        return
    await translations.set_translation(context.db, case.id, word == "on", user.id, context.now())
    await answer_in_thread(
        update,
        context,
        t._("Translation is on: your replies go out translated.")
        if word == "on"
        else t._("Translation is off: your replies go out as you write them."),
    )


def register(app: BotApplication) -> None:
    add_staff_command(
        app,
        "translate",
        translate_command,
        N_("Machine translation of your replies in this case: /translate off or on"),
        order=15,
    )
    outbox.add_sender(app, "case-translation", send_translation)
    outbox.add_sender(app, "case-transcript", send_transcript)
