"""The recordings index: the files Asterisk writes, read from their directories into the
`recordings` table, each once when complete (unchanged for `settle_s`), with its size,
duration and the SHA-256 of its bytes as first seen; a file that changes afterwards is marked
altered (its hash no longer matches), one that vanishes unpurged is marked missing.

Every function here blocks (directory listings, file reads, SQL): the job runs them in the
database's thread pool, never on the reactor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from twisted.logger import Logger

from hotline.recordings import names
from schemas.callbacks import CallbackAttempt, CallbackTask
from schemas.calls import CallRecord
from schemas.models import Appeal
from schemas.recordings import Recording, RecordingKind

log = Logger()
CHUNK = 1024 * 1024
RELINK_DAYS = 7  # an appeal written after its call's recording is tied on later scans


@dataclass
class ScanResult:
    indexed: list[int] = field(default_factory=list)  # new rows' ids
    altered: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    linked: int = 0
    problems: list[str] = field(default_factory=list)  # a directory this host cannot read


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def duration_of(path: str) -> float | None:
    """Seconds of audio in a WAV file; None for another format or a WAV header that does
    not parse (MixMonitor's header is complete once the call ends)."""
    if not path.lower().endswith(".wav"):
        return None
    try:
        with wave.open(path, "rb") as audio:
            rate = audio.getframerate()
            return round(audio.getnframes() / rate, 3) if rate else None
    except (wave.Error, EOFError, OSError):
        return None


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def scan(session: Session, roots: Mapping[str, str], now: dt.datetime,
         settle_s: float, *, verify: bool = True) -> ScanResult:
    """One pass over each directory of `roots` (source -> path): new files are indexed;
    with `verify`, the indexed ones are checked too (altered, missing), which costs a stat
    of every file (the job does it less often: a year of calls is 100,000 files)."""
    result = ScanResult()
    for source, root in roots.items():
        if not root:
            continue
        try:
            entries = [entry for entry in os.scandir(root) if entry.is_file()]
        except OSError as error:
            result.problems.append(f"{source}: {root}: {error.strerror or error}")
            continue
        # Plain columns, not rows: the directory may hold many more files than change.
        known = {row.name: row for row in session.execute(
            select(Recording.name, Recording.id, Recording.size_bytes, Recording.modified_at,
                   Recording.altered_at, Recording.missing_at)
            .where(Recording.source == source, Recording.purged_at.is_(None)))}
        seen = set()
        for entry in entries:
            named = names.parse(source, entry.name)
            if named is None:
                continue
            seen.add(entry.name)
            known_row = known.get(entry.name)
            if known_row is not None and not verify:
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            if now.timestamp() - stat.st_mtime < settle_s:
                continue  # still being written
            if known_row is None:
                if session.scalar(select(Recording.id).where(
                        Recording.source == source, Recording.name == entry.name)) is not None:
                    continue  # purged already; a file of the same name again is not ours
                result.indexed.append(_index(session, source, entry.path, entry.name, named,
                                             stat, now))
            elif (known_row.altered_at is None and known_row.missing_at is None
                  and (stat.st_size != known_row.size_bytes
                       or abs(stat.st_mtime - known_row.modified_at.timestamp()) > 1)):
                row = session.get_one(Recording, known_row.id)
                if sha256_of(entry.path) != row.sha256:
                    row.altered_at = now
                    result.altered.append(row.id)
                    log.warn("Recording {name} changed after it was indexed: its SHA-256 no "
                             "longer matches the one recorded on {seen}", name=entry.name,
                             seen=f"{row.first_seen_at:%Y-%m-%d %H:%M:%S}Z")
        if not verify:
            continue
        for name, known_row in known.items():
            if name not in seen and known_row.missing_at is None:
                session.get_one(Recording, known_row.id).missing_at = now
                result.missing.append(known_row.id)
                log.warn("Recording {name} is gone from {root} though not purged", name=name,
                         root=root)
    session.flush()
    result.linked = relink(session, now)
    return result


def _index(session: Session, source: str, path: str, name: str, named: names.Named,
           stat: os.stat_result, now: dt.datetime) -> int:
    task_id, attempt_id = _known_task(session, named)
    started = _call_start(session, named.call_id) if named.call_id else None
    if started is None and attempt_id is not None:
        started = session.scalar(select(CallbackAttempt.started_at)
                                 .where(CallbackAttempt.id == attempt_id))
    row = Recording(kind=named.kind, source=source, name=name, call_id=named.call_id,
                    task_id=task_id, attempt_id=attempt_id, size_bytes=stat.st_size,
                    duration_s=duration_of(path), sha256=sha256_of(path),
                    started_at=started or _utc(stat.st_mtime), first_seen_at=now,
                    modified_at=_utc(stat.st_mtime))
    row.appeal_id = appeal_of(session, row)
    session.add(row)
    session.flush()
    log.info("Recording {name} indexed: {kind}, {size} bytes, {duration}s, appeal {appeal}",
             name=name, kind=named.kind.value, size=stat.st_size,
             duration=row.duration_s if row.duration_s is not None else "?",
             appeal=row.appeal_id or "-")
    return row.id


def _known_task(session: Session, named: names.Named) -> tuple[int | None, int | None]:
    """The task and attempt the name gives, if they exist (an unknown one is indexed untied,
    never refused: the file is evidence whatever its name)."""
    if named.task_id is None:
        return None, None
    task = session.get(CallbackTask, named.task_id)
    if task is None:
        log.warn("Recording of callback task {task_id}: no such task", task_id=named.task_id)
        return None, None
    attempt = session.get(CallbackAttempt, named.attempt_id)
    return task.id, attempt.id if attempt is not None and attempt.task_id == task.id else None


def _call_start(session: Session, call_id: str) -> dt.datetime | None:
    return session.scalar(select(CallRecord.started_at).where(CallRecord.call_id == call_id))


def appeal_of(session: Session, row: Recording) -> int | None:
    """The appeal a recording belongs to: its task's, or the one made from its call (by the
    agent who took it, or from the voice message), or the one its call record names."""
    if row.task_id is not None:
        task = session.get(CallbackTask, row.task_id)
        if task is not None:
            return task.appeal_id or task.result_appeal_id
        return None
    if row.call_id is None:
        return None
    found = session.scalar(select(Appeal.id).where(Appeal.call_id == row.call_id)
                           .order_by(Appeal.id).limit(1))
    if found is None and row.kind is RecordingKind.VOICE_MESSAGE:
        found = session.scalar(select(Appeal.id).where(Appeal.recording_path.like(
            f"%/{row.name}")).order_by(Appeal.id).limit(1))
    if found is None:
        found = session.scalar(select(CallRecord.appeal_id)
                               .where(CallRecord.call_id == row.call_id))
    return found


def relink(session: Session, now: dt.datetime) -> int:
    """Tie the recent recordings still without an appeal whose appeal now exists."""
    linked = 0
    for row in session.scalars(select(Recording).where(
            Recording.appeal_id.is_(None), Recording.purged_at.is_(None),
            or_(Recording.call_id.is_not(None), Recording.task_id.is_not(None)),
            Recording.first_seen_at >= now - dt.timedelta(days=RELINK_DAYS))):
        appeal_id = appeal_of(session, row)
        if appeal_id is not None:
            row.appeal_id = appeal_id
            linked += 1
    return linked
