"""Early-warning analysis (智能分析 / 预警研判): an hourly job that compares appeal counts by
kind and area with their recent baseline and raises a supervisor alert when one is unusual.

`spikes` is the statistic (pure), `repository` its queries and writes, `job` the service (one
process at a time, by `hotline.singleton`), `cli` the `hotline analysis` command. docs/analysis.md explains the
thresholds and how to tune them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.application import service

if TYPE_CHECKING:
    from hotline.analysis.job import SpikeJob
    from hotline.core import Core


class AnalysisService(service.MultiService):
    """The analysis services of one process; `job` is the spike job (None: disabled)."""

    def __init__(self, job: SpikeJob | None) -> None:
        super().__init__()
        self.setName("analysis")
        self.job = job
        if job is not None:
            job.setServiceParent(self)


def makeService(core: Core) -> AnalysisService:
    """The analysis services of one process: the hourly spike job unless `[analysis]
    enabled = false`."""
    from hotline.analysis.config import AnalysisConfig
    from hotline.analysis.job import SpikeJob

    config = getattr(core.config, "analysis", None) or AnalysisConfig()
    job = None
    if config.enabled:
        job = SpikeJob(core.db, config, zone=core.zone, calendar=core.calendar,
                       clock=core.reactor, runner=core.config.service.name)
    return AnalysisService(job)
