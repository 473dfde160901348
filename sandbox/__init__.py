"""A local Telegram Bot API server ("the double") for tests, benchmarks and the demo.

The real PTB application talks HTTP to it exactly as it would to api.telegram.org.
"""

from sandbox.html import EntityParseError, parse_html, utf16_len
from sandbox.models import ApiError, Call, FakeChat, FakeUser, ForumTopic, SentMessage
from sandbox.server import BotAPIDouble, application_idle_probe

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
