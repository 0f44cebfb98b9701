"""Quorum (实到 > 应到 ÷ 2) and paper ballots (收回 ≤ 发出 per group), exactly at the lines."""

import pytest

from survey.domain.quorum import check_validity, has_quorum


@pytest.mark.parametrize(
    ("expected", "received", "held"),
    [(60, 30, False), (60, 31, True), (61, 30, False), (61, 31, True), (1, 1, True), (0, 0, False)],
)
def test_more_than_half_must_be_present(expected, received, held):
    assert has_quorum(expected, received) is held


def test_the_printed_sentence_says_valid_or_repeat():
    ok = check_validity(60, 31, {"甲": 40}, {"甲": 31})
    assert ok.valid and ok.text == "有效：实到超过应到半数（实到 31，应到 60）"
    short = check_validity(60, 30, {"甲": 40}, {"甲": 30})
    assert not short.valid
    assert short.text.startswith("警告：实到 30 未超过应到 60 的半数")
    assert "应重新组织测评" in short.text


def test_more_returned_than_handed_out_voids_the_evaluation():
    check = check_validity(20, 16, {"甲": 10, "乙": 5}, {"甲": 10, "乙": 6})
    assert not check.valid and check.quorum
    assert check.over_returned == ("警告：乙收回 6 张，多于发出 5 张，本次测评无效，应重新测评",)
    at_limit = check_validity(20, 15, {"甲": 10, "乙": 5}, {"甲": 10, "乙": 5})
    assert at_limit.valid
