"""Bounded readers for uploaded files: know what a file expands to before reading it.

A few kilobytes of ZIP can inflate to gigabytes, a tiny XLSX can declare a million-row sheet
or a 400 MB shared-strings part, and a few kilobytes of JSON or TOML can nest deep enough to
exhaust the parser's recursion. Every upload (roster, 述责述廉 report, rule set, archive for
/verify, `survey score` sheet) goes through here, so each is checked against stated limits
*before* it is expanded, and refused with a Chinese message that names the limit.

How the ZIP checks hold even when headers lie:
- the number of entries is bounded by counting central-directory signatures in the raw bytes,
  before `zipfile` builds one object per entry;
- each member's declared size (`ZipInfo.file_size`) and their sum are checked before any is
  opened; `zipfile` itself never inflates past the declared size (it truncates and then fails
  the CRC), and our own reader counts the bytes it actually inflates, chunk by chunk;
- only STORED and DEFLATED members are read: bzip2/LZMA decompress a whole chunk at once,
  without an output bound.
"""

import io
import re
import zipfile
import zlib

from survey.services import ServiceError

MB = 1024 * 1024

MAX_UPLOAD_BYTES = 8 * MB  # the request itself (MAX_CONTENT_LENGTH) is no larger
MAX_ZIP_MEMBERS = 1000
MAX_MEMBER_BYTES = 50 * MB
MAX_TOTAL_BYTES = 50 * MB
# An XLSX's shared strings and sheets are parsed into Python objects, several times their size.
MAX_XLSX_PART_BYTES = 20 * MB
MAX_XLSX_COLUMNS = 50
MAX_XLSX_CELLS = 200_000
MAX_NESTING = 32
CHUNK = 64 * 1024

_CENTRAL_DIRECTORY = b"PK\x01\x02"
_READABLE = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class UploadRefused(ServiceError):
    """A file refused before it is expanded; the message names the limit it broke."""

    status = 400


def size_text(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{max(1, n // 1024)} KB"


def check_size(data: bytes, limit: int = MAX_UPLOAD_BYTES, what: str = "文件") -> bytes:
    if len(data) > limit:
        raise UploadRefused(f"{what}超过{size_text(limit)}的上限，未予处理。")
    return data


# ---- ZIP ----------------------------------------------------------------------------------


def open_zip(
    data: bytes,
    *,
    member_limit: int = MAX_MEMBER_BYTES,
    total_limit: int = MAX_TOTAL_BYTES,
    what: str = "压缩文件",
    corrupt: str = "",
) -> zipfile.ZipFile:
    """Open a ZIP only after its entry count, member sizes and total size are within limits."""
    check_size(data, what=what)
    if data.count(_CENTRAL_DIRECTORY) > MAX_ZIP_MEMBERS:
        raise UploadRefused(f"{what}中的文件超过{MAX_ZIP_MEMBERS}个的上限，未予处理。")
    try:
        bundle = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise UploadRefused(corrupt or f"{what}已损坏或不是 ZIP 格式。") from None
    try:
        check_zip(bundle, member_limit=member_limit, total_limit=total_limit, what=what)
    except UploadRefused:
        bundle.close()
        raise
    return bundle


def check_zip(bundle: zipfile.ZipFile, *, member_limit: int, total_limit: int, what: str) -> None:
    infos = bundle.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UploadRefused(f"{what}中的文件超过{MAX_ZIP_MEMBERS}个的上限，未予处理。")
    total = 0
    for info in infos:
        if info.compress_type not in _READABLE:
            raise UploadRefused(f"{what}使用了不支持的压缩方式，请用常规 ZIP（Deflate）压缩。")
        if info.file_size > member_limit:
            raise UploadRefused(
                f"{what}中的“{info.filename[:60]}”解压后为{size_text(info.file_size)}，"
                f"超过单个文件{size_text(member_limit)}的上限，未予处理。"
            )
        total += info.file_size
        if total > total_limit:
            raise UploadRefused(f"{what}解压后总大小超过{size_text(total_limit)}的上限，未予处理。")


def read_member(
    bundle: zipfile.ZipFile, name: str, limit: int = MAX_MEMBER_BYTES, what: str = "压缩文件"
) -> bytes:
    """Inflate one member in bounded chunks, counting the bytes actually produced."""
    too_big = UploadRefused(
        f"{what}中的“{name[:60]}”解压后超过{size_text(limit)}的上限，未予处理。"
    )
    info = bundle.getinfo(name)  # KeyError for a missing member: the caller names it
    if info.file_size > limit or info.compress_type not in _READABLE:
        raise too_big
    out = bytearray()
    try:
        with bundle.open(info) as member:
            while chunk := member.read(CHUNK):
                out += chunk
                if len(out) > limit:
                    raise too_big
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, RuntimeError):
        # A bad CRC (also what a member longer than its header says ends in), a broken
        # deflate stream, an encrypted member.
        raise UploadRefused(f"{what}中的“{name[:60]}”已损坏，无法读取。") from None
    return bytes(out)


# ---- XLSX ---------------------------------------------------------------------------------


def xlsx_rows(
    data: bytes,
    *,
    max_rows: int,
    max_columns: int = MAX_XLSX_COLUMNS,
    what: str = "XLSX 文件",
    data_only: bool = True,
) -> list[list[object]]:
    """Return the first sheet's values, at most max_rows rows of max_columns cells.

    Refuses before openpyxl sees the file when a part would expand past its limit. openpyxl
    reads each part with `ZipFile.read`, which never inflates past the declared size, so the
    declared sizes checked here bound what it can allocate. Rows and columns are capped
    explicitly: a read-only sheet pads to the size its <dimension> element declares.
    """
    unreadable = (
        f"无法读取 {what}：文件已损坏或不是 Excel 工作簿，请用 Excel 打开后另存为 .xlsx 再试。"
    )
    bundle = open_zip(
        data,
        member_limit=MAX_XLSX_PART_BYTES,
        total_limit=MAX_TOTAL_BYTES,
        what=what,
        corrupt=unreadable,
    )
    bundle.close()
    from openpyxl import load_workbook

    # A damaged workbook can make openpyxl (and zlib under it) raise almost anything.
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except Exception as exc:  # noqa: BLE001
        raise UploadRefused(unreadable) from exc
    try:
        if not workbook.worksheets:
            raise UploadRefused(unreadable)
        sheet = workbook.worksheets[0]
        rows: list[list[object]] = []
        cells = 0
        for values in sheet.iter_rows(
            min_row=1, max_row=max_rows, min_col=1, max_col=max_columns, values_only=True
        ):
            row = list(values)
            while row and row[-1] is None:
                row.pop()
            cells += len(row)
            if cells > MAX_XLSX_CELLS:
                raise UploadRefused(f"{what}的单元格超过{MAX_XLSX_CELLS}个的上限，未予处理。")
            rows.append(row)
        while rows and not rows[-1]:
            rows.pop()
        return rows
    except UploadRefused:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UploadRefused(unreadable) from exc
    finally:
        workbook.close()


# ---- nesting (JSON, TOML) -----------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[^\[\]{}]+")
_INNERMOST = re.compile(rb"[\[{][\]}]")


def check_json_nesting(data: bytes, limit: int = MAX_NESTING, what: str = "JSON 文件") -> None:
    """Refuse JSON nested deeper than limit, without recursion and at C speed.

    Strings are removed (they may hold brackets), then innermost bracket pairs are peeled
    off `limit` times; anything left is deeper than the limit (or unbalanced, which the
    parser would refuse anyway).
    """
    brackets = _BRACKETS.sub(b"", _JSON_STRING.sub(b"", data))
    for _ in range(limit):
        if not brackets:
            return
        peeled = _INNERMOST.sub(b"", brackets)
        if peeled == brackets:
            break
        brackets = peeled
    if brackets:
        raise UploadRefused(f"{what}嵌套超过{limit}层的上限（或括号不配对），未予处理。")


def check_toml_nesting(text: str, limit: int = MAX_NESTING, what: str = "TOML 文件") -> None:
    """Refuse TOML whose arrays and inline tables nest deeper than limit.

    A linear scan that skips strings and comments (rule files are small). Table headers
    like [[parts]] count as two levels on their own line, which is far below the limit.
    """
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "\"'":
            triple = text.startswith(ch * 3, i)
            quote = ch * 3 if triple else ch
            j = i + len(quote)
            while j < n:
                if ch == '"' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if not triple and text[j] == "\n":
                    break  # an unterminated string: the parser will say so
                j += 1
            i = j + len(quote)
            continue
        if ch in "[{":
            depth += 1
            if depth > limit:
                raise UploadRefused(f"{what}嵌套超过{limit}层的上限，未予处理。")
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
