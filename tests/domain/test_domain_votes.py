"""Vote counts, the good-or-better rate and rater-group weighting."""

from fractions import Fraction

import pytest

from survey.domain import (
    Rating,
    ScoreInputError,
    SubjectRole,
    VoteCounts,
    weighted_rate,
)


def test_rate_counts_good_and_fairly_good_over_valid_votes():
    counts = VoteCounts(good=150, fairly_good=39, average=8, poor=2, abstain=5)
    assert counts.valid == 199
    assert counts.good_or_better == 189
    assert counts.rate == Fraction(189, 199)
    assert counts.rate_text == "189/199"


def test_abstentions_are_not_valid_votes():
    assert VoteCounts(good=9, poor=1, abstain=90).rate == Fraction(9, 10)


def test_no_valid_votes_means_no_rate_not_zero():
    counts = VoteCounts(abstain=3)
    assert counts.rate is None
    assert counts.rate_text is None
    assert VoteCounts().rate is None


def test_rate_text_is_not_reduced():
    counts = VoteCounts(good=190, poor=10)
    assert counts.rate == Fraction(19, 20)
    assert counts.rate_text == "190/200"


@pytest.mark.parametrize("bad", [-1, 1.0, "3", True])
def test_counts_must_be_non_negative_integers(bad):
    with pytest.raises(ScoreInputError):
        VoteCounts(good=bad)


def test_counts_add_and_pool():
    a = VoteCounts(good=1, fairly_good=2, average=3, poor=4, abstain=5)
    assert a + a == VoteCounts(2, 4, 6, 8, 10)
    assert VoteCounts.pooled([a, a, a]).valid == 30
    assert VoteCounts.from_ratings({Rating.GOOD: 3, Rating.POOR: 1}, abstain=2) == VoteCounts(
        3, 0, 0, 1, 2
    )


def test_enums_are_strings_with_chinese_labels():
    assert SubjectRole.TEAM == "team"
    assert SubjectRole.PRINCIPAL.label == "主要负责人"
    assert SubjectRole.from_label("领导班子") is SubjectRole.TEAM
    assert SubjectRole.from_label("其他班子成员") is SubjectRole.MEMBER
    assert [r.label for r in Rating] == ["好", "较好", "一般", "差"]
    assert Rating.FAIRLY_GOOD.is_good_or_better and not Rating.AVERAGE.is_good_or_better
    with pytest.raises(ValueError, match="副书记"):
        SubjectRole.from_label("副书记")


WEIGHTS = {"班子成员": Fraction(3, 10), "中层干部": Fraction(2, 5), "职工代表": Fraction(3, 10)}


def test_weighted_rate_weighs_group_rates():
    by_group = {
        "班子成员": VoteCounts(good=10),  # 100 %
        "中层干部": VoteCounts(good=8, poor=2),  # 80 %
        "职工代表": VoteCounts(good=1, poor=1),  # 50 %
    }
    assert (
        weighted_rate(by_group, WEIGHTS)
        == Fraction(3, 10) + Fraction(2, 5) * Fraction(4, 5) + Fraction(3, 10) / 2
    )


def test_weighted_rate_renormalises_over_groups_with_valid_votes():
    by_group = {
        "班子成员": VoteCounts(good=1),
        "中层干部": VoteCounts(poor=1),
        "职工代表": VoteCounts(abstain=4),
    }
    # 30 % and 40 % remain: (0.3 × 1 + 0.4 × 0) / 0.7
    assert weighted_rate(by_group, WEIGHTS) == Fraction(3, 7)


def test_weighted_rate_without_any_valid_vote_is_none():
    assert weighted_rate({"班子成员": VoteCounts(abstain=1)}, WEIGHTS) is None
    assert weighted_rate({}, WEIGHTS) is None


def test_weighted_rate_rejects_unweighted_group_and_non_positive_weight():
    with pytest.raises(ScoreInputError, match="退休干部"):
        weighted_rate({"退休干部": VoteCounts(good=1)}, WEIGHTS)
    with pytest.raises(ScoreInputError, match="正数"):
        weighted_rate({"a": VoteCounts(good=1)}, {"a": Fraction(0)})
