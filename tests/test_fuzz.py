"""Property-based fuzzing: random update sequences through the real stack.

Whatever a crowd sends (random text and Unicode, commands with random arguments, forged button
data, media of every kind, edits, staff chatter), the bot must not raise, must not send anything
Telegram would reject (no 4xx from the double), and must still answer /help afterwards.

`FUZZ_EXAMPLES` sets the number of sequences (default 50, each 40 to 60 updates: at least 2,000
updates per run); raise it locally for a longer run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import Action, actions
from tests.harness import BotHarness, make_harness

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
MIN_UPDATES = 40
TOTAL = {"updates": 0, "examples": 0}


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class LiveBot:
    """The bot and the double running on an event loop in a background thread, so that a
    synchronous hypothesis test can drive one bot through many examples."""

    def __init__(self, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # Flood control is tested elsewhere; here it would only make the run slow.
        self._harness_gen = make_harness(
            tmp_path, max_messages_per_second=10_000, group_messages_per_minute=100_000
        )
        self.harness: BotHarness = self.run(self._harness_gen.__anext__())
        self.harness.double.set_limits(
            global_per_second=None, private_chat_per_second=None, group_per_minute=None
        )

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 300) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self._harness_gen.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    bot = LiveBot(tmp_path_factory.mktemp("fuzz"))
    bot.errors = errors  # type: ignore[attr-defined]
    yield bot
    bot.close()
    logging.getLogger().removeHandler(errors)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(st.lists(actions, min_size=MIN_UPDATES, max_size=60))
def test_random_updates_never_break_the_bot(live: LiveBot, sequence: list[Action]) -> None:
    harness = live.harness
    double = harness.double
    errors_before = len(double.errors)
    logged_before = len(live.errors.records)  # type: ignore[attr-defined]
    residents = [
        double.add_user(f"R{i}", language_code=lang)
        for i, lang in enumerate(["nb", "en", "ar", "so", "ur", "pl"])
    ]
    people = residents + [person.user for person in harness.staff]

    async def play() -> None:
        for action in sequence:
            action.apply(double, people, harness.staff_chat)
        await harness.settle()
        double.send_text(residents[1], "/help")
        await harness.settle()

    live.run(play())
    TOTAL["updates"] += len(sequence)
    TOTAL["examples"] += 1

    new_errors = [c for c in double.errors[errors_before:] if c.status != 429]
    assert not new_errors, [f"{c.method}: {c.description}" for c in new_errors]
    assert not double.crashes
    logged = live.errors.records[logged_before:]  # type: ignore[attr-defined]
    assert not logged, [r.getMessage() for r in logged]
    help_answer = double.messages_to(residents[1])[-1]
    assert (
        "I can help you with this" in help_answer.text or "sending very fast" in help_answer.text
    )


def test_fuzz_run_was_big_enough():
    """Runs after the property test (file order): the run really sent what it promised."""
    print(f"\nfuzz: {TOTAL['updates']} random updates in {TOTAL['examples']} sequences")
    assert TOTAL["examples"] == EXAMPLES
    assert TOTAL["updates"] >= EXAMPLES * MIN_UPDATES
