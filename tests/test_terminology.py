"""Each catalog calls the bot's key concepts by the words chosen in `locales/terms.toml`.

A resident who reads "report" in one message and "advice" in the next wonders whether they are
two things; a district that is also called "the city" loses the point of "this is the city's
job, not ours". The test is driven by the file: a new language adds its table there and is
checked; a language without a table is skipped.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, SUPPORTED_LANGUAGES

TERMS_FILE = LOCALES_DIR / "terms.toml"
CONCEPTS = (
    "tip",
    "case",
    "staff",
    "district",
    "city",
    "survey",
    "activity",
    "subscribe",
    "anonymous",
)
#: What the English text says but no translation needs to: commands (/tipsexport), placeholders
#: ({activity}) and HTML tags.
_NOT_PROSE = re.compile(r"/\w+|\{\w+\}|<[^>]+>")


def _terms() -> dict[str, dict[str, list[str]]]:
    with TERMS_FILE.open("rb") as handle:
        return tomllib.load(handle)


def _catalog(language: str):
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _triggers(english: dict[str, list[str]], concept: str) -> re.Pattern[str]:
    words = "|".join(re.escape(word) for word in english[concept])
    return re.compile(rf"\b(?:{words})", re.IGNORECASE)


def _uses(text: str, forms: list[str]) -> list[str]:
    folded = text.casefold()
    return [form for form in forms if form.casefold() in folded]


def test_the_terms_file_defines_every_concept_for_every_language():
    terms = _terms()
    assert set(terms["en"]) == set(CONCEPTS), "[en] names the trigger words of every concept"
    for language, table in terms.items():
        assert language in SUPPORTED_LANGUAGES or language == "en", (
            f"terms.toml has a table for {language!r}, which is not a shipped language"
        )
        missing = set(CONCEPTS) - set(table)
        assert not missing, f"[{language}] has no accepted forms for {sorted(missing)}"
        unknown = set(table) - set(CONCEPTS) - {f"{c}_avoid" for c in CONCEPTS}
        assert not unknown, f"[{language}] has unknown keys {sorted(unknown)}"
        for key, forms in table.items():
            assert isinstance(forms, list) and forms, f"[{language}] {key}: a list of forms"
            assert all(isinstance(form, str) and form for form in forms), f"[{language}] {key}"


@pytest.mark.parametrize("language", [code for code in SUPPORTED_LANGUAGES if code != "en"])
def test_catalog_uses_the_chosen_terms(language: str):
    terms = _terms()
    if language not in terms:
        pytest.skip(f"no terminology table for {language} in locales/terms.toml")
    table = terms[language]
    problems = []
    for message in _catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        english = _NOT_PROSE.sub(" ", " ".join(ids))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for concept in CONCEPTS:
            if not _triggers(terms["en"], concept).search(english):
                continue
            for string in strings:
                if not _uses(string, table[concept]):
                    problems.append(f"{concept}: none of {table[concept]} in {string!r}")
                avoided = _uses(string, table.get(f"{concept}_avoid", []))
                if avoided:
                    problems.append(f"{concept}: {avoided} (avoid) in {string!r}")
    assert not problems, f"{language}:\n" + "\n".join(problems)


def test_the_check_notices_a_competing_word(tmp_path: Path):
    """The check itself: the Somali table rejects "talo" where a tip is meant."""
    so = _terms()["so"]
    assert _uses("Dir talada", so["tip_avoid"]) and not _uses("Dir talada", so["tip"])
    assert _uses("Dir warbixinta", so["tip"]) and not _uses("Dir warbixinta", so["tip_avoid"])
    trigger = _triggers(_terms()["en"], "tip")
    assert trigger.search("Send the tip") and trigger.search("Your tips")
    assert not trigger.search(_NOT_PROSE.sub(" ", "Use: /tipsexport [csv]"))
