"""A LibreTranslate server for tests and the demo: the real HTTP API, fake translations.

    POST /translate  (JSON or form: q, source ("auto" allowed), target, format, api_key)
        -> {"translatedText": "[so->nb] Nabad", "detectedLanguage": {...}}  (the latter for auto)
    GET  /languages  -> [{"code": "nb", "name": "Norwegian", "targets": [...]}]

A translation is the text with its direction in front, `[so->nb] text`, so a test can tell
what was translated from what, and a back-translation shows both steps. "auto" detects the
language from a few telltale words and letters. Errors are LibreTranslate's: 400 with
"zz is not supported" or "X (x) is not available as a target language from Y (y)", 403 for a
wrong API key, and the switchable modes of `FakeService` (timeout, 500).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from sandbox.fake_service import FakeService, Request, serve

NAMES = {
    "nb": "Norwegian Bokmål",
    "en": "English",
    "ar": "Arabic",
    "so": "Somali",
    "ur": "Urdu",
    "pl": "Polish",
    "uk": "Ukrainian",
    "tr": "Turkish",
}

_URDU_LETTERS = re.compile("[ٹڈڑںےھگکپچ]")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_WORDS = {
    "nb": {"og", "ikke", "jeg", "hei", "er", "det", "takk", "hva", "kan", "vi", "du"},
    "so": {"waa", "iyo", "nabad", "ma", "waxaan", "ku", "aan", "haa", "mahadsanid", "xaafadda"},
    "pl": {"jest", "nie", "i", "dzień", "dobry", "tak", "proszę", "dziękuję", "w"},
    "en": {"the", "is", "and", "hello", "please", "thank", "you", "we", "not"},
    "tr": {"ve", "bir", "merhaba", "teşekkürler", "değil"},
}


def detect(text: str) -> tuple[str, float]:
    """A deterministic guess, enough for tests: script first, then telltale words."""
    if _ARABIC_SCRIPT.search(text):
        return ("ur", 90.0) if _URDU_LETTERS.search(text) else ("ar", 90.0)
    if _CYRILLIC.search(text):
        return "uk", 80.0
    if re.search("[æøå]", text, re.IGNORECASE):
        return "nb", 85.0
    if re.search("[ąęłśżźćń]", text, re.IGNORECASE):
        return "pl", 85.0
    words = set(re.findall(r"\w+", text.lower()))
    scores = {code: len(words & telltale) for code, telltale in _WORDS.items()}
    best = max(scores, key=lambda code: scores[code])
    if scores[best] == 0:
        return "en", 20.0
    return best, min(95.0, 50.0 + 15.0 * scores[best])


class FakeTranslate(FakeService):
    def __init__(
        self,
        languages: Iterable[str] = ("nb", "en", "ar", "so", "ur", "pl"),
        *,
        api_key: str | None = None,
        missing_pairs: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__()
        self.languages = list(languages)
        self.api_key = api_key
        #: (source, target) pairs the server has no model for.
        self.missing_pairs = set(missing_pairs)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/translate", self.handle_translate),
            web.get("/languages", self.handle_languages),
        ]

    def translations(self) -> list[dict[str, Any]]:
        """The fields of every /translate request, in order."""
        return [r.fields for r in self.requests if r.path == "/translate"]

    async def handle_languages(self, request: web.Request) -> web.Response:
        self.requests.append(Request("/languages"))
        failure = await self.failure()
        if failure is not None:
            return failure
        return web.json_response(
            [
                {"code": code, "name": NAMES.get(code, code), "targets": self.targets(code)}
                for code in self.languages
            ]
        )

    def targets(self, source: str) -> list[str]:
        return [
            target
            for target in self.languages
            if target != source and (source, target) not in self.missing_pairs
        ]

    async def handle_translate(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return self.error_response(400, "Invalid JSON format")
            if not isinstance(body, dict):
                return self.error_response(400, "Invalid JSON format")
        else:
            body = dict(await request.post())
        self.requests.append(Request("/translate", dict(body)))
        failure = await self.failure()
        if failure is not None:
            return failure
        if self.api_key is not None and body.get("api_key") != self.api_key:
            return self.error_response(403, "Invalid API key")
        for name in ("q", "source", "target"):
            if not body.get(name):
                return self.error_response(400, f"Invalid request: missing {name} parameter")
        text_format = body.get("format") or "text"
        if text_format not in ("text", "html"):
            return self.error_response(400, f"{text_format} format is not supported")
        q, source, target = str(body["q"]), str(body["source"]), str(body["target"])
        answer: dict[str, Any] = {}
        if source == "auto":
            source, confidence = detect(q)
            if source not in self.languages:
                source, confidence = "en", 10.0
            answer["detectedLanguage"] = {"language": source, "confidence": confidence}
        for code in (source, target):
            if code not in self.languages:
                return self.error_response(400, f"{code} is not supported")
        if (source, target) in self.missing_pairs:
            return self.error_response(
                400,
                f"{NAMES.get(target, target)} ({target}) is not available as a target language"
                f" from {NAMES.get(source, source)} ({source})",
            )
        answer["translatedText"] = q if source == target else f"[{source}->{target}] {q}"
        return web.json_response(answer)


if __name__ == "__main__":
    import sys

    serve(FakeTranslate(), int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
