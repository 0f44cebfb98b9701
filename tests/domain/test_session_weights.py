"""A session's rater-group weights: used only when every group has one; the pooled rate beside."""

from fractions import Fraction

from survey.domain import get_shipped
from survey.domain.evaluation import StoredBallot, evaluate, session_weights
from survey.domain.questionnaire import shipped
from survey.domain.roles import SubjectRole
from survey.domain.tally import GroupSpec, SubjectSpec

LANGFANG = get_shipped("langfang-2014", "1")
FORM = shipped()["dangfeng-zerenzhi"]


def test_weights_count_only_when_every_group_has_one():
    assert session_weights([GroupSpec("a", 1, Fraction(1, 2)), GroupSpec("b", 1)]) == {}
    both = [GroupSpec("a", 1, Fraction(3, 10)), GroupSpec("b", 1, Fraction(7, 10))]
    assert session_weights(both) == {"a": Fraction(3, 10), "b": Fraction(7, 10)}


def test_the_weighted_rate_is_banded_and_the_pooled_one_shown_beside():
    ballots = [StoredBallot("a", {(1, "overall"): "good"}) for _ in range(10)]
    ballots += [StoredBallot("b", {(1, "overall"): "good"}) for _ in range(5)]
    ballots += [StoredBallot("b", {(1, "overall"): "poor"}) for _ in range(5)]
    groups = [GroupSpec("a", 10, Fraction(3, 10)), GroupSpec("b", 10, Fraction(7, 10))]
    team = SubjectSpec(1, "班子", "", SubjectRole.TEAM)
    row = evaluate(FORM, LANGFANG, [team], groups, ballots, 3, {}).subjects[0]
    assert row.rate == Fraction(13, 20) and row.points == 3
    assert row.pooled_rate == Fraction(3, 4) and row.pooled_text == "不加权 75.00%（15/20）"
    pooled = evaluate(
        FORM, LANGFANG, [team], [GroupSpec("a", 10), GroupSpec("b", 10)], ballots, 3, {}
    )
    assert pooled.subjects[0].rate == Fraction(3, 4) and pooled.subjects[0].pooled_text is None
