"""Open downloaded bytes as the program a person would use does: a workbook, a PDF, a ZIP."""

import io
import re
import shutil
import subprocess
import zipfile

from tests.conftest import requirement_missing


def workbook(data: bytes):
    import openpyxl

    assert data[:2] == b"PK", "not an XLSX (ZIP) file"
    return openpyxl.load_workbook(io.BytesIO(data))


def cells(data: bytes) -> list:
    """Every value of every sheet of an XLSX, row by row."""
    book = workbook(data)
    return [row for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]


def pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF"), "not a PDF"
    return len(PdfReader(io.BytesIO(data)).pages)


def pdf_text(data: bytes) -> str:
    """The PDF's text as poppler reads it, whitespace dropped.

    pypdf opens these files but garbles fpdf2's two-byte CID strings when extracting text
    (a NUL before each character), so the text is read with pdftotext, as a reader would copy it.
    """
    assert pdf_pages(data) >= 1
    tool = shutil.which("pdftotext")
    if tool is None:
        requirement_missing("pdftotext is not installed (apt-get install poppler-utils)")
    text = subprocess.run([tool, "-", "-"], input=data, capture_output=True, check=True).stdout
    return re.sub(r"\s+", "", text.decode())


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}
