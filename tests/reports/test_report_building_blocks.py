"""Building blocks of the result reports that need no database: cells, sheet names, fonts."""

import io
import shutil
import subprocess
from types import SimpleNamespace

from openpyxl import load_workbook

from survey.reports.pdf import FontCut, ResultDocument
from survey.reports.xlsx import FORMULA_TRIGGERS, neutralise, sheet_name
from tests.conftest import requirement_missing


def test_every_formula_trigger_is_neutralised():
    for trigger in FORMULA_TRIGGERS:
        assert neutralise(f"{trigger}1+1") == f"'{trigger}1+1"
    assert neutralise("张明") == "张明"
    assert neutralise("1+1") == "1+1"  # only a leading trigger makes a formula
    assert neutralise("a\x00b\x07c") == "abc"  # control characters openpyxl refuses


def test_sheet_names_are_cleaned_cut_and_made_unique():
    assert sheet_name("部门/单位:[正职]*?", []) == "部门单位正职"
    long = "县" * 40
    assert sheet_name(long, []) == "县" * 31
    taken = ["县" * 31]
    second = sheet_name(long, taken)
    assert len(second) <= 31 and second.endswith("（2）") and second not in taken
    assert sheet_name("汇总", ["汇总"]) == "汇总（2）"
    assert sheet_name("History", []) == "History（2）"  # Excel reserves History
    assert sheet_name("'/:'", []) == "类别"
    assert sheet_name("ABC", ["abc"]) == "ABC（2）"  # Excel compares names without case


def test_neutralised_text_reads_back_as_text():
    from openpyxl import Workbook

    workbook = Workbook()
    cell = workbook.active.cell(1, 1, neutralise('=HYPERLINK("http://x")'))
    cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    again = load_workbook(io.BytesIO(buffer.getvalue())).active.cell(1, 1)
    assert again.data_type == "s" and again.value == '\'=HYPERLINK("http://x")'


def fake_results():
    return SimpleNamespace(
        session=SimpleNamespace(title="测试"),
        seal="ab" * 32,
        result_seal="cd" * 32,
        key_fingerprint="1234 " * 16,
    )


def pdf_text(data: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        requirement_missing("pdftotext is not installed (apt-get install poppler-utils)")
    return subprocess.run(
        [tool, "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_a_cut_font_missing_a_character_falls_back_to_the_whole_font():
    def build(font):
        pdf = ResultDocument(fake_results(), "测试", font)
        pdf.add_page()
        pdf.paragraph("廉政档案 張三丰 𠀀")  # none of these is in the cut below
        return pdf

    with FontCut(["0123456789abc"]) as cut:
        assert build(cut.path).glyphs_missing()
        text = pdf_text(cut.render(build))
    assert "廉政档案" in text and "張三丰" in text


def test_a_cut_font_that_holds_every_character_is_used():
    def build(font):
        pdf = ResultDocument(fake_results(), "测试", font)
        pdf.add_page()
        pdf.paragraph("廉政档案")
        return pdf

    with FontCut(["廉政档案测试第页共封存码 ab0123456789"]) as cut:
        document = build(cut.path)
        assert not document.glyphs_missing()
        whole = build(None).finish()
        assert len(cut.render(build)) < len(whole)
