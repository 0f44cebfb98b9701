"""Per-item caps as data: deductions stop at the item's own points, or may reach the part.

Seed 002 预防腐败 (8) "…检查工作机制，1分。…扣0.1分，最多扣1分" and (9) "…自由裁量基准制度，
2分。未梳理并公开…扣1分；…扣0.1分，最多扣1分": an item worth 1 or 2 points loses at most
what it earned. 作风建设 (5) "1起扣1分" has no points of its own and comes off the whole part.
"""

from fractions import Fraction

import pytest

from survey.domain import RuleFileError
from survey.domain.checklist import (
    DeductionLimit,
    UnitInput,
    get_checklist,
    item_deduction_limit,
    parse_checklist,
    score_units,
)
from tests.seasons.conftest import full_facts

V1 = get_checklist("langfang-2014", "1")
V2 = get_checklist("langfang-2014", "2")


base = full_facts


def prevention(checklist=V2, **changes) -> Fraction:
    unit = UnitInput({**base(checklist), **changes}, 100_000)
    scored = score_units(checklist, {"u": unit})["u"]
    return next(p for p in scored.parts if p.part.key == "prevention")


def lines(part_result, clause: str) -> list:
    return [line for line in part_result.lines if line.item.clause == clause]


def test_every_deduction_item_states_its_limit_in_version_2():
    stated = {
        (part.key, item.clause, item.fact): item.deductions
        for part in V2.parts
        for item in part.items
        if item.deducts
    }
    assert all(item.deductions_stated for part in V2.parts for item in part.items if item.deducts)
    assert stated[("prevention", "(8)", "approval_criticised")] is DeductionLimit.ITEM
    assert stated[("prevention", "(9)", "penalty_standards_unpublished")] is DeductionLimit.ITEM
    assert stated[("prevention", "(9)", "penalty_criticised")] is DeductionLimit.ITEM
    assert stated[("conduct", "(5)", "media_exposures")] is DeductionLimit.PART
    assert stated[("responsibility", "(9)", "principal_disciplined")] is DeductionLimit.PART


def test_version_1_gets_the_same_limits_by_default():
    defaults = [(i.clause, i.fact, i.deductions) for p in V1.parts for i in p.items if i.deducts]
    stated = [(i.clause, i.fact, i.deductions) for p in V2.parts for i in p.items if i.deducts]
    assert defaults == stated
    assert not any(i.deductions_stated for p in V1.parts for i in p.items if i.deducts)


def test_the_limit_function_at_below_and_past_the_items_points():
    assert item_deduction_limit(Fraction(2), [Fraction(1), Fraction("0.9")]) == [1, Fraction("0.9")]
    assert item_deduction_limit(Fraction(2), [Fraction(1), Fraction(1)]) == [1, 1]  # at
    assert item_deduction_limit(Fraction(2), [Fraction(1), Fraction("1.1")]) == [1, 1]  # past
    assert item_deduction_limit(Fraction(0), [Fraction(1), Fraction(1)]) == [0, 0]  # none earned


@pytest.mark.parametrize(
    ("facts", "item_points"),
    [
        # (9) worth 2: earned, then deductions below, at and past the item's 2 points.
        ({"penalty_criticised": 5}, Fraction("1.5")),
        ({"penalty_standards_unpublished": True, "penalty_criticised": 9}, Fraction("0.1")),
        ({"penalty_standards_unpublished": True, "penalty_criticised": 10}, Fraction(0)),  # at
        ({"penalty_standards_unpublished": True, "penalty_criticised": 30}, Fraction(0)),  # past
        # Not earned: no 2 points to lose, so nothing more comes off the part.
        ({"penalty_discretion": False, "penalty_criticised": 5}, Fraction(0)),
        (
            {
                "penalty_discretion": False,
                "penalty_standards_unpublished": True,
                "penalty_criticised": 10,
            },
            Fraction(0),
        ),
    ],
)
def test_prevention_9_loses_at_most_its_own_points(facts, item_points):
    for checklist in (V1, V2):
        result = prevention(checklist, **facts)
        clause = lines(result, "(9)")
        own = sum((line.points for line in clause if line.item.fact != "penalty_self_reported"), 0)
        assert own == item_points
        # The rest of 预防 is its full 16 (18 base − (9)'s 2 points).
        assert result.points == 16 + item_points


@pytest.mark.parametrize(
    ("facts", "item_points"),
    [
        ({"approval_criticised": 9}, Fraction("0.1")),  # below
        ({"approval_criticised": 10}, Fraction(0)),  # at: 最多扣1分 = the item's 1 point
        ({"approval_criticised": 11}, Fraction(0)),  # past
        ({"approval_mechanism": False, "approval_criticised": 1}, Fraction(0)),  # none earned
        ({"approval_mechanism": False, "approval_criticised": 10}, Fraction(0)),
    ],
)
def test_prevention_8_loses_at_most_its_own_point(facts, item_points):
    result = prevention(V2, **facts)
    clause = lines(result, "(8)")
    own = sum((line.points for line in clause if line.item.fact != "approval_self_reported"), 0)
    assert own == item_points
    assert result.points == 17 + item_points


def test_the_issues_case_no_discretion_system_and_ten_notices():
    """Before: 18 − 2 (never earned) − 1 − 1 = 14 for 预防 (the issue's 12.5 had two more
    items off). After: (9) is simply 0, so 16."""
    result = prevention(
        V2,
        penalty_discretion=False,
        penalty_standards_unpublished=True,
        penalty_criticised=10,
    )
    assert result.points == 16
    texts = [line.text for line in lines(result, "(9)")]
    assert any("扣分以本项所得0分为限，实扣0分" in text for text in texts)


def test_bonuses_still_reach_the_part_not_the_item():
    result = prevention(V2, penalty_discretion=False, penalty_criticised=3, penalty_self_reported=4)
    assert result.points == 16 + Fraction("0.4")


def test_a_part_deduction_still_reaches_the_parts_floor():
    unit = UnitInput({**base(V2), "media_exposures": 20}, 100_000)
    scored = score_units(V2, {"u": unit})["u"]
    conduct = next(p for p in scored.parts if p.part.key == "conduct")
    assert conduct.points == 0 and conduct.subtotal == -5


def _one_part(items: str) -> str:
    return (
        '[checklist]\nid = "t"\nversion = "1"\nname = "t"\nruleset = "langfang-2014"\n'
        '[facts]\nok = { label = "ok", type = "yes_no" }\n'
        'bad = { label = "bad", type = "count" }\n'
        '[[parts]]\nkey = "p"\nname = "p"\nmax = "5"\n' + items
    )


def test_a_wrong_limit_is_refused_when_loaded():
    award = (
        '[[parts.items]]\nclause = "(1)"\nname = "a"\nrule = "award"\nfact = "ok"\npoints = "1"\n'
    )
    each = '[[parts.items]]\nclause = "(2)"\nname = "b"\nrule = "each"\nfact = "bad"\neach = "-1"\n'
    with pytest.raises(RuleFileError, match="没有本项分值"):
        parse_checklist(_one_part(award + each + 'deductions = "item"\n'), "t.toml")
    with pytest.raises(RuleFileError, match='deductions 应为 "item" 或 "part"'):
        parse_checklist(_one_part(award + each + 'deductions = "all"\n'), "t.toml")
    with pytest.raises(RuleFileError, match="deductions 只能用于扣分项"):
        bonus = each.replace('"-1"', '"1"')
        parse_checklist(_one_part(award + bonus + 'deductions = "part"\n'), "t.toml")
    same_clause = each.replace('"(2)"', '"(1)"')
    loaded = parse_checklist(_one_part(award + same_clause), "t.toml")
    assert loaded.parts[0].items[1].deductions is DeductionLimit.ITEM


def test_the_checklist_page_states_each_limit(client, logged_in):
    logged_in()
    page = client.get("/checklists/langfang-2014/2").get_data(as_text=True)
    assert "扣分以本项(9)所得分为限" in page
    assert "扣分从本方面得分中扣除，本方面最低0分" in page
    old = client.get("/checklists/langfang-2014/1").get_data(as_text=True)
    assert "文件未写明，按默认" in old
