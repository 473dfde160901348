"""What a resident writes is shown to staff as a quote under a label, never as the bot's own words.

A case topic holds the bot's notices (the header card, reminders, "case closed") next to copies of
the resident's messages, all sent by the bot. A plain copy would let a resident write
"✅ Case closed" or a fake header line and have it look exactly like a notice. So a resident's
text arrives as "👤 From the resident:" and a blockquote holding their words (escaped, so their
own formatting or HTML is shown as typed); a caption likewise. Nothing the resident types can
leave the quote, and no bot notice is ever a quote.
"""

from __future__ import annotations

from telegram import Message, MessageEntity

from bot.i18n import Texts

#: Telegram's limits are 4096 characters for a text and 1024 for a caption; the label and the
#: quote's tags need a little room.
TEXT_PART = 4000
CAPTION_LIMIT = 1024


def label(t: Texts, *, continued: bool = False) -> str:
    return t._("👤 From the resident (continued):") if continued else t._("👤 From the resident:")


def quoted_text(t: Texts, text: str) -> list[str]:
    """The resident's text as one or more HTML messages (split only above Telegram's limit)."""
    parts = [text[start : start + TEXT_PART] for start in range(0, len(text), TEXT_PART)] or [""]
    return [
        label(t, continued=number > 0) + "\n" + t.quote(part).html
        for number, part in enumerate(parts)
    ]


def quoted_caption(t: Texts, caption: str | None) -> tuple[str, str | None]:
    """(HTML caption for the copied media, HTML text to send after it when the caption is too
    long to carry both the label and the resident's words)."""
    if not caption:
        return label(t), None
    full = label(t) + "\n" + t.quote(caption).html
    if len(label(t)) + 1 + len(caption) <= CAPTION_LIMIT:
        return full, None
    return label(t), quoted_text(t, caption)[0]  # a caption is at most 1024 characters


def words_in(message: Message, t: Texts) -> str:
    """The words a message carries, as staff mean them: for a relayed resident message the
    quoted words only (a photo relayed without a caption carries the label alone: no words),
    for anything else its text or caption."""
    for entity, text in message.parse_entities([MessageEntity.BLOCKQUOTE]).items():
        del entity
        return text
    for entity, text in message.parse_caption_entities([MessageEntity.BLOCKQUOTE]).items():
        del entity
        return text
    words = message.text or message.caption or ""
    return "" if words.strip() in (label(t), label(t, continued=True)) else words
