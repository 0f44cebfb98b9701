"""`survey score FILE`: CSV and XLSX tally sheets, JSON and text output, and bad inputs."""

import hashlib
import json

import openpyxl
import pytest
from click.testing import CliRunner

from survey.cli.score import score
from survey.domain.rulesets import RULES_DIR

HEADER = ["测评对象", "类别", "好", "较好", "一般", "差", "弃权"]
ROWS = [
    ["县委领导班子", "领导班子", 150, 39, 8, 2, 1],  # 189/199 = 94.97 % → 18
    ["张三", "主要负责人", 120, 60, 15, 5, 0],  # 180/200 = 90 % → deduction 0
    ["李四", "班子成员", 100, 70, 20, 10, 3],  # 170/200 = 85 % → deduction 0.5
    ["王五", "班子成员", 0, 0, 0, 0, 5],  # no valid vote
]

EXPECTED_WITH_OTHER = [
    {
        "subject": "县委领导班子",
        "category": "领导班子",
        "valid": 199,
        "good_or_better": 189,
        "rate": "189/199",
        "points": "18",
        "deduction": None,
        "personal": None,
        "final": "9",  # (18 + 72) / 10
    },
    {
        "subject": "张三",
        "category": "主要负责人",
        "valid": 200,
        "good_or_better": 180,
        "rate": "180/200",
        "points": None,
        "deduction": "0",
        "personal": "10",
        "final": "9.5",  # 50 % × 10 + 50 % × 9
    },
    {
        "subject": "李四",
        "category": "班子成员",
        "valid": 200,
        "good_or_better": 170,
        "rate": "170/200",
        "points": None,
        "deduction": "0.5",
        "personal": "9.5",
        "final": "9.35",  # 70 % × 9.5 + 30 % × 9
    },
    {
        "subject": "王五",
        "category": "班子成员",
        "valid": 0,
        "good_or_better": 0,
        "rate": None,
        "points": None,
        "deduction": None,
        "personal": None,
        "final": None,
    },
]


def csv_text(rows, header=HEADER) -> str:
    return "\n".join(",".join(str(cell) for cell in row) for row in [header, *rows]) + "\n"


@pytest.fixture
def write_csv(tmp_path):
    def write(rows=ROWS, header=HEADER, encoding="utf-8", name="tally.csv"):
        path = tmp_path / name
        path.write_bytes(csv_text(rows, header).encode(encoding))
        return path

    return write


@pytest.fixture
def write_xlsx(tmp_path):
    def write(rows=ROWS, header=HEADER, name="tally.xlsx"):
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        path = tmp_path / name
        workbook.save(path)
        return path

    return write


def run(*args):
    return CliRunner().invoke(score, [str(a) for a in args])


def run_json(*args):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_csv_json_has_exactly_the_documented_keys_and_values(write_csv):
    assert run_json(write_csv(), "--team-other", "72") == EXPECTED_WITH_OTHER


def test_without_team_other_every_final_is_null(write_csv):
    payload = run_json(write_csv())
    assert [row["final"] for row in payload] == [None] * 4
    for got, want in zip(payload, EXPECTED_WITH_OTHER, strict=True):
        assert {k: v for k, v in got.items() if k != "final"} == {
            k: v for k, v in want.items() if k != "final"
        }


def test_xlsx_gives_the_same_result(write_xlsx):
    rows = [
        [*row[:2], *(float(n) for n in row[2:])] if i == 1 else row for i, row in enumerate(ROWS)
    ]
    assert run_json(write_xlsx(rows), "--team-other", "72") == EXPECTED_WITH_OTHER


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_bom_and_gb18030_csv(write_csv, encoding):
    assert run_json(write_csv(encoding=encoding), "--team-other", "72") == EXPECTED_WITH_OTHER


def test_abstain_column_is_optional(write_csv):
    header = HEADER[:-1]
    rows = [row[:-1] for row in ROWS]
    payload = run_json(write_csv(rows, header))
    assert payload[0]["rate"] == "189/199"


def test_boundary_rates_from_a_file(write_csv):
    rows = [
        ["班子", "领导班子", 1899, 0, 100, 0, 0],  # 1899/1999 shows 95.00 % but gets 18
        ["甲", "班子成员", 60, 0, 0, 40, 0],  # exactly 60 % → deduction 5
        ["乙", "班子成员", 1199, 0, 801, 0, 0],  # 59.95 % → deduction 8
    ]
    team, first, second = run_json(write_csv(rows), "--team-other", "65.5")
    assert (team["points"], team["final"]) == ("18", "8.35")
    assert (first["deduction"], first["personal"], first["final"]) == ("5", "5", "6.005")
    assert (second["deduction"], second["personal"]) == ("8", "2")
    text = run(write_csv(rows)).stdout
    assert "95.00%" in text and "1899/1999" in text


def test_text_output_is_a_chinese_table_with_the_rule_set(write_csv):
    result = run(write_csv(), "--team-other", "72")
    assert result.exit_code == 0, result.output
    text = result.stdout
    for word in ("测评对象", "较好以上率", "94.97%", "189/199", "90.00%", "无有效票", "9.35"):
        assert word in text
    rules_hash = hashlib.sha256((RULES_DIR / "langfang-2014.toml").read_bytes()).hexdigest()
    assert "langfang-2014 版本 1" in text
    assert text.rstrip().endswith(rules_hash)


def test_text_output_without_team_other_says_so(write_csv):
    assert "未给出 --team-other" in run(write_csv()).stdout


def test_rules_option(write_csv, tmp_path):
    assert run_json(write_csv(), "--rules", "langfang-2014:1")[0]["points"] == "18"
    custom = tmp_path / "unit.toml"
    custom.write_text(
        (RULES_DIR / "langfang-2014.toml")
        .read_text(encoding="utf-8")
        .replace('id = "langfang-2014"', 'id = "unit"')
        .replace(
            '{ low = "90%", high = "95%",  value = "18" }',
            '{ low = "90%", high = "95%", value = "17" }',
        ),
        encoding="utf-8",
    )
    assert run_json(write_csv(), "--rules", custom)[0]["points"] == "17"


@pytest.mark.parametrize(
    ("rules", "words"),
    [
        ("nope", "找不到规则集 nope"),
        ("langfang-2014:9", "langfang-2014:9"),
        ("integrity-risk-grades", "领导班子民主测评得分分档"),
    ],
)
def test_bad_rules_option(write_csv, rules, words):
    result = run(write_csv(), "--rules", rules)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert words in result.stderr


@pytest.mark.parametrize("value", ["81", "-1", "80.01", "abc", "1e1"])
def test_team_other_out_of_range_or_not_a_number(write_csv, value):
    result = run(write_csv(), "--team-other", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--team-other" in result.stderr


@pytest.mark.parametrize("value", ["0", "80", "79.5"])
def test_team_other_range_is_inclusive(write_csv, value):
    assert run(write_csv(), "--team-other", value).exit_code == 0


def test_team_other_without_a_team_row(write_csv):
    result = run(write_csv(ROWS[1:]), "--team-other", "72")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "领导班子" in result.stderr


BAD_CSV = [
    pytest.param(
        HEADER,
        [*ROWS[:2], ["李四", "班子成员", 1, "abc", 1, 1, 0]],
        "第4行 “较好” 列:“abc” 不是非负整数",
        id="non-integer",
    ),
    pytest.param(
        HEADER,
        [["甲", "班子成员", 1, 1, -1, 1, 0]],
        "第2行 “一般” 列:“-1” 不是非负整数",
        id="negative",
    ),
    pytest.param(
        HEADER,
        [["甲", "班子成员", 1, 1, 1.5, 1, 0]],
        "第2行 “一般” 列:“1.5” 不是非负整数",
        id="decimal",
    ),
    pytest.param(
        HEADER, [["甲", "班子成员", 1, "", 1, 1, 0]], "第2行 “较好” 列:为空", id="empty-cell"
    ),
    pytest.param(
        HEADER,
        [["甲", "副书记", 1, 1, 1, 1, 0]],
        "第2行 “类别” 列:“副书记” 不是",
        id="unknown-category",
    ),
    pytest.param(
        HEADER, [["", "班子成员", 1, 1, 1, 1, 0]], "第2行 “测评对象” 列:为空", id="no-subject"
    ),
    pytest.param(
        HEADER,
        [ROWS[0], ROWS[1], ["政府领导班子", "领导班子", 1, 1, 1, 1, 0]],
        "第4行 “类别” 列:只能有一个领导班子(第2行",
        id="two-teams",
    ),
    pytest.param(
        ["测评对象", "类别", "好", "一般", "差"], ROWS, "第1行:缺少列 “较好”", id="missing-header"
    ),
    pytest.param(
        ["测评对象", "类别", "好", "好", "较好", "一般", "差"],
        ROWS,
        "列 “好” 出现了两次",
        id="duplicate-header",
    ),
    pytest.param(HEADER, [], "没有测评对象", id="header-only"),
]


@pytest.mark.parametrize(("header", "rows", "message"), BAD_CSV)
def test_bad_csv_names_row_and_column_and_prints_nothing(write_csv, header, rows, message):
    result = run(write_csv(rows, header), "--json", "--team-other", "72")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


@pytest.mark.parametrize(("header", "rows", "message"), BAD_CSV)
def test_bad_xlsx_names_row_and_column_and_prints_nothing(write_xlsx, header, rows, message):
    # Empty strings become empty cells in a sheet, as they would in Excel.
    rows = [[None if cell == "" else cell for cell in row] for row in rows]
    result = run(write_xlsx(rows, header))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "为空"),
        (b"\n\n", "blank.csv", "为空"),
        (b"PK\x03\x04 not really a workbook", "broken.xlsx", "无法读取 XLSX 文件"),
        (b"not a zip at all", "broken.xlsx", "无法读取 XLSX 文件"),
        (b"\xd0\xcf\x11\xe0old excel", "old.xls", ".xls"),
        (b"\xff\xfe\xfa\xfb\x81", "garbage.csv", "编码"),
    ],
)
def test_unreadable_files(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = run(path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_missing_file(tmp_path):
    result = run(tmp_path / "none.csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "无法读取文件" in result.stderr


def test_blank_rows_and_extra_columns_are_ignored(write_csv):
    header = ["序号", *HEADER]
    rows = [[i, *row] for i, row in enumerate(ROWS, start=1)]
    rows.insert(2, [""] * len(header))
    assert run_json(write_csv(rows, header), "--team-other", "72") == EXPECTED_WITH_OTHER


def test_command_needs_no_app_context():
    assert score.name == "score"
    result = CliRunner().invoke(score, ["--help"])
    assert result.exit_code == 0
    assert "--team-other" in result.stdout


def test_team_without_valid_votes_leaves_finals_null(write_csv):
    rows = [["班子", "领导班子", 0, 0, 0, 0, 9], *ROWS[1:]]
    payload = run_json(write_csv(rows), "--team-other", "72")
    assert [row["final"] for row in payload] == [None] * 4
    assert payload[0]["points"] is None
    assert "领导班子没有有效票" in run(write_csv(rows), "--team-other", "72").stdout
