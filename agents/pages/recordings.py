"""A voice message's recording, played in the officer's browser: served only to the hall's
staff, only from the spool Asterisk writes voice messages to (`[ivr] voice_message_dir`,
which this host must see: the same host or a shared mount), with HTTP range requests (an
<audio> element seeks with them), and each listen audited on the appeal's trail.

The file is read off the reactor (a spool may be a network mount), only the range asked for.
"""

from __future__ import annotations

import os
import re

from twisted.logger import Logger

from agents.http import WebResponse
from agents.routing import STAFF, Context, Route
from hotline import audit
from hotline.appeals import AppealNotFound
from schemas.models import Appeal

ROUTES: tuple[Route, ...] = (
    Route("GET", "/appeals/{appeal_id:int}/recording", STAFF, "recording"),
)
CONTENT_TYPES = {".wav": "audio/wav", ".gsm": "audio/x-gsm", ".mp3": "audio/mpeg"}
LONGEST = 64 * 1024 * 1024  # no voice message is this long (10 min of 8 kHz wav is 9.6 MB)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)\Z")


class RangeNotSatisfiable(ValueError):
    def __init__(self, header: object, size: int | None = None) -> None:
        super().__init__(header)
        self.size = size  # the file's, for the answer's Content-Range


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range of `Range: bytes=a-b`, as (first, last) inclusive; None for the whole
    file (no header, or a form this does not serve: several ranges, other units, which
    HTTP lets a server answer with the whole). Raises RangeNotSatisfiable past the end."""
    found = _RANGE.match((header or "").strip())
    if not found or not (found.group(1) or found.group(2)):
        return None
    first, last = found.group(1), found.group(2)
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(header)
    return start, end


def _recording_file(session, appeal_id: int, spool: str) -> str | None:
    """The appeal's recording as a path inside the spool; None when it has none, or when
    its path leads outside the spool (a path is data, never trusted to name any file)."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise AppealNotFound(appeal_id)
    if not appeal.recording_path or not spool:
        return None
    root = os.path.realpath(spool)
    path = os.path.realpath(appeal.recording_path)
    if os.path.commonpath([root, path]) != root or not os.path.isfile(path):
        return None
    return path


def _read(session, path: str, header: str | None) -> tuple[int, tuple[int, int] | None, bytes]:
    size = os.path.getsize(path)
    if size > LONGEST:
        raise RangeNotSatisfiable(f"{size} bytes", size)
    try:
        span = byte_range(header, size)
    except RangeNotSatisfiable as error:
        raise RangeNotSatisfiable(header, size) from error
    first, last = span if span is not None else (0, size - 1)
    with open(path, "rb") as file:
        file.seek(first)
        data = file.read(max(0, last - first + 1))
    return size, span, data


def _listened(session, appeal_id: int, actor: str, now) -> None:
    audit.record(session, at=now, actor=actor, action="listen", entity_type="appeal",
                 entity_id=appeal_id, note="voice message recording")


class RecordingPages:
    """The recording handler of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    async def recording(self, ctx: Context) -> WebResponse:
        appeal_id = int(ctx.params["appeal_id"])
        spool = self.core.config.ivr.voice_message_dir
        try:
            path = await self.core.db.read(_recording_file, appeal_id, spool)
        except AppealNotFound:
            path = None
        if path is None:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("recording.none"))
        header = ctx.request.headers.get("range")
        try:
            size, span, data = await self.core.db.read(_read, path, header)
        except RangeNotSatisfiable as error:  # its size read in the pool, as the file was
            return WebResponse(416, b"", "text/plain; charset=utf-8",
                               [("Content-Range", f"bytes */{error.size}"),
                                ("Accept-Ranges", "bytes")])
        if span is None or span[0] == 0:  # a listen starts at the beginning; seeks are not new
            await self.core.db.write(_listened, appeal_id, ctx.actor, self.core.clock.now())
        content_type = CONTENT_TYPES.get(os.path.splitext(path)[1].lower(),
                                         "application/octet-stream")
        headers = [("Accept-Ranges", "bytes")]
        if span is None:
            return WebResponse(200, data, content_type, headers)
        headers.append(("Content-Range", f"bytes {span[0]}-{span[1]}/{size}"))
        return WebResponse(206, data, content_type, headers)
