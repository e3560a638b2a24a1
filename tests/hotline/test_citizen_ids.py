"""ID card numbers: 17 ASCII digits and a check character, the check computed per GB 11643."""

import pytest

from hotline.citizen_ids import IdNumberError, normalise_id_number


def test_a_valid_number_is_kept_with_its_x_upper_case():
    assert normalise_id_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize("raw", [
    "",
    "11010519491231002",          # 17 characters
    "1101051949123100211",        # 19
    "1101051949123100²X",         # a superscript two passes str.isdigit()
    "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",         # Arabic-Indic digits, likewise
    "11010519491231002Y",
])
def test_a_malformed_number_is_refused_with_the_error_not_a_crash(raw):
    with pytest.raises(IdNumberError):
        normalise_id_number(raw)


def test_a_wrong_check_digit_is_refused():
    with pytest.raises(IdNumberError, match="check digit"):
        normalise_id_number("110105194912310020")
