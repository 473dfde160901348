"""The tip categories: the one place a district edits to change what residents can report on.

Each category has a stable `key` (stored with every tip, used in exports as the Open311
`service_code` and in deep links such as `t.me/<bot>?start=tip-traffic`), an icon, and a label
marked with `N_` so it is translated through the catalogs like every other text.

"Whose job is it": a category that usually belongs to a city agency rather than the district can
carry `external_url` and `external_note`. The resident sees the note and a button to the
agency's own service before writing, and may still send the tip to the district.
`agency` names who acts on it (Open311 `agency_responsible`).

To change the categories: edit `CATEGORIES`, run `python scripts/i18n.py update`, translate the new
labels (`python scripts/i18n.py missing` lists them), and restart. Keep the keys of categories
that already have tips; a removed key still shows in exports under its key.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_


@dataclass(frozen=True)
class Category:
    key: str
    icon: str
    label: str
    external_url: str | None = None
    external_note: str | None = None
    agency: str | None = None


#: Oslo's own reporting service for roads, street lights, litter on city land and more.
OSLO_BYMELDING = "https://www.oslo.kommune.no/bymelding/"

CATEGORIES: tuple[Category, ...] = (
    Category(
        "traffic",
        "🚦",
        N_("Traffic and road safety"),
        external_url=OSLO_BYMELDING,
        external_note=N_(
            "Holes in the road, street lights and signs are fixed by the City of Oslo."
            " You can report them to the city directly: they fix it faster."
        ),
        agency="Oslo kommune, Bymiljøetaten",
    ),
    Category(
        "littering",
        "🗑️",
        N_("Littering and waste"),
        external_url=OSLO_BYMELDING,
        external_note=N_(
            "Litter in streets and full bins in public places are cleaned by the City of Oslo."
            " You can report it to the city directly: they clean it faster."
        ),
        agency="Oslo kommune, Bymiljøetaten",
    ),
    Category("buildings", "🏗️", N_("Buildings and physical upgrades")),
    Category("sports", "⚽", N_("Sports fields and playgrounds")),
    Category("paths", "🌳", N_("Walking paths and green areas")),
    Category("services", "🏛️", N_("Municipal services")),
    Category("idea", "💡", N_("Idea or suggestion")),
    Category("other", "📝", N_("Other")),
)

_BY_KEY = {item.key: item for item in CATEGORIES}


def find_category(key: str | None) -> Category | None:
    return _BY_KEY.get(key or "")


def label_of(key: str) -> str:
    """The untranslated label of a category key (the key itself for a removed category)."""
    found = find_category(key)
    return found.label if found else key
