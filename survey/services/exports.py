"""What a closed session can be exported as; shared by the download pages and `survey export`."""

import re
from dataclasses import dataclass

from survey.services import ServiceError
from survey.services.archive import archive_bytes
from survey.services.results import SessionResults


@dataclass(frozen=True)
class ExportKind:
    label: str
    mimetype: str
    suffix: str


EXPORT_KINDS = {
    "json": ExportKind("归档数据（JSON，可校验）", "application/json", ".json"),
    "xlsx": ExportKind(
        "统计表（Excel）",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".xlsx",
    ),
    "pdf": ExportKind("汇报测评报告（PDF）", "application/pdf", ".pdf"),
    "zip": ExportKind("廉政档案结果单（ZIP）", "application/zip", ".zip"),
}


def build_export(results: SessionResults, kind: str) -> bytes:
    """Return the bytes of one export of a closed session."""
    if kind not in EXPORT_KINDS:
        raise ServiceError(f"不支持的导出格式：{kind}")
    if kind == "json":
        return archive_bytes(results)
    if kind == "xlsx":
        from survey.reports.xlsx import tally_workbook

        return tally_workbook(results)
    if kind == "pdf":
        from survey.reports.pdf import session_report

        return session_report(results)
    from survey.reports.archive import archive_zip

    return archive_zip(results, archive_bytes(results))


def export_filename(results: SessionResults, kind: str) -> str:
    """Name the file after the session, without characters file systems refuse."""
    session = results.session
    title = re.sub(r'[\\/:*?"<>|\s]+', "_", session.title)[:60]
    return f"测评{session.id}-{title}{EXPORT_KINDS[kind].suffix}"
