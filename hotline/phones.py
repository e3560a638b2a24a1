"""Citizen phone numbers: validated and normalised with `phonenumbers` (region CN).

Stored form: mainland mobiles as their 11 digits (13812345678), landlines as national digits
with the trunk 0 (05398123456): what an agent reads and what a dial string takes.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType


class PhoneNumberError(ValueError):
    pass


def parse_cn(raw: str) -> phonenumbers.PhoneNumber:
    text = (raw or "").strip()
    if not text:
        raise PhoneNumberError("a phone number is required")
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as error:
        raise PhoneNumberError(f"{text!r} is not a phone number ({error})") from None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        raise PhoneNumberError(f"{text!r} is not a valid mainland China phone number")
    return number


def normalise_phone(raw: str) -> str:
    number = parse_cn(raw)
    national = str(number.national_number)
    if phonenumbers.number_type(number) == PhoneNumberType.MOBILE:
        return national
    return "0" + national


def is_mobile(raw: str) -> bool:
    try:
        return phonenumbers.number_type(parse_cn(raw)) == PhoneNumberType.MOBILE
    except PhoneNumberError:
        return False
