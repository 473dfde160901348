"""An OpenAI-compatible speech-to-text server for tests and the demo (faster-whisper's and
OpenAI's API, fake transcripts).

    POST /v1/audio/transcriptions  multipart: file, model, language, response_format
        -> {"text": "..."}   (or plain text, or verbose_json with the language)
    GET  /v1/models                -> {"object": "list", "data": [{"id": "whisper-1", ...}]}

What a recording "says" is set per audio content with `will_hear(audio, text)`; anything else
is heard as "(speech, N bytes)". Errors are OpenAI's: `{"error": {"message", "type", "code"}}`
with 400, 401 (wrong key) or 404 (unknown model), plus the modes of `FakeService`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from aiohttp import web

from sandbox.fake_service import FakeService, Request, serve

#: verbose_json names the language in full, as Whisper does.
_WHISPER_NAMES = {
    "no": "norwegian",
    "en": "english",
    "ar": "arabic",
    "so": "somali",
    "ur": "urdu",
    "pl": "polish",
}


class FakeWhisper(FakeService):
    def __init__(
        self, *, models: Iterable[str] = ("whisper-1",), api_key: str | None = None
    ) -> None:
        super().__init__()
        self.models = list(models)
        self.api_key = api_key
        self._heard: dict[str, tuple[str, str | None]] = {}

    @property
    def url(self) -> str:
        return f"{self.root}/v1"

    def will_hear(self, audio: bytes, text: str, language: str | None = None) -> None:
        """Make `audio` transcribe as `text` (spoken in Whisper's `language` code)."""
        self._heard[hashlib.sha256(audio).hexdigest()] = (text, language)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/audio/transcriptions", self.handle_transcription),
            web.get("/v1/models", self.handle_models),
        ]

    def error_response(self, status: int, message: str) -> web.Response:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return web.json_response(
            {"error": {"message": message, "type": kind, "param": None, "code": None}},
            status=status,
        )

    def _authorized(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    async def handle_models(self, request: web.Request) -> web.Response:
        self.requests.append(Request("/models"))
        failure = await self.failure()
        if failure is not None:
            return failure
        if not self._authorized(request):
            return self.error_response(401, "Incorrect API key provided")
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": m, "object": "model", "owned_by": "fake"} for m in self.models],
            }
        )

    async def handle_transcription(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("multipart/"):
            return self.error_response(400, "Expected a multipart/form-data body")
        form = await request.post()
        upload = form.get("file")
        audio = upload.file.read() if isinstance(upload, web.FileField) else None
        fields = {name: str(value) for name, value in form.items() if name != "file"}
        if isinstance(upload, web.FileField):
            fields["filename"] = upload.filename
            fields["content_type"] = upload.content_type
            fields["size"] = str(len(audio or b""))
        self.requests.append(Request("/audio/transcriptions", fields))
        failure = await self.failure()
        if failure is not None:
            return failure
        if not self._authorized(request):
            return self.error_response(401, "Incorrect API key provided")
        if audio is None:
            return self.error_response(400, "Missing required parameter: 'file'")
        model = fields.get("model")
        if not model:
            return self.error_response(400, "Missing required parameter: 'model'")
        if model not in self.models:
            return self.error_response(404, f"The model `{model}` does not exist")
        text, language = self._heard.get(
            hashlib.sha256(audio).hexdigest(), (f"(speech, {len(audio)} bytes)", None)
        )
        language = fields.get("language") or language or "en"
        response_format = fields.get("response_format", "json")
        if response_format == "text":
            return web.Response(text=text)
        if response_format == "verbose_json":
            return web.json_response(
                {"text": text, "language": _WHISPER_NAMES.get(language, language), "segments": []}
            )
        return web.json_response({"text": text})


if __name__ == "__main__":
    import sys

    serve(FakeWhisper(), int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
