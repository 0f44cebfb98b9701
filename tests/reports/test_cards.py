"""Card sheets: A4 PDF, eight cards a page, QR codes that lead to the right vote addresses."""

import os
import shutil
import subprocess
import time
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from survey.reports.cards import CARDS_PER_PAGE, CardGroup, render_cards
from survey.security import display_code, new_ballot_code
from tests.conftest import requirement_missing

BASE = "http://192.168.1.20:5000"
TITLE = "2025年度县委领导班子及成员党风廉政建设责任制民主测评"
# SAVE_SCREENSHOTS=1 pytest tests/reports refreshes the picture in the README.
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "cards.png"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        requirement_missing(f"{name} is not installed (apt-get install poppler-utils zbar-tools)")
    return path


def decode_page(pdf: Path, page: int, tmp_path: Path) -> tuple[list[str], Path]:
    """Render one page at 150 dpi as a printer would see it and read every QR code on it."""
    prefix = tmp_path / f"page{page}"
    subprocess.run(
        [
            tool("pdftoppm"),
            "-r",
            "150",
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(prefix),
        ],
        check=True,
    )
    png = prefix.with_suffix(".png")
    result = subprocess.run(
        [tool("zbarimg"), "--quiet", "--raw", str(png)], capture_output=True, text=True
    )
    return sorted(result.stdout.split()), png


def page_text(pdf: Path, page: int) -> str:
    """Extract a page's text with poppler (pypdf misreads fpdf2's two-byte CID text)."""
    return subprocess.run(
        [tool("pdftotext"), "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def groups():
    return [
        CardGroup("县级领导干部", "#c0392b", [new_ballot_code() for _ in range(10)]),
        CardGroup("部门主要负责人", "#f1c40f", [new_ballot_code() for _ in range(3)]),
    ]


@pytest.fixture(scope="module")
def pdf_file(groups, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cards") / "cards.pdf"
    path.write_bytes(render_cards(TITLE, groups, BASE))
    return path


def test_each_group_is_its_own_batch_of_a4_pages(pdf_file, groups):
    reader = PdfReader(pdf_file)
    # 10 codes → 2 pages, then 3 codes → 1 page of their own.
    assert len(reader.pages) == 3
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    texts = [page_text(pdf_file, number) for number in (1, 2, 3)]
    assert "县级领导干部" in texts[0] and "部门主要负责人" not in texts[0]
    assert "部门主要负责人" in texts[2] and "县级领导干部" not in texts[2]
    for code in groups[0].codes[:CARDS_PER_PAGE]:
        assert display_code(code) in texts[0]
    assert TITLE[:10] in texts[0]


def test_qr_codes_lead_to_each_codes_vote_address(pdf_file, groups, tmp_path):
    first, png = decode_page(pdf_file, 1, tmp_path)
    expected = sorted(f"{BASE}/v/{display_code(c)}" for c in groups[0].codes[:CARDS_PER_PAGE])
    assert first == expected
    last, _ = decode_page(pdf_file, 3, tmp_path)
    assert last == sorted(f"{BASE}/v/{display_code(c)}" for c in groups[1].codes)
    if os.environ.get("SAVE_SCREENSHOTS"):
        shutil.copyfile(png, SCREENSHOT)


def test_the_cjk_font_is_embedded(pdf_file):
    result = subprocess.run(
        [tool("pdffonts"), str(pdf_file)], capture_output=True, text=True, check=True
    )
    fonts = result.stdout.splitlines()[2:]
    assert fonts, result.stdout
    for line in fonts:
        assert "NotoSansCJK" in line
        # Columns: name type encoding emb sub uni ...; every font must be embedded.
        assert line.split()[-5] == "yes", line


def test_a_hundred_codes_render_in_a_few_seconds():
    groups = [
        CardGroup(f"类别{i}", "#2471a3", [new_ballot_code() for _ in range(25)]) for i in range(4)
    ]
    # CPU time: the wall clock of a shared machine says more about its neighbours.
    started = time.process_time()
    pdf = render_cards(TITLE, groups, BASE)
    elapsed = time.process_time() - started
    assert len(PdfReader(BytesIO(pdf)).pages) == 4 * 4
    assert elapsed < 10, f"{elapsed:.1f} s of CPU for 100 cards"


def test_long_names_are_cut_not_spilled(tmp_path):
    long_title = "某某市某某县" * 30
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(
        render_cards(long_title, [CardGroup("类" * 80, "not a colour", ["ABCDEFGHJK"])], BASE)
    )
    text = page_text(pdf, 1)
    assert "…" in text
    assert "ABCDE-FGHJK" in text


def test_nothing_to_print_is_an_error():
    with pytest.raises(ValueError):
        render_cards(TITLE, [CardGroup("空", "#000000", [])], BASE)
