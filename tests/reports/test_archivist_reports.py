"""What an archivist checks: times, turnout, per-group table, stamp, seals, typography."""

import io
import re
import shutil
import subprocess

from pypdf import PdfReader

from survey.exports import signed_sheet
from survey.reports.figures import chinese_punctuation
from survey.reports.pdf import NO_LINE_START, ResultDocument, session_report
from survey.services.results import compute_results
from survey.services.signoff import sign_off
from tests.conftest import requirement_missing
from tests.reports.test_results_reports import GROUP_A, GROUP_C, results  # noqa: F401


def text_lines(data: bytes) -> list[str]:
    tool = shutil.which("pdftotext")
    if tool is None:
        requirement_missing("pdftotext is not installed (apt-get install poppler-utils)")
    out = subprocess.run([tool, "-", "-"], input=data, capture_output=True, check=True).stdout
    return [line.strip() for line in out.decode().splitlines() if line.strip()]


def test_chinese_punctuation_is_full_width_only_in_chinese():
    assert chinese_punctuation("主要负责人:个人 50%") == "主要负责人：个人 50%"
    assert chinese_punctuation("作风建设 20, 惩防 30") == "作风建设 20，惩防 30"
    assert chinese_punctuation("1,000 张") == "1,000 张"
    assert chinese_punctuation("version 1:2, a;b") == "version 1:2, a;b"


def test_no_line_starts_with_closing_punctuation(results):  # noqa: F811
    pdf = ResultDocument(results, "测试")
    pdf.add_page()
    pdf.set_font(pdf.family, size=9.5)
    text = "较好以上率按精确分数对照分档" * 3 + "，百分比四舍五入到两位小数。" * 6
    for width in (60.0, 61.5, 63.0, 100.0):
        lines = pdf.wrap_chinese(text, width).split("\n")
        assert len(lines) > 1
        assert not [line for line in lines if line[0] in NO_LINE_START], width
        assert "".join(lines) == text  # nothing lost


def test_signed_off_report_and_sheet_carry_what_an_archivist_checks(
    results,  # noqa: F811
    make_user,
    tmp_path,
):
    sign_off(results.session, make_user(), signer="考核组 王某")
    results = compute_results(results.session)
    for data in (session_report(results), signed_sheet(results, results.subjects[2])):
        lines = text_lines(data)
        flat = re.sub(r"\s+", "", "".join(lines))
        pages = len(PdfReader(io.BytesIO(data)).pages)
        assert f"第1页共{pages}页" in flat and f"第{pages}页共{pages}页" in flat
        assert "应到/实到/收回30人/23人/23份" in flat
        assert "有效/弃权/废票23份/0份/0份" in flat
        assert "结束时间" in flat and "签发时间" in flat and "（北京时间）" in flat
        assert "签发人考核组王某" in flat
        assert results.seal in flat and results.result_seal in flat
        assert results.key_fingerprint.replace(" ", "") in flat
        assert "（盖章）" in flat and "测评日期2026年1月9日" in flat
        assert not [line for line in lines if line[0] in "，。；：、"], lines
        pdftoppm = shutil.which("pdftoppm")
        if pdftoppm is None:
            requirement_missing("pdftoppm is not installed (apt-get install poppler-utils)")
        (tmp_path / "doc.pdf").write_bytes(data)
        subprocess.run(
            [pdftoppm, "-r", "40", "-png", tmp_path / "doc.pdf", tmp_path / "p"], check=True
        )
        assert (tmp_path / "p-1.png").stat().st_size > 1000
    report = re.sub(r"\s+", "", "".join(text_lines(session_report(results))))
    # The per-group table: shown groups only (the small-group rule), each with its fraction.
    assert "分类别评价分布" in report and GROUP_A in report and "12/12" in report
    assert report.count(GROUP_C) == 1  # named once, in the note that it is not shown
    # Headers break between words: 个人|得分, 得分或|扣分, never 个人得|分.
    assert "个人得分" in report and "得分或扣分" in report and "最终得分" in report
