"""Reference data the operator edits as files: the approval catalogue and the units (with
their duty contact and phone, for the urging SMS).

Loading is an upsert by code, so it can be repeated; a catalogue item missing from the file
is deactivated, not deleted, because old appeals still refer to it. A malformed file is
refused whole with a message naming the entry by its line: a `[unit]` written for
`[[unit]]`, a code given twice, an unknown key or kind.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from hotline.phones import PhoneNumberError, normalise_phone
from hotline.toml_lines import TomlLines
from schemas.enums import UnitKind
from schemas.models import ApprovalCategory, ApprovalItem, Unit


class ReferenceDataError(ValueError):
    pass


@dataclass(frozen=True)
class LoadSummary:
    added: int
    updated: int
    deactivated: int = 0


def shipped_catalogue() -> str:
    return resources.files("hotline.data").joinpath("approval_catalogue.toml").read_text("utf-8")


def parse_catalogue(text: str, source: str = "catalogue"
                    ) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The `[[category]]` tables of a catalogue file, each (code, name, [(item code, item
    name), ...]); refused with the line of the first bad entry."""
    document, lines = _read(text, source)
    bad = _reporter(source)
    for key in document:
        if key != "category":
            raise bad(lines.table(key), f"unknown key {key!r}; expected [[category]] tables")
    categories = document.get("category")
    if isinstance(categories, dict):
        raise bad(lines.table("category"), "write [[category]] (one table per category), "
                                           "not [category]")
    if not isinstance(categories, list) or not categories:
        raise bad(None, "expected [[category]] tables")
    category_lines: dict[str, int | None] = {}
    item_lines: dict[str, int | None] = {}
    parsed = []
    for index, category in enumerate(categories):
        where = lines.entry("category", index)
        label = "" if where is not None else f"category #{index + 1}: "
        if not isinstance(category, dict):
            raise bad(where, f"{label}a category must be a [[category]] table")
        for key in category:
            if key not in ("code", "name", "items"):
                raise bad(lines.entry("category", index, key),
                          f"{label}unknown key {key!r} in [[category]]; expected code, name, items")
        code, name = category.get("code"), category.get("name")
        if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
            raise bad(where, f"{label}category #{index + 1} needs a code and a name")
        if code in category_lines:
            raise bad(where, f"category code {code} appears twice{_first(category_lines[code])}")
        category_lines[code] = where
        items_line = lines.entry("category", index, "items")
        items = []
        raw_items = category.get("items", [])
        if not isinstance(raw_items, list):
            raise bad(items_line, f"category {code}: items must be a list of [code, name]")
        for item in raw_items:
            if (not isinstance(item, list) or len(item) != 2
                    or not all(isinstance(part, str) and part for part in item)):
                raise bad(items_line, f"category {code}: item {item!r} must be [code, name]")
            line = _quoted(lines, item[0], items_line)
            if item[0] in item_lines:
                raise bad(line, f"item code {item[0]} appears twice{_first(item_lines[item[0]])}")
            item_lines[item[0]] = line
            items.append((item[0], item[1]))
        parsed.append((code, name, items))
    return parsed


class UnitEntry(NamedTuple):
    code: str
    name: str
    kind: UnitKind
    # Who the hall reaches on duty (the urging SMS goes to the phone): None when the entry
    # does not say, which leaves a loaded unit's as they are; "" clears them.
    duty_contact: str | None = None
    duty_phone: str | None = None


UNIT_KEYS = ("code", "name", "kind", "duty_contact", "duty_phone")


def parse_units(text: str, source: str = "units") -> list[UnitEntry]:
    """The `[[unit]]` tables of a units file; refused with the line of the first bad entry
    (a duty phone that is not a phone number too)."""
    document, lines = _read(text, source)
    bad = _reporter(source)
    for key in document:
        if key != "unit":
            raise bad(lines.table(key), f"unknown key {key!r}; expected [[unit]] tables")
    entries = document.get("unit", [])
    if isinstance(entries, dict):
        raise bad(lines.table("unit"), "write [[unit]] (one table per unit), not [unit]")
    if not isinstance(entries, list) or not entries:
        raise bad(None, "expected [[unit]] tables")
    kinds = ", ".join(k.value for k in UnitKind)
    seen: dict[str, int | None] = {}
    parsed = []
    for index, entry in enumerate(entries):
        where = lines.entry("unit", index)
        label = "" if where is not None else f"unit #{index + 1}: "
        if not isinstance(entry, dict):
            raise bad(where, f"{label}a unit must be a [[unit]] table")
        for key in entry:
            if key not in UNIT_KEYS:
                raise bad(lines.entry("unit", index, key),
                          f"{label}unknown key {key!r} in [[unit]]; expected "
                          f"{', '.join(UNIT_KEYS)}")
        code, name = entry.get("code"), entry.get("name")
        if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
            raise bad(where, f"{label}unit #{index + 1} needs a code and a name")
        try:
            kind = UnitKind(entry.get("kind", ""))  # missing: refused like a wrong kind
        except ValueError:
            raise bad(lines.entry("unit", index, "kind"),
                      f"unit {code}: kind must be one of {kinds}") from None
        if code in seen:
            raise bad(where, f"unit code {code} appears twice{_first(seen[code])}")
        seen[code] = where
        duty: dict[str, str | None] = {}
        for key, limit in (("duty_contact", 64), ("duty_phone", 32)):
            value = entry.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise bad(lines.entry("unit", index, key),
                          f"unit {code}: {key} must be text of at most {limit} characters")
            duty[key] = value.strip() if isinstance(value, str) else None
        if duty["duty_phone"]:
            try:
                duty["duty_phone"] = normalise_phone(duty["duty_phone"])
            except PhoneNumberError as error:
                raise bad(lines.entry("unit", index, "duty_phone"),
                          f"unit {code}: duty_phone: {error}") from None
        parsed.append(UnitEntry(code, name, kind, duty["duty_contact"], duty["duty_phone"]))
    return parsed


def _read(text: str, source: str) -> tuple[dict, TomlLines]:
    try:
        return tomllib.loads(text), TomlLines(text)
    except tomllib.TOMLDecodeError as error:
        raise ReferenceDataError(f"{source}: not valid TOML: {error}") from None


def _reporter(source: str):
    def bad(line: int | None, message: str) -> ReferenceDataError:
        where = f"{source} line {line}" if line is not None else source
        return ReferenceDataError(f"{where}: {message}")
    return bad


def _first(line: int | None) -> str:
    return f" (first at line {line})" if line is not None else ""


def _quoted(lines: TomlLines, code: str, start: int | None) -> int | None:
    """The line of an item written `["CODE", ...]` inside a category's items list."""
    found = [line for line in (lines.find(f'"{code}"', start), lines.find(f"'{code}'", start))
             if line is not None]
    return min(found) if found else start


def load_catalogue(session: Session, text: str, source: str = "catalogue") -> LoadSummary:
    parsed = parse_catalogue(text, source)
    added = updated = 0
    codes_in_file = set()
    for code, name, items in parsed:
        category = session.scalar(select(ApprovalCategory).where(ApprovalCategory.code == code))
        if category is None:
            category = ApprovalCategory(code=code, name=name)
            session.add(category)
            session.flush()
        else:
            category.name = name
        for item_code, item_name in items:
            codes_in_file.add(item_code)
            item = session.scalar(select(ApprovalItem).where(ApprovalItem.code == item_code))
            if item is None:
                session.add(ApprovalItem(code=item_code, name=item_name,
                                         category_id=category.id, active=True))
                added += 1
            else:
                item.name, item.category_id, item.active = item_name, category.id, True
                updated += 1
    # An UPDATE's result is a CursorResult (with rowcount); Session.execute is typed Result.
    deactivated = cast(CursorResult, session.execute(
        update(ApprovalItem).where(ApprovalItem.code.not_in(codes_in_file),
                                   ApprovalItem.active.is_(True))
        .values(active=False))).rowcount
    return LoadSummary(added, updated, deactivated)


def load_units(session: Session, path: Path) -> LoadSummary:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ReferenceDataError(f"{path}: {error}") from None
    added = updated = 0
    for entry in parse_units(text, str(path)):
        unit = session.scalar(select(Unit).where(Unit.code == entry.code))
        if unit is None:
            unit = Unit(code=entry.code, name=entry.name, kind=entry.kind, active=True)
            session.add(unit)
            added += 1
        else:
            unit.name, unit.kind, unit.active = entry.name, entry.kind, True
            updated += 1
        if entry.duty_contact is not None:
            unit.duty_contact = entry.duty_contact or None
        if entry.duty_phone is not None:
            unit.duty_phone = entry.duty_phone or None
    return LoadSummary(added, updated)
