"""Recordings played in the officer's browser: any indexed recording by its id (an agent's
call, a callback, a voice message), to those `hotline.recordings.access` lets hear it,
streamed with HTTP range requests (an <audio> element seeks with them), each listen audited
on the recording's and its appeal's trail; a download is audited with its watermark line.
The lists of an appeal's and a callback task's recordings, and a supervisor's legal hold on
an appeal's, are here too. The older route plays an appeal's voice message by its path, from
the spool Asterisk writes voice messages to (`[ivr] voice_message_dir`).

Files are read off the reactor (a recordings directory may be a network mount), only the
range asked for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re

from twisted.logger import Logger

from agents.http import WebResponse
from agents.routing import STAFF, SUPERVISORS, Context, Route
from hotline import audit
from hotline.appeals import AppealNotFound
from hotline.recordings import access, names, retention
from schemas.enums import AgentRole
from schemas.models import Appeal

HEARERS = frozenset({AgentRole.AGENT, AgentRole.SUPERVISOR, AgentRole.UNIT_OFFICER})
ROUTES: tuple[Route, ...] = (
    Route("GET", "/appeals/{appeal_id:int}/recording", STAFF, "recording"),
    Route("GET", "/appeals/{appeal_id:int}/recordings", HEARERS, "appeal_recordings"),
    Route("GET", "/callbacks/{task_id:int}/recordings", STAFF, "task_recordings"),
    Route("GET", "/recordings/{recording_id:int}/audio", HEARERS, "recording_audio"),
    Route("GET", "/recordings/{recording_id:int}/download", HEARERS, "recording_download"),
    Route("POST", "/appeals/{appeal_id:int}/recording-hold", SUPERVISORS, "recording_hold"),
)
CONTENT_TYPES = {".wav": "audio/wav", ".gsm": "audio/x-gsm", ".mp3": "audio/mpeg",
                 ".ogg": "audio/ogg", ".wav49": "audio/wav"}
LONGEST = 512 * 1024 * 1024  # no recording is this long (an 8 kHz wav hour is 58 MB)
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


def watermark(recording: access.RecordingView, actor: str, now: dt.datetime) -> str:
    """The line a download leaves on the trail: who, when, which file and its hash, and a
    short mark of the three (sent with the file) that a copy found elsewhere is traced by."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    mark = hashlib.sha256(f"{recording.sha256}|{actor}|{stamp}".encode()).hexdigest()[:16]
    return f"{mark} {actor} {stamp} #{recording.id} {recording.name} sha256={recording.sha256}"


def _listener(ctx: Context) -> access.Listener:
    p = ctx.principal
    return access.Listener(p.agent_id, p.username, p.role, p.unit_id)


class RecordingPages:
    """The recording handlers of `WebApp` (a mixin: `self` is the application)."""

    log = Logger()

    @property
    def _recording_roots(self) -> dict[str, str]:
        config = self.core.config
        return names.roots(config.recordings.dir, config.ivr.voice_message_dir)

    def _partial(self, data: bytes, size: int, span: tuple[int, int] | None,
                 content_type: str, headers: list[tuple[str, str]]) -> WebResponse:
        headers = [("Accept-Ranges", "bytes"), *headers]
        if span is None:
            return WebResponse(200, data, content_type, headers)
        headers.append(("Content-Range", f"bytes {span[0]}-{span[1]}/{size}"))
        return WebResponse(206, data, content_type, headers)

    @staticmethod
    def _unsatisfiable(error: RangeNotSatisfiable) -> WebResponse:
        return WebResponse(416, b"", "text/plain; charset=utf-8",
                           [("Content-Range", f"bytes */{error.size}"),
                            ("Accept-Ranges", "bytes")])

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
            return self._unsatisfiable(error)
        if span is None or span[0] == 0:  # a listen starts at the beginning; seeks are not new
            await self.core.db.write(_listened, appeal_id, ctx.actor, self.core.clock.now())
        content_type = CONTENT_TYPES.get(os.path.splitext(path)[1].lower(),
                                         "application/octet-stream")
        return self._partial(data, size, span, content_type, [])

    async def _playable(self, ctx: Context):
        recording_id = int(ctx.params["recording_id"])
        try:
            return await self.core.db.read(access.playable, recording_id, _listener(ctx),
                                           self._recording_roots)
        except access.RecordingForbidden:
            self.log.warn("Recording {id} refused to {actor}", id=recording_id, actor=ctx.actor)
            return self.error_page(ctx, 403)
        except access.RecordingNotFound:
            return self._page(ctx, "error.html", 404, status=404,
                              error=ctx.t("recordings.gone"))

    async def recording_audio(self, ctx: Context) -> WebResponse:
        found = await self._playable(ctx)
        if isinstance(found, WebResponse):
            return found
        recording, path = found
        try:
            size, span, data = await self.core.db.read(_read, path,
                                                       ctx.request.headers.get("range"))
        except RangeNotSatisfiable as error:
            return self._unsatisfiable(error)
        if span is None or span[0] == 0:  # a listen starts at the beginning; seeks are not new
            await self.core.db.write(access.listened, recording, ctx.actor,
                                     self.core.clock.now())
        content_type = CONTENT_TYPES.get(os.path.splitext(path)[1].lower(),
                                         "application/octet-stream")
        return self._partial(data, size, span, content_type, [])

    async def recording_download(self, ctx: Context) -> WebResponse:
        found = await self._playable(ctx)
        if isinstance(found, WebResponse):
            return found
        recording, path = found
        try:
            size, _span, data = await self.core.db.read(_read, path, None)
        except RangeNotSatisfiable as error:
            return self._unsatisfiable(error)
        now = self.core.clock.now()
        line = watermark(recording, ctx.actor, now)
        await self.core.db.write(access.listened, recording, ctx.actor, now, watermark=line)
        content_type = CONTENT_TYPES.get(os.path.splitext(path)[1].lower(),
                                         "application/octet-stream")
        return WebResponse(200, data, content_type, [
            ("Content-Disposition", f'attachment; filename="{recording.name}"'),
            ("X-Hotline-Watermark", line.split(" ", 1)[0])])

    async def appeal_recordings(self, ctx: Context) -> WebResponse:
        appeal_id = int(ctx.params["appeal_id"])
        who = _listener(ctx)

        def load(session):
            return (access.of_appeal(session, appeal_id, who), access.holding(session, appeal_id),
                    session.get(Appeal, appeal_id).case_number)

        try:
            recordings, hold, case_number = await self.core.db.read(load)
        except access.RecordingNotFound:
            return self.error_page(ctx, 404)
        key = _NOTICES.get(ctx.request.arg("done"))
        return self._page(ctx, "recordings.html", recordings=recordings, hold=hold,
                          appeal_id=appeal_id, case_number=case_number, task_id=None,
                          notice=ctx.t(key) if key else None)

    async def task_recordings(self, ctx: Context) -> WebResponse:
        task_id = int(ctx.params["task_id"])
        try:
            recordings = await self.core.db.read(access.of_task, task_id, _listener(ctx))
        except access.RecordingNotFound:
            return self.error_page(ctx, 404)
        return self._page(ctx, "recordings.html", recordings=recordings, hold=None,
                          appeal_id=None, case_number=None, task_id=task_id)

    async def recording_hold(self, ctx: Context) -> WebResponse:
        appeal_id = int(ctx.params["appeal_id"])
        release = ctx.request.arg("action") == "release"
        now = self.core.clock.now()
        try:
            if release:
                await self.core.db.write(retention.release, appeal_id, ctx.actor, now)
            else:
                await self.core.db.write(retention.hold, appeal_id, ctx.request.arg("reason"),
                                         ctx.actor, now)
        except retention.HoldError as error:
            if str(error) == "appeal":
                return self.error_page(ctx, 404)
            return WebResponse.redirect(f"/appeals/{appeal_id}/recordings?done=hold_{error}")
        done = "released" if release else "held"
        return WebResponse.redirect(f"/appeals/{appeal_id}/recordings?done={done}")


_NOTICES = {"held": "recordings.held_now", "released": "recordings.released_now",
            "hold_reason": "recordings.hold_reason_needed", "hold_held": "recordings.already_held",
            "hold_not_held": "recordings.not_held"}
