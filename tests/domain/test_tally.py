"""Counting ballots, abstentions, the scored item, small-group hiding and seed-003 averages."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.domain.questionnaire import shipped
from survey.domain.roles import SubjectRole
from survey.domain.tally import (
    BallotRecord,
    GroupSpec,
    SubjectSpec,
    score_item,
    scored_items,
    shown_groups,
    tally_ballots,
)

DANGFENG = shipped()["dangfeng-zerenzhi"]
TEAM = SubjectSpec(1, "领导班子", "", SubjectRole.TEAM)
CHIEF = SubjectSpec(2, "张明", "书记", SubjectRole.PRINCIPAL)
GROUPS = [GroupSpec("县级领导", 10), GroupSpec("中层干部", 20)]


def ballot(group, team=None, chief=None):
    ratings = {}
    if team:
        ratings[(1, "overall")] = team
    if chief:
        ratings[(2, "overall")] = chief
    return BallotRecord(group, ratings)


def test_counts_rates_and_abstentions():
    ballots = [
        ballot("县级领导", "good", "good"),
        ballot("县级领导", "fairly_good", None),
        ballot("中层干部", "average", "poor"),
        ballot("中层干部", None, "good"),
    ]
    tally = tally_ballots(DANGFENG, [TEAM, CHIEF], GROUPS, ballots)
    assert tally.received == 4 and tally.expected == 30
    assert tally.participation() == Fraction(4, 30)
    team = tally.pooled(1, "overall")
    assert team.valid == 3 and team.abstain == 1
    assert team.rate(DANGFENG) == Fraction(2, 3)
    assert team.vote_counts().good == 1 and team.vote_counts().abstain == 1
    assert tally.by_group(2, "overall")["中层干部"].options["poor"] == 1


def test_no_valid_votes_means_no_rate_not_zero():
    tally = tally_ballots(DANGFENG, [TEAM], GROUPS, [ballot("县级领导")])
    assert tally.pooled(1, "overall").rate(DANGFENG) is None


def test_scored_item_is_overall_or_the_only_item():
    shuze = shipped()["shuze-shulian"]
    assert score_item(shuze, SubjectRole.MEMBER) == "overall"
    assert score_item(DANGFENG, SubjectRole.TEAM) == "overall"


@pytest.mark.parametrize(
    ("received", "shown"),
    [
        ({"a": 10, "b": 8, "c": 6}, {"a", "b", "c"}),
        ({"a": 10, "b": 8, "c": 2}, {"a"}),  # c hidden, so b (the smallest shown) too
        ({"a": 10, "b": 4, "c": 2}, {"a"}),  # two hidden: their sum reveals neither
        ({"a": 4}, set()),
        ({"a": 5}, {"a"}),
    ],
)
def test_small_groups_are_hidden_and_cannot_be_subtracted_out(received, shown):
    assert shown_groups(received, 5) == shown


def test_min_group_size_never_goes_below_three():
    # With a floor of 3: a (2) is hidden, so b, the smallest shown, is hidden with it.
    assert shown_groups({"a": 2, "b": 3, "c": 9}, 1) == {"c"}


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 12), min_size=1), st.integers(3, 8)
)
def test_hidden_groups_are_never_exactly_one(received, min_size):
    shown = shown_groups(received, min_size)
    hidden = set(received) - shown
    assert all(received[name] >= min_size for name in shown)
    assert len(hidden) != 1 or not shown


def test_seed_003_questionnaire_item_averages_total_and_points():
    risk = shipped()["lianjie-fengxian"]
    unit = SubjectSpec(7, "本单位", "", SubjectRole.TEAM)
    items = risk.items_for("team")
    all_good = BallotRecord("g", {(7, item.key): "good" for item in items})
    all_fair = BallotRecord("g", {(7, item.key): "fairly_good" for item in items})
    tally = tally_ballots(risk, [unit], [GroupSpec("g", 2)], [all_good, all_fair])
    results, total = scored_items(tally, unit)
    assert sum(r.points for r in results) == 100
    assert total == Fraction(90)  # (100 + 80) / 2
