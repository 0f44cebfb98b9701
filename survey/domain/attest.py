"""The result seal, signatures and the archive manifest: pure functions, no Flask, no database.

Two seals: the close seal (survey.domain.seal) covers ballots, questionnaire, rule set and the
session facts; the result seal covers every figure a report prints (tally, rates, bands, points,
deductions, personal and final scores, team parts, close and sign-off times) and names the
close seal. A SHA-256 alone proves nothing (anyone can compute one for an archive they made
up), so both are signed with the instance's Ed25519 key (survey/services/signing.py), and an
archive ships the public key. The archivist compares the key's fingerprint with the one printed
on the papers and the one `survey keys` shows.
"""

import base64
import hashlib
import json
from collections.abc import Mapping
from fractions import Fraction

from .evaluation import Evaluation
from .numbers import format_percent
from .tally import MERGED_GROUP

RESULT_FORMAT = "survey-result-1"
MANIFEST_FORMAT = "survey-manifest-1"
SHEET_FORMAT = "survey-sheet-1"
# The sheet's signed statement sits in the PDF's XMP metadata (pdf:Keywords) in a slot of fixed
# length, so that writing it changes no other byte: the digest is taken with the slot zeroed.
PDF_MARKER = b"survey-sheet-signature:"
PDF_SLOT = 1400


def dumps(value) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text as is."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _exact(value) -> str | None:
    """An exact number as text: "37/2" or "18"; never a rounded float."""
    return None if value is None else str(Fraction(value))


def _counts(counts) -> dict | None:
    if counts is None:
        return None
    return {
        "options": {k: v for k, v in sorted(counts.options.items()) if v},
        "abstain": counts.abstain,
        "valid": counts.valid,
    }


def blank_ballots(ratings: list) -> int:
    """Count the ballots that rate nothing at all (弃权票), from each ballot's ratings."""
    return sum(1 for rated in ratings if not rated)


def result_figures(evaluation: Evaluation, blank: int = 0) -> dict:
    """Return every figure the reports print, as exact text, from an evaluation.

    blank is the number of ballots that rate nothing (blank_ballots), printed as 弃权.
    """
    tally = evaluation.tally
    received = tally.received_by_group
    subjects = []
    for row in evaluation.subjects:
        subjects.append(
            {
                "id": row.spec.id,
                "name": row.spec.name,
                "post": row.spec.post,
                "role": row.spec.role.value,
                "items": {key: _counts(c) for key, c in sorted(row.items.items())},
                "score_item": row.score_item,
                "good_or_better": row.good_or_better,
                "rate": _exact(row.rate),
                "rate_percent": None if row.rate is None else format_percent(row.rate),
                "band": row.band,
                "points": _exact(row.points),
                "deduction": _exact(row.deduction),
                "personal": _exact(row.personal),
                "final": _exact(row.final),
                "by_group": {name: _counts(c) for name, c in sorted(row.by_group.items())},
                "scored": [
                    {"key": s.key, "points": _exact(s.points), "average": _exact(s.average)}
                    for s in row.scored
                ],
                "score_total": _exact(row.score_total),
                "grade": row.grade,
                "comments": list(row.comments),
            }
        )
    total = evaluation.team_total
    return {
        "expected": tally.expected,
        "received": tally.received,
        "blank_ballots": blank,
        "groups_shown": [{"name": n, "received": received[n]} for n in evaluation.groups_shown],
        # Under the merged label, as the sealed ballots list them (merge_hidden_groups): the
        # recount of an archive sees the merged group, never the small groups' names.
        "groups_hidden": [MERGED_GROUP] if evaluation.groups_hidden else [],
        "subjects": subjects,
        "team_parts": {k: _exact(v) for k, v in sorted(evaluation.team_parts.items())},
        "team_total": None
        if total is None
        else {
            "parts": [
                {
                    "key": p.key,
                    "name": p.name,
                    "maximum": _exact(p.maximum),
                    "entered": _exact(p.entered),
                    "counted": _exact(p.counted),
                }
                for p in total.parts
            ],
            "total": _exact(total.total),
            "scaled": _exact(total.scaled),
        },
        "overall_comments": list(evaluation.overall_comments),
    }


def result_document(session_id: int, close_seal: str, signoff: Mapping, figures: Mapping) -> dict:
    """The document the result seal covers: the close seal, the sign-off facts, the figures.

    signoff holds closed_at, signed_off_at (ISO 8601 UTC), signed_off_by and
    team_parts_waived (the team's other parts declared not applicable).
    """
    return {
        "format": RESULT_FORMAT,
        "session_id": session_id,
        "close_seal": close_seal,
        "signoff": {
            "closed_at": signoff.get("closed_at"),
            "signed_off_at": signoff.get("signed_off_at"),
            "signed_off_by": signoff.get("signed_off_by"),
            "team_parts_waived": bool(signoff.get("team_parts_waived")),
        },
        "figures": dict(figures),
    }


def result_seal_of(document: Mapping) -> str:
    return sha256_hex(dumps(document).encode())


def close_statement(session_id: int, close_seal: str) -> bytes:
    """What the close signature signs: the seal and the session it belongs to."""
    return f"survey-close-seal-1\n{session_id}\n{close_seal}\n".encode()


def result_statement(session_id: int, close_seal: str, result_seal: str) -> bytes:
    """What the result signature signs: both seals, so neither can be paired with another."""
    return f"survey-result-seal-1\n{session_id}\n{close_seal}\n{result_seal}\n".encode()


# --- the archive manifest -----------------------------------------------------------------


def manifest(
    session_id: int,
    close_seal: str,
    result_seal: str | None,
    generated_at: str,
    files: Mapping[str, bytes],
    sheets: Mapping[str, int],
) -> dict:
    """List every file of an archive with its SHA-256, and which subject each sheet is for."""
    return {
        "format": MANIFEST_FORMAT,
        "session_id": session_id,
        "close_seal": close_seal,
        "result_seal": result_seal,
        "generated_at": generated_at,
        "files": {name: sha256_hex(data) for name, data in sorted(files.items())},
        "sheets": dict(sorted(sheets.items())),
    }


# --- a sheet PDF that verifies on its own -----------------------------------------------


def pdf_placeholder() -> str:
    """The XMP keywords text a sheet is laid out with; the signature replaces the zeros."""
    return PDF_MARKER.decode() + "0" * PDF_SLOT


def _slot(pdf: bytes) -> int:
    at = pdf.find(PDF_MARKER)
    if at < 0 or pdf.find(PDF_MARKER, at + 1) >= 0:
        raise ValueError("PDF 中没有（或有多处）结果单签名")
    start = at + len(PDF_MARKER)
    if len(pdf) < start + PDF_SLOT:
        raise ValueError("PDF 中的结果单签名不完整")
    return start


def pdf_digest(pdf: bytes) -> str:
    """SHA-256 of the PDF with its signature slot zeroed: every other byte counts."""
    start = _slot(pdf)
    return sha256_hex(pdf[:start] + b"0" * PDF_SLOT + pdf[start + PDF_SLOT :])


def sheet_statement(payload: Mapping) -> bytes:
    """What a sheet's signature signs: its payload without the signature itself."""
    return dumps({k: v for k, v in payload.items() if k != "signature"}).encode()


def write_pdf_signature(pdf: bytes, payload: Mapping) -> bytes:
    """Put the signed payload into the slot; it must fit (base64 of canonical JSON)."""
    start = _slot(pdf)
    text = base64.b64encode(dumps(payload).encode())
    if len(text) > PDF_SLOT:
        raise ValueError("结果单签名超出预留长度")
    return pdf[:start] + text.ljust(PDF_SLOT, b"*") + pdf[start + PDF_SLOT :]


def read_pdf_signature(pdf: bytes) -> dict:
    """Return the payload stored in a sheet's slot; raise ValueError if there is none."""
    start = _slot(pdf)
    raw = pdf[start : start + PDF_SLOT].rstrip(b"*")
    if not raw.strip(b"0"):
        raise ValueError("结果单未签名")
    try:
        payload = json.loads(base64.b64decode(raw, validate=True).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ValueError("结果单签名无法读取") from None
    if not isinstance(payload, dict) or payload.get("format") != SHEET_FORMAT:
        raise ValueError("结果单签名格式无法识别")
    return payload
