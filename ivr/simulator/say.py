"""The sound files Asterisk's SAY DATETIME plays in Chinese, as main/say.c's
`ast_say_date_with_format_zh` picks them, so that the simulator can tell which one is missing.

Why it matters: Asterisk ships no Mandarin sounds, and a SAY command stops at the first file it
cannot open, answers ``200 result=-1`` and fails the AGI (AGISTATUS=FAILURE), as the golden
transcript agi_say_datetime_zone shows; with every file there it says 2026 as "2 thousand 2 6
year" (agi_say_datetime_zone_files). The date is taken in the zone given, else in the host's.

Each step is (file, stops): `stops` False for the few files whose failure say.c overwrites with
the next file's result (the "0" before a one-digit hour, minute or second), so the saying goes on.
The relative forms Q and q (today / yesterday) depend on the current time and are not modelled:
like an unknown letter, they say nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

Step = tuple[str, bool]


def _tens_units(value: int) -> list[Step]:
    """A number below 100 the way the zh code says day, hour, minute: 20 9, or one file."""
    if value % 10 == 0 or value < 10:
        return [(f"digits/{value}", True)]
    return [(f"digits/{value - value % 10}", True), (f"digits/{value % 10}", True)]


def zh_datetime_files(epoch: int, fmt: str, zone: str) -> list[Step]:
    """The files, in order, for `fmt` (a SAY DATETIME format) at `epoch` in `zone`."""
    when = datetime.fromtimestamp(epoch, tz=timezone.utc).astimezone(ZoneInfo(zone))
    steps: list[Step] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "'":
            end = fmt.find("'", i + 1)
            end = len(fmt) if end < 0 else end
            steps.append((fmt[i + 1 : end], True))
            i = end + 1
            continue
        steps += _letter(ch, when, zone)
        i += 1
    return steps


def _letter(ch: str, when: datetime, zone: str) -> list[Step]:
    hour, minute, second = when.hour, when.minute, when.second
    if ch in "Aa":
        return [(f"digits/day-{(when.weekday() + 1) % 7}", True)]  # tm_wday: Sunday is 0
    if ch in "Bbhm":
        return [(f"digits/mon-{when.month - 1}", True)]
    if ch in "de":
        return [*_tens_units(when.day), ("digits/day", True)]
    if ch == "Y":
        year = when.year
        if year >= 2000:
            steps = [("digits/2", True), ("digits/thousand", True)]
            if year > 2000:
                steps += [(f"digits/{(year - 2000) // 10}", True), (f"digits/{(year - 2000) % 10}", True)]
        elif year <= 1900:
            return []  # say.c: "not going to handle 1900 and prior", not even the word year
        else:
            steps = [("digits/1", True), ("digits/9", True)]
            years = year - 1900
            if years <= 9:
                steps += [("digits/0", True), (f"digits/{years}", True)]
            else:
                steps += [(f"digits/{years // 10}", True), (f"digits/{years % 10}", True)]
        return [*steps, ("digits/year", True)]
    if ch in "Il":
        twelve = 12 if hour == 0 else hour - 12 if hour > 12 else hour
        return [(f"digits/{twelve}", True), ("digits/oclock", True)]
    if ch in "Hk":
        lead = [("digits/0", False)] if ch == "H" and hour < 10 else []
        return [*lead, *_tens_units(hour), ("digits/oclock", True)]
    if ch in "MS":
        value, unit = (minute, "minute") if ch == "M" else (second, "second")
        lead = [("digits/0", False)] if value < 10 else []
        return [*lead, *_tens_units(value), (unit, True)]
    if ch in "Pp":
        return [("digits/p-m" if hour > 11 else "digits/a-m", True)]
    if ch == "R":
        return [*_letter("k", when, zone), *_letter("M", when, zone)]
    if ch == "T":
        return [*_letter("H", when, zone), *_letter("M", when, zone), *_letter("S", when, zone)]
    return []  # spaces, tabs, Q, q and unknown letters say nothing
