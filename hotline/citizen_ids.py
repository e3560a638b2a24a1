"""Resident identity card numbers (GB 11643-1999): 17 digits and a check character."""

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class IdNumberError(ValueError):
    pass


def normalise_id_number(raw: str) -> str:
    text = (raw or "").strip().upper()
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        raise IdNumberError("an ID number has 17 digits and a check digit or X")
    expected = _CHECK[sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=False)) % 11]
    if text[17] != expected:
        raise IdNumberError("the ID number's check digit does not match")
    return text
