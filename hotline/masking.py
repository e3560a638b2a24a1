"""Masking of personal data before it reaches a log line.

Citizen phone numbers and resident ID numbers must never be written to logs in clear
(DESIGN: privacy). Every log call that carries one passes it through `mask_phone`,
`mask_id_number` or, for free text, `mask_text`.
"""

import re

_MOBILE_OR_LANDLINE = re.compile(r"(?<!\d)(?:\+?86)?(1\d{2})(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_phone(number: str | None) -> str:
    """13812345678 -> 138****5678; shorter numbers keep only their last two digits."""
    if not number:
        return ""
    digits = str(number)
    if len(digits) >= 11:
        return digits[:-8] + "****" + digits[-4:]
    if len(digits) > 4:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def mask_id_number(id_number: str | None) -> str:
    """A resident ID (18 characters) keeps its first 3 and last 2: 370***********123X -> 370*************3X."""
    if not id_number:
        return ""
    text = str(id_number)
    if len(text) <= 5:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 5) + text[-2:]


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number found inside free text (an SMS, a log message)."""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    return _MOBILE_OR_LANDLINE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
