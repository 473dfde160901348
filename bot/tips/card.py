"""The staff card of a tip: its text and its status buttons, in the district's language.

Plain functions of a `Tip` (no Telegram calls), so tests and the outbox's senders share them.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.bridge.transcription import MAX_AUDIO_SECONDS
from bot.i18n import SUPPORTED_LANGUAGES, Texts
from bot.tips.categories import find_category
from bot.tips.status import CODE_OF
from bot.tips.status import label as status_label
from storage import tips as store
from storage.tips import Tip, TipStatus
from storage.translations import TipBridge

#: Longest description shown on a card (Telegram allows 4096 characters per message).
CARD_DESCRIPTION_LIMIT = 3000


def card_text(
    t: Texts,
    tip: Tip,
    tz: tzinfo,
    *,
    last_change: tuple[str, datetime] | None = None,
    bridge: TipBridge | None = None,
) -> str:
    """The staff card of a tip, in the district's language; every value escaped by `Texts`.

    With `bridge` (bot/tips/bridge.py): the description machine-translated under the original,
    and the voice message's transcript with its translation."""
    chosen = find_category(tip.category)
    description = (tip.description or "").strip()
    # With translations and a transcript the card must still fit in one message.
    limit = CARD_DESCRIPTION_LIMIT if bridge is None else CARD_DESCRIPTION_LIMIT // 2
    if len(description) > limit:
        description = description[: limit - 1] + "…"
    lines = [
        t._(
            "📝 <b>{reference}</b> · {topic}\n\n{text}",
            reference=tip.reference,
            topic=f"{chosen.icon} {t._(chosen.label)}" if chosen else tip.category,
            text=t.quote(description) if description else t._("(no text: see the voice message)"),
        ),
    ]
    if bridge is not None:
        lines += bridge_lines(t, bridge)
    lines.append("")
    if tip.place_text:
        lines.append(t._("📍 Place: {place}", place=" ".join(tip.place_text.split())))
    elif tip.has_location:
        lines.append(t._("📍 Place: see the map pin"))
    else:
        lines.append(t._("📍 Place: not given"))
    attachments = tip.count("photo") + tip.count("image")
    if attachments:
        lines.append(t.n_("📷 {count} photo", "📷 {count} photos", attachments))
    if tip.count("voice"):
        lines.append(
            t.n_("🎤 {count} voice message", "🎤 {count} voice messages", tip.count("voice"))
        )
    if tip.count("video"):
        lines.append(t.n_("🎬 {count} video", "🎬 {count} videos", tip.count("video")))
    lines.append(
        t._("🗣 Language: {language}", language=SUPPORTED_LANGUAGES.get(tip.language, tip.language))
    )
    if tip.show_name and tip.reporter_name:
        lines.append(t._("👤 From: {name}", name=tip.reporter_name))
    else:
        lines.append(t._("👤 From: anonymous"))
    lines.append(t._("🕒 Sent: {when}", when=t.datetime(tip.created_at, tz, fmt="short")))
    if tip.followers:
        lines.append(
            t.n_(
                "👥 {count} more resident reports the same",
                "👥 {count} more residents report the same",
                tip.followers,
            )
        )
    if tip.possible_duplicate_of and tip.status != TipStatus.MERGED:
        lines.append(
            t._(
                "⚠️ Possibly the same as {other}",
                other=store.reference(tip.possible_duplicate_of),
            )
        )
    lines.append("")
    if tip.status == TipStatus.MERGED and tip.merged_into:
        lines.append(t._("🔗 Merged into {other}", other=store.reference(tip.merged_into)))
    elif last_change is not None:
        who, when = last_change
        lines.append(
            t._(
                "Status: {status} ({who}, {when})",
                status=status_label(t, tip.status),
                who=who,
                when=t.datetime(when, tz, fmt="short"),
            )
        )
    else:
        lines.append(t._("Status: {status}", status=status_label(t, tip.status)))
    if tip.status.is_open and tip.telegram_id is not None:
        lines.append(t._("Reply to this message to ask the resident a question."))
    return "\n".join(lines)


def removal_notice(t: Texts, reason: str) -> str:
    """What stands where a resident's content was in the staff chat after an erasure
    (`reason` 'resident') or the retention run ('retention')."""
    if reason == "resident":
        return t._("🗑 Removed at the resident's request.")
    return t._("🗑 Removed after the retention period.")


def redacted_card_text(t: Texts, tip: Tip, reason: str, tz: tzinfo) -> str:
    """A card reduced to the anonymous facts (reference, category, date, status, why): what
    stays in the staff chat of an erased tip. Bots may edit their messages at any age."""
    chosen = find_category(tip.category)
    return "\n".join(
        [
            t._(
                "📝 <b>{reference}</b> · {topic}\n\n{text}",
                reference=tip.reference,
                topic=f"{chosen.icon} {t._(chosen.label)}" if chosen else tip.category,
                text=removal_notice(t, reason),
            ),
            "",
            t._("🕒 Sent: {when}", when=t.datetime(tip.created_at, tz, fmt="short")),
            t._("Status: {status}", status=status_label(t, tip.status)),
        ]
    )


def bridge_lines(t: Texts, bridge: TipBridge) -> list[str]:
    """What the language bridge adds under the description."""
    lines = []
    if bridge.translated:
        lines.append(
            "\n"
            + t._(
                "🌐 Machine translation from {language}:\n{text}",
                language=t.locale.languages.get(bridge.translated_from or "", "?"),
                text=_cut(bridge.translated),
            )
        )
    if bridge.transcript:
        lines.append(
            "\n"
            + t._(
                "🎤 Transcript of the voice message:\n{text}",
                text=_cut(bridge.transcript),
            )
        )
        if bridge.transcript_translated:
            lines.append(
                t._(
                    "🌐 Machine translation from {language}:\n{text}",
                    language=t.locale.languages.get(bridge.transcript_language or "", "?"),
                    text=_cut(bridge.transcript_translated),
                )
            )
    elif bridge.note == "too long":
        lines.append(
            "\n"
            + t._(
                "🎤 The voice message is longer than {seconds} seconds: no transcript.",
                seconds=MAX_AUDIO_SECONDS,
            )
        )
    elif bridge.note:
        lines.append("\n" + t._("🎤 The voice message could not be written down."))
    return lines


def _cut(text: str, limit: int = 700) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_keyboard(t: Texts, tip: Tip) -> InlineKeyboardMarkup | None:
    if tip.status == TipStatus.MERGED:
        return None

    def button(status: TipStatus) -> InlineKeyboardButton:
        text = status_label(t, status)
        if status == tip.status:
            text = "• " + text
        return InlineKeyboardButton(text, callback_data=f"tip:st:{tip.id}:{CODE_OF[status]}")

    rows = [
        [button(TipStatus.RECEIVED), button(TipStatus.IN_PROGRESS)],
        [button(TipStatus.RESOLVED), button(TipStatus.REJECTED)],
        [button(TipStatus.FORWARDED)],
    ]
    if tip.possible_duplicate_of:
        rows.append(
            [
                InlineKeyboardButton(
                    "🔗 "
                    + t._("Merge into {other}", other=store.reference(tip.possible_duplicate_of)),
                    callback_data=f"tip:merge:{tip.id}:{tip.possible_duplicate_of}",
                )
            ]
        )
    return InlineKeyboardMarkup(rows)
