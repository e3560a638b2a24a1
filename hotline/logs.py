"""The one log observer of the process: text or JSON lines, filtered by level.

Personal data is masked at the call site (`hotline.masking`), where it is known which field
holds a phone number; this observer only formats and filters.
"""

from __future__ import annotations

import sys
from typing import TextIO

from twisted.logger import (FilteringLogObserver, ILogObserver, LogLevel,
                            LogLevelFilterPredicate, jsonFileLogObserver, textFileLogObserver)

from hotline.config import LoggingConfig


def make_observer(config: LoggingConfig, stream: TextIO = sys.stdout) -> ILogObserver:
    inner = jsonFileLogObserver(stream) if config.format == "json" else textFileLogObserver(stream)
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(config.level))
    return FilteringLogObserver(inner, [predicate])
