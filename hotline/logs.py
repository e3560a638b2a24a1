"""The one log observer of the process: text or JSON lines, filtered by level.

Personal data is masked at the call site (`hotline.masking`), where it is known which field
holds a phone number. This observer masks once more, as a safety net: every text field of an
event passes `mask_text` before it is formatted, so that a field a call site forgot (a raw
caller number, an ID number) never reaches a log line, in text or in JSON.

A failure is the field no call site can mask: a database error quotes the row it refused
(`IntegrityError ... '13812345678'`) in its message and so in its traceback. The observer
formats each failure once, masks that text, and hands the formatters a stand-in that holds
only the masked text, so the text line's traceback and the JSON line's `log_failure` say the
same masked thing. An exception given as a plain field (`error=error`) is masked the same way.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    jsonFileLogObserver,
    textFileLogObserver,
)
from twisted.python import reflect
from twisted.python.failure import Failure
from zope.interface import implementer

from hotline.config import LoggingConfig
from hotline.masking import mask_text


def make_observer(config: LoggingConfig, stream: TextIO = sys.stdout) -> ILogObserver:
    inner = jsonFileLogObserver(stream) if config.format == "json" else textFileLogObserver(stream)
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(config.level))
    return FilteringLogObserver(MaskingObserver(inner), [predicate])


class _MaskedFailure(Failure):
    """A failure reduced to its masked, formatted traceback.

    Both formatters take what they need from here: the text one calls `getTraceback`, the
    JSON one serialises `__getstate__` (whose `value` would otherwise be an unpersistable
    exception, and whose frames carry local variables when they were captured). Frames keep
    their names and line numbers only; `value` is the masked message and `traceback` the
    text, each formatted once and masked.
    """

    def __init__(self, original: Failure) -> None:
        # Not Failure.__init__: that captures the exception being handled now, not `original`.
        self.type = original.type
        self.count = original.count
        self.captureVars = False
        self.tb = None
        self.parents = list(original.parents)
        self._frames = [[name, filename, line, [], []]
                        for name, filename, line, *_ in original.frames]
        # Failure declares `value` an exception; here it is the masked message on purpose.
        self.value = mask_text(original.getErrorMessage())  # type: ignore[assignment]
        try:
            text = original.getTraceback()
        except BaseException as e:  # a broken __str__ must not cost the log line
            text = f"(unable to format the traceback: {reflect.safe_str(e)})"
        self.traceback = mask_text(text)

    def printTraceback(self, file: Any = None, elideFrameworkCode: Any = False,
                       detail: str = "default") -> None:
        (file or sys.stderr).write(self.traceback)


class _MaskedException:
    """An exception given as a field (`"... {error!r}", error=error`), its text masked."""

    def __init__(self, error: BaseException) -> None:
        self._str = mask_text(reflect.safe_str(error))
        self._repr = mask_text(reflect.safe_repr(error))

    def __str__(self) -> str:
        return self._str

    def __repr__(self) -> str:
        return self._repr

    def __format__(self, spec: str) -> str:
        return format(self._str, spec)


def _masked(value: Any, failures: dict[int, _MaskedFailure]) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Failure):
        # The same failure comes under `log_failure` and the legacy `failure`: format it once.
        if id(value) not in failures:
            failures[id(value)] = _MaskedFailure(value)
        return failures[id(value)]
    if isinstance(value, BaseException):
        return _MaskedException(value)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return tuple(mask_text(v) for v in value)  # legacy `twisted.python.log` messages
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        # `log_flattened`, when an event was flattened before it reached us
        return {k: mask_text(v) if isinstance(v, str) else v for k, v in value.items()}
    return value


@implementer(ILogObserver)
class MaskingObserver:
    """Hands `inner` a copy of each event whose text fields, failures and exceptions are
    masked; other values (the logger, numbers) are passed as they are."""

    def __init__(self, inner: ILogObserver) -> None:
        self._inner = inner

    def __call__(self, event: dict) -> None:
        failures: dict[int, _MaskedFailure] = {}
        self._inner({key: _masked(value, failures) for key, value in event.items()})
