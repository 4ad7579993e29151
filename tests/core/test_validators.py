import pytest
from django.core.exceptions import ValidationError

from core.validators import normalize_id_number, normalize_mobile, normalize_uscc


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        (" 360426199101010071 ", "360426199101010071"),
        ("110105491231002", "11010519491231002X"),  # 15-digit legacy number upgraded
    ],
)
def test_id_number_accepted_and_normalised(raw, expected):
    assert normalize_id_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("110105194912310021", "id_number_checksum"),
        ("11010519491231002", "id_number_format"),
        ("1101051949123100XX", "id_number_format"),
        ("", "id_number_format"),
        ("110105194913310027", "id_number_component"),  # month 13, checksum valid
    ],
)
def test_id_number_rejected_with_code(raw, code):
    from stdnum.cn import ric

    if code == "id_number_component":
        raw = raw[:17] + ric.calc_check_digit(raw)
    with pytest.raises(ValidationError) as info:
        normalize_id_number(raw)
    assert info.value.code == code
    assert info.value.messages[0]


def test_uscc():
    assert normalize_uscc("91110000600037341l") == "91110000600037341L"
    assert normalize_uscc("91350100M000100Y43") == "91350100M000100Y43"
    with pytest.raises(ValidationError) as info:
        normalize_uscc("91110000600037341M")
    assert info.value.code == "uscc_checksum"
    with pytest.raises(ValidationError) as info:
        normalize_uscc("9111000060003734")
    assert info.value.code == "uscc_format"


@pytest.mark.parametrize("raw", ["13800138000", "+8613800138000", "138-0013-8000", "19912345678"])
def test_mobile_accepted(raw):
    assert len(normalize_mobile(raw)) == 11


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "1440012345678", "abc"])
def test_mobile_rejected(raw):
    with pytest.raises(ValidationError) as info:
        normalize_mobile(raw)
    assert info.value.code == "mobile_format"
