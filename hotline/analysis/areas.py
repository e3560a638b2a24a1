"""Which county or district (区县) an appeal belongs to, for the analysis by area.

The bureau's map is a TOML file that `[analysis] areas` names
(config/analysis-areas.example.toml): each `[[district]]` has a `name`, the townships and
streets (乡镇/街道, as the hall types them into an appeal's area) in `places`, and the codes of
the units in it in `units`. An appeal's district is its area's, else its unit's, else
"未归属区县". With no map, the appeals are grouped by the area as typed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

UNMAPPED = "未归属区县"
NO_AREA = "未填区域"


class AreaMapError(ValueError):
    """The areas file is not as described; the message names the file and the entry."""


@dataclass(frozen=True)
class AreaMap:
    places: dict[str, str] = field(default_factory=dict)  # township or street -> district
    units: dict[str, str] = field(default_factory=dict)  # unit code -> district
    districts: tuple[str, ...] = ()  # in the file's order

    @property
    def configured(self) -> bool:
        return bool(self.districts)

    def district(self, area: str | None, unit_code: str | None) -> str:
        if not self.configured:
            return (area or "").strip() or NO_AREA
        name = self.places.get((area or "").strip())
        if name is None and unit_code is not None:
            name = self.units.get(unit_code)
        return name or UNMAPPED


def load_areas(path: str | Path | None) -> AreaMap:
    if not path:
        return AreaMap()
    try:
        document = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise AreaMapError(f"cannot read the areas file {path}: {error}") from None
    entries = document.get("district", [])
    if not isinstance(entries, list) or not entries:
        raise AreaMapError(f"{path}: expected [[district]] entries")
    places: dict[str, str] = {}
    units: dict[str, str] = {}
    names: list[str] = []
    for number, entry in enumerate(entries, start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise AreaMapError(f"{path}: district {number} has no name")
        for key, target in (("places", places), ("units", units)):
            values = entry.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise AreaMapError(f"{path}: district {name!r}: {key} must be a list of text")
            for value in values:
                if value in target and target[value] != name:
                    raise AreaMapError(f"{path}: {value!r} is in both {target[value]!r} "
                                       f"and {name!r}")
                target[value.strip()] = name
        names.append(name)
    return AreaMap(places, units, tuple(names))
