"""The engine against an independent integer-arithmetic oracle, up to 2,000 voters."""

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey.domain import (
    SubjectRole,
    SubjectVotes,
    VoteCounts,
    format_percent,
    personal_deduction,
    score_meeting,
    team_points,
)

MAX_VOTERS = 2000


def oracle_team_points(good_or_better: int, valid: int) -> int:
    """Seed 002 team bands, written out with integers only: r ≥ p%  ⇔  100·gob ≥ p·valid."""
    if 100 * good_or_better >= 95 * valid:
        return 20
    if 100 * good_or_better >= 90 * valid:
        return 18
    if 100 * good_or_better >= 85 * valid:
        return 15
    if 100 * good_or_better >= 80 * valid:
        return 12
    if 100 * good_or_better >= 70 * valid:
        return 8
    if 100 * good_or_better >= 60 * valid:
        return 3
    return 0


def oracle_deduction_tenths(good_or_better: int, valid: int) -> int:
    """Seed 002 personal deduction in tenths of a point, integers only."""
    for percent, tenths in ((90, 0), (85, 5), (80, 10), (75, 20), (70, 35), (60, 50)):
        if 100 * good_or_better >= percent * valid:
            return tenths
    return 80


def oracle_percent(good_or_better: int, valid: int) -> str:
    """Percent to two places, half up: ⌊(20000·gob + valid) / (2·valid)⌋ hundredths of a percent."""
    hundredths = (20000 * good_or_better + valid) // (2 * valid)
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def check(good_or_better: int, valid: int, rules) -> None:
    rate = Fraction(good_or_better, valid)
    assert team_points(rules, rate) == oracle_team_points(good_or_better, valid)
    assert personal_deduction(rules, rate) * 10 == oracle_deduction_tenths(good_or_better, valid)


@st.composite
def vote_counts(draw) -> VoteCounts:
    valid = draw(st.integers(0, MAX_VOTERS))
    good_or_better = draw(st.integers(0, valid))
    good = draw(st.integers(0, good_or_better))
    average = draw(st.integers(0, valid - good_or_better))
    abstain = draw(st.integers(0, MAX_VOTERS - valid))
    return VoteCounts(
        good, good_or_better - good, average, valid - good_or_better - average, abstain
    )


SETTINGS = settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(vote_counts())
def test_bands_and_display_agree_with_the_integer_oracle(langfang, counts):
    if counts.valid == 0:
        assert counts.rate is None
        assert team_points(langfang, counts.rate) is None
        return
    check(counts.good_or_better, counts.valid, langfang)
    assert format_percent(counts.rate) == oracle_percent(counts.good_or_better, counts.valid)


@SETTINGS
@given(
    team=vote_counts(),
    principal=vote_counts(),
    member=vote_counts(),
    other_tenths=st.integers(0, 800),
)
def test_final_scores_agree_with_the_integer_oracle(
    langfang, team, principal, member, other_tenths
):
    subjects = [
        SubjectVotes("班子", SubjectRole.TEAM, team),
        SubjectVotes("正职", SubjectRole.PRINCIPAL, principal),
        SubjectVotes("副职", SubjectRole.MEMBER, member),
    ]
    results = score_meeting(langfang, subjects, team_other=Fraction(other_tenths, 10))
    # Work in hundredths of a point: team10 = (points + other) / 10.
    team_hundredths = None
    if team.valid:
        team_hundredths = 10 * oracle_team_points(team.good_or_better, team.valid) + other_tenths
    expected = [None if team_hundredths is None else Fraction(team_hundredths, 100)]
    for counts, personal_share in ((principal, 50), (member, 70)):
        if team_hundredths is None or counts.valid == 0:
            expected.append(None)
            continue
        personal_tenths = 100 - oracle_deduction_tenths(counts.good_or_better, counts.valid)
        # final = share% × personal + (100 − share)% × team10, in thousandths of a point.
        thousandths = (
            personal_share * personal_tenths + (100 - personal_share) // 10 * team_hundredths
        )
        expected.append(Fraction(thousandths, 1000))
    assert [r.final for r in results] == expected


def test_exhaustive_up_to_400_voters(langfang):
    for valid in range(1, 401):
        for good_or_better in range(valid + 1):
            check(good_or_better, valid, langfang)
            assert format_percent(Fraction(good_or_better, valid)) == oracle_percent(
                good_or_better, valid
            )


def test_every_boundary_neighbour_up_to_2000_voters(langfang):
    # For each electorate size, the first count at or above every bound and its neighbours.
    bounds = (60, 70, 75, 80, 85, 90, 95)
    for valid in range(1, MAX_VOTERS + 1):
        for percent in bounds:
            first_at = -(-percent * valid // 100)
            for good_or_better in (first_at - 1, first_at, first_at + 1):
                if 0 <= good_or_better <= valid:
                    check(good_or_better, valid, langfang)
