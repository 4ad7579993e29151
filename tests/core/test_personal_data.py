import logging

import pytest
from cryptography.exceptions import InvalidTag

from core.personal_data import (
    address_region,
    current_prefix,
    decrypt,
    encrypt,
    lookup_hash,
    mask_address,
    mask_id_number,
    mask_mobile,
    mask_name,
    scrub,
)


def test_encryption_round_trip_and_randomised():
    a, b = encrypt("11010519491231002X"), encrypt("11010519491231002X")
    assert a != b and a.startswith(current_prefix()) and "1101" not in a
    assert decrypt(a) == decrypt(b) == "11010519491231002X"


def test_tampered_ciphertext_is_refused():
    token = encrypt("13800138000")
    raw = bytearray(token.encode())
    raw[-5] = ord("A") if raw[-5] != ord("A") else ord("B")
    with pytest.raises((InvalidTag, ValueError)):
        decrypt(raw.decode())


def test_lookup_hash_is_stable_and_keyed(settings):
    first = lookup_hash("11010519491231002X")
    assert first == lookup_hash("11010519491231002X")
    settings.PERSONAL_DATA_KEY = "another-key"
    assert lookup_hash("11010519491231002X") != first


def test_masks():
    assert mask_id_number("210102199001011234") == "2101**********1234"
    assert mask_mobile("13800138000") == "138****8000"
    assert mask_name("张三丰") == "张**"
    assert mask_address("辽宁省大连市中山区人民路1号") == "辽宁省大连市****"
    assert mask_address("黑龙江省哈尔滨市南岗区学府路 52 号") == "黑龙江省哈尔滨市****"
    assert mask_address("和平区新华市场 3 号") == "****"


@pytest.mark.parametrize(
    ("address", "region"),
    [
        ("黑龙江省哈尔滨市南岗区学府路 52 号", "黑龙江省哈尔滨市"),
        ("内蒙古自治区呼和浩特市新城区", "内蒙古自治区呼和浩特市"),
        ("内蒙古呼和浩特市新城区", "内蒙古呼和浩特市"),
        ("吉林省延边朝鲜族自治州延吉市", "吉林省延边朝鲜族自治州"),
        ("黑龙江省大兴安岭地区加格达奇区", "黑龙江省大兴安岭地区"),
        ("内蒙古自治区锡林郭勒盟锡林浩特市", "内蒙古自治区锡林郭勒盟"),
        ("北京市朝阳区建国路 88 号", "北京市朝阳区"),
        ("湖北省神农架林区松柏镇", "湖北省"),
        ("大连市中山区人民路 1 号", "大连市"),
        ("和平区新华市场 3 号", ""),
        ("新华市场东门", ""),
    ],
)
def test_address_region_is_the_province_and_city(address, region):
    assert address_region(address) == region


def test_scrub_and_log_filter(caplog):
    text = "申请人 11010519491231002X 电话 13800138000 编号 A1101051949123100"
    assert scrub(text) == "申请人 1101**********002X 电话 138****8000 编号 A1101051949123100"
    from core.personal_data import ScrubPersonalDataFilter

    logger = logging.getLogger("tongban.test")
    handler = logging.Handler()
    records = []
    handler.emit = records.append
    handler.addFilter(ScrubPersonalDataFilter())
    logger.addHandler(handler)
    try:
        logger.warning("verify %s", "11010519491231002X")
    finally:
        logger.removeHandler(handler)
    assert records[0].getMessage() == "verify 1101**********002X"
