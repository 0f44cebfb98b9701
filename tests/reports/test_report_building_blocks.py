"""Building blocks of the result reports that need no database: cells, sheet names, fonts."""

import io
import shutil
import subprocess
from types import SimpleNamespace

from openpyxl import load_workbook
from PIL import Image

from survey.reports.fonts import CJK_GLYPHS
from survey.reports.pdf import ResultDocument, render_with
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


# What the footer of a page of fake_results() prints: page count, seals, fingerprint.
FOOTER_CHARS = "第页共 结束封存码　结果公钥指纹…abcd0123456789"


def pdf_text(data: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        requirement_missing("pdftotext is not installed (apt-get install poppler-utils)")
    return subprocess.run(
        [tool, "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_a_character_outside_the_cut_is_added_and_none_is_lost():
    def build(font):
        pdf = ResultDocument(fake_results(), "测试", font)
        pdf.add_page()
        pdf.paragraph("廉政档案 張三丰")  # none of these is in the cut below
        return pdf

    document = build(CJK_GLYPHS.font_for("0123456789abc"))
    document.finish()
    assert {"廉", "張", "页"} <= document.missing_chars()  # 页: the footer
    text = pdf_text(render_with(build, "0123456789abc"))
    assert "廉政档案" in text and "張三丰" in text


def test_a_cut_font_that_holds_every_character_is_used():
    def build(font):
        pdf = ResultDocument(fake_results(), "测试", font)
        pdf.add_page()
        pdf.paragraph("廉政档案")
        return pdf

    held = "廉政档案" + FOOTER_CHARS
    document = build(CJK_GLYPHS.font_for(held))
    cut = document.finish()
    assert not document.missing_chars()
    assert len(render_with(build, held)) == len(cut) < len(build(None).finish())


def test_the_cut_font_draws_what_the_whole_font_draws(tmp_path):
    """The cut's glyphs are the font's outlines converted to TrueType: same shapes, same place."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        requirement_missing("pdftoppm is not installed (apt-get install poppler-utils)")
    line = "廉政档案 民主测评结果单 第1页 共2页 96.97%（32/33）"

    def page(font) -> list[int]:
        pdf = ResultDocument(fake_results(), "测试", font)
        pdf.add_page()
        pdf.set_font(pdf.family, size=24)
        pdf.block(line, 12)
        path = tmp_path / "page.pdf"
        path.write_bytes(pdf.finish())
        subprocess.run(
            [pdftoppm, "-r", "100", "-gray", "-singlefile", "-f", "1", "-l", "1", path,
             tmp_path / "page"],
            check=True,
        )  # fmt: skip
        # 4 × 4 pixels averaged: hinting moves a CFF stem edge by a pixel, TrueType's not.
        return list(Image.open(tmp_path / "page.pgm").reduce(4).tobytes())

    whole, cut = page(None), page(CJK_GLYPHS.font_for(line + FOOTER_CHARS))
    inked = sum(1 for value in whole if value < 200)
    assert inked > 500  # the line was drawn
    # A glyph moved by half a millimetre differs in more than half of them.
    differing = sum(1 for a, b in zip(whole, cut, strict=True) if abs(a - b) > 48)
    assert differing < inked * 0.03, (differing, inked)
