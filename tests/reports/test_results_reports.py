"""Result reports of a closed session with known votes: XLSX, PDF report, archive sheets, ZIP."""

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from survey.domain import DEFAULT_RULESET_ID, get_shipped
from survey.domain.questionnaire import shipped
from survey.exports import archive_zip
from survey.extensions import db
from survey.models import EvalSession, MeetingType, RaterGroup, Subject, SubjectRole
from survey.reports.archive import (
    ARCHIVE_JSON_NAME,
    REPORT_NAME,
    WORKBOOK_NAME,
    feedback_sheet,
    subject_sheet,
)
from survey.reports.charts import distribution_chart, rates_chart
from survey.reports.pdf import session_report
from survey.reports.xlsx import (
    BALLOTS_SHEET,
    COMMENTS_SHEET,
    MERGED_GROUP,
    SUMMARY_SHEET,
    tally_workbook,
)
from survey.services.archive import MANIFEST_NAME, MANIFEST_SIGNATURE_NAME, PUBLIC_KEY_NAME
from survey.services.codes import issue_codes
from survey.services.results import compute_results, set_team_parts
from survey.services.sessions import close_session, open_session
from tests.conftest import requirement_missing
from tests.vote.conftest import ballot_form

EVIL_NAME = '=HYPERLINK("http://evil.example/x","点我")'
EVIL_POST = "@SUM(A1)"
# Shown: 12 and 8 ballots. Hidden: 2 and 1 ballots (below 5; two hidden, so no further
# group has to be hidden to stop the subtraction of one from the total).
GROUP_A = "县级领导干部"
GROUP_B = "部门主要负责人:[正职]/代表*?"
GROUP_C = "离退休干部"
GROUP_D = "两代表一委员"
GROUPS = [(GROUP_A, 15, 12), (GROUP_B, 10, 8), (GROUP_C, 3, 2), (GROUP_D, 2, 1)]
SUBJECTS = [
    ("县委领导班子", "", SubjectRole.TEAM),
    ("张明", "县委书记", SubjectRole.PRINCIPAL),
    ("李华", "县委副书记、县长", SubjectRole.MEMBER),
    (EVIL_NAME, EVIL_POST, SubjectRole.MEMBER),
    ("王芳", "县委常委、纪委书记", SubjectRole.MEMBER),
]
COMMENTS = {(0, 2): "+1", (1, 2): "建议加强基层调研", (3, 1): "@所有人 注意作风"}
OVERALL = {2: "=1+2"}


def rating(subject: int, i: int) -> str | None:
    """The known votes: ballot i (0–22) about subject number `subject`."""
    if subject == 0:  # 14 好, 5 较好, 2 一般, 1 差, 1 弃权 → 19/22
        for below, option in ((14, "good"), (19, "fairly_good"), (21, "average"), (22, "poor")):
            if i < below:
                return option
        return None
    if subject == 1:  # 21/23
        return "poor" if i < 2 else "good"
    if subject == 2:  # 17/23
        return "good" if i < 17 else "average"
    if subject == 3:  # 23/23
        return "fairly_good"
    return None  # 王芳: every ballot abstains


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        requirement_missing(f"{name} is not installed (apt-get install poppler-utils)")
    return path


@pytest.fixture
def results(client, make_user):
    """Close a session with the known votes above and enter the team's other parts."""
    owner = make_user()
    session = EvalSession(
        title="2025年度县委领导班子及成员党风廉政建设责任制民主测评",
        unit="中共某某县委",
        meeting_date=dt.date(2026, 1, 9),
        meeting_type=MeetingType.REPORT_EVALUATE,
        owner=owner,
        rule_set_key=DEFAULT_RULESET_ID,
        rule_set_version=get_shipped(DEFAULT_RULESET_ID).version,
        questionnaire=shipped()["dangfeng-zerenzhi"].canonical_json(),
    )
    session.subjects = [
        Subject(name=name, post=post, kind=kind, position=index)
        for index, (name, post, kind) in enumerate(SUBJECTS)
    ]
    session.groups = [
        RaterGroup(name=name, expected_count=expected, position=index)
        for index, (name, expected, _) in enumerate(GROUPS)
    ]
    db.session.add(session)
    db.session.commit()
    codes = [
        code
        for group, (_, _, voting) in zip(session.groups, GROUPS, strict=True)
        for code in issue_codes(group, voting, owner)
    ]
    open_session(session, owner)
    subject_ids = [subject.id for subject in session.subjects]
    for i, code in enumerate(codes):
        fields, _ = ballot_form(client, code)
        data = {**fields, "confirm_partial": "1"}
        for number, subject_id in enumerate(subject_ids):
            data[f"r-{subject_id}-overall"] = rating(number, i) or ""
            data[f"c-{subject_id}"] = COMMENTS.get((i, number), "")
        data["c-overall"] = OVERALL.get(i, "")
        assert client.post("/v/submit", data=data).status_code == 303
    close_session(session, None)
    parts = {"conduct": "14", "punishment": "28", "prevention": "18", "responsibility": "99"}
    set_team_parts(session, parts, owner)
    return compute_results(db.session.get(EvalSession, session.id))


@pytest.fixture
def workbook(results):
    return load_workbook(io.BytesIO(tally_workbook(results)))


def summary_rows(workbook) -> dict[str, list]:
    """Return the subject rows of the 汇总 sheet by subject name, with the header row."""
    sheet = workbook[SUMMARY_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    start = next(n for n, row in enumerate(rows) if row[:2] == ("序号", "测评对象"))
    header = rows[start]
    found = {"header": list(header)}
    for row in rows[start + 1 :]:
        if not isinstance(row[0], int):
            break
        found[row[1]] = list(row)
    return found


def column(rows: dict, name: str, heading: str):
    return rows[name][rows["header"].index(heading)]


def test_workbook_figures_equal_the_tally(results, workbook):
    rows = summary_rows(workbook)
    team = "县委领导班子"
    expected_counts = {"好": 14, "较好": 5, "一般": 2, "差": 1, "弃权": 1, "有效票": 22}
    for heading, count in expected_counts.items():
        assert column(rows, team, heading) == count
    assert column(rows, team, "较好以上票数") == 19
    # The exact rate is its own column, as a fraction; the percentage is a number (0.00%).
    assert column(rows, team, "较好以上率（分数）") == "19/22"
    assert column(rows, team, "较好以上率（百分比）") == pytest.approx(19 / 22, abs=1e-12)
    assert column(rows, team, "民主测评得分") == 15
    assert column(rows, team, "所在分档") == "[85%, 90%) → 15"
    # Team total: 15 + 14 + 28 + 18 + 15 (责任制落实 99 capped at 15) = 90 → 9 of 10.
    assert column(rows, team, "最终得分") == 9
    assert column(rows, "张明", "较好以上率（分数）") == "21/23"
    assert column(rows, "张明", "扣分") == 0
    assert column(rows, "张明", "最终得分") == 9.5
    assert column(rows, "李华", "较好以上率（百分比）") == pytest.approx(17 / 23, abs=1e-12)
    assert column(rows, "李华", "扣分") == 3.5
    assert column(rows, "李华", "个人得分") == 6.5
    assert column(rows, "李华", "最终得分") == 7.25  # 0.7 × 6.5 + 0.3 × 9
    assert column(rows, "王芳", "有效票") == 0
    assert column(rows, "王芳", "较好以上率（百分比）") == "无有效票"
    for name in rows:
        if name != "header":
            assert column(rows, name, "应到") == 30 and column(rows, name, "收回") == 23
    # Formats, frozen header, filter, print setup, properties.
    sheet = workbook[SUMMARY_SHEET]
    header_row = next(
        r[0].row for r in sheet.iter_rows() if r[0].value == "序号" and r[1].value == "测评对象"
    )
    formats = {
        cell.value: sheet.cell(header_row + 2, cell.column).number_format
        for cell in sheet[header_row]
    }
    assert formats["较好以上率（百分比）"] == "0.00%" and formats["最终得分"] == "0.00##"
    assert sheet.freeze_panes == f"C{header_row + 1}"
    assert sheet.auto_filter.ref.startswith(f"A{header_row}:")
    for each in workbook.worksheets:
        assert each.freeze_panes and each.auto_filter.ref, each.title
        assert each.page_setup.orientation == "landscape" and each.page_setup.fitToWidth == 1
        assert "结果封存码" in each.oddHeader.right.text and "&P" in each.oddFooter.center.text
    assert workbook.properties.creator == "民主测评平台"
    assert workbook.properties.title.endswith("测评统计表")
    cells = [c for r in workbook[SUMMARY_SHEET].iter_rows(values_only=True) for c in r]
    assert "超过满分，按满分计入" in cells
    assert results.seal in cells
    assert results.ruleset.sha256 in cells


def test_user_text_never_becomes_a_formula(results):
    data = tally_workbook(results)
    workbook = load_workbook(io.BytesIO(data))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    # The stored XML holds no formula element at all.
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        for name in bundle.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in bundle.read(name) and b"<f " not in bundle.read(name)
    rows = summary_rows(workbook)
    evil = rows["'" + EVIL_NAME]
    assert evil[2] == "'" + EVIL_POST
    comments = [row for row in workbook[COMMENTS_SHEET].iter_rows(values_only=True)]
    assert ("李华", "县委副书记、县长", "'+1") in comments
    assert ("（总体意见建议）", None, "'=1+2") in comments
    assert ("张明", "县委书记", "'@所有人 注意作风") in comments
    # The streamed comment rows keep their wrapped text and the filter covers them all.
    sheet = workbook[COMMENTS_SHEET]
    assert sheet.cell(3, 3).alignment.wrap_text and sheet.cell(3, 3).value
    assert sheet.auto_filter.ref == f"A2:C{len(comments)}"
    ballots = workbook[BALLOTS_SHEET]
    assert ballots.cell(1, 6).value == "'" + EVIL_NAME
    assert ballots.cell(1, 6).data_type == "s"


def test_sheet_names_are_valid_and_unique(workbook):
    names = workbook.sheetnames
    assert names[0] == SUMMARY_SHEET and names[-2:] == [BALLOTS_SHEET, COMMENTS_SHEET]
    assert len({name.casefold() for name in names}) == len(names)
    for name in names:
        assert len(name) <= 31 and not re.search(r"[/\\?*\[\]:]", name), name
    assert "部门主要负责人正职代表" in names


def test_a_small_hidden_group_shows_nowhere(results, workbook):
    assert results.groups_shown == [GROUP_A, GROUP_B]
    assert results.groups_hidden == [GROUP_C, GROUP_D]
    assert len(workbook.sheetnames) == 5  # summary, A, B, ballots, comments
    groups = [row[1] for row in workbook[BALLOTS_SHEET].iter_rows(min_row=2, values_only=True)]
    assert sorted(set(groups)) == sorted({GROUP_A, GROUP_B, MERGED_GROUP})
    assert groups.count(MERGED_GROUP) == 3 and groups.count(GROUP_A) == 12
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            # The hidden groups are named once, in the note saying they are not shown.
            assert GROUP_C not in row and GROUP_D not in row
    sheet_a = list(workbook[GROUP_A].iter_rows(values_only=True))
    assert ("收回（份）", 12) in [row[:2] for row in sheet_a]
    team_a = next(row for row in sheet_a if row[1] == "县委领导班子")
    assert team_a[-2:] == ("12/12", 1)


def pdf_text(data: bytes) -> str:
    """Extract the text with poppler, as a reader's copy and paste would.

    pypdf's extract_text garbles fpdf2's two-byte CID strings (a NUL before each character,
    and wrong characters in longer runs), so it cannot be used to read these PDFs back.
    Whitespace is dropped: poppler guesses spaces between Chinese and Latin text its own way.
    """
    text = subprocess.run(
        [tool("pdftotext"), "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return re.sub(r"\s+", "", text)


def test_report_pdf_says_what_the_tally_says(results):
    data = session_report(results)
    text = pdf_text(data)
    for name in ("县委领导班子", "张明", "李华", "王芳", "HYPERLINK"):
        assert name in text
    for figure in ("86.36%", "19/22", "73.91%", "17/23", "无有效票", "[85%,90%)"):
        assert figure in text
    assert results.ruleset.sha256 in text
    pages = len(PdfReader(io.BytesIO(data)).pages)
    # The short form in every footer, the whole seal and the key's fingerprint in the body.
    assert text.count(results.seal[:16]) >= pages + 1 and results.seal in text
    assert results.key_fingerprint.replace(" ", "") in text
    assert f"第1页共{pages}页" in text
    assert "监票人" in text and "考核组成员" in text
    assert "超过满分" in text
    assert b"pdfaid:part" in data  # written as PDF/A-2B (not validated here)


def test_every_pdf_embeds_the_cjk_font(results, tmp_path):
    documents = {
        "report": session_report(results),
        "sheet": subject_sheet(results, results.subjects[1]),
        "feedback": feedback_sheet(results, results.subjects[2]),
    }
    for name, data in documents.items():
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        out = subprocess.run(
            [tool("pdffonts"), str(path)], capture_output=True, text=True, check=True
        ).stdout
        fonts = out.splitlines()[2:]
        assert fonts, out
        for line in fonts:
            assert "NotoSansCJK" in line, (name, line)
            assert line.split()[-5] == "yes", (name, line)


def dark_share(pdf: Path, tmp_path: Path, page: int = 1) -> float:
    prefix = tmp_path / f"{pdf.stem}-page"
    subprocess.run(
        [tool("pdftoppm"), "-r", "60", "-png", "-f", str(page), "-l", str(page), "-singlefile",
         str(pdf), str(prefix)],
        check=True,
    )  # fmt: skip
    image = Image.open(prefix.with_suffix(".png")).convert("L")
    histogram = image.histogram()
    return sum(histogram[:128]) / sum(histogram)


def test_rendered_pages_show_glyphs(results, tmp_path):
    for name, data in (
        ("report", session_report(results)),
        ("sheet", subject_sheet(results, results.subjects[0])),
    ):
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        share = dark_share(path, tmp_path)
        # A blank page is 0; a page of boxes or black blocks would be far above a few percent.
        assert 0.01 < share < 0.3, (name, share)


def test_subject_sheet_is_one_page_with_the_seal(results):
    data = subject_sheet(results, results.subjects[2])
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    text = pdf_text(data)
    for needle in (
        "李华",
        "县委副书记、县长",
        "73.91%（17/23）",
        "[70%,75%)→3.5",
        "6.5",
        "7.25",
    ):
        assert needle in text
    assert results.ruleset.sha256 in text and results.seal in text
    assert "surveyverify" in text


def test_archive_zip_holds_every_sheet_the_report_the_workbook_and_the_archive(results):
    with zipfile.ZipFile(io.BytesIO(archive_zip(results))) as bundle:
        names = bundle.namelist()
        sheets = [name for name in names if name.endswith("-廉政档案.pdf")]
        assert sheets[:3] == ["01-县委领导班子-廉政档案.pdf", "02-张明-廉政档案.pdf",
                              "03-李华-廉政档案.pdf"]  # fmt: skip
        assert len(sheets) == len(results.subjects)
        assert all("/" not in name and '"' not in name for name in names)
        assert sorted(set(names) - set(sheets)) == sorted(
            [
                REPORT_NAME,
                WORKBOOK_NAME,
                ARCHIVE_JSON_NAME,
                PUBLIC_KEY_NAME,
                MANIFEST_NAME,
                MANIFEST_SIGNATURE_NAME,
            ]
        )
        assert json.loads(bundle.read(ARCHIVE_JSON_NAME))["seal"] == results.seal
        for number, name in enumerate(sheets):
            data = bundle.read(name)
            assert len(PdfReader(io.BytesIO(data)).pages) == 1
            assert results.subjects[number].spec.name[1:8] in pdf_text(data)
        assert "19/22" in pdf_text(bundle.read(REPORT_NAME))
        workbook = load_workbook(io.BytesIO(bundle.read(WORKBOOK_NAME)))
        assert workbook.sheetnames[0] == SUMMARY_SHEET


def test_feedback_sheet_quotes_every_comment_sorted(results):
    member = results.subjects[2]
    text = pdf_text(feedback_sheet(results, member))
    assert "李华" in text and "共2条" in text
    assert text.index("+1") < text.index("建议加强基层调研")
    assert "组织部门" in text and "纪委" in text
    none = pdf_text(feedback_sheet(results, results.subjects[4]))
    assert "共0条" in none


def test_charts_are_self_contained_svg(results):
    for chart in (distribution_chart, rates_chart):
        svg = chart(results)
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        assert "font-family" not in svg and "@font-face" not in svg and "<text" not in svg
        assert not re.search(r'href="(?!#)', svg)  # only links to its own glyph paths
        assert chart(results) == svg  # the same results give the same bytes


def test_the_archive_json_merges_hidden_groups_and_still_verifies(results, make_user):
    from survey.exports import build_export
    from survey.services.archive import verify_upload
    from survey.services.signoff import sign_off

    sign_off(results.session, make_user())
    results = compute_results(results.session)
    data = build_export(results, "json")
    text = data.decode()
    # The hidden groups' names appear nowhere: not on their ballots, not in the facts.
    assert GROUP_C not in text and GROUP_D not in text
    archive = json.loads(text)
    assert archive["figures"]["groups_hidden"] == [MERGED_GROUP]
    groups = [ballot["group"] for ballot in archive["sealed"]["ballots"]]
    assert groups.count(MERGED_GROUP) == 3 and groups.count(GROUP_A) == 12
    assert {g["name"]: g["expected"] for g in archive["sealed"]["session"]["groups"]} == {
        GROUP_A: 15,
        GROUP_B: 10,
        MERGED_GROUP: 5,
    }
    assert archive["seal"] == results.seal
    verdict = verify_upload(data)
    assert verdict.ok, verdict.text
    assert verdict.text.splitlines()[0] == "通过" and "全部数字与归档一致" in verdict.text
