"""The 100-point checklist of seed 002: each item at, below and above its cap, the floors, the
veto, and the ranks across units (ties share the better place, the next place is skipped)."""

import hashlib
from fractions import Fraction
from pathlib import Path

import pytest

from survey.domain import RuleFileError, get_shipped
from survey.domain.checklist import (
    ChecklistInputError,
    Rule,
    UnitInput,
    competition_ranks,
    fact_text,
    get_checklist,
    parse_checklist,
    parse_facts,
    score_units,
)
from tests.seasons.conftest import full_facts

CHECKLIST = get_checklist("langfang-2014", "1")

BASE: dict = full_facts(CHECKLIST)


def score(population: int = 100_000, **changes):
    """Score one unit alone (it is first in every rank item) with some facts changed."""
    return score_units(CHECKLIST, {"u": UnitInput({**BASE, **changes}, population)})["u"]


def line(result, fact: str):
    return next(found for p in result.parts for found in p.lines if found.item.fact == fact)


def part(result, key: str):
    return next(p for p in result.parts if p.part.key == key)


# ---- the data file ------------------------------------------------------------------------


def test_the_file_is_versioned_and_hashed_over_its_bytes():
    content = Path(CHECKLIST.source).read_bytes()
    assert CHECKLIST.sha256 == hashlib.sha256(content).hexdigest()
    assert Path(CHECKLIST.source).parent.name == "checklists"
    assert (CHECKLIST.id, CHECKLIST.version) == ("langfang-2014", "1")


def test_parts_match_the_rule_sets_team_parts():
    ruleset = get_shipped(CHECKLIST.ruleset, CHECKLIST.ruleset_version)
    expected = {p.key: p.maximum for p in ruleset.team_parts.parts if p.key != "survey"}
    assert {p.key: p.maximum for p in CHECKLIST.parts} == expected
    assert sum(expected.values()) == 80


def test_full_base_marks_are_the_seeds_item_sums():
    # 作风建设 2+1.5+1.5+2+3+4+1 = 15; 惩治腐败 20+3+1+1+2 = 27 before bonuses;
    # 预防腐败 18 before the self-report bonuses; 责任制 2+1+2+1+1+1+1+3+3 = 15.
    result = score()
    assert result.complete
    assert result.points == {
        "conduct": 15,
        "punishment": 27,
        "prevention": 18,
        "responsibility": 15,
    }
    assert result.total == 75


# ---- yes/no items -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [i for p in CHECKLIST.parts for i in p.items if i.rule is Rule.AWARD],
    ids=lambda i: i.fact,
)
def test_each_award_gives_its_points_on_yes_and_none_on_no(item):
    assert line(score(), item.fact).points == item.points
    without = score(**{item.fact: False})
    assert line(without, item.fact).points == 0
    assert "否，不得分" in line(without, item.fact).text
    assert part(without, item.part).points == part(score(), item.part).points - item.points


def test_case_safety_problem_forfeits_the_three_points():
    assert line(score(), "case_safety_problem").points == 3
    lost = line(score(case_safety_problem=True), "case_safety_problem")
    assert lost.points == 0 and lost.text.endswith("扣3分，本项得0分")


def test_deductions_on_yes():
    assert (
        line(score(penalty_standards_unpublished=True), "penalty_standards_unpublished").points
        == -1
    )
    assert line(score(unreported_cases=True), "unreported_cases").points == -3
    assert part(score(unreported_cases=True), "responsibility").points == 12


# ---- "N次以上, 少1次扣X分" -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fact", "count", "points"),
    [
        ("special_campaigns", 4, 3),  # above the target: no more than the item's points
        ("special_campaigns", 3, 3),  # 3次以上 includes 3
        ("special_campaigns", 2, 2),
        ("special_campaigns", 0, 0),  # never below 0
        ("inspections", 4, 4),
        ("inspections", 3, 3),
        ("inspections", 0, 0),
        ("standing_committee_meetings", 6, 2),
        ("standing_committee_meetings", 5, 2),
        ("standing_committee_meetings", 4, Fraction("1.6")),
        ("standing_committee_meetings", 0, 0),  # 5 × 0.4 = 2: exactly all of it
        ("power_catalogue", 4, 2),
        ("power_catalogue", 3, Fraction("1.5")),  # 缺1项扣0.5分
        ("power_catalogue", 0, 0),
    ],
)
def test_quota_items(fact, count, points):
    assert line(score(**{fact: count}), fact).points == points


def test_quota_explains_the_shortfall():
    text = line(score(special_campaigns=2), "special_campaigns").text
    assert text == "开展专项治理2次，少1次，扣1分，得2分（本项3分）"
    assert line(score(), "special_campaigns").text == "开展专项治理3次，达到3次以上，得3分"


# ---- per occurrence, with and without a cap -----------------------------------------------


@pytest.mark.parametrize(
    ("fact", "count", "points"),
    [
        ("approval_criticised", 9, Fraction("-0.9")),
        ("approval_criticised", 10, -1),  # 最多扣1分
        ("approval_criticised", 11, -1),
        ("penalty_criticised", 10, -1),
        ("penalty_criticised", 25, -1),
        ("approval_self_reported", 9, Fraction("0.9")),
        ("approval_self_reported", 10, 1),  # 最多加1分
        ("approval_self_reported", 11, 1),
        ("penalty_self_reported", 11, 1),
        ("rules_issued", 0, 0),
        ("rules_issued", 9, Fraction("0.9")),
        ("rules_issued", 10, 1),  # 最多1分
        ("rules_issued", 11, 1),
        ("provincial_approvals", 2, 2),
        ("provincial_approvals", 3, 3),  # 最多3分
        ("provincial_approvals", 4, 3),
        ("media_exposures", 3, -3),  # 1起扣1分, no cap
        ("typical_cases_province", 2, 4),  # 1起加2分
        ("typical_cases_city", 3, 3),  # 1起加1分
        ("principal_disciplined", 1, -5),
        ("members_disciplined", 2, -4),
        ("subordinate_heads_disciplined", 3, -3),
        ("self_investigated", 1, 2),
    ],
)
def test_per_occurrence_items(fact, count, points):
    assert line(score(**{fact: count}), fact).points == points


def test_a_capped_item_says_so():
    text = line(score(provincial_approvals=4), "provincial_approvals").text
    assert text == "得到省以上领导批示肯定4次，每次加1分，最多加3分，加3分"
    assert line(score(media_exposures=1), "media_exposures").text.endswith("每起扣1分，扣1分")


# ---- a part never below 0 nor above its maximum -------------------------------------------


def test_a_part_is_floored_at_zero():
    result = score(principal_disciplined=4)  # 15 − 20
    responsibility = part(result, "responsibility")
    assert responsibility.subtotal == -5 and responsibility.points == 0
    assert responsibility.note == "党风廉政建设责任制落实情况各项合计-5分，低于0分，按0分计"


def test_a_part_is_capped_at_its_maximum():
    result = score(typical_cases_province=5)  # 27 + 10
    punishment = part(result, "punishment")
    assert punishment.subtotal == 37 and punishment.points == 30
    assert "超过满分30分，按30分计" in punishment.note


def test_prevention_reaches_exactly_twenty_with_both_self_report_bonuses():
    assert (
        part(score(approval_self_reported=10, penalty_self_reported=10), "prevention").points == 20
    )
    assert (
        part(score(approval_self_reported=30, penalty_self_reported=30), "prevention").points == 20
    )
    assert part(
        score(approval_self_reported=9, penalty_self_reported=10), "prevention"
    ).points == Fraction("19.9")


def test_bonuses_make_up_for_deductions_within_a_part():
    result = score(media_exposures=1, special_campaigns=2)  # 15 − 1 − 1
    assert part(result, "conduct").points == 13
    assert part(score(members_disciplined=1, self_investigated=1), "responsibility").points == 15


# ---- the one-vote veto --------------------------------------------------------------------


def test_major_case_accident_sets_punishment_to_zero_and_nothing_else():
    result = score(major_case_accident=True, typical_cases_province=3)
    punishment = part(result, "punishment")
    assert punishment.vetoed and punishment.points == 0
    assert punishment.note == "一票否决，惩治腐败方面记0分"
    assert line(result, "major_case_accident").text == "出现重大案件安全事故：是，实行一票否决"
    assert result.points == {"conduct": 15, "punishment": 0, "prevention": 18, "responsibility": 15}


# ---- ranks across the season's units -------------------------------------------------------


def test_competition_ranks_share_the_better_place_and_skip_the_next():
    values = {"a": Fraction(95), "b": Fraction(95), "c": Fraction(80), "d": Fraction(70)}
    assert competition_ranks(values, best="high") == {"a": 1, "b": 1, "c": 3, "d": 4}
    assert competition_ranks(values, best="low") == {"d": 1, "c": 2, "a": 3, "b": 3}
    assert competition_ranks({}, best="high") == {}


def units(count: int, **per_unit) -> dict:
    """count units whose rank facts are given as lists (one value per unit)."""
    found = {}
    for index in range(count):
        facts = dict(BASE)
        for key, values in per_unit.items():
            facts[key] = values[index]
        found[f"u{index + 1}"] = UnitInput(facts, 100_000)
    return found


def test_case_work_rank_gives_twenty_then_two_less_per_place_down_to_zero():
    scores = [Fraction(100 - n) for n in range(12)]
    result = score_units(CHECKLIST, units(12, case_work_score=scores))
    points = [line(result[f"u{n}"], "case_work_score").points for n in range(1, 13)]
    assert points == [20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0, 0]
    assert line(result["u12"], "case_work_score").text.endswith("得0分（递减至0分为止）")


def test_case_work_rank_ties_share_the_better_place():
    scores = [Fraction(95), Fraction(95), Fraction(80)]
    result = score_units(CHECKLIST, units(3, case_work_score=scores))
    assert [line(result[u], "case_work_score").place for u in ("u1", "u2", "u3")] == [1, 1, 3]
    assert [line(result[u], "case_work_score").points for u in ("u1", "u2", "u3")] == [20, 20, 16]
    assert "（2个单位并列）" in line(result["u1"], "case_work_score").text


def test_petitions_per_ten_thousand_lowest_first_then_a_tenth_less():
    facts = units(12, petitions=list(range(10, 130, 10)))
    result = score_units(CHECKLIST, facts)
    points = [line(result[f"u{n}"], "petitions").points for n in range(1, 13)]
    assert points[:3] == [1, Fraction("0.9"), Fraction("0.8")]
    assert points[9] == Fraction("0.1") and points[10] == 0 and points[11] == 0


def test_per_ten_thousand_is_compared_exactly_across_populations():
    # 1 in 30,000 and 2 in 60,000 are the same rate (1/3 per 10,000): a tie, not a rounding.
    found = {
        "small": UnitInput({**BASE, "visits": 1}, 30_000),
        "large": UnitInput({**BASE, "visits": 2}, 60_000),
        "more": UnitInput({**BASE, "visits": 3}, 60_000),
    }
    result = score_units(CHECKLIST, found)
    assert [line(result[k], "visits").place for k in ("small", "large", "more")] == [1, 1, 3]
    assert [line(result[k], "visits").points for k in ("small", "large", "more")] == [
        1,
        1,
        Fraction("0.8"),
    ]
    assert "每万人0.33件" in line(result["small"], "visits").text


def test_conclusion_rate_highest_first_and_nothing_required_counts_as_all_done():
    found = units(3, results_required=[0, 10, 10], results_concluded=[0, 10, 9])
    result = score_units(CHECKLIST, found)
    assert [line(result[u], "results_concluded").points for u in ("u1", "u2", "u3")] == [
        2,
        2,
        Fraction("1.6"),
    ]
    assert "没有要结果的件，按100%计" in line(result["u1"], "results_concluded").text
    assert "9/10，即90.00%" in line(result["u3"], "results_concluded").text


# ---- missing facts ------------------------------------------------------------------------


def test_missing_facts_leave_the_part_uncounted_and_are_listed():
    facts = dict(BASE)
    del facts["inspections"]
    result = score_units(CHECKLIST, {"u": UnitInput(facts, 100_000)})["u"]
    assert not result.complete and result.total is None
    assert part(result, "conduct").points is None
    assert result.missing == ("安排党风政风集中监督检查的次数",)


def test_per_ten_thousand_items_need_the_population():
    result = score_units(CHECKLIST, {"u": UnitInput(BASE, None)})["u"]
    assert not result.complete and "单位人口" in result.missing
    assert part(result, "punishment").points is None


# ---- entering facts -----------------------------------------------------------------------


def test_parse_facts_reads_words_and_numbers_exactly():
    parsed = parse_facts(
        CHECKLIST,
        {
            "conduct_rules": "是",
            "conduct_routine": "否",
            "special_campaigns": "３",
            "case_work_score": "92.5",
            "inspections": "",
        },
    )
    assert parsed == {
        "conduct_rules": True,
        "conduct_routine": False,
        "special_campaigns": 3,
        "case_work_score": Fraction("92.5"),
    }
    assert [fact_text(v) for v in parsed.values()] == ["yes", "no", "3", "92.5"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"conduct_rules": "也许"}, "应填“是”或“否”"),
        ({"special_campaigns": "-1"}, "不能为负数"),
        ({"special_campaigns": "1.5"}, "应为整数"),
        ({"special_campaigns": "三"}, "应填数字"),
        ({"power_catalogue": "5"}, "最多为 4"),
        ({"results_required": "3", "results_concluded": "4"}, "不能大于"),
        ({"no_such_fact": "1"}, "未知的考核事实"),
    ],
)
def test_parse_facts_refuses_what_does_not_fit(raw, message):
    with pytest.raises(ChecklistInputError, match=message):
        parse_facts(CHECKLIST, raw)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[checklist]\nid='x'\n", "version 应为"),
        ("[checklist]\nid='x'\nversion='1'\nname='n'\nruleset='r'\n", "应列出至少一个事实"),
        (CHECKLIST.content.decode().replace('rule = "quota"', 'rule = "quotas"', 1), "rule 应为"),
        (CHECKLIST.content.decode().replace('fact = "conduct_rules"', 'fact = "nope"'), "未在"),
        (CHECKLIST.content.decode() + "\n[facts.spare]\nlabel='x'\ntype='count'\n", "重复|没有被"),
    ],
)
def test_a_malformed_checklist_is_refused(text, message):
    with pytest.raises(RuleFileError, match=message):
        parse_checklist(text, "bad.toml")
