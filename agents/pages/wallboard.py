"""The supervisor's live wallboard (issue 7): the page, and the same figures as JSON that the
page's script (`static/wallboard.js`) fetches every two seconds. What each figure counts is
defined in `agents.wallboard`."""

from __future__ import annotations

from agents import wallboard
from agents.http import WebResponse
from agents.routing import SUPERVISORS, Context, Route

ROUTES: tuple[Route, ...] = (
    Route("GET", "/supervisor/wallboard", SUPERVISORS, "wallboard_page"),
    Route("GET", "/supervisor/wallboard.json", SUPERVISORS, "wallboard_json"),
)

# Every answer is read afresh: a cached figure on a wallboard is a wrong figure.
NO_STORE = ("Cache-Control", "no-store")


class WallboardPages:
    """The wallboard's handlers of `WebApp` (a mixin: `self` is the application)."""

    async def wallboard_page(self, ctx: Context) -> WebResponse:
        board = await self._wallboard_document()
        response = self._page(ctx, "wallboard.html", board=board,
                              goals=board["goals"], percent=_percent, duration=_duration)
        response.headers.append(NO_STORE)
        return response

    async def wallboard_json(self, ctx: Context) -> WebResponse:
        response = WebResponse.json(await self._wallboard_document())
        response.headers.append(NO_STORE)
        return response

    async def _wallboard_document(self) -> dict:
        board = await self.core.db.read(wallboard.wallboard, self.core.clock.now(),
                                        self.core.zone)
        return board.as_dict(self.core.zone)


# The page's first rendering formats figures as the script does (static/wallboard.js).

def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds + 0.5)  # half up, as Math.round
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
