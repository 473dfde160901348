"""Machine translation through a LibreTranslate-compatible server, with a cache in the database.

    POST {root}/translate   {"q", "source" (a code or "auto"), "target", "format", "api_key"}
        -> {"translatedText": "...", "detectedLanguage": {"language": "so", "confidence": 92}}
    GET  {root}/languages   -> [{"code": "nb", "name": "Norwegian", "targets": ["en", ...]}]

Errors come as `{"error": "..."}` with 400 (e.g. "zz is not supported", "X (x) is not available
as a target language from Y (y)"), 403 (API key), 429 (rate limit) or 500. Every outcome is a
value: `Translation` or `TranslationFailed(reason)`; callers relay the original either way.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.bridge.languages import from_translation_code, translation_code
from bot.bridge.service import HttpService, Problem, ServiceError
from bot.context import utc_now
from storage import translations as cache
from storage.db import Database, DatabaseErrors

log = logging.getLogger(__name__)

#: Seconds to wait for a translation: messages are relayed without it, so a slow server must
#: not hold the note under them for long.
TRANSLATION_TIMEOUT = 5.0


@dataclass(frozen=True)
class Translation:
    text: str
    #: The language translated from: as asked, or as detected when asked with "auto".
    source: str
    target: str
    #: Set when the source was detected: the server's guess and its confidence (0-100).
    detected: str | None = None
    confidence: float | None = None
    cached: bool = False


@dataclass(frozen=True)
class TranslationFailed:
    reason: Problem
    #: For operators (`python -m bot check`); never shown to residents.
    detail: str = ""


TranslationResult = Translation | TranslationFailed


@dataclass(frozen=True)
class ServerLanguage:
    code: str  #: ours (see bot/bridge/languages.py)
    name: str
    targets: frozenset[str]  #: ours


class LibreTranslateClient(HttpService):
    """The HTTP protocol only; `Translator` adds the cache."""

    kind = "translation"

    def __init__(
        self, root: str, *, api_key: str | None = None, timeout: float = TRANSLATION_TIMEOUT
    ) -> None:
        super().__init__(root, timeout=timeout, api_key=api_key)

    async def translate(
        self, text: str, source: str, target: str, *, text_format: str = "text"
    ) -> TranslationResult:
        body: dict[str, Any] = {
            "q": text,
            "source": "auto" if source == "auto" else translation_code(source),
            "target": translation_code(target),
            "format": text_format,
        }
        if self.api_key:
            body["api_key"] = self.api_key
        try:
            payload = await self.request_json("POST", "/translate", json=body)
        except ServiceError as error:
            if error.status == 400 and _is_unsupported(error.detail):
                error = ServiceError(Problem.UNSUPPORTED, error.detail, error.status)
            elif error.status == 400 and "limit" in error.detail.lower():
                error = ServiceError(Problem.TOO_LONG, error.detail, error.status)
            self.log_failure(error)
            return TranslationFailed(error.problem, error.detail)
        translated = payload.get("translatedText") if isinstance(payload, dict) else None
        if not isinstance(translated, str):
            self.log_failure(ServiceError(Problem.BAD_ANSWER, status=200))
            return TranslationFailed(Problem.BAD_ANSWER, "no translatedText in the answer")
        detected, confidence = _detected(payload.get("detectedLanguage"))
        return Translation(
            text=translated,
            source=detected or source,
            target=target,
            detected=detected,
            confidence=confidence,
        )

    async def languages(self) -> list[ServerLanguage] | TranslationFailed:
        """What the server translates (`GET /languages`), for `python -m bot check`."""
        try:
            payload = await self.request_json("GET", "/languages")
        except ServiceError as error:
            self.log_failure(error)
            return TranslationFailed(error.problem, error.detail)
        if not isinstance(payload, list):
            return TranslationFailed(Problem.BAD_ANSWER, "/languages did not answer a list")
        found = []
        for item in payload:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                targets = item.get("targets") or []
                found.append(
                    ServerLanguage(
                        code=from_translation_code(item["code"]),
                        name=str(item.get("name", item["code"])),
                        targets=frozenset(
                            from_translation_code(t) for t in targets if isinstance(t, str)
                        ),
                    )
                )
        return found


def _is_unsupported(message: str) -> bool:
    message = message.lower()
    return "not supported" in message or "not available" in message


def _detected(raw: Any) -> tuple[str | None, float | None]:
    if isinstance(raw, list):  # a batch answer; we send one text at a time
        raw = raw[0] if raw else None
    if not isinstance(raw, dict) or not isinstance(raw.get("language"), str):
        return None, None
    confidence = raw.get("confidence")
    return (
        from_translation_code(raw["language"]),
        float(confidence) if isinstance(confidence, int | float) else None,
    )


def text_hash(text: str, text_format: str = "text") -> str:
    """The cache key of a text: its SHA-256, so the cache never holds the words themselves."""
    return hashlib.sha256(f"{text_format}\0{text}".encode()).hexdigest()


class Translator:
    """Translations for the bot: the same text is sent to the server once (per owner).

    `owner` is the resident whose words these are (their own messages, or staff replies to
    them), so erasing a resident erases their cached translations; 0 is for texts that belong
    to nobody (reply templates).
    """

    def __init__(
        self,
        client: LibreTranslateClient | None,
        db: Database,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client = client
        self.db = db
        self.clock = clock

    async def translate(
        self,
        text: str,
        source: str,
        target: str,
        *,
        owner: int = 0,
        text_format: str = "text",
    ) -> TranslationResult:
        if source == target or not text.strip():
            return Translation(text=text, source=source, target=target)
        key = text_hash(text, text_format)
        try:
            hit = await cache.lookup(self.db, owner, key, source, target)
        except DatabaseErrors:
            log.exception("translation cache unreadable; asking the server")
            hit = None
        if hit is not None:
            return Translation(
                text=hit.translated,
                source=hit.detected or source,
                target=target,
                detected=hit.detected,
                confidence=hit.confidence,
                cached=True,
            )
        if self.client is None:
            return TranslationFailed(Problem.NOT_CONFIGURED)
        result = await self.client.translate(text, source, target, text_format=text_format)
        if isinstance(result, Translation):
            try:
                await cache.remember(
                    self.db,
                    cache.CachedTranslation(
                        owner=owner,
                        text_hash=key,
                        source=source,
                        target=target,
                        translated=result.text,
                        detected=result.detected,
                        confidence=result.confidence,
                    ),
                    self.clock(),
                )
            except DatabaseErrors:
                log.exception("could not cache a translation")
        return result

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
