"""`survey score`: every team shape, and Chinese messages for every unreadable input."""

import openpyxl
import pytest

from survey.domain import RuleFileError, load_ruleset, parse_ruleset
from survey.domain.rulesets import RULES_DIR
from survey.models import Role
from tests.cli.test_score_cli import HEADER, run, run_json


def write(tmp_path, rows, name="tally.csv"):
    text = "\n".join(",".join(str(c) for c in row) for row in [HEADER, *rows]) + "\n"
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


TEAM = ["县委领导班子", "领导班子", 180, 0, 20, 0, 0]  # 90 % → 18; with 72 other: 9
SECRETARY = ["张明", "主要负责人", 200, 0, 0, 0, 0]  # 10
COUNTY_HEAD = ["李华", "主要负责人", 200, 0, 0, 0, 0]  # 10
MEMBER = ["王芳", "班子成员", 200, 0, 0, 0, 0]  # 10


def finals(rows):
    return {row["subject"]: row["final"] for row in rows}


def test_two_principals_both_take_fifty_fifty(tmp_path):
    rows = run_json(write(tmp_path, [TEAM, SECRETARY, COUNTY_HEAD, MEMBER]), "--team-other", "72")
    # 50 % × 10 + 50 % × 9 = 9.5 for the 书记 and the 县长 alike; 70/30 gives the member 9.7.
    assert finals(rows) == {"县委领导班子": "9", "张明": "9.5", "李华": "9.5", "王芳": "9.7"}


def test_a_team_without_a_principal_and_members_only(tmp_path):
    rows = run_json(write(tmp_path, [TEAM, MEMBER]), "--team-other", "72")
    assert finals(rows) == {"县委领导班子": "9", "王芳": "9.7"}
    rows = run_json(write(tmp_path, [SECRETARY, MEMBER]))
    assert [row["personal"] for row in rows] == ["10", "10"]
    assert finals(rows) == {"张明": None, "王芳": None}


def test_the_text_output_states_each_roles_final(tmp_path):
    result = run(write(tmp_path, [TEAM, SECRETARY, COUNTY_HEAD]), "--team-other", "72")
    assert result.exit_code == 0
    assert "每一位主要负责人(书记、县长等,人数不限)最终得分 = 个人得分 × 50%" in result.stdout
    assert "每一位其他班子成员最终得分 = 个人得分 × 70%" in result.stdout


def test_a_broken_xlsx_is_described_in_chinese(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip at all")
    result = run(path)
    assert result.exit_code == 2 and result.stdout == ""
    assert "无法读取 XLSX 文件:文件已损坏或不是 Excel 工作簿" in result.stderr
    assert "zip" not in result.stderr.lower()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p / "none.csv", "文件不存在"),
        (lambda p: p, "这是一个文件夹"),
    ],
)
def test_os_errors_are_in_chinese(tmp_path, make, reason):
    result = run(make(tmp_path))
    assert result.exit_code == 2 and result.stdout == ""
    assert reason in result.stderr
    assert "No such file" not in result.stderr and "directory" not in result.stderr


def test_a_formula_without_a_saved_value_is_not_called_empty(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["县委领导班子", "领导班子", "=100+80", 0, 20, 0, 0])  # openpyxl saves no value
    path = tmp_path / "formula.xlsx"
    book.save(path)
    result = run(path)
    assert result.exit_code == 2 and result.stdout == ""
    assert "第2行 “好” 列:是公式 =100+80,但文件中没有保存计算结果" in result.stderr
    assert "为空" not in result.stderr


def _scaled(total: str, scaled: str) -> str:
    text = (RULES_DIR / "langfang-2014.toml").read_text(encoding="utf-8")
    body = text[: text.index("[team_parts]")]
    return (
        body
        + f'[team_parts]\ntotal = "{total}"\nscaled_total = "{scaled}"\nparts = [\n'
        + '  { key = "survey", name = "民主测评", max = "20" },\n'
        + f'  {{ key = "other", name = "其他", max = "{int(total) - 20}" }},\n]\n'
    )


def test_a_scale_that_is_not_a_finite_decimal_is_refused_when_loaded(tmp_path):
    with pytest.raises(RuleFileError, match="= 1/3 不是有限小数"):
        parse_ruleset(_scaled("30", "10"), "unit.toml")
    assert parse_ruleset(_scaled("40", "10"), "unit.toml").team_parts.to_scale(25) == 6.25
    path = tmp_path / "unit.toml"
    path.write_text(_scaled("30", "10"), encoding="utf-8")
    with pytest.raises(RuleFileError, match="不是有限小数"):
        load_ruleset(path)
    result = run(write(tmp_path, [TEAM, SECRETARY]), "--rules", path, "--team-other", "5")
    assert result.exit_code == 2 and result.stdout == ""
    assert "不是有限小数" in result.stderr and "Traceback" not in result.output


def test_the_upload_page_refuses_such_a_rule_set_with_the_reason(client, logged_in):
    from tests.web.test_rulesets_admin import post_upload, stored_count

    logged_in(Role.ADMIN)
    text = _scaled("30", "10").replace('id = "langfang-2014"', 'id = "thirty"')
    response = post_upload(client, text.encode("utf-8"), "thirty.toml")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "不是有限小数" in page and "Traceback" not in page
    assert stored_count() == 0
