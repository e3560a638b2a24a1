from hotline.masking import mask_id_number, mask_phone, mask_text


def test_mobile_number_keeps_prefix_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


def test_short_and_empty_numbers_are_masked():
    assert mask_phone("5551234") == "*****34"
    assert mask_phone("") == ""
    assert mask_phone(None) == ""


def test_id_number_keeps_three_and_two():
    assert mask_id_number("37130219900307123X") == "371*************3X"


def test_free_text_masks_every_number_it_carries():
    text = "来电 13812345678 身份证 37130219900307123X 反映问题"
    masked = mask_text(text)
    assert "13812345678" not in masked and "37130219900307123X" not in masked
    assert "138****5678" in masked and "371*************3X" in masked
