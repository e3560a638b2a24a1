"""The spike analysis's settings: the `[analysis]` table of the configuration (every key
overridable by `HOTLINE_ANALYSIS_<KEY>`), registered through the `hotline.config_sections`
entry point like the packages' sections. Defaults are the statistic's named constants."""

from __future__ import annotations

import dataclasses

from hotline.analysis import spikes
from hotline.config_section import ConfigError
from hotline.config_section import setting as _field


@dataclasses.dataclass(frozen=True)
class AnalysisConfig:
    enabled: bool = _field(True, doc="run the hourly spike analysis in this process")
    offset_min: float = _field(5.0, min=0, max=59,
                               doc="minutes past the hour the hour just ended is analysed "
                                   "(appeals being written at the hour's end land first)")
    baseline_days: int = _field(spikes.BASELINE_DAYS, min=7, max=120,
                                doc="days of history: the same hour of each")
    match_day_type: bool = _field(True, doc="baseline from days of the same type only "
                                            "(working day / weekend or holiday)")
    min_matched_days: int = _field(spikes.MIN_MATCHED_DAYS, min=1, max=120,
                                   doc="fewer such days than this: use every day")
    family_alpha: float = _field(spikes.FAMILY_ALPHA, min=1e-12, max=0.5,
                                 doc="chance of a false alert in an hour, all cells together "
                                     "(Bonferroni: each cell gets family_alpha / cells)")
    min_count: int = _field(spikes.MIN_COUNT, min=1, max=10000,
                            doc="fewer appeals in the hour is never a spike")
    min_ratio: float = _field(spikes.MIN_RATIO, min=1, max=1000,
                              doc="nor fewer than this many times the baseline mean")
    volume_adjust: bool = _field(True, doc="raise every cell's expectation when the whole hour is "
                                           "busier than usual (a rainy day), see spikes")
    baseline_floor: float = _field(spikes.BASELINE_FLOOR, min=0.01, max=1000,
                                   doc="appeals per hour a cell is expected to have at least")
    lease_s: float = _field(60.0, min=3, max=3600,
                            doc="a silent holder loses the job after this; others try every "
                                "third of it")
    catch_up_hours: int = _field(24, min=1, max=24 * 14,
                                 doc="hours back a (re)started job analyses what was missed")
    # The analysis page (智能分析, hotline.analysis.insights).
    user_dictionary: str = _field("", doc="the bureau's words for the hot topics, a text file "
                                          "(config/analysis-dictionary.example.txt); \"\": "
                                          "the shipped ones only")
    stop_words: str = _field("", doc="words the hot topics never count, a text file "
                                     "(config/analysis-stopwords.example.txt)")
    areas: str = _field("", doc="the districts (区县) of the analysis by area, a TOML file "
                                "(config/analysis-areas.example.toml); \"\": by the area typed")
    repeat_days: int = _field(30, min=1, max=366,
                              doc="a repeat caller has repeat_min_appeals appeals within this "
                                  "many days")
    repeat_min_appeals: int = _field(3, min=2, max=100, doc="appeals that make a repeat caller")
    repeat_matter_days: int = _field(15, min=1, max=366,
                                     doc="two appeals of one caller about one category or kind "
                                         "within this many days: a repeated matter")

    def __post_init__(self) -> None:
        if self.min_matched_days > self.baseline_days:
            raise ConfigError(f"analysis.min_matched_days ({self.min_matched_days}) must not "
                              f"exceed analysis.baseline_days ({self.baseline_days})")

    @property
    def thresholds(self) -> spikes.Thresholds:
        return spikes.Thresholds(family_alpha=self.family_alpha, min_count=self.min_count,
                                 min_ratio=self.min_ratio, baseline_floor=self.baseline_floor,
                                 baseline_days=self.baseline_days,
                                 min_matched_days=self.min_matched_days,
                                 match_day_type=self.match_day_type,
                                 volume_adjust=self.volume_adjust)
