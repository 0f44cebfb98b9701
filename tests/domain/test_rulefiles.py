"""Rule files: shipped sets, hashes, and every validation error naming the file and the row."""

import hashlib
from fractions import Fraction
from pathlib import Path

import pytest

from survey.domain import (
    RuleFileError,
    RuleSetNotFound,
    VoteCounts,
    get_shipped,
    load_ruleset,
    parse_ruleset,
    shipped_rulesets,
)
from survey.domain.rulesets import RULES_DIR

SOURCE = "单位规则.toml"

TEAM_BANDS = """\
bands = [
  { low = "0%",  high = "60%",  value = "0" },
  { low = "60%", high = "90%",  value = "10" },
  { low = "90%", high = "100%", value = "20" },
]"""


def with_team_bands(text: str, rows: list[str]) -> str:
    """Replace the team_points bands of the valid file with the given rows."""
    assert TEAM_BANDS in text
    return text.replace(TEAM_BANDS, "bands = [\n" + ",\n".join(rows) + ",\n]", 1)


def band(low: str, high: str, value: str = "1") -> str:
    return f'  {{ low = "{low}", high = "{high}", value = "{value}" }}'


def test_valid_file_parses(valid_rules_text):
    rules = parse_ruleset(valid_rules_text, SOURCE)
    assert (rules.id, rules.version, rules.name) == ("test-unit", "1", "测试单位")
    assert rules.team_points.lookup(Fraction(9, 10)) == 20
    assert rules.sha256 == hashlib.sha256(valid_rules_text.encode()).hexdigest()
    assert rules.source == SOURCE


@pytest.mark.parametrize(
    ("rows", "row", "words"),
    [
        pytest.param([band("0%", "60%"), band("65%", "100%")], 2, ["65%", "60%", "空档"], id="gap"),
        pytest.param(
            [band("0%", "60%"), band("55%", "100%")], 2, ["55%", "60%", "重叠"], id="overlap"
        ),
        pytest.param(
            [band("0%", "60%"), band("90%", "100%"), band("60%", "90%")],
            3,
            ["60%", "90%", "从小到大"],
            id="unsorted",
        ),
        pytest.param(
            [band("90%", "100%"), band("60%", "90%"), band("0%", "60%")],
            2,
            ["从小到大"],
            id="top-first",
        ),
        pytest.param([band("5%", "60%"), band("60%", "100%")], 1, ["0%", "5%"], id="not-from-0"),
        pytest.param([band("0%", "60%"), band("60%", "95%")], 2, ["100%", "95%"], id="not-to-100"),
        pytest.param(
            [band("0%", "60%"), band("60%", "60%"), band("60%", "100%")],
            2,
            ["不小于"],
            id="empty-band",
        ),
        pytest.param(
            [band("0%", "60%"), band("6o%", "100%")], 2, ["6o%", "百分数"], id="non-numeric-bound"
        ),
        pytest.param(
            [band("0%", "60%"), band("0.6", "100%")],
            2,
            ["0.6", "百分数"],
            id="bound-without-percent",
        ),
        pytest.param(
            [band("0%", "60%"), '  { low = 0.6, high = "100%", value = "1" }'],
            2,
            ["%"],
            id="bound-as-toml-number",
        ),
        pytest.param([band("0%", "60%"), band("60%", "120%")], 2, ["范围"], id="above-100"),
        pytest.param(
            [band("0%", "60%"), band("60%", "100%", "x")], 2, ["value", "x"], id="non-numeric-value"
        ),
        pytest.param(
            [band("0%", "60%"), band("60%", "100%", "-1")], 2, ["负数"], id="negative-value"
        ),
        pytest.param(
            [band("0%", "60%"), '  { low = "60%", hihg = "100%", value = "1" }'],
            2,
            ["hihg"],
            id="unknown-key",
        ),
        pytest.param(
            [band("0%", "60%"), band("60%", "100%", "25")],
            None,
            ["25", "20"],
            id="above-survey-max",
        ),
    ],
)
def test_band_errors_name_file_section_and_row(valid_rules_text, rows, row, words):
    with pytest.raises(RuleFileError) as caught:
        parse_ruleset(with_team_bands(valid_rules_text, rows), SOURCE)
    message = str(caught.value)
    assert message.startswith(SOURCE)
    if row is None:
        assert "team_parts" in message
    else:
        assert f"领导班子民主测评得分分档 [team_points] 第{row}行" in message
        assert caught.value.row == row
        assert caught.value.section == "team_points"
    for word in words:
        assert word in message


def test_message_reads_as_documented(valid_rules_text):
    rows = [band("0%", "60%"), band("60%", "90%"), band("85%", "100%")]
    with pytest.raises(RuleFileError) as caught:
        parse_ruleset(with_team_bands(valid_rules_text, rows), "团队.toml")
    assert str(caught.value) == (
        "团队.toml 领导班子民主测评得分分档 [team_points] 第3行:"
        "下限 85% 与上一行上限 90% 不衔接:两档重叠"
    )


GROUPS = """
[rater_group_weights]
groups = [
  { group = "班子成员", weight = "30%" },
  { group = "中层干部", weight = "%s" },
  { group = "职工代表", weight = "30%" },
]
"""


def test_group_weights_parse_and_weigh_the_rate(valid_rules_text):
    rules = parse_ruleset(valid_rules_text + GROUPS.replace("%s", "40%"), SOURCE)
    assert rules.rater_group_weights == {
        "班子成员": Fraction(3, 10),
        "中层干部": Fraction(2, 5),
        "职工代表": Fraction(3, 10),
    }
    by_group = {"班子成员": VoteCounts(good=1), "中层干部": VoteCounts(poor=1)}
    assert rules.rate_of(by_group) == Fraction(3, 7)
    with pytest.raises(ValueError):
        rules.rate_of(VoteCounts(good=1))


def test_pooled_rate_is_the_default(valid_rules_text):
    rules = parse_ruleset(valid_rules_text, SOURCE)
    by_group = {"班子成员": VoteCounts(good=1), "中层干部": VoteCounts(poor=3)}
    assert rules.rate_of(by_group) == Fraction(1, 4)


@pytest.mark.parametrize(
    ("weight", "words"),
    [
        ("39.99%", ["99.99%", "100%"]),
        ("41%", ["101%"]),
        ("0%", ["第2行", "大于 0%"]),
        ("0.4", ["第2行", "百分数"]),
    ],
)
def test_group_weight_errors(valid_rules_text, weight, words):
    with pytest.raises(RuleFileError) as caught:
        parse_ruleset(valid_rules_text + GROUPS.replace("%s", weight), SOURCE)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE} 参评人员类别权重 [rater_group_weights]")
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            'principal = { personal = "50%", team = "50%" }',
            'principal = { personal = "50%", team = "40%" }',
            ["最终得分权重 [final_weights] “principal”", "100%"],
        ),
        (
            '{ key = "other", name = "其他", max = "80" }',
            '{ key = "other", name = "其他", max = "70" }',
            ["领导班子考核项目 [team_parts]", "90", "100"],
        ),
        (
            '{ key = "other", name = "其他", max = "80" }',
            '{ key = "survey", name = "其他", max = "80" }',
            ["[team_parts] 第2行", "重复"],
        ),
        ('full_score = "10"', 'full_score = "1"', ["[personal_deduction] 第1行", "超过满分"]),
        ('version = "1"', "version = 1.5", ["version"]),
        ('id = "test-unit"', 'id = "测试:1"', ["id"]),
        ("[team_points]", "[team_point]", ["team_point", "未知"]),
        ('name = "测试单位"', 'name = "测试单位"\nowner = "x"', ["[ruleset]", "owner"]),
        ("[final_weights]", "x = [\n[final_weights]", ["TOML 语法错误"]),
    ],
)
def test_other_section_errors(valid_rules_text, old, new, words):
    assert old in valid_rules_text
    with pytest.raises(RuleFileError) as caught:
        parse_ruleset(valid_rules_text.replace(old, new, 1), SOURCE)
    message = str(caught.value)
    assert message.startswith(SOURCE)
    for word in words:
        assert word in message


def test_numbers_written_as_toml_numbers_are_read_exactly(valid_rules_text):
    text = valid_rules_text.replace('value = "10" }', "value = 10.1 }").replace(
        'full_score = "10"', "full_score = 10"
    )
    rules = parse_ruleset(text, SOURCE)
    assert rules.team_points.lookup(Fraction(7, 10)) == Fraction(101, 10)
    assert rules.personal_full_score == 10


def test_missing_ruleset_section_and_empty_file():
    with pytest.raises(RuleFileError, match="ruleset"):
        parse_ruleset("", SOURCE)
    with pytest.raises(RuleFileError, match="至少需要"):
        parse_ruleset('[ruleset]\nid = "a"\nversion = "1"\nname = "甲"\n', SOURCE)


def test_bytes_upload_is_hashed_as_given_and_must_be_utf8(valid_rules_text):
    data = b"\xef\xbb\xbf" + valid_rules_text.encode()
    assert parse_ruleset(data, SOURCE).sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(RuleFileError, match="UTF-8"):
        parse_ruleset(valid_rules_text.encode("gb18030"), SOURCE)


def test_load_ruleset_names_the_path(tmp_path, valid_rules_text):
    path = tmp_path / "unit.toml"
    path.write_text(
        with_team_bands(valid_rules_text, [band("0%", "50%"), band("60%", "100%")]),
        encoding="utf-8",
    )
    with pytest.raises(RuleFileError, match=f"^{path}"):
        load_ruleset(path)
    with pytest.raises(RuleFileError, match="无法读取"):
        load_ruleset(tmp_path / "missing.toml")


def test_shipped_rulesets_and_their_hashes():
    shipped = {(r.id, r.version): r for r in shipped_rulesets()}
    assert set(shipped) >= {
        ("langfang-2014", "1"),
        ("integrity-risk-grades", "1"),
        ("integrity-risk-grades", "2"),
    }
    for rules in shipped.values():
        path = Path(rules.source)
        assert path.parent == RULES_DIR
        assert rules.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert len(rules.sha256) == 64


def test_shipped_seed_002_has_every_section(langfang):
    assert langfang.personal_full_score == 10
    assert langfang.final_weights.principal == Fraction(1, 2)
    assert langfang.final_weights.member == Fraction(7, 10)
    parts = {p.name: p.maximum for p in langfang.team_parts.parts}
    assert parts == {
        "民主测评": 20,
        "作风建设": 15,
        "惩治腐败": 30,
        "预防腐败": 20,
        "党风廉政建设责任制落实情况": 15,
    }
    assert langfang.team_parts.other_maximum == 80
    assert langfang.rater_group_weights is None
    assert "langfang-2014" in langfang.describe() and langfang.sha256 in langfang.describe()


def test_shipped_seed_003_uses_the_seed_word_youyi(risk_grades):
    assert [b.value for b in risk_grades.grades.bands] == ["不合格", "合格", "良好", "优异"]


def test_get_shipped_latest_and_unknown():
    assert get_shipped("langfang-2014").version == "1"
    with pytest.raises(RuleSetNotFound, match="nope:9"):
        get_shipped("nope", "9")
    with pytest.raises(RuleSetNotFound, match="langfang-2014:1"):
        get_shipped("langfang-2014", "99")
