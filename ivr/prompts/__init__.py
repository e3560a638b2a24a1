"""The IVR prompt catalogue (ids, Mandarin and English text) and the builder that synthesises it
into 8 kHz mono WAV files for Asterisk."""

from ivr.prompts.builder import BuildReport, PromptBuildError, build_prompts
from ivr.prompts.catalog import (
    DEFAULT_CATALOG,
    Prompt,
    PromptCatalog,
    PromptCatalogError,
    load_catalog,
    parse_catalog,
    prompt_ids,
)

__all__ = [
    "DEFAULT_CATALOG",
    "BuildReport",
    "Prompt",
    "PromptBuildError",
    "PromptCatalog",
    "PromptCatalogError",
    "build_prompts",
    "load_catalog",
    "parse_catalog",
    "prompt_ids",
]
