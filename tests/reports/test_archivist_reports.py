"""What an archivist checks: times, turnout, per-group table, stamp, seals, typography."""

import io
import re
import shutil
import subprocess

from pypdf import PdfReader

from survey.exports import signed_sheet
from survey.reports.archive import feedback_sheet
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


def test_every_page_of_every_document_passes_the_archivists_checks(
    results,  # noqa: F811
    make_user,
    tmp_path,
):
    """Rendered to PNG, then read back: page numbers on every page, a fraction beside every
    percentage, no line starting with closing punctuation, full-width punctuation in Chinese."""
    sign_off(results.session, make_user(), signer="考核组 王某")
    results = compute_results(results.session)
    documents = {
        "report": session_report(results),
        "sheet": signed_sheet(results, results.subjects[0]),
        "feedback": feedback_sheet(results, results.subjects[0]),
    }
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        requirement_missing("pdftoppm is not installed (apt-get install poppler-utils)")
    for name, data in documents.items():
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        subprocess.run([pdftoppm, "-r", "30", "-png", path, tmp_path / name], check=True)
        pages = len(PdfReader(io.BytesIO(data)).pages)
        assert len(list(tmp_path.glob(f"{name}-*.png"))) == pages
        tool = shutil.which("pdftotext")
        text = subprocess.run([tool, path, "-"], capture_output=True, check=True).stdout.decode()
        page_texts = text.split("\f")[:pages]
        for number, page_text in enumerate(page_texts, start=1):
            assert f"第{number}页共{pages}页" in re.sub(r"\s+", "", page_text), (name, number)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert not [line for line in lines if line[0] in "，。；：、"], (name, lines)
        if name == "feedback":
            continue  # the voters' own words are printed as written
        flat = re.sub(r"\s+", "", text)
        # Figures carry two decimals (band bounds and axis ticks are whole): each is followed
        # by its fraction, in brackets or on the next line of its cell.
        for match in re.finditer(r"\d+\.\d{2}%", flat):
            assert re.match(r"（?\d+/\d+", flat[match.end() :]), (name, flat[match.start() :][:40])
        # Names are printed as typed (a group here is called 部门主要负责人:[正职]/代表*?).
        for typed in [group.name for group in results.tally.groups] + [
            f"{row.spec.name}{row.spec.post}" for row in results.subjects
        ]:
            flat = flat.replace(re.sub(r"\s+", "", typed), "")
        half = re.search(r"[\u4e00-\u9fff][:;,]", flat)
        assert half is None, (name, flat[half.start() - 40 : half.end() + 20])
