"""Voice and video notes written down and translated for staff, out of line (see
`out_of_line.py`): the recording is fetched from Telegram (getFile), sent to the transcription
server, and the transcript translated into the staff language. Every failure is a value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Message

from bot.bridge import TRANSCRIBER
from bot.bridge.service import Problem
from bot.bridge.transcription import (
    Transcript,
    TranscriptionClient,
    TranscriptionFailed,
    TranscriptionResult,
    too_long,
)
from bot.bridge.translation import Translation, TranslationResult
from bot.context import BotContext, BotData

#: The kinds of message that get a transcript.
VOICE_KINDS = ("voice", "video_note")


def transcriber(data: BotData) -> TranscriptionClient | None:
    client = data.extras.get(TRANSCRIBER)
    return client if isinstance(client, TranscriptionClient) else None


@dataclass(frozen=True)
class Recording:
    """What is needed to fetch a voice or video note later: ids and sizes, no content."""

    file_id: str
    duration: int | None
    size: int
    filename: str

    def to_dict(self) -> dict[str, object]:
        return {
            "file_id": self.file_id,
            "duration": self.duration,
            "size": self.size,
            "filename": self.filename,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Recording:
        return cls(raw["file_id"], raw.get("duration"), int(raw.get("size") or 0), raw["filename"])


def _seconds(value: object) -> int | None:
    """Telegram's duration (seconds; a timedelta in newer python-telegram-bot versions)."""
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value) if isinstance(value, int | float) else None


def recording_of(message: Message | None) -> Recording | None:
    if message is None:
        return None
    if message.voice is not None:
        voice = message.voice
        duration = _seconds(voice.duration)
        return Recording(voice.file_id, duration, voice.file_size or 0, "voice.ogg")
    if message.video_note is not None:
        note = message.video_note
        duration = _seconds(note.duration)
        return Recording(note.file_id, duration, note.file_size or 0, "video_note.mp4")
    return None


@dataclass(frozen=True)
class Heard:
    """A transcript and its translation into the staff language (None: same language)."""

    transcript: TranscriptionResult
    translation: TranslationResult | None = None


async def hear(context: BotContext, recording: Recording, owner: int) -> Heard:
    """Transcribe `recording` (not at all above the documented limit) and translate it."""
    client = transcriber(context.bot_data)
    if client is None:
        return Heard(TranscriptionFailed(Problem.NOT_CONFIGURED))
    if too_long(recording.duration, recording.size):
        return Heard(TranscriptionFailed(Problem.TOO_LONG))
    file = await context.bot.get_file(recording.file_id)
    audio = bytes(await file.download_as_bytearray())
    transcript = await client.transcribe(
        audio, filename=recording.filename, duration=recording.duration
    )
    if not isinstance(transcript, Transcript) or not transcript.text:
        return Heard(transcript)
    translator = context.bot_data.translator
    if translator is None:
        return Heard(transcript)
    translation = await translator.translate(
        transcript.text, "auto", context.config.staff_language, owner=owner
    )
    if isinstance(translation, Translation) and translation.source == translation.target:
        return Heard(transcript)  # spoken in the staff language
    return Heard(transcript, translation)
