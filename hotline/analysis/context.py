"""What the analysis page needs beside the database, built once per process from the
`[analysis]` settings: the districts, the hot topics' segmenter with its day cache, and the
follow-up lists' windows. A bad file is refused at start-up with its name."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.analysis.areas import AreaMap, load_areas
from hotline.analysis.config import AnalysisConfig
from hotline.analysis.insights import Settings, settings_of
from hotline.analysis.terms import Segmenter, TermIndex, load_lexicon


@dataclass(frozen=True)
class AnalysisContext:
    areas: AreaMap
    index: TermIndex
    settings: Settings


def analysis_context(config: AnalysisConfig | None) -> AnalysisContext:
    config = config or AnalysisConfig()
    lexicon = load_lexicon(config.user_dictionary, config.stop_words)
    return AnalysisContext(load_areas(config.areas), TermIndex(Segmenter(lexicon)),
                           settings_of(config))
