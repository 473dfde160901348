"""The language bridge on tips: the staff card shows the description machine-translated into
the staff language, and the transcript of a voice message with its translation.

The card is posted first (nothing waits for the bridge); a `tip-bridge` task then makes the
translation and transcript out of line (bot/bridge/out_of_line.py), stores them with the tip
(`tip_bridge`, erased with the tip's other personal data) and redraws the card. The tips
export reads the stored translation.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, replace

from telegram import ReplyParameters

from bot import outbox
from bot.bridge.out_of_line import result_of
from bot.bridge.service import Problem
from bot.bridge.transcription import Transcript, TranscriptionFailed
from bot.bridge.translation import Translation, TranslationResult
from bot.bridge.voice import Recording, hear, transcriber
from bot.context import BotContext
from bot.handover.topics import language_name
from bot.i18n import Raw, Texts
from storage import tip_questions, translations
from storage import tips as store
from storage.tip_questions import Question
from storage.tips import Tip
from storage.translations import TipBridge

log = logging.getLogger(__name__)


def wanted(context: BotContext, tip: Tip) -> bool:
    """Is there anything for the bridge to add to this tip's card?"""
    translator = context.bot_data.translator
    translate = translator is not None and translator.client is not None
    has_voice = any(item.kind == "voice" for item in tip.media)
    return (translate and bool((tip.description or "").strip())) or (
        has_voice and transcriber(context.bot_data) is not None
    )


async def enqueue(context: BotContext, tip: Tip) -> None:
    """After the card is posted: translate and transcribe for it (once)."""
    if tip.telegram_id is None or not wanted(context, tip):
        return
    await outbox.enqueue(
        context.db, "tip-bridge", f"tip-bridge:{tip.id}", {"tip_id": tip.id}, context.now()
    )


async def make(context: BotContext, tip: Tip) -> TipBridge:
    """The translation of the description and the transcript of the first voice message."""
    assert tip.telegram_id is not None
    bridge = TipBridge(tip.id)
    translator = context.bot_data.translator
    description = (tip.description or "").strip()
    if description and translator is not None and translator.client is not None:
        result = await translator.translate(
            description, "auto", context.config.staff_language, owner=tip.telegram_id
        )
        if isinstance(result, Translation) and result.source != result.target:
            bridge = replace(bridge, translated=result.text, translated_from=result.source)
        elif not isinstance(result, Translation):
            log.info("translation of tip %s failed: %s", tip.id, result.reason)
    voice = next((item for item in tip.media if item.kind == "voice"), None)
    if voice is not None and transcriber(context.bot_data) is not None:
        recording = Recording(voice.file_id, None, 0, "voice.ogg")
        heard = await hear(context, recording, tip.telegram_id)
        if isinstance(heard.transcript, Transcript):
            bridge = replace(bridge, transcript=heard.transcript.text)
            if isinstance(heard.translation, Translation):
                bridge = replace(
                    bridge,
                    transcript_translated=heard.translation.text,
                    transcript_language=heard.translation.source,
                )
        elif isinstance(heard.transcript, TranscriptionFailed):
            too_long = heard.transcript.reason is Problem.TOO_LONG
            bridge = replace(bridge, note="too long" if too_long else "failed")
    return bridge


async def send_bridge(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `tip-bridge`: store what the bridge made and redraw the card with it."""
    from bot.tips.senders import refresh_card

    tip = await store.get_tip(context.db, task.payload["tip_id"])
    if tip is None or tip.telegram_id is None:
        return None  # erased meanwhile

    async def work() -> TipBridge:
        return await make(context, tip)

    bridge = await result_of(context, task, work)
    await translations.save_tip_bridge(context.db, bridge, context.now())
    await refresh_card(context, tip.id)
    return None


# --- staff questions, in the resident's language ---
@dataclass(frozen=True)
class Asked:
    """A staff question as the resident gets it (HTML or plain text for a placeholder)."""

    text: str | Raw
    translation: TranslationResult | None = None
    language: str = ""

    def note(self, t: Texts) -> str:
        """What staff are told besides "sent": the translation, or that it failed."""
        if isinstance(self.translation, Translation):
            return "\n" + t._(
                "📨 The resident got this, machine-translated into {language}:",
                language=language_name(t, self.language),
            ) + ("\n<blockquote>" + html.escape(self.translation.text) + "</blockquote>")
        if self.translation is not None:
            return "\n" + t._(
                "⚠️ Translation failed: your reply went to the resident as you wrote it."
            )
        return ""


async def question_for_resident(
    context: BotContext, task: outbox.Task, question: Question, language: str
) -> Asked:
    """A free-text staff question goes out translated into the resident's language, the
    original quoted below; `!` at the start sends it as written (without the `!`)."""
    text = question.text
    if text.startswith("!"):
        return Asked(text[1:].lstrip())
    translator = context.bot_data.translator
    staff_language = context.config.staff_language
    if translator is None or translator.client is None or language == staff_language:
        return Asked(text)

    async def work() -> TranslationResult:
        assert translator is not None
        return await translator.translate(
            text, staff_language, language, owner=question.telegram_id
        )

    result = await result_of(context, task, work)
    if not isinstance(result, Translation):
        return Asked(text, result, language)
    rt = context.texts(language)
    written = rt._(
        "Written in {language} by the staff:", language=language_name(rt, staff_language)
    )
    quoted = Raw(
        html.escape(result.text)
        + "\n\n<blockquote expandable>"
        + written
        + "\n"
        + html.escape(text)
        + "</blockquote>"
    )
    return Asked(quoted, result, language)


# --- a resident's answer, translated for staff ---
async def enqueue_answer_translation(
    context: BotContext, item: tip_questions.Answer, posted_id: int, thread: int | None
) -> None:
    """After an answer is in the tip's topic: its translation follows (a task of its own)."""
    translator = context.bot_data.translator
    if not (item.text or "").strip() or translator is None or translator.client is None:
        return
    await outbox.enqueue(
        context.db,
        "tip-answer-translation",
        f"tip-answer-translation:{item.id}",
        {"answer_id": item.id, "posted_id": posted_id, "thread_id": thread},
        context.now(),
    )


async def send_answer_translation(context: BotContext, task: outbox.Task) -> int | None:
    """Sender of `tip-answer-translation`: the translation as a reply to the posted answer."""
    from bot.common import send
    from bot.handover.translation import translation_heading

    item = await tip_questions.get_answer(context.db, task.payload["answer_id"])
    translator = context.bot_data.translator
    chat_id = context.config.staff_chat_id
    assert chat_id is not None
    if item is None or not item.text or translator is None:
        return None  # erased meanwhile
    words, owner, target = item.text, item.telegram_id, context.config.staff_language

    async def work() -> TranslationResult:
        assert translator is not None
        return await translator.translate(words, "auto", target, owner=owner)

    result = await result_of(context, task, work)
    t = context.staff_texts()
    if isinstance(result, Translation):
        if result.source == target:
            return None
        tip = await store.get_tip(context.db, item.tip_id)
        chosen = tip.language if tip else result.source
        text = translation_heading(t, result, chosen) + "\n" + html.escape(result.text)
    else:
        text = t._("⚠️ Translation failed.")

    async def thread() -> int | None:
        return task.payload.get("thread_id")

    async def general() -> int | None:
        return None

    async def post(where: int | None) -> int:
        message = await send(
            context,
            chat_id,
            text,
            message_thread_id=where,
            reply_parameters=ReplyParameters(
                task.payload["posted_id"], allow_sending_without_reply=True
            ),
        )
        return message.message_id

    return await outbox.in_topic(thread, general, post)
