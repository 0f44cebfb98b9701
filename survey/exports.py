"""What a closed session can be exported as; shared by the download pages and `survey export`.

It sits above services and reports, like web and cli which call it: services compute and
sign, reports lay the documents out, this module puts them together. Every PDF carries a
signed statement in a slot of its metadata (survey/domain/attest.py), so a single sheet
verifies on its own; the ZIP carries the public key and a signed manifest with the SHA-256
of every file in it.
"""

import json
import re
from dataclasses import dataclass

from survey.domain.attest import (
    SHEET_FORMAT,
    manifest,
    pdf_digest,
    sheet_statement,
    write_pdf_signature,
)
from survey.services import ServiceError
from survey.services.archive import (
    MANIFEST_NAME,
    MANIFEST_SIGNATURE_NAME,
    PUBLIC_KEY_NAME,
    archive_bytes,
)
from survey.services.results import SessionResults, SubjectResult
from survey.services.signing import public_pem, sign
from survey.services.signoff import iso_utc


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


def sign_pdf(results: SessionResults, pdf: bytes, subject: SubjectResult | None = None) -> bytes:
    """Write the signed statement (seals, subject, digest of every other byte) into a PDF."""
    session = results.session
    payload = {
        "format": SHEET_FORMAT,
        "document": "sheet" if subject is not None else "report",
        "session_id": session.id,
        "subject_id": subject.spec.id if subject is not None else None,
        "subject": subject.spec.name if subject is not None else None,
        "close_seal": session.seal,
        "result_seal": session.result_seal,
        "generated_at": iso_utc(results.generated_at),
        "digest": pdf_digest(pdf),
        "public_key": public_pem().decode(),
    }
    payload["signature"] = sign(sheet_statement(payload))
    return write_pdf_signature(pdf, payload)


def signed_sheet(results: SessionResults, subject: SubjectResult) -> bytes:
    from survey.reports.archive import subject_sheet

    return sign_pdf(results, subject_sheet(results, subject), subject)


def archive_zip(results: SessionResults) -> bytes:
    """Every subject's signed sheet, the report, the workbook, archive.json, the public key,
    and the manifest of them all with its signature."""
    from survey.reports.archive import (
        ARCHIVE_JSON_NAME,
        WORKBOOK_NAME,
        archive_documents,
        zip_bytes,
    )
    from survey.reports.xlsx import tally_workbook

    archive_json = archive_bytes(results)  # refuses first if the database disagrees with a seal
    rows = {row.spec.id: row for row in results.subjects}
    files: dict[str, bytes] = {}
    sheets: dict[str, int] = {}
    for name, pdf, subject_id in archive_documents(results):
        files[name] = sign_pdf(results, pdf, rows.get(subject_id))
        if subject_id is not None:
            sheets[name] = subject_id
    files[WORKBOOK_NAME] = tally_workbook(results)
    files[ARCHIVE_JSON_NAME] = archive_json
    files[PUBLIC_KEY_NAME] = public_pem()
    session = results.session
    listed = manifest(
        session.id,
        session.seal,
        session.result_seal,
        iso_utc(results.generated_at),
        files,
        sheets,
    )
    listed_bytes = json.dumps(listed, ensure_ascii=False, indent=1).encode()
    members = [
        *files.items(),
        (MANIFEST_NAME, listed_bytes),
        (MANIFEST_SIGNATURE_NAME, sign(listed_bytes).encode()),
    ]
    return zip_bytes(results, members)


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

        return sign_pdf(results, session_report(results))
    return archive_zip(results)


def export_filename(results: SessionResults, kind: str) -> str:
    """Name the file after the session, without characters file systems refuse."""
    session = results.session
    title = re.sub(r'[\\/:*?"<>|\s]+', "_", session.title)[:60]
    return f"测评{session.id}-{title}{EXPORT_KINDS[kind].suffix}"
