"""The bounds of every query and form parameter the web application reads, and their one set
of parsers: a day and a period of days, a whole number and a database id, digits, a choice,
a phone number, bounded text.

A value out of bounds raises `ParamError`, which names the parameter: a page words it in the
reader's language (`ParamError.message`), the JSON API puts the name in its error's `field`;
a query parameter's refusal is a 400, a posted form field's a 422 like the core's refusals
of the same form. Nothing unbounded reaches a query or a computation: a day in year 9999
overflows when the day after it is taken, one in year 1 when it is moved to UTC; an id past
2**31 - 1 is an error on PostgreSQL's INTEGER; int() refuses a number of 4,301 digits.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from agents.i18n import MESSAGES, translator
from hotline.phones import PhoneNumberError, normalise_phone
from schemas.models import Appeal

FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)
MAX_ID = 2**31 - 1  # the ids are INTEGER columns on PostgreSQL
_APPEAL = Appeal.__table__.c
CASE_NUMBER_MAX = _APPEAL.case_number.type.length  # digits, its column's length
PHONE_MAX = 32  # as typed, before it is normalised (spaces, dashes, +86)
# The longest each text field of a new appeal may be, in the API and the hall's form alike:
# its column's length, as typed (an ID number or a phone may carry spaces); the body is a
# TEXT column and the approval item's code is looked up, not stored.
APPEAL_TEXT_MAX = {"subject": _APPEAL.subject.type.length, "body": 10000,
                   "citizen_phone": PHONE_MAX, "citizen_name": _APPEAL.citizen_name.type.length,
                   "citizen_id_number": 32, "area": _APPEAL.area.type.length,
                   "approval_item_code": 32, "call_id": _APPEAL.call_id.type.length}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() takes "²" and "١", int() not all

Args = Mapping[str, str]


class ParamError(ValueError):
    """A parameter is out of its bounds: `name` is the parameter, `reason` the kind of bound
    (`limits.<reason>` words it) and `values` the bound's figures."""

    def __init__(self, name: str, reason: str, **values: object) -> None:
        self.name = name
        self.reason = reason
        self.values = values
        super().__init__(self.message(translator("en")))

    def message(self, t: Callable[..., str]) -> str:
        extra = dict(self.values)
        if "other" in extra:
            extra["other_label"] = _label(t, str(extra["other"]))
        return t(f"limits.{self.reason}", name=self.name, label=_label(t, self.name), **extra)


def _label(t: Callable[..., str], name: str) -> str:
    key = f"param.{name}"
    return t(key) if key in MESSAGES else name


def single(query: Mapping[str, Sequence[str]], names: Iterable[str], *,
           blank: bool = True) -> dict[str, str]:
    """The value of each of `names` given in `query` (a parsed query string or form), stripped;
    a name given twice is refused rather than read as its first value. A page's form sends
    the fields left empty, blank, and the parsers take blank for absent; with `blank` False
    (the JSON API) a parameter given blank is refused."""
    args = {}
    for name in names:
        values = query.get(name) or []
        if len(values) > 1:
            raise ParamError(name, "repeated")
        if values:
            args[name] = values[0].strip()
            if not blank and not args[name]:
                raise ParamError(name, "blank")
    return args


def with_defaults(query: Mapping[str, Sequence[str]],
                  defaults: Mapping[str, str]) -> dict[str, str]:
    """A page's form: each of `defaults` as given once in `query`, else (absent or blank)
    its default, still to be parsed."""
    given = single(query, defaults)
    return {name: given.get(name) or default for name, default in defaults.items()}


def text(args: Args, name: str, max_length: int) -> str:
    value = args.get(name, "")
    if len(value) > max_length:
        raise ParamError(name, "length", max=max_length)
    return value


def day(args: Args, name: str, default: dt.date | None = None) -> dt.date | None:
    """A day YYYY-MM-DD from FIRST_DAY to LAST_DAY; blank or absent is `default`."""
    value = args.get(name, "")
    if not value:
        return default
    try:
        parsed = dt.date.fromisoformat(value) if _DAY.fullmatch(value) else None
    except ValueError:
        parsed = None
    if parsed is None or not FIRST_DAY <= parsed <= LAST_DAY:
        raise ParamError(name, "date", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
    return parsed


def required_day(args: Args, name: str) -> dt.date:
    parsed = day(args, name)
    if parsed is None:
        raise ParamError(name, "date", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())
    return parsed


def ordered(first: dt.date | None, last: dt.date | None, first_name: str,
            last_name: str) -> None:
    """The last day of a period is not before its first."""
    if first is not None and last is not None and last < first:
        raise ParamError(last_name, "order", other=first_name)


def number(args: Args, name: str, low: int, high: int,
           default: int | None = None) -> int | None:
    """A whole number from `low` to `high` in ASCII digits; blank or absent is `default`."""
    value = args.get(name, "")
    if not value:
        return default
    # Leading zeros aside, more digits than `high` has is out of range before int() runs.
    if not _DIGITS.fullmatch(value) or len(value.lstrip("0")) > len(str(high)) \
            or not low <= int(value) <= high:
        raise ParamError(name, "number", low=low, high=high)
    return int(value)


def ident(args: Args, name: str) -> int | None:
    """A database id (1 to MAX_ID), or None when blank or absent."""
    return number(args, name, 1, MAX_ID)


def digits(args: Args, name: str, max_digits: int) -> str:
    value = args.get(name, "")
    if value and (not _DIGITS.fullmatch(value) or len(value) > max_digits):
        raise ParamError(name, "digits", max=max_digits)
    return value


def choice(args: Args, name: str, choices: Sequence[str], default: str = "") -> str:
    """One of `choices`; blank or absent is `default`."""
    value = args.get(name, "")
    if not value:
        return default
    if value not in choices:
        raise ParamError(name, "choice", choices=", ".join(choices))
    return value


def phone(args: Args, name: str) -> str:
    """The number normalised as stored (`hotline.phones`), or "" when blank or absent."""
    value = args.get(name, "")
    if not value:
        return ""
    if len(value) > PHONE_MAX:
        raise ParamError(name, "phone")
    try:
        return normalise_phone(value)
    except PhoneNumberError:
        raise ParamError(name, "phone") from None

