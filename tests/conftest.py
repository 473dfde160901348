"""Shared fixtures: a fresh database and a fresh Telegram double for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import BotHarness, make_harness


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The real bot, running against the Telegram double, with a staff forum group."""
    async for harness in make_harness(tmp_path):
        yield harness
