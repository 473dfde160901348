"""Voice and video notes written down by an OpenAI-compatible speech-to-text server.

    POST {base}/audio/transcriptions   multipart: file, model, optional language
        -> {"text": "..."}
    GET  {base}/models                 -> {"data": [{"id": "whisper-1"}, ...]}  (for `check`)

`base` includes `/v1` (a self-hosted faster-whisper or whisper.cpp server, or a cloud service).

**Long audio**: only the first `MAX_AUDIO_SECONDS` would be worth a transcript, but cutting an
OGG/Opus or MP4 file needs a decoder the bot does not carry, and a transcript of a part that
looks like the whole would mislead staff. So audio longer than the limit (by Telegram's
`duration`, or larger than `MAX_AUDIO_BYTES` when no duration is known) is not sent at all: the
result is `TranscriptionFailed(Problem.TOO_LONG)` and staff listen to the message itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import aiohttp

from bot.bridge.languages import transcription_code
from bot.bridge.service import HttpService, Problem, ServiceError

#: Voice notes longer than this are not transcribed (see the module docstring).
MAX_AUDIO_SECONDS = 120
#: Without a duration: about two minutes of a video note, well below the 20 MB bots may fetch.
MAX_AUDIO_BYTES = 5 * 1024 * 1024
#: Transcripts are made after the message is relayed; a CPU-only server needs its time.
TRANSCRIPTION_TIMEOUT = 60.0

_CONTENT_TYPES = {
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".wav": "audio/wav",
}


@dataclass(frozen=True)
class Transcript:
    text: str
    #: The language asked for (our code), if any; the server does not report it in JSON.
    language: str | None = None


@dataclass(frozen=True)
class TranscriptionFailed:
    reason: Problem
    detail: str = ""


TranscriptionResult = Transcript | TranscriptionFailed


def too_long(duration: int | None, size: int) -> bool:
    """True for audio above the documented limit (by duration, else by size)."""
    if duration is not None:
        return duration > MAX_AUDIO_SECONDS
    return size > MAX_AUDIO_BYTES


class TranscriptionClient(HttpService):
    kind = "transcription"

    def __init__(
        self,
        base: str,
        *,
        model: str = "whisper-1",
        api_key: str | None = None,
        timeout: float = TRANSCRIPTION_TIMEOUT,
    ) -> None:
        super().__init__(base, timeout=timeout, api_key=api_key)
        self.model = model

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def transcribe(
        self,
        audio: bytes,
        *,
        filename: str = "voice.ogg",
        duration: int | None = None,
        language: str | None = None,
    ) -> TranscriptionResult:
        """Write down `audio`; `language` (our code) is a hint, best left out unless sure."""
        if too_long(duration, len(audio)):
            limit = f"{MAX_AUDIO_SECONDS} s" if duration is not None else "the size limit"
            return TranscriptionFailed(Problem.TOO_LONG, f"longer than {limit}")
        form = aiohttp.FormData()
        content_type = _CONTENT_TYPES.get(
            PurePath(filename).suffix.lower(), "application/octet-stream"
        )
        form.add_field("file", audio, filename=filename, content_type=content_type)
        form.add_field("model", self.model)
        form.add_field("response_format", "json")
        if language:
            form.add_field("language", transcription_code(language))
        try:
            payload = await self.request_json(
                "POST", "/audio/transcriptions", data=form, headers=self._headers()
            )
        except ServiceError as error:
            self.log_failure(error)
            return TranscriptionFailed(error.problem, error.detail)
        text = payload.get("text") if isinstance(payload, dict) else None
        if not isinstance(text, str):
            self.log_failure(ServiceError(Problem.BAD_ANSWER, status=200))
            return TranscriptionFailed(Problem.BAD_ANSWER, "no text in the answer")
        return Transcript(text.strip(), language)

    async def models(self) -> list[str] | TranscriptionFailed | None:
        """The models the server offers (`GET {base}/models`), for `python -m bot check`;
        None when the server has no such list (whisper.cpp's server, for one)."""
        try:
            payload: Any = await self.request_json("GET", "/models", headers=self._headers())
        except ServiceError as error:
            if error.status == 404:
                return None
            return TranscriptionFailed(
                error.problem, error.detail or (f"HTTP {error.status}" if error.status else "")
            )
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            return TranscriptionFailed(Problem.BAD_ANSWER, "/models did not answer a list")
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]
