"""What the translation and transcription clients share: one HTTP session, short timeouts, and
every way an outside service can fail turned into a `Problem`, never an exception.

Outside services fail (down, slow, a wrong key, a language they do not know); the bot must keep
relaying messages when they do, so callers get a typed result and decide what to tell people.
Nothing here logs or returns the texts sent.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger(__name__)


class Problem(StrEnum):
    """Why a translation or a transcript could not be made."""

    NOT_CONFIGURED = "not configured"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    UNSUPPORTED = "unsupported language"
    REFUSED = "refused"  # a wrong or missing API key, or a request the server rejects
    RATE_LIMITED = "rate limited"
    SERVER_ERROR = "server error"
    BAD_ANSWER = "bad answer"
    TOO_LONG = "too long"


class ServiceError(Exception):
    """Raised inside the clients only; they turn it into a failed result."""

    def __init__(self, problem: Problem, detail: str = "", status: int | None = None) -> None:
        super().__init__(f"{problem}: {detail}" if detail else str(problem))
        self.problem = problem
        self.detail = detail
        self.status = status


def _error_message(payload: Any) -> str:
    """LibreTranslate answers `{"error": "..."}`, OpenAI `{"error": {"message": "..."}}`."""
    if isinstance(payload, dict):
        error = payload.get("error", payload.get("detail"))
        if isinstance(error, dict):
            error = error.get("message")
        if isinstance(error, str):
            return error[:200]
    return ""


class HttpService:
    """An outside HTTP service with a lazily opened session (opened inside the running loop)."""

    #: Used in log lines, e.g. "translation".
    kind = "service"

    def __init__(self, root: str, *, timeout: float, api_key: str | None = None) -> None:
        self.root = root.rstrip("/")
        self.timeout = timeout
        self.api_key = api_key
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return the decoded JSON answer; raise `ServiceError`."""
        url = f"{self.root}{path}"
        try:
            async with self.session().request(method, url, **kwargs) as response:
                status = response.status
                try:
                    payload = await response.json(content_type=None)
                except ValueError:
                    payload = None
        except TimeoutError:
            raise ServiceError(Problem.TIMEOUT, f"no answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as error:
            raise ServiceError(Problem.UNREACHABLE, type(error).__name__) from None
        except asyncio.CancelledError:
            raise
        if status >= 400:
            raise ServiceError(_problem_for(status), _error_message(payload), status)
        if payload is None:
            raise ServiceError(Problem.BAD_ANSWER, "the answer is not JSON", status)
        return payload

    def log_failure(self, error: ServiceError) -> None:
        # Problem and status only: a server's error text might quote what was sent.
        log.warning("%s failed: %s (HTTP %s)", self.kind, error.problem, error.status or "-")


def _problem_for(status: int) -> Problem:
    if status == 429:
        return Problem.RATE_LIMITED
    if status >= 500:
        return Problem.SERVER_ERROR
    return Problem.REFUSED


def service_host(url: str) -> str:
    """What residents and operators are told about a service: its host (and port), no path,
    no password."""
    parts = urlsplit(url)
    host = parts.hostname or url
    return host if parts.port is None else f"{host}:{parts.port}"
