"""The supervisor's live wallboard (being built: see issue 7)."""

from __future__ import annotations

from agents.routing import Route

ROUTES: tuple[Route, ...] = ()


class WallboardPages:
    """The wallboard's handlers of `WebApp` (a mixin: `self` is the application)."""
