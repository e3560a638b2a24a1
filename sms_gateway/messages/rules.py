"""The pure rules of the content layer: quiet hours and what a citizen's reply means.

No database, no clock of their own: the caller passes the wall-clock time and the zone.
"""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from schemas.enums import Satisfaction, SmsKind

REMINDER_KINDS = (SmsKind.REMINDER_VEHICLE, SmsKind.REMINDER_LICENCE, SmsKind.REMINDER_IDCARD)
# Kinds an opt-out stops and the daily cap counts; acknowledgements and surveys always go.
OPTIONAL_KINDS = (*REMINDER_KINDS, SmsKind.EARLY_WARNING)


def in_quiet_hours(local: dt.time, quiet: tuple[dt.time, dt.time]) -> bool:
    start, end = quiet
    if start < end:
        return start <= local < end
    return local >= start or local < end  # across midnight, e.g. 21:00-08:00


def release_time(now: dt.datetime, zone: ZoneInfo,
                 quiet: tuple[dt.time, dt.time]) -> dt.datetime:
    """`now` outside quiet hours, else the end of the quiet hours (the next morning), UTC."""
    local = now.astimezone(zone)
    if not in_quiet_hours(local.time(), quiet):
        return now
    start, end = quiet
    day = local.date()
    if start > end and local.time() >= start:
        day += dt.timedelta(days=1)  # evening: the quiet hours end tomorrow morning
    return dt.datetime.combine(day, end, tzinfo=zone).astimezone(dt.timezone.utc)


def morning_of(day: dt.date, zone: ZoneInfo, quiet: tuple[dt.time, dt.time]) -> dt.datetime:
    """The first sending time of a local day (the end of the night's quiet hours), UTC."""
    start, end = quiet
    first = end if start > end or start == dt.time(0) else dt.time(0)
    return dt.datetime.combine(day, first, tzinfo=zone).astimezone(dt.timezone.utc)


def local_day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


# Replies -------------------------------------------------------------------------------------

class ReplyKind(enum.Enum):
    RATING = "rating"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    OTHER = "other"
    QUERY = "query"  # 查询 [case number]: the progress, as the IVR's query tells it


@dataclass(frozen=True)
class ReplyMeaning:
    kind: ReplyKind
    satisfaction: Satisfaction | None = None
    case_number: str | None = None  # a QUERY's, when given


OPT_OUT_WORDS = frozenset({"TD", "退订", "STOP"})
OPT_IN_WORDS = frozenset({"订阅", "START"})
RATING_WORDS = {"1": Satisfaction.SATISFIED, "满意": Satisfaction.SATISFIED,
                "2": Satisfaction.BASICALLY_SATISFIED, "基本满意": Satisfaction.BASICALLY_SATISFIED,
                "3": Satisfaction.DISSATISFIED, "不满意": Satisfaction.DISSATISFIED}
# "1满意", "3 不满意": the digit and its own word together.
RATING_WORDS.update({digit + word: RATING_WORDS[digit]
                     for digit, word in (("1", "满意"), ("2", "基本满意"), ("3", "不满意"))})
_EDGES = " \t\r\n.,!?;:'\"。，！？；：、“”‘’()（）[]【】"
QUERY_WORD = "查询"
CASE_NUMBER_MAX = 32


def normalise_reply(text: str) -> str:
    """Full-width to half-width (NFKC: ＴＤ -> TD, ３ -> 3), upper case, no spaces inside,
    no punctuation around."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(folded.split()).strip(_EDGES)


def interpret(text: str) -> ReplyMeaning:
    word = normalise_reply(text)
    if word in OPT_OUT_WORDS:
        return ReplyMeaning(ReplyKind.OPT_OUT)
    if word in OPT_IN_WORDS:
        return ReplyMeaning(ReplyKind.OPT_IN)
    if word in RATING_WORDS:
        return ReplyMeaning(ReplyKind.RATING, RATING_WORDS[word])
    if word.startswith(QUERY_WORD):
        rest = word[len(QUERY_WORD):].lstrip("：:#")
        if not rest:
            return ReplyMeaning(ReplyKind.QUERY)
        if rest.isascii() and rest.isdigit() and len(rest) <= CASE_NUMBER_MAX:
            return ReplyMeaning(ReplyKind.QUERY, case_number=rest)
    return ReplyMeaning(ReplyKind.OTHER)
