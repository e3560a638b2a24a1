"""The one log observer of the process: text or JSON lines, filtered by level.

Personal data is masked at the call site (`hotline.masking`), where it is known which field
holds a phone number. This observer masks once more, as a safety net: every text field of an
event passes `mask_text` before it is formatted, so that a field a call site forgot (a raw
caller number, an ID number) never reaches a log line, in text or in JSON.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from twisted.logger import (FilteringLogObserver, ILogObserver, LogLevel,
                            LogLevelFilterPredicate, jsonFileLogObserver, textFileLogObserver)
from zope.interface import implementer

from hotline.config import LoggingConfig
from hotline.masking import mask_text


def make_observer(config: LoggingConfig, stream: TextIO = sys.stdout) -> ILogObserver:
    inner = jsonFileLogObserver(stream) if config.format == "json" else textFileLogObserver(stream)
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(config.level))
    return FilteringLogObserver(MaskingObserver(inner), [predicate])


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return tuple(mask_text(v) for v in value)  # legacy `twisted.python.log` messages
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        # `log_flattened`, when an event was flattened before it reached us
        return {k: mask_text(v) if isinstance(v, str) else v for k, v in value.items()}
    return value


@implementer(ILogObserver)
class MaskingObserver:
    """Hands `inner` a copy of each event whose text fields are masked; other values (the
    failure, the logger, numbers) are passed as they are."""

    def __init__(self, inner: ILogObserver) -> None:
        self._inner = inner

    def __call__(self, event: dict) -> None:
        self._inner({key: _masked(value) for key, value in event.items()})
