"""The recordings' settings: the `[recordings]` table of the configuration (every key
overridable by `HOTLINE_RECORDINGS_<KEY>`). docs/recordings.md says what each one does."""

from __future__ import annotations

import dataclasses

from hotline.config_section import ConfigError
from hotline.config_section import setting as _field


@dataclasses.dataclass(frozen=True)
class RecordingsConfig:
    enabled: bool = _field(True, doc="index and purge recordings in this process (one process "
                                     "at a time does it, by its lease)")
    dir: str = _field("/var/spool/asterisk/monitor/hotline",
                      doc="where Asterisk's MixMonitor writes calls and callbacks (a shared "
                          "mount when Asterisk is on another host: docs/operations.md)")
    scan_s: float = _field(20.0, min=1, max=3600, doc="the directories are read this often")
    settle_s: float = _field(10.0, min=0, max=3600,
                             doc="a file unchanged this long is complete (MixMonitor writes "
                                 "until the call ends): indexed and hashed then")
    lease_s: float = _field(90.0, min=3, max=3600,
                            doc="a silent holder loses the job after this")
    keep_calls_days: int = _field(180, min=1, max=3650, doc="agents' calls are kept this long")
    keep_callbacks_days: int = _field(180, min=1, max=3650, doc="callbacks (回访, 回电)")
    keep_voice_messages_days: int = _field(180, min=1, max=3650, doc="voice messages")
    keep_complaints_days: int = _field(730, min=1, max=3650,
                                       doc="any recording of a complaint or report (投诉举报), "
                                           "at least this long")
    purge_hour: int = _field(3, min=0, max=23, doc="local hour the daily purge runs from")
    disk_warn_percent: float = _field(90.0, min=1, max=100,
                                      doc="/healthz warns when the recordings' filesystem is "
                                          "fuller than this")

    def __post_init__(self) -> None:
        if self.scan_s > self.lease_s / 3:
            raise ConfigError(f"recordings.scan_s ({self.scan_s:g}) must be at most a third of "
                              f"recordings.lease_s ({self.lease_s:g}): each scan renews the lease")
        if self.keep_complaints_days < max(self.keep_calls_days, self.keep_callbacks_days,
                                           self.keep_voice_messages_days):
            raise ConfigError("recordings.keep_complaints_days must not be shorter than the "
                              "other periods: complaints are kept longer")
