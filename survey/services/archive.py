"""The exported archive and its verification, for years after the meeting.

archive.json holds the figures, the sealed document (ballots, questionnaire, rule set, facts)
and the attestation (both seals, their Ed25519 signatures, the public key). Verification
trusts nothing the file says about itself: it checks the signatures against a trusted key,
recounts every figure from the sealed ballots under the sealed rule set, recomputes both
seals, checks every file of a ZIP against the signed manifest and every PDF's own signature,
and, when the archive was signed by this instance, compares with the seals recorded here.
"""

import json
from dataclasses import dataclass, field

from survey.domain.attest import (
    close_statement,
    pdf_digest,
    read_pdf_signature,
    result_document,
    result_seal_of,
    result_statement,
    sha256_hex,
    sheet_statement,
)
from survey.domain.evaluation import evaluate_sealed, subject_json
from survey.domain.numbers import format_decimal
from survey.domain.seal import SEAL_FORMAT, seal_of
from survey.services import ServiceError
from survey.services.results import SessionResults
from survey.services.signing import fingerprint, signature_valid
from survey.uploads import (
    UploadRefused,
    check_json_nesting,
    check_size,
    check_toml_nesting,
    open_zip,
    read_member,
)

ARCHIVE_MEMBER = "archive.json"
ARCHIVE_FORMAT = "survey-archive-2"
MANIFEST_NAME = "MANIFEST.json"
MANIFEST_SIGNATURE_NAME = "MANIFEST.sig"
PUBLIC_KEY_NAME = "public_key.pem"
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024


def _exact_text(value) -> str | None:
    """A terminating decimal as "86.5"; an average like 260/3 as its exact fraction."""
    if value is None:
        return None
    try:
        return format_decimal(value)
    except ValueError:
        return f"{value.numerator}/{value.denominator}"


def tally_json(results) -> list[dict]:
    """Return every subject's counts per item, pooled over the rater groups."""
    return [
        {
            "subject": row.spec.name,
            "items": {
                key: {"options": dict(sorted(counts.options.items())), "abstain": counts.abstain}
                for key, counts in row.items.items()
            },
            "score_total": _exact_text(row.score_total),
            "grade": row.grade,
            "band": row.band,
        }
        for row in results.subjects
    ]


def archive_document(results: SessionResults) -> dict:
    """Return the export: figures, tally, the sealed document and the signed attestation."""
    from survey.services.signoff import attestation, sealed_figures, sealed_of, team_parts_text

    if results.seal is None:
        raise ServiceError("测评尚未结束封存，不能导出归档。")
    sealed = sealed_of(results)
    parts = team_parts_text(results)
    figures = sealed_figures(sealed, parts)
    return {
        "format": ARCHIVE_FORMAT,
        "seal": results.seal,
        "results": [subject_json(row) for row in results.subjects],
        "tally": tally_json(results),
        "received": results.received,
        "expected": results.expected,
        "team_parts": parts,
        "figures": figures,
        "attestation": attestation(results, sealed, figures),
        "sealed": sealed,
    }


def archive_bytes(results: SessionResults) -> bytes:
    return readable_json(archive_document(results)).encode()


def readable_json(value, depth: int = 0) -> str:
    """JSON a person can read: objects and lists opened one entry a line down to the ballots,
    each ballot (or any object or list of plain values) on one line of its own.

    json.dumps with indent runs Python's own encoder over every value (about 0.4 s for 1,000
    ballots); one line per ballot lets the C encoder write them, and reads as well.
    """
    pad, inner = " " * depth, " " * (depth + 1)
    compact = {"ensure_ascii": False, "separators": (", ", ": ")}
    if isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
        if depth >= 2 and _flat(value):
            return json.dumps(value, **compact)
        entries = [
            f"{inner}{json.dumps(key, ensure_ascii=False)}: {readable_json(item, depth + 1)}"
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(entries) + f"\n{pad}}}" if entries else "{}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        entries = [f"{inner}{readable_json(item, depth + 1)}" for item in value]
        return "[\n" + ",\n".join(entries) + f"\n{pad}]"
    return json.dumps(value, **compact)


def _flat(value: dict) -> bool:
    """An object whose values hold no list of objects: short enough for one line."""
    return not any(
        isinstance(item, list)
        and any(isinstance(v, dict) for v in item)
        or isinstance(item, dict)
        and not _flat(item)
        for item in value.values()
    )


# --- verification ----------------------------------------------------------------------


@dataclass
class Verdict:
    """What a verification found: each failure, and what was checked and held."""

    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.checked)

    def fail(self, reason: str) -> None:
        if reason not in self.failures:
            self.failures.append(reason)

    def held(self, what: str) -> None:
        self.checked.append(what)

    @property
    def headline(self) -> str:
        if self.ok:
            return "通过"
        return f"未通过（{len(self.failures) or 1} 项问题）"

    @property
    def text(self) -> str:
        """One verdict line, then each reason (or what was checked)."""
        lines = [self.headline]
        if not self.ok:
            lines += [f"  ✗ {reason}" for reason in self.failures or ["没有可校验的内容"]]
        lines += [f"  ✓ {what}" for what in self.checked]
        return "\n".join(lines)


@dataclass
class Trust:
    """The keys an archive may be signed with, and this instance's own (for the seals here)."""

    fingerprints: set[str]
    instance_fingerprint: str | None = None
    # Compare with the seals recorded here (the CLI and signed-in staff; not anonymous visitors,
    # to whom the open /verify page reveals nothing about this instance's sessions).
    compare_records: bool = True


def instance_trust(extra_keys: list[bytes] = (), *, compare_records: bool = True) -> Trust:
    """Trust this instance's key and any public keys the archivist supplies."""
    from survey.services.signing import instance_fingerprint

    own = instance_fingerprint()
    found = {own}
    for pem in extra_keys:
        try:
            found.add(fingerprint(pem))
        except ValueError:
            raise ServiceError("提供的公钥文件不是 Ed25519 公钥（PEM）。") from None
    return Trust(found, own, compare_records)


def verify_upload(data: bytes, trust: Trust | None = None) -> Verdict:
    """Check an exported archive: its JSON, the ZIP, or a single signed PDF.

    Bounded before anything is expanded (survey.uploads): the ZIP's members and their sum by
    their declared sizes, each member by the bytes actually inflated, and the nesting depth
    of the JSON and of the rule set sealed inside it.
    """
    trust = trust or instance_trust()
    verdict = Verdict()
    try:
        check_size(data, MAX_ARCHIVE_BYTES, "归档文件")
        if data[:2] == b"PK":
            _verify_zip(data, trust, verdict)
        elif data[:5] == b"%PDF-":
            _verify_pdf(data, trust, verdict, "PDF 文件")
        else:
            archive = _read_json(data)
            if archive is None:
                verdict.fail("文件不是测评归档（既不是 JSON、ZIP，也不是结果单 PDF）。")
                return verdict
            _verify_archive(archive, trust, verdict)
    except UploadRefused as refused:
        verdict.fail(str(refused))
    return verdict


def _read_json(data: bytes) -> dict | None:
    """Parse archive.json within bounds; None when it is not a JSON object."""
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


def _trusted_key(
    pem: bytes | str | None, trust: Trust, verdict: Verdict, where: str
) -> bytes | None:
    """Return the key if it is one the archivist trusts; otherwise record why not."""
    if isinstance(pem, str):
        pem = pem.encode()
    if not pem:
        verdict.fail(f"{where}没有签名公钥。")
        return None
    try:
        print_ = fingerprint(pem)
    except ValueError:
        verdict.fail(f"{where}的签名公钥无法读取。")
        return None
    if print_ not in trust.fingerprints:
        verdict.fail(
            f"{where}的签名公钥（指纹 {print_}）不是本平台或所提供的公钥"
            f"（本平台指纹 {trust.instance_fingerprint}）：签名不可信。"
        )
        return None
    return pem


def _verify_archive(archive, trust: Trust, verdict: Verdict) -> dict | None:
    """Check archive.json; return its attestation when the signatures hold."""
    if not isinstance(archive, dict) or not isinstance(archive.get("sealed"), dict):
        verdict.fail("文件不是测评归档：缺少 sealed 字段。")
        return None
    sealed = archive["sealed"]
    if sealed.get("format") != SEAL_FORMAT:
        verdict.fail("归档的封存内容格式无法识别。")
        return None
    attest = archive.get("attestation")
    if not isinstance(attest, dict):
        verdict.fail("归档没有签名信息（attestation），无法证明出自本平台。")
        attest = {}
    close_seal = seal_of(sealed)
    session_id = (sealed.get("session") or {}).get("id")
    if close_seal != archive.get("seal") or close_seal != attest.get("close_seal"):
        verdict.fail(
            f"结束封存码不符：按封存内容计算为 {close_seal}，文件所记为 {archive.get('seal')}。"
        )
    else:
        verdict.held(f"结束封存码 {close_seal} 与封存的选票、测评表、规则集一致")
    pem = _trusted_key(attest.get("public_key"), trust, verdict, "归档")
    if pem is not None:
        if signature_valid(
            pem,
            close_statement(session_id, attest.get("close_seal")),
            attest.get("close_signature"),
        ):
            verdict.held("结束封存码的签名有效")
        else:
            verdict.fail("结束封存码的签名无效：封存码或选票在签名后被改动，或签名是伪造的。")
    _recount(archive, sealed, attest, pem, close_seal, verdict)
    _compare_with_instance(session_id, attest, pem, trust, verdict)
    return attest


def _recount(archive, sealed, attest, pem, close_seal, verdict: Verdict) -> None:
    """Recount from the sealed ballots and compare with every figure the archive prints."""
    from survey.services.signoff import sealed_figures

    team_parts = archive.get("team_parts") or {}
    try:
        evaluation = evaluate_sealed(sealed, team_parts)
        figures = sealed_figures(sealed, team_parts)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        verdict.fail(f"无法按封存的选票和规则集重新计票：{error}")
        return
    session_id = sealed["session"].get("id")
    mismatches = _differences(archive, evaluation, figures)
    for reason in mismatches:
        verdict.fail(reason)
    if not mismatches:
        verdict.held(
            f"按封存的选票和规则集重新计票，{len(evaluation.subjects)}个测评对象的"
            "全部数字与归档一致"
        )
    claimed = attest.get("result_seal")
    if not claimed:
        verdict.fail("归档未经考核组签发：没有结果封存码。")
        return
    document = result_document(session_id, close_seal, attest, figures)
    recomputed = result_seal_of(document)
    if recomputed != claimed:
        verdict.fail(
            f"结果封存码不符：按重新计票的数字、时间和其他考核部分计算为 {recomputed}，"
            f"签发时为 {claimed}（数字、其他考核部分得分或时间被改动）。"
        )
    else:
        verdict.held(f"结果封存码 {claimed} 与重新计票的全部数字一致")
    if pem is not None:
        statement = result_statement(session_id, attest.get("close_seal"), claimed)
        if signature_valid(pem, statement, attest.get("result_signature")):
            verdict.held("结果封存码的签名有效")
        else:
            verdict.fail("结果封存码的签名无效：签发后被改动，或签名是伪造的。")


def _differences(archive, evaluation, figures) -> list[str]:
    found = []
    if archive.get("received") != evaluation.tally.received:
        found.append(
            f"收回份数不符：归档为 {archive.get('received')}，选票为 {evaluation.tally.received}。"
        )
    if archive.get("expected") != evaluation.tally.expected:
        expected = evaluation.tally.expected
        found.append(f"应到人数不符：归档为 {archive.get('expected')}，封存信息为 {expected}。")
    if archive.get("results") != [subject_json(row) for row in evaluation.subjects]:
        found.append("得分表（results）与按选票重新计算的结果不一致。")
    if archive.get("tally") != tally_json(evaluation):
        found.append("计票表（tally：票数、分档、等次）与按选票重新计数的结果不一致。")
    printed = archive.get("figures")
    if printed != figures:
        names = []
        if isinstance(printed, dict) and isinstance(printed.get("subjects"), list):
            for mine, theirs in zip(figures["subjects"], printed["subjects"], strict=False):
                if mine != theirs:
                    names.append(mine["name"])
            other = [k for k in figures if k != "subjects" and figures[k] != printed.get(k)]
            names += other
        which = "、".join(names) if names else "整体"
        found.append(f"归档所列数字（figures）与重新计票不一致：{which}。")
    return found


def _compare_with_instance(session_id, attest, pem, trust: Trust, verdict: Verdict) -> None:
    """When this instance signed the archive, compare with the seals it recorded."""
    if pem is None or fingerprint(pem) != trust.instance_fingerprint:
        return
    if not trust.compare_records:
        verdict.held("未与本平台登记的封存码比对（登录后校验会比对）")
        return
    from survey.extensions import db
    from survey.models import EvalSession

    if not isinstance(session_id, int):
        return
    session = db.session.get(EvalSession, session_id)
    if session is None:
        verdict.held(f"本平台已无编号 {session_id} 的测评记录，未与登记的封存码比对")
        return
    if session.seal != attest.get("close_seal"):
        verdict.fail("与本平台结束时登记的封存码不符。")
    else:
        verdict.held("与本平台结束时登记的封存码一致")
    if session.result_seal is not None:
        if session.result_seal != attest.get("result_seal"):
            verdict.fail("与本平台签发时登记的结果封存码不符。")
        else:
            verdict.held("与本平台签发时登记的结果封存码一致")


def _verify_pdf(
    data: bytes,
    trust: Trust,
    verdict: Verdict,
    where: str,
    *,
    expect: dict | None = None,
) -> dict | None:
    """Check a signed PDF on its own: digest, signature, key; and what the ZIP says it is."""
    try:
        payload = read_pdf_signature(data)
        digest = pdf_digest(data)
    except ValueError as error:
        verdict.fail(f"{where}：{error}。")
        return None
    if digest != payload.get("digest"):
        verdict.fail(f"{where}：文件内容在签名后被改动（摘要不符）。")
        return None
    pem = _trusted_key(payload.get("public_key"), trust, verdict, where)
    if pem is None:
        return None
    if not signature_valid(pem, sheet_statement(payload), payload.get("signature")):
        verdict.fail(f"{where}：签名无效。")
        return None
    for key, wanted in (expect or {}).items():
        if payload.get(key) != wanted:
            verdict.fail(
                f"{where}：所载{_LABELS.get(key, key)}为 {payload.get(key)}，应为 {wanted}。"
            )
            return None
    if not payload.get("result_seal"):
        verdict.fail(f"{where}：结果未经考核组签发，没有结果封存码。")
    name = payload.get("subject") or "测评结果报告"
    verdict.held(f"{where}（{name}）的签名有效，内容未被改动")
    if expect is None:
        _compare_with_instance(payload.get("session_id"), payload, pem, trust, verdict)
    return payload


_LABELS = {
    "subject_id": "测评对象编号",
    "session_id": "测评编号",
    "close_seal": "结束封存码",
    "result_seal": "结果封存码",
}


def _verify_zip(data: bytes, trust: Trust, verdict: Verdict) -> None:
    with open_zip(
        data,
        member_limit=MAX_ARCHIVE_BYTES,
        total_limit=MAX_ARCHIVE_BYTES,
        what="归档 ZIP 文件",
    ) as bundle:
        members = {
            info.filename: read_member(bundle, info.filename, MAX_ARCHIVE_BYTES, "归档 ZIP 文件")
            for info in bundle.infolist()
        }
    missing = [
        name
        for name in (ARCHIVE_MEMBER, MANIFEST_NAME, MANIFEST_SIGNATURE_NAME, PUBLIC_KEY_NAME)
        if name not in members
    ]
    if ARCHIVE_MEMBER in missing:
        verdict.fail(f"ZIP 文件中没有 {ARCHIVE_MEMBER}。")
        return
    if missing:
        verdict.fail(f"ZIP 文件中缺少 {'、'.join(missing)}：无法核对文件清单和签名。")
    pem = _trusted_key(members.get(PUBLIC_KEY_NAME), trust, verdict, "ZIP")
    listed = _manifest(members, pem, verdict)
    archive = _read_json(members[ARCHIVE_MEMBER])
    if archive is None:
        verdict.fail(f"{ARCHIVE_MEMBER} 无法读取。")
        return
    attest = _verify_archive(archive, trust, verdict)
    if attest is not None and pem is not None and attest.get("public_key", "").encode() != pem:
        verdict.fail("archive.json 与 ZIP 所附的签名公钥不同。")
    if listed is None:
        return
    for key, label in (("close_seal", "结束封存码"), ("result_seal", "结果封存码")):
        if attest is not None and listed.get(key) != attest.get(key):
            verdict.fail(f"文件清单中的{label}与 archive.json 不同。")
    seals = {"close_seal": listed.get("close_seal"), "result_seal": listed.get("result_seal")}
    sheets = listed.get("sheets") or {}
    for name, content in members.items():
        if not name.lower().endswith(".pdf"):
            continue
        expect = dict(seals, session_id=listed.get("session_id"))
        expect["subject_id"] = sheets.get(name)
        _verify_pdf(content, trust, verdict, name, expect=expect)


def _manifest(members: dict[str, bytes], pem: bytes | None, verdict: Verdict) -> dict | None:
    """Check the manifest's signature and every file's SHA-256 against it."""
    raw = members.get(MANIFEST_NAME)
    if raw is None:
        return None
    signature = members.get(MANIFEST_SIGNATURE_NAME, b"").decode("ascii", "replace").strip()
    if pem is not None:
        if signature_valid(pem, raw, signature):
            verdict.held("文件清单的签名有效")
        else:
            verdict.fail("文件清单（MANIFEST.json）的签名无效：清单被改动或签名是伪造的。")
    try:
        listed = json.loads(raw.decode("utf-8"))
        files = dict(listed["files"])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        verdict.fail("文件清单无法读取。")
        return None
    present = {n for n in members if n not in (MANIFEST_NAME, MANIFEST_SIGNATURE_NAME)}
    bad = False
    for name in sorted(present - set(files)):
        verdict.fail(f"ZIP 中的 {name} 不在文件清单中。")
        bad = True
    for name in sorted(set(files) - present):
        verdict.fail(f"文件清单中的 {name} 不在 ZIP 中。")
        bad = True
    for name in sorted(present & set(files)):
        if sha256_hex(members[name]) != files[name]:
            verdict.fail(f"{name} 与文件清单中的 SHA-256 不符：文件被改动或被替换。")
            bad = True
    if not bad:
        verdict.held(f"ZIP 中 {len(files)} 个文件的 SHA-256 与文件清单一致")
    return listed
