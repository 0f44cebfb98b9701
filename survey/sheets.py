"""One reader for the tables people upload (a roster, vote counts): XLSX or CSV, bounded.

Both the roster import and `survey score` read through here, so a file is understood the
same way everywhere: the first sheet, values as Excel last computed them, text decoded
whatever the office's software saved it as, and a formula saved without its result told
apart from an empty cell.
"""

import csv
import io

from survey.uploads import UploadRefused, check_size, xlsx_rows

__all__ = ["FormulaWithoutValue", "UploadRefused", "csv_table", "decode_text", "xlsx_table"]


class FormulaWithoutValue(str):
    """A formula cell saved without its computed value: not an empty cell."""


def xlsx_table(data: bytes, *, max_rows: int, max_columns: int, what: str) -> list[list[object]]:
    """Return the first sheet's rows; a formula without a saved value is a FormulaWithoutValue."""
    rows = xlsx_rows(data, max_rows=max_rows, max_columns=max_columns, what=what)
    if any(cell is None for row in rows for cell in row):
        # An empty cell may be a formula whose result Excel never saved (files written by
        # scripts, or "manual calculation"): read the formulas to tell the user which it is.
        formulas = xlsx_rows(
            data, max_rows=max_rows, max_columns=max_columns, what=what, data_only=False
        )
        for row, written in zip(rows, formulas, strict=False):
            for index, cell in enumerate(row):
                text = written[index] if index < len(written) else None
                if cell is None and isinstance(text, str) and text.startswith("="):
                    row[index] = FormulaWithoutValue(text)
    return rows


def decode_text(data: bytes) -> str:
    """Decode a text file as UTF-8 (with or without BOM), else GB18030 as Chinese Excel saves."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UploadRefused("无法识别文件的文字编码，请另存为 UTF-8 编码的 CSV 或 .xlsx 文件。")


def csv_table(data: bytes, *, max_rows: int, what: str = "CSV 文件") -> list[list[str]]:
    """Return the rows of a CSV file (comma- or, as pasted from Excel, tab-separated)."""
    text = decode_text(check_size(data, what=what))
    first_line = text.split("\n", 1)[0]
    dialect = "excel-tab" if "\t" in first_line and "," not in first_line else "excel"
    rows = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), dialect), 1):
            if number > max_rows:
                raise UploadRefused(f"{what}超过{max_rows}行的上限，未予处理。")
            rows.append(row)
    except csv.Error as error:
        raise UploadRefused(f"{what}格式有误：{error}") from None
    return rows
