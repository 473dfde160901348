"""`python -m bot check`: Telegram refused versus Telegram unreachable, and the language bridge's
services up, down and partly able, each against a server speaking the real protocol."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.ops import run_checks
from sandbox import BotAPIDouble
from sandbox.fake_translate import FakeTranslate
from sandbox.fake_whisper import FakeWhisper


@pytest.fixture
async def double() -> AsyncIterator[BotAPIDouble]:
    async with BotAPIDouble() as server:
        yield server


def make_config(double: BotAPIDouble, tmp_path: Path, **settings: Any) -> Config:
    staff = double.add_supergroup("Bydel staff", is_forum=True)
    base: dict[str, Any] = {
        "token": double.token,
        "api_base_url": double.base_url,
        "database": tmp_path / "bot.sqlite3",
        "staff_chat_id": staff.id,
    }
    base.update(settings)
    return Config(**base)


async def check(config: Config) -> tuple[int, list[str]]:
    lines: list[str] = []
    problems = await run_checks(config, lines.append)
    return problems, lines


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_all_good_without_the_bridge(double, tmp_path):
    problems, lines = await check(make_config(double, tmp_path))
    assert problems == 0, lines
    assert "OK    token: the bot is @stikk_test_bot" in lines
    assert any(line.startswith("OK    translation: off") for line in lines)
    assert any(line.startswith("OK    transcription: off") for line in lines)


async def test_a_wrong_token_is_refused(double, tmp_path):
    problems, lines = await check(make_config(double, tmp_path, token="123456:WRONG"))
    assert problems == 1
    assert any(line.startswith("FIX   token: Telegram refused it") for line in lines), lines


async def test_an_unreachable_telegram_is_not_called_a_refusal(double, tmp_path):
    url = closed_port_url()
    problems, lines = await check(make_config(double, tmp_path, api_base_url=url))
    assert problems == 1
    assert any(
        line.startswith(f"FIX   Telegram could not be reached at {url}") for line in lines
    ), lines
    assert not any("refused" in line for line in lines)


async def test_both_services_up(double, tmp_path):
    async with FakeTranslate() as translate, FakeWhisper() as whisper:
        config = make_config(
            double, tmp_path, translation_url=translate.url, transcription_url=whisper.url
        )
        problems, lines = await check(config)
    assert problems == 0, lines
    host = translate.url.removeprefix("http://")
    assert (
        f"OK    translation server {host} answers and translates nb <-> en, ar, so, ur, pl"
        in lines
    )
    assert translate.count("/translate") == 1  # the test translation, with no resident's words
    assert translate.translations()[0]["q"] == "God morgen"
    assert (
        f"OK    transcription server {whisper.root.removeprefix('http://')} answers and offers"
        " the model 'whisper-1'" in lines
    )
    assert any(
        line.startswith("NOTE  transcription: Whisper models recognise nb (as no)")
        for line in lines
    )


async def test_a_language_the_server_lacks_is_noted_not_failed(double, tmp_path):
    async with FakeTranslate(["nb", "en", "ar", "ur", "pl"]) as translate:
        config = make_config(double, tmp_path, translation_url=translate.url)
        problems, lines = await check(config)
    assert problems == 0, lines
    assert any("translates nb <-> en, ar, ur, pl" in line for line in lines)
    assert any(
        line.startswith("NOTE  translation: Somali (so) <-> nb is not available") for line in lines
    )


async def test_both_services_down(double, tmp_path):
    async with FakeTranslate() as translate, FakeWhisper() as whisper:
        translate.mode = "error"
        config = make_config(
            double, tmp_path, translation_url=translate.url, transcription_url=closed_port_url()
        )
        problems, lines = await check(config)
    assert problems == 2, lines
    assert any(
        line.startswith("FIX   translation server") and "server error" in line for line in lines
    )
    assert any(
        line.startswith("FIX   transcription server") and "unreachable" in line for line in lines
    )
    assert whisper.requests == []


async def test_a_wrong_key_or_model_is_named(double, tmp_path):
    async with (
        FakeTranslate(api_key="right") as translate,
        FakeWhisper(models=["Systran/faster-whisper-small"]) as whisper,
    ):
        config = make_config(
            double,
            tmp_path,
            translation_url=translate.url,
            translation_api_key="wrong",
            transcription_url=whisper.url,
        )
        problems, lines = await check(config)
    assert problems == 2, lines
    assert any(
        "refused a test translation: refused (Invalid API key); check BOT_TRANSLATION_API_KEY"
        in line
        for line in lines
    )
    assert any(
        "does not offer the model 'whisper-1' (it offers: Systran/faster-whisper-small)" in line
        for line in lines
    )
