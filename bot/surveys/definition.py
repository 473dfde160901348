"""Survey definitions: the TOML format staff write, read and checked into plain data.

Staff are not programmers, so every problem is reported as one sentence that names the line
or the field (`questions[2].kind`), and the file is rejected whole: a half-loaded survey would
ask residents questions nobody meant to ask. The format is documented in docs/surveys.md.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.i18n import SUPPORTED_LANGUAGES, normalize_language

KINDS = ("smiley", "choice", "multiple", "text")
#: "survey-" plus the slug must fit Telegram's 64-character deep-link payload.
#: `\Z`, not `$`: `$` also matches before a final newline, and "abc\n" is no slug.
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}\Z")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}\Z")
MAX_QUESTIONS = 20
MAX_OPTIONS = 10
MAX_TITLE = 120
MAX_QUESTION = 400
#: Option labels are buttons: a long one is cut off on a phone.
MAX_OPTION = 40

_SURVEY_FIELDS = {"slug", "title", "anonymous", "opens", "closes", "questions"}
_QUESTION_FIELDS = {"id", "kind", "text", "optional", "options"}
_OPTION_FIELDS = {"id", "text"}


class SurveyFileError(ValueError):
    """A problem in a survey file, worded for the staff member who wrote it."""


@dataclass(frozen=True)
class OptionDef:
    key: str
    text: dict[str, str]


@dataclass(frozen=True)
class QuestionDef:
    key: str
    kind: str
    text: dict[str, str]
    optional: bool
    options: tuple[OptionDef, ...] = ()


@dataclass(frozen=True)
class SurveyDef:
    slug: str
    title: dict[str, str]
    anonymous: bool
    opens_on: date | None
    closes_on: date | None
    questions: tuple[QuestionDef, ...]


def localized(texts: dict[str, str], language: str, default_language: str) -> str:
    """The text in `language`, else in the district's default language, else any we have."""
    for code in (language, default_language):
        if texts.get(code):
            return texts[code]
    return next(iter(texts.values()), "")


def parse_survey(source: str | bytes, default_language: str = "nb") -> SurveyDef:
    """Read and check a survey file; raise `SurveyFileError` naming the first problem."""
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SurveyFileError("the file is not UTF-8 text; save it as UTF-8") from None
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise SurveyFileError(f"the file is not valid TOML: {error}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise SurveyFileError("the file is nested too deeply to be a survey") from None
    return _Checker(source, default_language).survey(data)


class _Checker:
    def __init__(self, source: str, default_language: str) -> None:
        self.default_language = default_language
        # Line numbers of each [[questions]] header, so problems can point at the line.
        self.question_lines = [
            number
            for number, line in enumerate(source.splitlines(), start=1)
            if re.match(r"^\s*\[\[\s*questions\s*\]\]", line)
        ]

    def where(self, index: int | None, field: str) -> str:
        if index is None:
            return field
        name = f"questions[{index + 1}]" + (f".{field}" if field else "")
        if index < len(self.question_lines):
            return f"{name} (line {self.question_lines[index]})"
        return name

    def fail(self, index: int | None, field: str, problem: str) -> SurveyFileError:
        return SurveyFileError(f"{self.where(index, field)}: {problem}")

    def survey(self, data: dict[str, Any]) -> SurveyDef:
        self.unknown(data, _SURVEY_FIELDS, None, "the survey")
        slug = data.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise self.fail(
                None,
                "slug",
                "is missing or not a short name of small letters a-z, digits and - (like"
                ' "park-2026")',
            )
        title = self.texts(data.get("title"), None, "title", MAX_TITLE)
        anonymous = data.get("anonymous", False)
        if not isinstance(anonymous, bool):
            raise self.fail(None, "anonymous", "must be true or false")
        opens_on = self.day(data.get("opens"), "opens")
        closes_on = self.day(data.get("closes"), "closes")
        if opens_on and closes_on and closes_on < opens_on:
            raise self.fail(None, "closes", "is before opens")
        raw_questions = data.get("questions")
        if not isinstance(raw_questions, list) or not raw_questions:
            raise self.fail(None, "questions", "the survey needs at least one [[questions]]")
        if len(raw_questions) > MAX_QUESTIONS:
            raise self.fail(None, "questions", f"at most {MAX_QUESTIONS} questions, please")
        questions = tuple(self.question(raw, i) for i, raw in enumerate(raw_questions))
        keys = [q.key for q in questions]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise self.fail(i, "id", f'"{key}" is used by two questions')
        return SurveyDef(slug, title, anonymous, opens_on, closes_on, questions)

    def question(self, raw: Any, index: int) -> QuestionDef:
        if not isinstance(raw, dict):
            raise self.fail(index, "", "must be a table")
        self.unknown(raw, _QUESTION_FIELDS, index, "a question")
        key = raw.get("id", f"q{index + 1}")
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise self.fail(index, "id", "must be a short name of letters, digits, - and _")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise self.fail(index, "kind", f"must be one of {', '.join(KINDS)}")
        text = self.texts(raw.get("text"), index, "text", MAX_QUESTION)
        optional = raw.get("optional", kind == "text")
        if not isinstance(optional, bool):
            raise self.fail(index, "optional", "must be true or false")
        options: tuple[OptionDef, ...] = ()
        if kind in ("choice", "multiple"):
            options = self.options(raw.get("options"), index)
        elif "options" in raw:
            raise self.fail(index, "options", f"a {kind} question has no options")
        return QuestionDef(key, kind, text, optional, options)

    def options(self, raw: Any, index: int) -> tuple[OptionDef, ...]:
        if not isinstance(raw, list) or len(raw) < 2:
            raise self.fail(index, "options", "a choice needs at least two options")
        if len(raw) > MAX_OPTIONS:
            raise self.fail(index, "options", f"at most {MAX_OPTIONS} options, please")
        options: list[OptionDef] = []
        for number, item in enumerate(raw, start=1):
            field = f"options[{number}]"
            if isinstance(item, str | dict) and not (isinstance(item, dict) and "text" in item):
                item = {"text": item}
            if not isinstance(item, dict):
                raise self.fail(index, field, "must be a text or a table with id and text")
            self.unknown(item, _OPTION_FIELDS, index, field)
            key = item.get("id", str(number))
            if not isinstance(key, str) or not KEY_RE.match(key):
                raise self.fail(index, f"{field}.id", "must be letters, digits, - and _")
            if any(option.key == key for option in options):
                raise self.fail(index, f"{field}.id", f'"{key}" is used twice')
            options.append(OptionDef(key, self.texts(item["text"], index, field, MAX_OPTION)))
        return tuple(options)

    def texts(self, raw: Any, index: int | None, field: str, limit: int) -> dict[str, str]:
        """A text for every language, or one text used for all of them."""
        if isinstance(raw, str):
            raw = {self.default_language: raw}
        if not isinstance(raw, dict) or not raw:
            raise self.fail(
                index, field, 'is missing: write a text, or one per language (nb = "...")'
            )
        texts: dict[str, str] = {}
        for key, text in raw.items():
            # Lenient about spelling: `fa` and `fa-AF` mean Dari (`fa_AF`), `no` Norwegian.
            language = normalize_language(key) if isinstance(key, str) else None
            if language is None:
                raise self.fail(
                    index,
                    f"{field}.{key}",
                    f"unknown language; use {', '.join(SUPPORTED_LANGUAGES)}",
                )
            if not isinstance(text, str) or not text.strip():
                raise self.fail(index, f"{field}.{key}", "must be a text")
            if len(text) > limit:
                raise self.fail(index, f"{field}.{key}", f"is longer than {limit} letters")
            texts[language] = text.strip()
        if self.default_language not in texts:
            raise self.fail(
                index,
                field,
                f"needs a text in {self.default_language} (residents whose language is"
                " missing see that one)",
            )
        return texts

    def day(self, raw: Any, field: str) -> date | None:
        if raw is None:
            return None
        if isinstance(raw, date) and not hasattr(raw, "hour"):
            return raw
        raise self.fail(None, field, "must be a date like 2026-12-31 (without quotes)")

    def unknown(
        self, raw: dict[str, Any], allowed: set[str], index: int | None, what: str
    ) -> None:
        for name in raw:
            if name not in allowed:
                raise self.fail(
                    index,
                    "" if index is not None else name,
                    f"{what} has an unknown field {name!r} (known: {', '.join(sorted(allowed))})"
                    if index is not None
                    else f"unknown field (known: {', '.join(sorted(allowed))})",
                )
