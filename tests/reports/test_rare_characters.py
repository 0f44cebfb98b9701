"""Characters Noto Sans CJK lacks (Extensions B–F) are typeset with a fallback, never dropped."""

import shutil
import subprocess
import warnings

from PIL import Image

from survey.exports import signed_sheet
from survey.models import MeetingType, SubjectRole
from survey.reports.charts import distribution_figure, png
from survey.reports.fonts import FALLBACK_FONTS, uncovered
from survey.reports.pdf import session_report
from survey.services.results import compute_results
from tests.conftest import requirement_missing
from tests.reports import test_report_meeting_types as meeting_types

EXT_B = "张𠀀"  # U+20000
EXT_E = "𬍤明"  # U+2C364


def test_noto_lacks_extension_b_so_the_test_means_something():
    # 𬍤 is in the 通用规范汉字表 and Noto has it; 𠀀 it lacks.
    assert uncovered([EXT_B, EXT_E]) == {"𠀀"}


def test_rare_names_print_in_pdf_text_and_png(client, make_user, monkeypatch, tmp_path):
    if not FALLBACK_FONTS[0][1].exists():
        requirement_missing("fonts-hanazono is not installed (apt-get install fonts-hanazono)")
    monkeypatch.setitem(
        meeting_types.SUBJECTS,
        MeetingType.REPORT_EVALUATE,
        [
            ("县委领导班子", "", SubjectRole.TEAM),
            (EXT_B, "县委书记", SubjectRole.PRINCIPAL),
            (EXT_E, "县长", SubjectRole.MEMBER),
        ],
    )
    session = meeting_types.closed_session(client, make_user(), MeetingType.REPORT_EVALUATE)
    results = compute_results(session)
    report = session_report(results)
    sheet = signed_sheet(results, results.subjects[1])
    for data in (report, sheet):
        assert EXT_B in meeting_types.pdf_text(data)
    assert EXT_E in meeting_types.pdf_text(report)
    fonts = subprocess.run(
        [shutil.which("pdffonts") or "pdffonts", "-"], input=sheet, capture_output=True
    ).stdout.decode()
    assert "HanaMin" in fonts and "NotoSansCJK" in fonts  # both embedded subsets
    # The chart: matplotlib warns "Glyph … missing from font(s)" when it draws a tofu box.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = png(distribution_figure(results))
    assert not [w for w in caught if "missing from" in str(w.message)]
    path = tmp_path / "chart.png"
    path.write_bytes(image)
    assert Image.open(path).size[0] > 500
    # And the sheet rendered as a person sees it.
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        requirement_missing("pdftoppm is not installed (apt-get install poppler-utils)")
    (tmp_path / "sheet.pdf").write_bytes(sheet)
    subprocess.run(
        [pdftoppm, "-r", "50", "-png", tmp_path / "sheet.pdf", tmp_path / "p"], check=True
    )
    assert (tmp_path / "p-1.png").exists()


def test_a_character_no_font_has_is_printed_as_its_code_point(client, make_user, monkeypatch):
    # U+30000 (Extension G, 2020) is newer than Hanazono.
    monkeypatch.setitem(
        meeting_types.SUBJECTS,
        MeetingType.REPORT_EVALUATE,
        [("县委领导班子", "", SubjectRole.TEAM), ("王\U00030000😀", "县长", SubjectRole.MEMBER)],
    )
    session = meeting_types.closed_session(client, make_user(), MeetingType.REPORT_EVALUATE)
    results = compute_results(session)
    text = meeting_types.pdf_text(signed_sheet(results, results.subjects[1]))
    assert "王〔U+30000〕" in text
    assert "😀" in text or "〔U+1F600〕" in text  # drawn by a font, or named: never dropped
