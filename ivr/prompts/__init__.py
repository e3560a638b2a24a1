"""The IVR prompt catalogue (ids, Mandarin and English text), the units' prompts, and the
builder that synthesises them into 8 kHz mono WAV files for Asterisk."""

from ivr.prompts.builder import BuildReport, PromptBuildError, build_prompts, missing_tools
from ivr.prompts.catalog import (
    DEFAULT_CATALOG,
    UNIT_PREFIX,
    Prompt,
    PromptCatalog,
    PromptCatalogError,
    load_catalog,
    parse_catalog,
    prompt_ids,
    unit_prompt_id,
    unit_prompts,
    with_units,
)

__all__ = [
    "DEFAULT_CATALOG",
    "UNIT_PREFIX",
    "BuildReport",
    "Prompt",
    "PromptBuildError",
    "PromptCatalog",
    "PromptCatalogError",
    "build_prompts",
    "load_catalog",
    "missing_tools",
    "parse_catalog",
    "prompt_ids",
    "unit_prompt_id",
    "unit_prompts",
    "with_units",
]
