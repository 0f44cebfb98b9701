"""Read a paper-count tally sheet (CSV or XLSX) for `survey score`."""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from survey.domain import SubjectRole, VoteCounts

SUBJECT = "测评对象"
CATEGORY = "类别"
COUNT_COLUMNS = {"好": "good", "较好": "fairly_good", "一般": "average", "差": "poor"}
ABSTAIN = "弃权"
REQUIRED = (SUBJECT, CATEGORY, *COUNT_COLUMNS)

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_INTEGER_RE = re.compile(r"[0-9]{1,15}")
# A tally sheet has one row per subject: far fewer than this.
MAX_ROWS = 2000


class ScoreFileError(ValueError):
    """The tally sheet cannot be read; the message names the row and column in Chinese."""


@dataclass(frozen=True)
class ScoreRow:
    """One subject's counts, with the sheet row it came from (the header is row 1)."""

    line: int
    subject: str
    role: SubjectRole
    counts: VoteCounts


def read_score_file(path: str | Path) -> list[ScoreRow]:
    """Read and validate a tally sheet; raise ScoreFileError on the first defect."""
    path = Path(path)
    from survey.uploads import MAX_UPLOAD_BYTES, size_text

    try:
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise ScoreFileError(f"文件 {path.name} 超过{size_text(MAX_UPLOAD_BYTES)}的上限")
        data = path.read_bytes()
    except OSError as exc:
        raise ScoreFileError(f"无法读取文件 {path}:{exc.strerror or exc}") from None
    if not data.strip():
        raise ScoreFileError(f"文件 {path.name} 为空")
    if data.startswith(_OLE_MAGIC):
        raise ScoreFileError("不支持旧版 .xls 文件,请在 Excel 中另存为 .xlsx 或 CSV")
    if data.startswith(_ZIP_MAGIC) or path.suffix.lower() in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    return parse_rows(rows)


def _decode(data: bytes) -> str:
    # Excel on Chinese Windows saves "CSV" in GB18030 (GBK); everything else is UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ScoreFileError("无法识别文件编码:请保存为 UTF-8 或 GB18030(GBK)编码的 CSV")


def _csv_rows(data: bytes) -> list[list[object]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise ScoreFileError(f"CSV 格式错误:{exc}") from None


def _xlsx_rows(data: bytes) -> list[list[object]]:
    # Imported here so that reading CSV does not need openpyxl (survey.uploads imports it lazily).
    from survey.uploads import UploadRefused, xlsx_rows

    try:
        return xlsx_rows(data, max_rows=MAX_ROWS, what="XLSX 文件")
    except UploadRefused as refused:
        raise ScoreFileError(f"无法读取 XLSX 文件:{refused}") from None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def _count(value: object, line: int, column: str) -> int:
    if isinstance(value, bool):
        raise ScoreFileError(f"第{line}行 “{column}” 列:“{value}” 不是非负整数")
    if isinstance(value, int):
        if value < 0:
            raise ScoreFileError(f"第{line}行 “{column}” 列:“{value}” 不是非负整数")
        return value
    if isinstance(value, float):
        # Excel stores every number as a float; 12.0 is a whole count, 12.5 is not.
        if value.is_integer() and value >= 0:
            return int(value)
        raise ScoreFileError(f"第{line}行 “{column}” 列:“{value:g}” 不是非负整数")
    text = _cell_text(value)
    if not text:
        raise ScoreFileError(f"第{line}行 “{column}” 列:为空,票数请填写 0 或正整数")
    if not _INTEGER_RE.fullmatch(text):
        raise ScoreFileError(f"第{line}行 “{column}” 列:“{text}” 不是非负整数")
    return int(text)


def parse_rows(rows: list[list[object]]) -> list[ScoreRow]:
    """Validate raw sheet rows (header first) into ScoreRows."""
    if not rows or not any(_cell_text(cell) for cell in rows[0]):
        raise ScoreFileError("第1行:缺少表头(测评对象、类别、好、较好、一般、差)")
    header = [_cell_text(cell) for cell in rows[0]]
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        if not name:
            continue
        if name in columns:
            raise ScoreFileError(f"第1行:列 “{name}” 出现了两次")
        columns[name] = index
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ScoreFileError(f"第1行:缺少列 {'、'.join(f'“{name}”' for name in missing)}")

    result: list[ScoreRow] = []
    team_line: int | None = None
    for line, row in enumerate(rows[1:], start=2):
        if not any(_cell_text(cell) for cell in row):
            continue

        def cell(name: str, row: list[object] = row) -> object:
            index = columns[name]
            return row[index] if index < len(row) else None

        subject = _cell_text(cell(SUBJECT))
        if not subject:
            raise ScoreFileError(f"第{line}行 “{SUBJECT}” 列:为空")
        category = _cell_text(cell(CATEGORY))
        if not category:
            raise ScoreFileError(f"第{line}行 “{CATEGORY}” 列:为空")
        try:
            role = SubjectRole.from_label(category)
        except ValueError as exc:
            raise ScoreFileError(f"第{line}行 “{CATEGORY}” 列:{exc}") from None
        if role is SubjectRole.TEAM:
            if team_line is not None:
                raise ScoreFileError(
                    f"第{line}行 “{CATEGORY}” 列:只能有一个领导班子(第{team_line}行已是领导班子)"
                )
            team_line = line
        counts = {
            field: _count(cell(column), line, column) for column, field in COUNT_COLUMNS.items()
        }
        abstain = _count(cell(ABSTAIN), line, ABSTAIN) if ABSTAIN in columns else 0
        result.append(ScoreRow(line, subject, role, VoteCounts(**counts, abstain=abstain)))
    if not result:
        raise ScoreFileError("文件只有表头,没有测评对象")
    return result
