"""The prompt catalogue: ids flows may play, with their Mandarin and English text; and the
units' prompts (`unit-<code>`), made from the units table rather than written here."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_CATALOG = Path(__file__).with_name("catalog.toml")
_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# Ids that start so are the units' names, one per unit; the catalogue may not use them.
UNIT_PREFIX = "unit-"
_FIELDS = {"id", "zh", "en"}
_OPTIONAL = {"tts"}


class PromptCatalogError(ValueError):
    """The catalogue file is not usable; the message names the file and the entry."""


@dataclass(frozen=True)
class Prompt:
    """`tts` is what the synthesiser reads instead of `zh` when the written form would be
    misread (a hotline number is said digit by digit, 1 as yao)."""

    id: str
    zh: str
    en: str
    tts: str | None = None


@dataclass(frozen=True)
class PromptCatalog:
    source: str
    prompts: tuple[Prompt, ...]

    def ids(self) -> frozenset[str]:
        return frozenset(p.id for p in self.prompts)

    def __getitem__(self, prompt_id: str) -> Prompt:
        for prompt in self.prompts:
            if prompt.id == prompt_id:
                return prompt
        raise KeyError(prompt_id)

    def __iter__(self):
        return iter(self.prompts)

    def __len__(self) -> int:
        return len(self.prompts)


def parse_catalog(text: str, source: str = "<catalogue>") -> PromptCatalog:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PromptCatalogError(f"{source}: not valid TOML: {error}") from None
    extra = set(document) - {"prompt"}
    if extra:
        raise PromptCatalogError(f"{source}: unexpected top-level keys {sorted(extra)}; use [[prompt]] tables")
    entries = document.get("prompt")
    if not isinstance(entries, list) or not entries:
        raise PromptCatalogError(f"{source}: no [[prompt]] entries")
    prompts: list[Prompt] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: prompt #{number}"
        if not isinstance(entry, dict):
            raise PromptCatalogError(f"{where}: not a table")
        prompt_id = entry.get("id")
        if isinstance(prompt_id, str):
            where += f" ({prompt_id!r})"
        missing = _FIELDS - set(entry)
        unknown = set(entry) - _FIELDS - _OPTIONAL
        if missing:
            raise PromptCatalogError(f"{where}: missing {sorted(missing)}")
        if unknown:
            raise PromptCatalogError(f"{where}: unknown keys {sorted(unknown)}")
        if not isinstance(prompt_id, str) or len(prompt_id) > 64 or not _ID.match(prompt_id):
            raise PromptCatalogError(f"{where}: id must be lower-case words joined by hyphens")
        if prompt_id in seen:
            raise PromptCatalogError(f"{where}: duplicate id")
        if prompt_id.startswith(UNIT_PREFIX):
            raise PromptCatalogError(f"{where}: ids starting {UNIT_PREFIX!r} are the units' "
                                     "names, built from the units table")
        for language in ("zh", "en"):
            value = entry[language]
            if not isinstance(value, str) or not value.strip():
                raise PromptCatalogError(f"{where}: {language} text must be a non-empty string")
        tts = entry.get("tts")
        if tts is not None and (not isinstance(tts, str) or not tts.strip()):
            raise PromptCatalogError(f"{where}: tts text must be a non-empty string")
        seen.add(prompt_id)
        prompts.append(Prompt(prompt_id, entry["zh"].strip(), entry["en"].strip(), tts.strip() if tts else None))
    return PromptCatalog(source, tuple(prompts))


def load_catalog(path: str | Path | None = None) -> PromptCatalog:
    """Read and validate a catalogue file (the packaged one by default)."""
    location = Path(path) if path is not None else DEFAULT_CATALOG
    try:
        text = location.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PromptCatalogError(f"{location}: cannot read: {error}") from None
    return parse_catalog(text, str(location))


@lru_cache(maxsize=1)
def prompt_ids() -> frozenset[str]:
    """The ids of the packaged catalogue: the only prompts a flow may play."""
    return load_catalog().ids()


def unit_prompt_id(code: str) -> str:
    """The prompt that says unit `code`'s name: 'PS-LS' -> 'unit-ps-ls'. A code that is not
    letters, digits and hyphens gets a short hash of itself too, so two codes never share
    a prompt ('PS_LS' -> 'unit-ps-ls-' + 6 hex digits)."""
    lowered = code.strip().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")
    if slug != lowered or not slug:
        digest = hashlib.sha256(code.encode("utf-8")).hexdigest()[:6]
        slug = f"{slug}-{digest}" if slug else digest
    return UNIT_PREFIX + slug


def unit_prompts(units: Iterable[tuple[str, str]]) -> tuple[Prompt, ...]:
    """One prompt per (code, name): the name spoken as it is written (兰山派出所)."""
    prompts: dict[str, Prompt] = {}
    for code, name in units:
        spoken = " ".join(name.split())
        if not spoken:
            continue
        prompt_id = unit_prompt_id(code)
        prompts[prompt_id] = Prompt(prompt_id, spoken, f"unit {code}")
    return tuple(prompts[key] for key in sorted(prompts))


def with_units(catalog: PromptCatalog, units: Iterable[tuple[str, str]]) -> PromptCatalog:
    """The catalogue and the units' prompts: what `hotline prompts build` makes."""
    return PromptCatalog(catalog.source, catalog.prompts + unit_prompts(units))
