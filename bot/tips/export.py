"""Exports of tips for the staff who follow up in other systems: CSV, XLSX and Open311
GeoReport v2 JSON.

Anonymity holds in every format: a reporter's name appears only if they allowed staff to see
it, and no Telegram id of any resident is ever exported (the reference T-0042 identifies a tip).
Cells that start like a spreadsheet formula are written as text, so a resident's "=HYPERLINK(…)"
stays a sentence and never runs in the staff's spreadsheet; control characters a workbook
cannot hold are replaced (`bot.spreadsheet`).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from typing import Any

from bot.config import Config
from bot.i18n import SUPPORTED_LANGUAGES, Texts
from bot.spreadsheet import xlsx_cell
from bot.tips.categories import find_category, label_of
from bot.tips.status import LABELS, open311_status
from storage import tips as store
from storage import translations
from storage.db import Database
from storage.tips import Tip

FORMATS = ("csv", "xlsx", "open311")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Columns of the CSV and XLSX exports, in order.
COLUMNS = (
    "reference",
    "created",
    "updated",
    "topic",
    "topic_code",
    "status",
    "status_code",
    "description",
    "description_translated",
    "place",
    "latitude",
    "longitude",
    "language",
    "source",
    "name",
    "followers",
    "photos",
    "voice_messages",
    "videos",
    "possibly_same_as",
    "merged_into",
)


def rows(
    tips: list[Tip], t: Texts, config: Config, translated: dict[int, str] | None = None
) -> list[dict[str, Any]]:
    """One flat row per tip; names only where the resident allowed it. `translated`: the
    descriptions machine-translated into the staff language (by tip id), where there are."""
    tz = config.timezone
    translated = translated or {}
    result = []
    for tip in tips:
        result.append(
            {
                "reference": tip.reference,
                "created": tip.created_at.astimezone(tz).isoformat(timespec="seconds"),
                "updated": tip.updated_at.astimezone(tz).isoformat(timespec="seconds"),
                "topic": t._(label_of(tip.category)),
                "topic_code": tip.category,
                "status": t._(LABELS[tip.status]),
                "status_code": tip.status.value,
                "description": tip.description or "",
                "description_translated": translated.get(tip.id, "") if tip.description else "",
                "place": tip.place_text or "",
                "latitude": tip.latitude,
                "longitude": tip.longitude,
                "language": SUPPORTED_LANGUAGES.get(tip.language, tip.language),
                "source": tip.source,
                "name": tip.reporter_name if tip.show_name and tip.reporter_name else "",
                "followers": tip.followers,
                "photos": tip.count("photo") + tip.count("image"),
                "voice_messages": tip.count("voice"),
                "videos": tip.count("video"),
                "possibly_same_as": (
                    store.reference(tip.possible_duplicate_of) if tip.possible_duplicate_of else ""
                ),
                "merged_into": store.reference(tip.merged_into) if tip.merged_into else "",
            }
        )
    return result


def _text_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows æ, ø, å and Arabic script correctly."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in table:
        writer.writerow({key: _text_cell("" if v is None else v) for key, v in row.items()})
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(table: list[dict[str, Any]]) -> bytes:
    # Imported here: openpyxl (with numpy) is a third of the bot's start-up and ~15 MB of
    # memory, and only exports need it.
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Tips"
    sheet.append(list(COLUMNS))
    for row in table:
        sheet.append([xlsx_cell(row[key]) for key in COLUMNS])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, never a formula
    sheet.freeze_panes = "A2"
    widths = {"description": 60, "place": 30, "topic": 28, "created": 20, "updated": 20}
    for index, key in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(key, 14)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_open311(
    tips: list[Tip], t: Texts, config: Config, translated: dict[int, str] | None = None
) -> bytes:
    """GeoReport v2 service requests (the JSON of `GET requests.json`).

    `media_url` is null: photos stay in Telegram and are not published at a public address.
    `agency_responsible` names the topic's agency for tips forwarded to it.
    """
    tz = config.timezone
    translated = translated or {}
    requests = []
    for tip in tips:
        chosen = find_category(tip.category)
        requests.append(
            {
                "service_request_id": tip.reference,
                "status": open311_status(tip.status),
                "status_notes": t._(LABELS[tip.status]),
                "service_name": t._(label_of(tip.category)),
                "service_code": tip.category,
                "description": tip.description or None,
                # An extension field: the description in the staff language, machine-made.
                "description_translated": (
                    translated.get(tip.id) or None if tip.description else None
                ),
                "agency_responsible": (
                    chosen.agency
                    if chosen and chosen.agency and tip.status == store.TipStatus.FORWARDED
                    else None
                ),
                "service_notice": None,
                "requested_datetime": tip.created_at.astimezone(tz).isoformat(timespec="seconds"),
                "updated_datetime": tip.updated_at.astimezone(tz).isoformat(timespec="seconds"),
                "expected_datetime": None,
                "address": tip.place_text or None,
                "address_id": None,
                "zipcode": None,
                "lat": tip.latitude,
                "long": tip.longitude,
                "media_url": None,
            }
        )
    return json.dumps(requests, ensure_ascii=False, indent=2).encode("utf-8")


def since_datetime(since: date | None, config: Config) -> datetime | None:
    """Midnight at the start of `since` in the district's time zone."""
    if since is None:
        return None
    return datetime.combine(since, time(0), tzinfo=config.timezone)


def export_detail(fmt: str, since: date | None) -> str:
    """What the audit trail says about a tips export (never what was in it)."""
    return f"format={fmt}" + (f" since={since.isoformat()}" if since else "")


async def export_bytes(
    db: Database, fmt: str, since: date | None, config: Config, t: Texts
) -> bytes:
    """The export file in one of `FORMATS`, for tips made on or after `since`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    tips = await store.tips_since(db, since_datetime(since, config))
    translated = await translated_descriptions(db, tips)
    if fmt == "open311":
        return to_open311(tips, t, config, translated)
    table = rows(tips, t, config, translated)
    return to_csv(table) if fmt == "csv" else to_xlsx(table)


async def translated_descriptions(db: Database, tips: list[Tip]) -> dict[int, str]:
    """The descriptions machine-translated when their cards were posted (bot/tips/bridge.py);
    a tip without one (no translation server, or it failed) has an empty cell."""
    bridges = await translations.tip_bridges(db, [tip.id for tip in tips])
    return {tip_id: b.translated for tip_id, b in bridges.items() if b.translated}


def file_name(fmt: str, now: datetime) -> str:
    extension = "json" if fmt == "open311" else fmt
    suffix = "-open311" if fmt == "open311" else ""
    return f"tips-{now:%Y-%m-%d}{suffix}.{extension}"
