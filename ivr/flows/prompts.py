"""The prompt ids the call flows play (each must be in the prompt catalogue), and the keys
each prompt tells the caller to press."""

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

GREETING = "greeting"
MAIN_MENU = "main-menu"
INVALID_INPUT = "invalid-input"
NO_INPUT = "no-input"
TRANSFER_AGENT = "transfer-agent"
SORRY_TECHNICAL = "sorry-technical"
QUEUE_LONG_CALLBACK = "queue-long-callback"
CALLBACK_CONFIRMED = "callback-confirmed"
ENTER_CASE_NUMBER = "enter-case-number"
CASE_NOT_FOUND = "case-not-found"
STATUS_RECEIVED = "status-received"
STATUS_ASSIGNED = "status-assigned"
STATUS_IN_PROGRESS = "status-in-progress"
STATUS_RESOLVED_ON = "status-resolved-on"
STATUS_CLOSED = "status-closed"
PROGRESS_MORE = "progress-more"
OPEN_APPEAL_NOTICE = "open-appeal-notice"
AFTER_HOURS = "after-hours"
LEAVE_MESSAGE = "leave-message"
MESSAGE_SAVED = "message-saved"
MESSAGE_JOINED = "message-joined"  # saved, as a note on the caller's open appeal
MESSAGE_EMPTY = "message-empty"  # nothing was recorded
# Asterisk cannot record a message and no agent took the call
MESSAGE_NOT_RECORDED = "message-not-recorded"
THANKS_GOODBYE = "thanks-goodbye"
# The satisfaction survey's (ivr.flows.survey)
SURVEY_QUESTION = "survey-question"
SURVEY_INVALID = "survey-invalid"
SURVEY_THANKS = "survey-thanks"
# A unit's name is its own prompt, ivr.prompts.unit_prompt_id(code), built from the units
# table; this is said instead when it is missing.
UNIT_UNNAMED = "status-unit-unnamed"

# A date: the year digit by digit, 年, the month, the day (二〇二六年十一月二十八日).
DIGITS = tuple(f"digit-{n}" for n in range(10))
DATE_YEAR = "date-year"
DATE_MONTHS = tuple(f"date-month-{n}" for n in range(1, 13))
DATE_DAYS = tuple(f"date-day-{n}" for n in range(1, 32))


def date_prompts(day: dt.date) -> tuple[str, ...]:
    """The prompts that say `day` the Chinese way (a local date: the caller's, Asia/Shanghai)."""
    return (*(DIGITS[int(d)] for d in f"{day.year:04d}"), DATE_YEAR, DATE_MONTHS[day.month - 1],
            DATE_DAYS[day.day - 1])


# The keys each prompt names ("请按9"), and so exactly the keys the flow takes in answer to
# it, while it plays and in the wait that follows: a prompt that names a key the flow does
# not take, or the other way round, sends a caller who does as told somewhere else. The
# catalogue's texts are tested against this table, the flows take their keys from it. A
# prompt that names no key is not here; 0 (an agent) works at those as at the main menu.
KEYS: Mapping[str, str] = MappingProxyType({
    MAIN_MENU: "123450*",  # 1-3 and 0 the queue, 4 progress, 5 a message, * again
    OPEN_APPEAL_NOTICE: "90",  # 9 its status, 0 an agent; anything else: the menu follows
    ENTER_CASE_NUMBER: "#",  # the end of the number (GET DATA's own terminator)
    PROGRESS_MORE: "10*",  # 1 another number, 0 an agent, * the status again
    UNIT_UNNAMED: "0",
    QUEUE_LONG_CALLBACK: "1",
    LEAVE_MESSAGE: "#",  # ends the recording
    SURVEY_QUESTION: "123",
    SURVEY_INVALID: "123",
})
MENU_KEYS = KEYS[MAIN_MENU]
REPEAT = "*"
AGENT = "0"

USED = (GREETING, MAIN_MENU, INVALID_INPUT, NO_INPUT, TRANSFER_AGENT, SORRY_TECHNICAL,
        QUEUE_LONG_CALLBACK, CALLBACK_CONFIRMED, ENTER_CASE_NUMBER, CASE_NOT_FOUND,
        STATUS_RECEIVED, STATUS_ASSIGNED, STATUS_IN_PROGRESS, STATUS_RESOLVED_ON, STATUS_CLOSED,
        PROGRESS_MORE, OPEN_APPEAL_NOTICE, AFTER_HOURS, LEAVE_MESSAGE, MESSAGE_SAVED,
        MESSAGE_JOINED, MESSAGE_EMPTY, MESSAGE_NOT_RECORDED, THANKS_GOODBYE, UNIT_UNNAMED,
        *DIGITS, DATE_YEAR, *DATE_MONTHS, *DATE_DAYS)
