"""How a citizen's SMS reply is written on an appeal's trail: the SMS gateway writes these
audit rows (and rates as `ACTOR`), the supervisor's pages read them back. The format both
sides rely on lives here, once."""

from __future__ import annotations

import re

ACTOR = "system:sms-reply"  # who rates an appeal from an SMS survey reply
NOTE_ACTION = "sms_reply"   # the audit action of a reply noted on an appeal

_NOTE = re.compile(r"SMS reply \d+: (?P<text>.*)\Z", re.S)


def note(reply_id: int, text: str) -> str:
    return f"SMS reply {reply_id}: {text}"


def text_of(written: str | None) -> str | None:
    """The citizen's text from a note written by `note`, else None."""
    match = _NOTE.match(written or "")
    return match.group("text") if match else None
