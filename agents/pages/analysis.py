"""The early-warning analysis page (预警研判): the unusual hours the spike job flagged in
the last day, each with its count against the baseline and the test behind the alert."""

from __future__ import annotations

import datetime as dt

from agents.http import WebResponse
from agents.routing import SUPERVISORS, Context, Route
from hotline.analysis import repository
from hotline.analysis.config import AnalysisConfig

WINDOW = dt.timedelta(hours=24)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/supervisor/analysis", SUPERVISORS, "analysis_page"),
)


class AnalysisPages:
    """The analysis handlers of `WebApp` (a mixin: `self` is the application)."""

    async def analysis_page(self, ctx: Context) -> WebResponse:
        since = repository.hour_start(self.core.clock.now() - WINDOW)
        findings = await self.core.db.read(repository.recent_findings, since)
        runs = await self.core.db.read(repository.recent_runs, since)
        settings = getattr(self.core.config, "analysis", None) or AnalysisConfig()
        return self._page(ctx, "analysis.html", findings=findings, runs=runs,
                          settings=settings, hour=repository.HOUR)
