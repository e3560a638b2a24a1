"""Loaded (through PYTHONPATH) only by `.ci/run`'s second pass, which runs the suite under
Debian's libfaketime with the wall clock a year ahead and the monotonic clock left alone
(FAKETIME_DONT_FAKE_MONOTONIC=1: faking it hangs every timed lock wait, whose absolute
deadline the kernel then reads unfaked).

libfaketime 0.9.10 mistranslates the absolute CLOCK_MONOTONIC deadline that CPython's
`time.sleep` passes to clock_nanosleep when the monotonic clock is not faked, and the call
fails with EINVAL; a timed wait on an event sleeps the same time through sem_clockwait,
which libfaketime does not touch. Nothing of the project's own code is changed.
"""

import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


time.sleep = _sleep
