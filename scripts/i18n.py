"""Maintain the translation catalogs.

    python scripts/i18n.py update          # extract messages.pot from the code, update every .po
    python scripts/i18n.py missing         # print untranslated/fuzzy entries as JSON, per language
    python scripts/i18n.py apply FILE.json # merge {msgid: {lang: text or [plural forms]}}
    python scripts/i18n.py review LANG     # every text of one language, as JSON for `apply`

`update` is the `pybabel extract` + `pybabel update` workflow described in the README, done in
one step with the same keywords. `apply` takes translations delivered by translators; `review`
writes one language's texts in the same format, so a reviewer can correct them in any text
editor and send the file back to be applied.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
sys.path.insert(0, str(ROOT))
from bot.i18n import SUPPORTED_LANGUAGES  # noqa: E402

FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = """\
# Stikk innom translations.
# Texts for residents: short, friendly and simple (about A2 level).
# Translations other than Norwegian and English need review by native speakers."""


#: The names extraction looks for: `t._`, `t.n_` (singular, plural) and `N_` markers.
KEYWORDS = ("_", "n_:1,2", "N_")


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def load(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def save(catalog: Catalog, path: Path) -> None:
    # A fuzzy header would be skipped when compiling, and with it the plural rules.
    catalog.fuzzy = False
    # The plural rule always comes from Babel's table (CLDR's categories in CLDR's order), never
    # from a hand-written header: a header that numbers the forms differently from how they are
    # written picks the wrong form for some counts, and nothing else would notice.
    catalog._num_plurals = None
    catalog._plural_expr = None
    # Fixed dates keep the files stable, so diffs and merges show only real changes.
    catalog.creation_date = catalog.revision_date = FIXED_DATE
    catalog.header_comment = HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(
            handle,
            catalog,
            width=99,
            sort_output=True,
            omit_header=False,
            include_lineno=False,
            ignore_obsolete=True,
        )


def extract(target: Path) -> None:
    """Write a template of every message in the code to `target` (pybabel extract)."""
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
        + [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
        + ["--no-location", "--sort-output", "--project", "Stikk innom", "-o", str(target), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def update() -> None:
    extract(POT)
    template = load(POT)
    save(template, POT)  # with the fixed date, so the template changes only with the texts
    for language in SUPPORTED_LANGUAGES:
        path = po_path(language)
        if path.exists():
            catalog = load(path, language)
        else:
            catalog = Catalog(locale=language, project="Stikk innom")
        catalog.update(template, no_fuzzy_matching=True)
        save(catalog, path)
    print(f"updated {len(SUPPORTED_LANGUAGES)} catalogs from {len(template)} messages")


def missing() -> None:
    result: dict[str, dict[str, str]] = {}
    for language in SUPPORTED_LANGUAGES:
        for message in load(po_path(language), language):
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                key = message.id if isinstance(message.id, str) else message.id[0]
                result.setdefault(key, {})[language] = ""
    print(json.dumps(result, ensure_ascii=False, indent=1))


def apply(path: Path) -> None:
    translations: dict[str, dict[str, str | list[str]]] = json.loads(path.read_text("utf-8"))
    for language in SUPPORTED_LANGUAGES:
        catalog = load(po_path(language), language)
        changed = 0
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            text = translations.get(key, {}).get(language)
            if text:
                message.string = tuple(text) if isinstance(text, list) else text
                message.flags.discard("fuzzy")
                changed += 1
        save(catalog, po_path(language))
        print(f"{language}: {changed} entries set")


def review(language: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        print(f"unknown language {language!r}; use {', '.join(SUPPORTED_LANGUAGES)}")
        sys.exit(2)
    result: dict[str, dict[str, str | list[str]]] = {}
    for message in load(po_path(language), language):
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        text = message.string or ""
        result[key] = {language: list(text) if isinstance(text, tuple) else text}
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "update":
        update()
    elif command == "missing":
        missing()
    elif command == "apply" and len(sys.argv) == 3:
        apply(Path(sys.argv[2]))
    elif command == "review" and len(sys.argv) == 3:
        review(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
