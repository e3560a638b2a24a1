"""Reference data the operator edits as files: the approval catalogue and the units.

Loading is an upsert by code, so it can be repeated; a catalogue item missing from the file
is deactivated, not deleted, because old appeals still refer to it. A malformed file is
refused whole with a message naming the entry.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

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


def parse_catalogue(text: str, source: str = "catalogue") -> list[tuple[str, str, list[tuple[str, str]]]]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ReferenceDataError(f"{source}: not valid TOML: {error}") from None
    categories = document.get("category")
    if not isinstance(categories, list) or not categories:
        raise ReferenceDataError(f"{source}: expected [[category]] tables")
    seen: set[str] = set()
    parsed = []
    for number, category in enumerate(categories, 1):
        code, name = category.get("code"), category.get("name")
        if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
            raise ReferenceDataError(f"{source}: category #{number} needs a code and a name")
        items = []
        for item in category.get("items", []):
            if (not isinstance(item, list) or len(item) != 2
                    or not all(isinstance(part, str) and part for part in item)):
                raise ReferenceDataError(f"{source}: category {code}: item {item!r} must be "
                                         f"[code, name]")
            if item[0] in seen:
                raise ReferenceDataError(f"{source}: item code {item[0]} appears twice")
            seen.add(item[0])
            items.append((item[0], item[1]))
        parsed.append((code, name, items))
    return parsed


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
    deactivated = session.execute(update(ApprovalItem)
                                  .where(ApprovalItem.code.not_in(codes_in_file),
                                         ApprovalItem.active.is_(True))
                                  .values(active=False)).rowcount
    return LoadSummary(added, updated, deactivated)


def load_units(session: Session, path: Path) -> LoadSummary:
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ReferenceDataError(f"{path}: {error}") from None
    added = updated = 0
    for number, entry in enumerate(document.get("unit", []), 1):
        code, name, kind = entry.get("code"), entry.get("name"), entry.get("kind")
        if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
            raise ReferenceDataError(f"{path}: unit #{number} needs a code and a name")
        try:
            kind = UnitKind(kind)
        except ValueError:
            raise ReferenceDataError(f"{path}: unit {code}: kind must be one of "
                                     f"{', '.join(k.value for k in UnitKind)}") from None
        unit = session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            session.add(Unit(code=code, name=name, kind=kind, active=True))
            added += 1
        else:
            unit.name, unit.kind, unit.active = name, kind, True
            updated += 1
    return LoadSummary(added, updated)
