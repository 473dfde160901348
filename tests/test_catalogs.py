"""Every shipped catalog is complete, keeps its placeholders and tags, and matches the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, SUPPORTED_LANGUAGES, Catalogs, placeholders
from scripts.i18n import extract, review

ROOT = Path(__file__).resolve().parent.parent
TAG_RE = re.compile(r"</?([a-z-]+)[^>]*>")


def _catalog(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def _code_msgids(tmp_path: Path) -> set[str]:
    pot = tmp_path / "fresh.pot"
    extract(pot)
    with pot.open("rb") as handle:
        template = read_po(handle)
    return {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}


@pytest.fixture(scope="module")
def code_msgids(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    return _code_msgids(tmp_path_factory.mktemp("pot"))


@pytest.mark.parametrize("language", list(SUPPORTED_LANGUAGES))
def test_catalog_translates_every_message_in_the_code(language: str, code_msgids: set[str]):
    catalog = _catalog(language)
    translated = set()
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert not message.fuzzy, f"{language}: fuzzy entry {key!r}"
        assert all(s.strip() for s in strings), f"{language}: untranslated {key!r}"
        translated.add(key)
    missing = code_msgids - translated
    assert not missing, f"{language}: no translation for {sorted(missing)[:5]}"


@pytest.mark.parametrize("language", list(SUPPORTED_LANGUAGES))
def test_translations_keep_placeholders_and_tags(language: str):
    for message in _catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(placeholders(i) for i in ids))
        for string in strings:
            found = placeholders(string)
            # A plural form may leave out {count} (Arabic says "one" in words), never add one.
            assert found <= expected and (expected - found) <= {"count"}, (
                f"{language}: placeholders {found} differ from {expected} in {ids[0]!r}"
            )
            assert sorted(TAG_RE.findall(string)) == sorted(TAG_RE.findall(ids[0])), (
                f"{language}: HTML tags differ in {ids[0]!r}"
            )


def test_template_is_up_to_date(code_msgids: set[str]):
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    in_template = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    assert code_msgids == in_template, "run: python scripts/i18n.py update"


def test_catalogs_load_with_plural_rules():
    catalogs = Catalogs()
    arabic = catalogs.texts("ar").translations
    # The header (with Plural-Forms) must survive compilation, or every language
    # would silently fall back to English plural rules.
    assert "nplurals=6" in arabic.info().get("plural-forms", "")
    assert catalogs.texts("pl").translations.info()["language"] == "pl"


def test_missing_catalog_fails_loudly(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="missing translation catalog"):
        Catalogs(locales_dir=tmp_path)


def test_review_lists_every_text_of_a_language_in_the_apply_format(capsys):
    """What a native reviewer gets (scripts/i18n.py review LANG) is what `apply` takes back."""
    review("ar")
    texts = json.loads(capsys.readouterr().out)
    catalog = _catalog("ar")
    assert len(texts) == len([m for m in catalog if m.id])
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        expected = list(message.string) if isinstance(message.string, tuple) else message.string
        assert texts[key] == {"ar": expected}
