"""The exported archive: results, the sealed document and its seal, verifiable for years."""

import json

from survey.domain.evaluation import evaluate_sealed, subject_json
from survey.domain.numbers import format_decimal
from survey.domain.seal import seal_of, verify
from survey.services import ServiceError
from survey.services.results import SessionResults, seal_document
from survey.uploads import (
    UploadRefused,
    check_json_nesting,
    check_size,
    check_toml_nesting,
    open_zip,
    read_member,
)

ARCHIVE_MEMBER = "archive.json"
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024


def tally_json(results: SessionResults) -> list[dict]:
    """Return every subject's counts per item, pooled over the rater groups."""
    return [
        {
            "subject": row.spec.name,
            "items": {
                key: {"options": dict(sorted(counts.options.items())), "abstain": counts.abstain}
                for key, counts in row.items.items()
            },
            "score_total": None if row.score_total is None else format_decimal(row.score_total),
            "grade": row.grade,
            "band": row.band,
        }
        for row in results.subjects
    ]


def archive_document(results: SessionResults) -> dict:
    """Return the export: scores, tally, the sealed document and the seal recorded at close."""
    if results.seal is None:
        raise ServiceError("测评尚未结束封存，不能导出归档。")
    sealed = seal_document(results.session, results.ballots)
    if seal_of(sealed) != results.seal:
        # Sealed before hidden groups were merged in the document: export it as sealed.
        sealed = seal_document(results.session, results.ballots, merge=False)
    if seal_of(sealed) != results.seal:
        # The stored ballots no longer match what was sealed at close: say so, export nothing.
        raise ServiceError("数据库中的选票与结束时的封存码不一致，已停止导出，请联系管理员核查。")
    return {
        "seal": results.seal,
        "results": [subject_json(row) for row in results.subjects],
        "tally": tally_json(results),
        "received": results.received,
        "expected": results.expected,
        "team_parts": {k: format_decimal(v) for k, v in results.team_parts.items()},
        "sealed": sealed,
    }


def archive_bytes(results: SessionResults) -> bytes:
    return json.dumps(archive_document(results), ensure_ascii=False, indent=1).encode()


def verify_upload(data: bytes) -> tuple[bool, str]:
    """Check an exported archive (its JSON, or a ZIP holding archive.json) against its seal.

    Bounded before anything is expanded (survey.uploads): the ZIP's members and their sum by
    their declared sizes, archive.json by the bytes actually inflated, and the nesting depth
    of the JSON and of the rule set sealed inside it.
    """
    try:
        archive = _read_archive(data)
    except UploadRefused as refused:
        return False, str(refused)
    if archive is None:
        return False, "文件不是测评归档（无法读取 JSON）。"
    sealed_ok, message = verify(archive)
    if not sealed_ok:
        return False, message
    return _recomputed_results_agree(archive, message)


def _read_archive(data: bytes) -> dict | None:
    check_size(data, MAX_ARCHIVE_BYTES, "归档文件")
    if data[:2] == b"PK":
        try:
            with open_zip(data, what="归档 ZIP 文件") as bundle:
                data = read_member(bundle, ARCHIVE_MEMBER, MAX_ARCHIVE_BYTES, "归档 ZIP 文件")
        except KeyError:
            raise UploadRefused(f"ZIP 文件中没有 {ARCHIVE_MEMBER}，或文件已损坏。") from None
    check_json_nesting(data, what="归档文件")
    try:
        # ValueError also covers integers of more than 4,300 digits.
        archive = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(archive, dict):
        return None
    sealed = archive.get("sealed")
    ruleset = sealed.get("ruleset") if isinstance(sealed, dict) else None
    if isinstance(ruleset, dict) and isinstance(ruleset.get("content"), str):
        check_toml_nesting(ruleset["content"], what="归档中的规则集")
    return archive


def _recomputed_results_agree(archive: dict, sealed_message: str) -> tuple[bool, str]:
    """Recount the sealed ballots under the sealed rule set and compare with the results."""
    try:
        evaluation = evaluate_sealed(archive["sealed"], archive.get("team_parts") or {})
    except (KeyError, TypeError, ValueError) as error:
        return False, f"{sealed_message}；但无法据此重新计票：{error}"
    recomputed = [subject_json(row) for row in evaluation.subjects]
    if recomputed != archive.get("results"):
        return False, f"{sealed_message}；但文件中的得分与按选票重新计算的结果不一致"
    agreed = f"按封存的选票和规则集重新计票，{len(recomputed)}个测评对象的结果一致"
    return True, f"{sealed_message}；{agreed}"
