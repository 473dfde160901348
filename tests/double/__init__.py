"""A fake Telegram Bot API server ("the double") for integration tests and benchmarks.

The real PTB application talks HTTP to it exactly as it would to api.telegram.org.
"""

from tests.double.html import EntityParseError, parse_html, utf16_len
from tests.double.models import ApiError, Call, FakeChat, FakeUser, ForumTopic, SentMessage
from tests.double.server import BotAPIDouble, application_idle_probe

__all__ = [
    "ApiError",
    "BotAPIDouble",
    "Call",
    "EntityParseError",
    "FakeChat",
    "FakeUser",
    "ForumTopic",
    "SentMessage",
    "application_idle_probe",
    "parse_html",
    "utf16_len",
]
