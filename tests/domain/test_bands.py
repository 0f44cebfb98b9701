"""Every band boundary of the seed-002 tables, exactly at, just below and just above it."""

from fractions import Fraction

import pytest

from survey.domain import (
    BandTable,
    BoundUnit,
    VoteCounts,
    format_percent,
    grade,
    personal_deduction,
    personal_score,
    team_points,
)

EPSILON = Fraction(1, 10**9)

# (bound, points at or above it, points just below it): "x% (含) 以上 / 不含 x%" in seed 002.
TEAM_BOUNDS = [
    (Fraction(95, 100), 20, 18),
    (Fraction(90, 100), 18, 15),
    (Fraction(85, 100), 15, 12),
    (Fraction(80, 100), 12, 8),
    (Fraction(70, 100), 8, 3),
    (Fraction(60, 100), 3, 0),
]

# (bound, deduction at or above it, deduction just below it): "90%(不含)~85%, 扣0.5分" etc.
PERSONAL_BOUNDS = [
    (Fraction(90, 100), Fraction(0), Fraction(1, 2)),
    (Fraction(85, 100), Fraction(1, 2), Fraction(1)),
    (Fraction(80, 100), Fraction(1), Fraction(2)),
    (Fraction(75, 100), Fraction(2), Fraction(7, 2)),
    (Fraction(70, 100), Fraction(7, 2), Fraction(5)),
    (Fraction(60, 100), Fraction(5), Fraction(8)),
]


@pytest.mark.parametrize(("bound", "at", "below"), TEAM_BOUNDS, ids=lambda v: str(v))
def test_team_points_lower_bound_included_upper_excluded(langfang, bound, at, below):
    assert team_points(langfang, bound) == at
    assert team_points(langfang, bound + EPSILON) == at
    assert team_points(langfang, bound - EPSILON) == below


@pytest.mark.parametrize(("bound", "at", "below"), PERSONAL_BOUNDS, ids=lambda v: str(v))
def test_personal_deduction_lower_bound_included_upper_excluded(langfang, bound, at, below):
    assert personal_deduction(langfang, bound) == at
    assert personal_deduction(langfang, bound + EPSILON) == at
    assert personal_deduction(langfang, bound - EPSILON) == below


def test_ends_of_the_range(langfang):
    assert team_points(langfang, Fraction(1)) == 20  # the top band includes 100 %
    assert team_points(langfang, Fraction(0)) == 0
    assert personal_deduction(langfang, Fraction(1)) == 0
    assert personal_deduction(langfang, Fraction(0)) == 8
    assert personal_score(langfang, Fraction(0)) == 2


def test_exactly_95_percent_gets_20(langfang):
    assert team_points(langfang, VoteCounts(good=19, average=1).rate) == 20
    assert team_points(langfang, VoteCounts(good=1900, poor=100).rate) == 20


def test_189_of_199_shows_94_97_and_gets_18(langfang):
    rate = VoteCounts(good=189, poor=10).rate
    assert format_percent(rate) == "94.97%"
    assert team_points(langfang, rate) == 18


def test_a_rate_displayed_as_95_00_but_below_95_gets_18(langfang):
    # 1899/1999 = 94.99749…%: the display rounds to 95.00 %, the band must not.
    rate = Fraction(1899, 1999)
    assert format_percent(rate) == "95.00%"
    assert rate < Fraction(95, 100)
    assert team_points(langfang, rate) == 18


def test_a_rate_displayed_as_85_00_but_below_85(langfang):
    rate = Fraction(1694, 1993)  # 84.9975…%
    assert format_percent(rate) == "85.00%"
    assert team_points(langfang, rate) == 12
    assert personal_deduction(langfang, rate) == 1


def test_60_percent_gets_3_points_and_deduction_5(langfang):
    rate = VoteCounts(good=60, poor=40).rate
    assert team_points(langfang, rate) == 3
    assert personal_deduction(langfang, rate) == 5
    assert personal_score(langfang, rate) == 5


def test_just_below_60_percent_gets_0_points_and_deduction_8(langfang):
    rate = Fraction(1199, 2000)  # 59.95 %
    assert format_percent(rate) == "59.95%"
    assert team_points(langfang, rate) == 0
    assert personal_deduction(langfang, rate) == 8
    # The closest rate below 60 % with at most 2,000 voters still shows as 59.99 %.
    closest = Fraction(1198, 1997)
    assert format_percent(closest) == "59.99%"
    assert team_points(langfang, closest) == 0
    assert personal_deduction(langfang, closest) == 8


def test_no_rate_gives_no_points(langfang):
    assert team_points(langfang, None) is None
    assert personal_deduction(langfang, None) is None
    assert personal_score(langfang, None) is None


def test_lookup_refuses_floats_and_out_of_range(langfang):
    with pytest.raises(TypeError):
        team_points(langfang, 0.95)
    with pytest.raises(ValueError):
        team_points(langfang, Fraction(101, 100))
    with pytest.raises(ValueError):
        team_points(langfang, Fraction(-1, 100))


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100, "优异"),
        (90, "优异"),
        (Fraction(8999, 100), "良好"),
        (80, "良好"),
        (Fraction(7999, 100), "合格"),
        (60, "合格"),
        (Fraction(5999, 100), "不合格"),
        (0, "不合格"),
    ],
)
def test_seed_003_grades(risk_grades, score, expected):
    assert grade(risk_grades, score) == expected


def test_tables_print_back_as_data(langfang, risk_grades):
    assert langfang.team_points.describe().splitlines() == [
        "领导班子民主测评得分",
        "[0%, 60%) → 0",
        "[60%, 70%) → 3",
        "[70%, 80%) → 8",
        "[80%, 85%) → 12",
        "[85%, 90%) → 15",
        "[90%, 95%) → 18",
        "[95%, 100%] → 20",
    ]
    assert "[70%, 75%) → 3.5" in str(langfang.personal_deduction)
    assert str(risk_grades.grades).splitlines()[-1] == "[90, 100] → 优异"


def test_band_table_from_rows_builds_a_table_without_a_file():
    table = BandTable.from_rows(
        [
            {"low": "0%", "high": "50%", "value": "差"},
            {"low": "50%", "high": "100%", "value": "好"},
        ],
        title="示例",
        unit=BoundUnit.PERCENT,
        parse_value=str,
    )
    assert table.lookup(Fraction(1, 2)) == "好"
    assert table.band_for(Fraction(1, 2)).low == Fraction(1, 2)
    assert table.band_for(Fraction(1)).includes_high
