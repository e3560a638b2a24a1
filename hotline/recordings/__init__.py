"""Recordings (录音): the files Asterisk writes for agents' calls, callbacks and voice
messages, indexed with their hash and tied to their calls, tasks and appeals; who may hear
them; retention with legal holds; the disk they take.

`names` is the file-name convention the dialplan writes, `index` the scan, `retention` the
purge and holds, `access` the pages' queries and audit, `job` the service (one process at a
time, by `hotline.singleton`). docs/recordings.md explains them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.application import service

if TYPE_CHECKING:
    from hotline.core import Core
    from hotline.recordings.job import RecordingsJob


class RecordingsService(service.MultiService):
    """The recordings job of one process (`job` None: `[recordings] enabled = false`)."""

    def __init__(self, job: RecordingsJob | None) -> None:
        super().__init__()
        self.setName("recordings")
        self.job = job
        if job is not None:
            job.setServiceParent(self)


def makeService(core: Core) -> RecordingsService:
    """The recordings job, registered on /metrics and /healthz."""
    from hotline.recordings.job import RecordingsJob

    config = core.config.recordings
    job = None
    if config.enabled:
        job = RecordingsJob(core.db, config, voice_message_dir=core.config.ivr.voice_message_dir,
                            zone=core.zone, clock=core.reactor)
        if core.metrics is not None:
            core.metrics.add_collector(job.metrics)
        core.warnings["recordings"] = job.warnings
    return RecordingsService(job)
