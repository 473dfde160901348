"""The transcription client against an OpenAI-compatible fake server over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bridge.service import Problem
from bot.bridge.transcription import (
    MAX_AUDIO_BYTES,
    MAX_AUDIO_SECONDS,
    Transcript,
    TranscriptionClient,
    TranscriptionFailed,
)
from sandbox.fake_whisper import FakeWhisper

VOICE = b"OggS\x00\x02" + bytes(range(256)) * 8


@pytest.fixture
async def server() -> AsyncIterator[FakeWhisper]:
    async with FakeWhisper() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeWhisper) -> AsyncIterator[TranscriptionClient]:
    transcriber = TranscriptionClient(server.url, timeout=1.0)
    yield transcriber
    await transcriber.close()


async def test_a_voice_note_is_written_down(server, client):
    server.will_hear(VOICE, "Waan ku faraxsanahay inaan idin arko", "so")
    result = await client.transcribe(VOICE, duration=4)
    assert result == Transcript("Waan ku faraxsanahay inaan idin arko")
    sent = server.requests[-1].fields
    assert sent["model"] == "whisper-1"
    assert sent["filename"] == "voice.ogg" and sent["content_type"] == "audio/ogg"
    assert sent["size"] == str(len(VOICE))
    assert "language" not in sent  # no hint unless the caller is sure


async def test_a_language_hint_uses_whispers_code(server, client):
    result = await client.transcribe(VOICE, duration=4, language="nb")
    assert isinstance(result, Transcript) and result.language == "nb"
    assert server.requests[-1].fields["language"] == "no"


async def test_the_model_and_key_are_sent():
    async with FakeWhisper(models=["Systran/faster-whisper-small"], api_key="k") as server:
        right = TranscriptionClient(server.url, model="Systran/faster-whisper-small", api_key="k")
        wrong_key = TranscriptionClient(server.url, model="Systran/faster-whisper-small")
        wrong_model = TranscriptionClient(server.url, api_key="k")
        try:
            assert isinstance(await right.transcribe(VOICE, duration=3), Transcript)
            refused = await wrong_key.transcribe(VOICE, duration=3)
            unknown = await wrong_model.transcribe(VOICE, duration=3)
        finally:
            for client in (right, wrong_key, wrong_model):
                await client.close()
    assert refused == TranscriptionFailed(Problem.REFUSED, "Incorrect API key provided")
    assert unknown == TranscriptionFailed(Problem.REFUSED, "The model `whisper-1` does not exist")


async def test_a_slow_server_is_a_timeout(server):
    server.mode = "timeout"
    quick = TranscriptionClient(server.url, timeout=0.3)
    try:
        result = await quick.transcribe(VOICE, duration=3)
    finally:
        await quick.close()
    assert isinstance(result, TranscriptionFailed) and result.reason is Problem.TIMEOUT


async def test_a_server_error_is_a_value(server, client):
    server.mode = "error"
    result = await client.transcribe(VOICE, duration=3)
    assert isinstance(result, TranscriptionFailed) and result.reason is Problem.SERVER_ERROR


async def test_audio_above_the_limit_is_not_sent(server, client):
    long_note = await client.transcribe(VOICE, duration=MAX_AUDIO_SECONDS + 1)
    big_file = await client.transcribe(b"\0" * (MAX_AUDIO_BYTES + 1), filename="note.mp4")
    assert isinstance(long_note, TranscriptionFailed) and long_note.reason is Problem.TOO_LONG
    assert isinstance(big_file, TranscriptionFailed) and big_file.reason is Problem.TOO_LONG
    assert server.count("/audio/transcriptions") == 0
    at_limit = await client.transcribe(VOICE, duration=MAX_AUDIO_SECONDS)
    assert isinstance(at_limit, Transcript)


async def test_models_are_listed_for_the_check(client):
    assert await client.models() == ["whisper-1"]
