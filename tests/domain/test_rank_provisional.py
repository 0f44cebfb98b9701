"""Rank items are 暂定 until every unit's facts are in; ties are shown as 并列."""

from fractions import Fraction

from survey.domain.checklist import (
    UnitInput,
    get_checklist,
    place_text,
    score_units,
    tied_places,
)

CHECKLIST = get_checklist("langfang-2014", "2")


def case_line(scored):
    return next(
        line for part in scored.parts for line in part.lines if line.item.fact == "case_work_score"
    )


def test_a_unit_alone_gets_provisional_rank_points_naming_who_is_missing():
    units = {
        "甲": UnitInput({"case_work_score": Fraction(90)}, 100_000),
        "乙": UnitInput({}, 100_000),
        "丙": UnitInput({}, 100_000),
    }
    scored = score_units(CHECKLIST, units)
    line = case_line(scored["甲"])
    assert line.points == 20 and line.waiting_for == ("乙", "丙")
    assert line.text.endswith("（暂定：另有2个单位尚未录入，名次可能变化）")
    assert scored["甲"].provisional and scored["甲"].waiting_for[:2] == ("乙", "丙")


def test_once_every_unit_is_in_nothing_is_provisional_and_the_points_move():
    units = {
        "甲": UnitInput({"case_work_score": Fraction(90)}, 100_000),
        "乙": UnitInput({"case_work_score": Fraction(95)}, 100_000),
    }
    line = case_line(score_units(CHECKLIST, units)["甲"])
    assert line.points == 18 and line.waiting_for == ()
    assert "暂定" not in line.text


def test_place_text_says_tied_and_provisional():
    assert place_text(1, tied=False) == "1"
    assert place_text(1, tied=True) == "1（并列）"
    assert place_text(3, tied=False, provisional=True) == "暂定 3"
    assert place_text(None, tied=False) == "—"
    assert tied_places({"a": 1, "b": 1, "c": 3}) == {1}
    assert tied_places({"a": 1, "b": 2}) == set()
