"""Resident identity card numbers (GB 11643-1999): 17 digits and a check character."""

import re

# ASCII digits only: str.isdigit() also takes "²" or "٣", which int() then refuses.
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class IdNumberError(ValueError):
    pass


def normalise_id_number(raw: str) -> str:
    text = (raw or "").strip().upper()
    if not _SHAPE.fullmatch(text):
        raise IdNumberError("an ID number has 17 digits and a check digit or X")
    expected = _CHECK[sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=False)) % 11]
    if text[17] != expected:
        raise IdNumberError("the ID number's check digit does not match")
    return text
