"""The prompt ids the call flows play (each must be in the prompt catalogue)."""

import datetime as dt

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


USED = (GREETING, MAIN_MENU, INVALID_INPUT, NO_INPUT, TRANSFER_AGENT, SORRY_TECHNICAL,
        QUEUE_LONG_CALLBACK, CALLBACK_CONFIRMED, ENTER_CASE_NUMBER, CASE_NOT_FOUND,
        STATUS_RECEIVED, STATUS_ASSIGNED, STATUS_IN_PROGRESS, STATUS_RESOLVED_ON, STATUS_CLOSED,
        PROGRESS_MORE, OPEN_APPEAL_NOTICE, AFTER_HOURS, LEAVE_MESSAGE, MESSAGE_SAVED,
        MESSAGE_JOINED, MESSAGE_EMPTY, MESSAGE_NOT_RECORDED, THANKS_GOODBYE, UNIT_UNNAMED,
        *DIGITS, DATE_YEAR, *DATE_MONTHS, *DATE_DAYS)
