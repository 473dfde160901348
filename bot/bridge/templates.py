"""Reply templates: the answers staff give every week, written once per language.

    # replies/example.toml
    [opening-hours]
    label = "Åpningstider"             # the button staff press (optional)
    nb = "Vi har åpent mandag til fredag, 09:00-15:30."
    en = "We are open Monday to Friday, 09:00-15:30."
    ...

Each table is one template; its keys are language codes. The staff language's text is
required: staff read it, and machine translation starts from it for a resident whose language
the file does not have. Texts may use Telegram's HTML (`<b>`, `<i>`, `<a href="...">`).

Staff are not programmers, so every problem is reported as a sentence naming the template and
the language, all problems at once, and the file is refused whole.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from bot.bridge.translation import Translation, Translator
from bot.i18n import SUPPORTED_LANGUAGES
from storage.replies import ReplyTemplate

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TEMPLATES = 30
#: A button label; longer ones are cut off on a phone.
MAX_LABEL = 40
#: Telegram takes 4,096 letters in a message; the rest is room for the note that marks a
#: machine translation.
MAX_TEXT = 3500

#: Tags Telegram's HTML knows (https://core.telegram.org/bots/api#html-style).
_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a",
    "blockquote", "tg-spoiler", "span", "tg-emoji",
}  # fmt: skip
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")


class TemplateFileError(ValueError):
    """Problems in a templates file, one sentence each, for the staff member who wrote it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def check_telegram_html(text: str) -> str | None:
    """None if Telegram will accept `text` as HTML, else what is wrong with it."""
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "&":
            entity = _ENTITY_RE.match(text, pos)
            if entity is None:
                return "a & must be written &amp;"
            pos = entity.end()
        elif char == "<":
            tag = _TAG_RE.match(text, pos)
            if tag is None:
                return "a < must be written &lt;"
            closing, name, attributes = tag.group(1), tag.group(2).lower(), tag.group(3)
            if name == "br":
                return "Telegram has no <br>: start a new line instead"
            if name not in _TAGS:
                return f"Telegram does not know the tag <{name}>"
            if closing:
                if not stack or stack[-1] != name:
                    return f"</{name}> closes a tag that is not open"
                stack.pop()
            else:
                if name == "a" and "href=" not in attributes:
                    return '<a> needs an address: <a href="https://...">'
                stack.append(name)
            pos = tag.end()
        else:
            pos += 1
    if stack:
        return f"<{stack[-1]}> is never closed (add </{stack[-1]}>)"
    return None


def plain_text(text: str) -> str:
    """The letters a reader sees: tags dropped, entities decoded."""
    return html.unescape(_TAG_RE.sub("", text))


def _length(text: str) -> int:
    """Telegram counts UTF-16 code units."""
    return len(plain_text(text).encode("utf-16-le")) // 2


def parse_templates(source: str | bytes, staff_language: str) -> list[ReplyTemplate]:
    """Read and check a templates file; raise `TemplateFileError` listing every problem."""
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TemplateFileError(["the file is not UTF-8 text; save it as UTF-8"]) from None
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise TemplateFileError([f"the file is not valid TOML: {error}"]) from None
    problems: list[str] = []
    templates = [
        template
        for key, raw in data.items()
        if (template := _template(key, raw, staff_language, problems)) is not None
    ]
    if not data:
        problems.append("the file has no templates; start one with a line like [opening-hours]")
    if len(data) > MAX_TEMPLATES:
        problems.append(f"{len(data)} templates: at most {MAX_TEMPLATES}, please")
    if problems:
        raise TemplateFileError(problems)
    return templates


def _template(
    key: str, raw: Any, staff_language: str, problems: list[str]
) -> ReplyTemplate | None:
    found = len(problems)
    if not isinstance(raw, dict):
        problems.append(
            f"{key}: write it as a table, a line [{key}] followed by one text per language"
        )
        return None
    if not KEY_RE.match(key):
        problems.append(
            f"[{key}]: a template's name is small letters a-z, digits, - and _ (at most 40)"
        )
    label = raw.get("label", key.replace("-", " ").replace("_", " ").capitalize())
    if not isinstance(label, str) or not label.strip():
        problems.append(f"{key}.label: must be a text")
        label = key
    elif len(label) > MAX_LABEL:
        problems.append(f"{key}.label: is longer than {MAX_LABEL} letters (it is a button)")
    texts: dict[str, str] = {}
    for language, text in raw.items():
        if language == "label":
            continue
        where = f"{key}.{language}"
        if language not in SUPPORTED_LANGUAGES:
            problems.append(
                f"{where}: unknown language code; use {', '.join(SUPPORTED_LANGUAGES)} (or label)"
            )
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append(f'{where}: must be a text in quotes, like {language} = "..."')
            continue
        text = text.strip()
        if (html_problem := check_telegram_html(text)) is not None:
            problems.append(f"{where}: bad HTML: {html_problem}")
        elif (length := _length(text)) > MAX_TEXT:
            problems.append(
                f"{where}: too long for Telegram: {length} letters, at most {MAX_TEXT}"
            )
        texts[language] = text
    if staff_language not in texts and not any(
        p.startswith(f"{key}.{staff_language}:") for p in problems[found:]
    ):
        problems.append(
            f"{key}: needs a text in {staff_language} (BOT_STAFF_LANGUAGE): staff read it, and"
            " machine translation starts from it"
        )
    if len(problems) > found:
        return None
    return ReplyTemplate(key, label.strip(), texts)


@dataclass(frozen=True)
class TemplateText:
    """What a resident gets: HTML, whether a machine wrote it, and its language."""

    text: str
    machine_translated: bool
    language: str


async def choose_template_text(
    template: ReplyTemplate,
    language: str,
    translator: Translator | None,
    staff_language: str,
) -> TemplateText:
    """The template in the resident's language: human-written where the file has it, else
    machine-translated from the staff language's text (marked so), else, with the translator
    down, English if the file has it (more newcomers read it than Norwegian), else the staff
    language's text."""
    if language in template.texts:
        return TemplateText(template.texts[language], False, language)
    if translator is not None:
        source = plain_text(template.texts[staff_language])
        result = await translator.translate(source, staff_language, language)
        if isinstance(result, Translation):
            return TemplateText(html.escape(result.text, quote=False), True, language)
    fallback = "en" if "en" in template.texts else staff_language
    return TemplateText(template.texts[fallback], False, fallback)
