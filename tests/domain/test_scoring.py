"""Team totals with capping, final scores, and scoring a whole meeting."""

from fractions import Fraction

import pytest

from survey.domain import (
    ScoreInputError,
    SubjectRole,
    SubjectVotes,
    VoteCounts,
    final_score,
    score_meeting,
    team_total,
    team_total_from_other,
)

OTHER = {"conduct": 12, "punishment": 26, "prevention": Fraction(355, 20), "responsibility": 14}


def test_team_total_adds_parts_and_converts_to_ten_points(langfang):
    total = team_total(langfang, 18, OTHER)
    assert total.total == Fraction("87.75")  # 18 + 12 + 26 + 17.75 + 14
    assert total.scaled == total.total / 10
    assert total.capped_parts == ()


def test_team_total_caps_each_part_and_reports_it(langfang):
    total = team_total(
        langfang, 20, {**OTHER, "punishment": 32}
    )  # 2 bonus points over the cap of 30
    capped = total.capped_parts
    assert [(p.name, p.entered, p.counted) for p in capped] == [("惩治腐败", 32, 30)]
    assert total.total == 20 + 12 + 30 + Fraction(355, 20) + 14


@pytest.mark.parametrize(
    ("parts", "words"),
    [
        ({**OTHER, "conduct": -1}, "负数"),
        ({k: v for k, v in OTHER.items() if k != "conduct"}, "作风建设"),
        ({**OTHER, "bonus": 1}, "bonus"),
        ({**OTHER, "survey": 1}, "民主测评"),
    ],
)
def test_team_total_rejects_bad_parts(langfang, parts, words):
    with pytest.raises(ScoreInputError, match=words):
        team_total(langfang, 18, parts)


def test_team_total_from_other_sum(langfang):
    assert team_total_from_other(langfang, 18, 72).scaled == 9
    assert team_total_from_other(langfang, 20, 80).scaled == 10
    assert team_total_from_other(langfang, 0, 0).scaled == 0
    for bad in (Fraction(-1, 10), Fraction(801, 10)):
        with pytest.raises(ScoreInputError, match="0 到 80"):
            team_total_from_other(langfang, 18, bad)


def test_final_score_weights(langfang):
    # Seed 002: 主要负责人 50 % personal + 50 % team; 其他班子成员 70 % + 30 %.
    assert final_score(langfang, SubjectRole.PRINCIPAL, 10, 9) == Fraction(95, 10)
    assert final_score(langfang, SubjectRole.MEMBER, Fraction(95, 10), 9) == Fraction(935, 100)
    with pytest.raises(ScoreInputError):
        final_score(langfang, SubjectRole.TEAM, 10, 9)


def meeting() -> list[SubjectVotes]:
    return [
        SubjectVotes(
            "县委领导班子",
            SubjectRole.TEAM,
            VoteCounts(good=150, fairly_good=39, average=8, poor=2, abstain=1),
        ),
        SubjectVotes("张三", SubjectRole.PRINCIPAL, VoteCounts(good=180, poor=20)),
        SubjectVotes("李四", SubjectRole.MEMBER, VoteCounts(good=170, poor=30)),
        SubjectVotes("王五", SubjectRole.MEMBER, VoteCounts(abstain=5)),
    ]


def test_score_meeting_with_team_other(langfang):
    team, principal, member, silent = score_meeting(langfang, meeting(), team_other=72)
    assert (team.points, team.deduction, team.personal, team.final) == (18, None, None, 9)
    assert (principal.points, principal.deduction, principal.personal, principal.final) == (
        None,
        0,
        10,
        Fraction(19, 2),
    )
    assert (member.deduction, member.personal, member.final) == (
        Fraction(1, 2),
        Fraction(19, 2),
        Fraction(187, 20),
    )
    assert (silent.rate, silent.deduction, silent.personal, silent.final) == (
        None,
        None,
        None,
        None,
    )


def test_score_meeting_without_team_other_has_no_finals(langfang):
    results = score_meeting(langfang, meeting())
    assert [r.final for r in results] == [None] * 4
    assert results[0].points == 18


def test_score_meeting_team_without_valid_votes_gives_no_finals(langfang):
    subjects = [SubjectVotes("班子", SubjectRole.TEAM, VoteCounts(abstain=3)), *meeting()[1:]]
    results = score_meeting(langfang, subjects, team_other=72)
    assert [r.final for r in results] == [None] * 4


def test_score_meeting_needs_exactly_one_team_for_finals(langfang):
    with pytest.raises(ScoreInputError, match="没有领导班子"):
        score_meeting(langfang, meeting()[1:], team_other=72)
    with pytest.raises(ScoreInputError, match="一个领导班子"):
        score_meeting(langfang, [meeting()[0], *meeting()])


def test_score_meeting_missing_sections(risk_grades):
    with pytest.raises(ScoreInputError, match="领导班子民主测评得分分档"):
        score_meeting(risk_grades, meeting())
