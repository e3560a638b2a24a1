"""The early-warning analysis pages (being built: see issue 7)."""

from __future__ import annotations

from agents.routing import Route

ROUTES: tuple[Route, ...] = ()


class AnalysisPages:
    """The analysis handlers of `WebApp` (a mixin: `self` is the application)."""
