"""Exactness on paper: a rounded figure that would suggest another band or grade says so."""

from fractions import Fraction

import pytest

from survey.domain import get_shipped
from survey.domain.evaluation import StoredBallot, evaluate
from survey.domain.exactness import exact_note, rounding_note
from survey.domain.questionnaire import shipped
from survey.domain.roles import SubjectRole
from survey.domain.scoring import combined_score
from survey.domain.tally import GroupSpec, SubjectSpec

LANGFANG = get_shipped("langfang-2014", "1")
GRADES_V1 = get_shipped("integrity-risk-grades", "1")
GRADES_V2 = get_shipped("integrity-risk-grades", "2")


@pytest.mark.parametrize(
    ("rate", "note"),
    [
        (Fraction(1899, 1999), "精确值低于95%"),  # shows 95.00%, scores 18
        (Fraction(1900, 2000), None),  # exactly 95%: 20, nothing to say
        (Fraction(189, 199), None),  # shows 94.97%: the same band as the exact value
        (Fraction(17999, 20000), "精确值低于90%"),  # 89.995% shows 90.00%
        (Fraction(17998, 20000), None),  # 89.99%
        (Fraction(11999, 20000), "精确值低于60%"),
        (Fraction(1), None),
        (Fraction(0), None),
    ],
)
def test_team_rates_at_each_boundary(rate, note):
    assert rounding_note(LANGFANG.team_points, rate) == note


@pytest.mark.parametrize(
    ("rate", "note"),
    [
        (Fraction(17999, 20000), "精确值低于90%"),  # would show "no deduction", is −0.5
        (Fraction(16999, 20000), "精确值低于85%"),
        (Fraction(14999, 20000), "精确值低于75%"),
        (Fraction(3, 4), None),
    ],
)
def test_personal_rates_at_each_boundary(rate, note):
    assert rounding_note(LANGFANG.personal_deduction, rate) == note


@pytest.mark.parametrize(
    ("score", "note"),
    [
        (Fraction(18089, 201), "18089/201，精确值低于90分"),  # 89.995… shows 90.00, 良好
        (Fraction(90), ""),
        (Fraction(8999, 100), ""),  # 89.99 shows 89.99
        (Fraction(79995, 1000), "15999/200，精确值低于80分"),  # 79.995 shows 80.00
        (Fraction(79994, 1000), ""),  # 79.994 shows 79.99
        (Fraction(59995, 1000), "11999/200，精确值低于60分"),
    ],
)
def test_grades_at_each_boundary(score, note):
    assert exact_note(GRADES_V1.grades, score) == note


def test_no_table_or_no_value_says_nothing():
    assert rounding_note(None, Fraction(1, 2)) is None
    assert rounding_note(LANGFANG.team_points, None) is None


def _risk_ballots() -> list[StoredBallot]:
    """200 ballots scoring 90 and one scoring 89: an average of 18089/201 (shows 90.00)."""
    form = shipped()["lianjie-fengxian"]
    keys = [item.key for item in form.items]
    ninety = {(1, key): "good" for key in keys} | {(1, "leadership"): "poor"}
    eighty_nine = {(1, key): "good" for key in keys} | {
        (1, "risk_points"): "average",  # 15 × 0.6 = 9: −6
        (1, "system"): "fairly_good",  # 10 × 0.8 = 8: −2
        (1, "measures"): "fairly_good",  # 15 × 0.8 = 12: −3
    }
    return [StoredBallot("职员代表", dict(ninety)) for _ in range(200)] + [
        StoredBallot("职员代表", eighty_nine)
    ]


def _evaluate(ruleset, parts):
    return evaluate(
        shipped()["lianjie-fengxian"],
        ruleset,
        [SubjectSpec(1, "某处", "", SubjectRole.TEAM)],
        [GroupSpec("职员代表", 250)],
        _risk_ballots(),
        5,
        parts,
    )


def test_the_questionnaire_alone_under_version_1_says_it_is_below_90():
    row = _evaluate(GRADES_V1, {}).subjects[0]
    assert row.score_total == Fraction(18089, 201)
    assert row.grade == "良好"
    assert row.score_note == "18089/201，精确值低于90分"
    assert row.grade_text == "良好(按问卷得分评定)"


def test_seed_003_grades_the_combined_score():
    # Without the 组织考评 there is no grade yet: the questionnaire is only one part.
    row = _evaluate(GRADES_V2, {}).subjects[0]
    assert row.grade is None and row.grade_text == "待组织考评录入后评定"
    # 组织考评 90 with 群众评议 89.995…: combined 89.997… shows 90.00 and is 良好.
    row = _evaluate(GRADES_V2, {"organisation": Fraction(90)}).subjects[0]
    assert row.combined.total == Fraction(90, 2) + Fraction(18089, 402)
    assert row.grade == "良好"
    assert row.score_note == "36179/402，精确值低于90分"
    # A strong 组织考评 lifts a 良好 questionnaire to 优异 — the questionnaire alone would not.
    row = _evaluate(GRADES_V2, {"organisation": Fraction(95)}).subjects[0]
    assert row.grade == "优异" and row.score_note == ""
    assert row.grade_text == "优异(按综合得分(组织考评 + 群众评议)评定)"


@pytest.mark.parametrize(
    ("organisation", "questionnaire", "grade"),
    [
        (90, 90, "优异"),
        (90, Fraction(8999, 100), "良好"),  # just below 90 combined
        (80, 80, "良好"),
        (60, 60, "合格"),
        (60, Fraction(5999, 100), "不合格"),
        (100, 0, "不合格"),  # 50: a perfect 组织考评 cannot hide a failed 群众评议
    ],
)
def test_combined_grade_bands(organisation, questionnaire, grade):
    scored = combined_score(GRADES_V2, questionnaire, {"organisation": organisation})
    assert scored.grade == grade
    assert [name for name, _, _ in scored.parts] == ["组织考评", "群众评议(无记名问卷)"]


def test_combined_refuses_scores_outside_the_hundred():
    from survey.domain import ScoreInputError

    with pytest.raises(ScoreInputError, match="应在 0 到 100 之间"):
        combined_score(GRADES_V2, 80, {"organisation": 101})
