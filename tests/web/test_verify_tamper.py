"""An archivist's verification: every kind of change to a signed archive is caught, one at a time.

The session is the one of tests/reports (known votes, team parts entered, finals computed),
signed off through the results page and downloaded as people do; each case changes one thing
in a fresh copy of the ZIP (or of one sheet) and runs `survey verify` on it.
"""

import base64
import io
import json
import shutil
import subprocess
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from survey.domain.attest import (
    blank_ballots,
    close_statement,
    manifest,
    pdf_digest,
    read_pdf_signature,
    result_document,
    result_figures,
    result_seal_of,
    result_statement,
    sha256_hex,
    sheet_statement,
    write_pdf_signature,
)
from survey.domain.evaluation import evaluate_sealed, subject_json
from survey.domain.seal import seal_of
from survey.extensions import db
from survey.services.archive import (
    ARCHIVE_MEMBER,
    MANIFEST_NAME,
    MANIFEST_SIGNATURE_NAME,
    PUBLIC_KEY_NAME,
    tally_json,
)
from tests.conftest import TEST_PASSWORD, csrf_token_from, login, requirement_missing
from tests.reports.test_results_reports import pdf_text, results  # noqa: F401

SHEET = "03-李华-廉政档案.pdf"
OTHER_SHEET = "02-张明-廉政档案.pdf"


@pytest.fixture
def signed(client, results):  # noqa: F811
    """Sign off through the results page; return the session and the downloaded ZIP."""
    session = results.session
    assert login(client, session.owner.username, TEST_PASSWORD).status_code == 302
    page = client.get(f"/sessions/{session.id}/results").get_data(as_text=True)
    response = client.post(
        f"/sessions/{session.id}/results/sign-off", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302
    db.session.refresh(session)
    assert session.result_seal
    download = client.get(f"/sessions/{session.id}/results/download/zip")
    assert download.status_code == 200
    return session, download.get_data()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def rezip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def run_verify(runner, tmp_path, data: bytes, name: str = "archive.zip", *keys: str):
    path = tmp_path / name
    path.write_bytes(data)
    args = ["verify", str(path)]
    for key in keys:
        args += ["--key", key]
    result = runner.invoke(args=args)
    lines = result.output.splitlines()
    return result.exit_code, lines[0] if lines else "", result.output


def edit_archive(members: dict[str, bytes], change) -> dict[str, bytes]:
    archive = json.loads(members[ARCHIVE_MEMBER])
    change(archive)
    return {**members, ARCHIVE_MEMBER: json.dumps(archive, ensure_ascii=False).encode()}


def relist(members: dict[str, bytes]) -> dict[str, bytes]:
    """What a forger without the key can do: list the new hashes (the signature stays old)."""
    listed = json.loads(members[MANIFEST_NAME])
    listed["files"] = {
        n: sha256_hex(d)
        for n, d in members.items()
        if n not in (MANIFEST_NAME, MANIFEST_SIGNATURE_NAME)
    }
    return {**members, MANIFEST_NAME: json.dumps(listed, ensure_ascii=False).encode()}


def recount_with_parts(archive: dict, parts: dict[str, str]) -> None:
    """Forge the team's other parts and recompute every figure and the result seal."""
    archive["team_parts"] = parts
    evaluation = evaluate_sealed(archive["sealed"], parts)
    archive["results"] = [subject_json(row) for row in evaluation.subjects]
    archive["tally"] = tally_json(evaluation)
    archive["figures"] = result_figures(
        evaluation, blank_ballots([b["ratings"] for b in archive["sealed"]["ballots"]])
    )
    attest = archive["attestation"]
    attest["result_seal"] = result_seal_of(
        result_document(
            archive["sealed"]["session"]["id"], archive["seal"], attest, archive["figures"]
        )
    )


def sign_with(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def resign_everything(members: dict[str, bytes], key: Ed25519PrivateKey) -> dict[str, bytes]:
    """A forger with a key of their own: every signature redone, their public key shipped."""
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    archive = json.loads(members[ARCHIVE_MEMBER])
    attest = archive["attestation"]
    session_id = archive["sealed"]["session"]["id"]
    attest["public_key"] = pem.decode()
    attest["close_signature"] = sign_with(key, close_statement(session_id, attest["close_seal"]))
    attest["result_signature"] = sign_with(
        key, result_statement(session_id, attest["close_seal"], attest["result_seal"])
    )
    out = dict(members)
    out[ARCHIVE_MEMBER] = json.dumps(archive, ensure_ascii=False).encode()
    out[PUBLIC_KEY_NAME] = pem
    for name, data in members.items():
        if name.endswith(".pdf"):
            payload = read_pdf_signature(data)
            payload["public_key"] = pem.decode()
            payload["result_seal"] = attest["result_seal"]
            payload.pop("signature")
            payload["signature"] = sign_with(key, sheet_statement(payload))
            out[name] = write_pdf_signature(data, payload)
    listed = json.loads(members[MANIFEST_NAME])
    files = {n: d for n, d in out.items() if n not in (MANIFEST_NAME, MANIFEST_SIGNATURE_NAME)}
    listed = manifest(
        listed["session_id"],
        attest["close_seal"],
        attest["result_seal"],
        listed["generated_at"],
        files,
        listed["sheets"],
    )
    raw = json.dumps(listed, ensure_ascii=False).encode()
    out[MANIFEST_NAME] = raw
    out[MANIFEST_SIGNATURE_NAME] = sign_with(key, raw).encode()
    return out


def flip_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def first_subject_with_band(archive: dict) -> dict:
    return next(row for row in archive["tally"] if row["band"])


def test_every_kind_of_change_is_caught(signed, runner, tmp_path):
    session, data = signed
    pristine = unzip(data)
    code, verdict, output = run_verify(runner, tmp_path, data)
    assert (code, verdict) == (0, "通过"), output
    assert f"ZIP 中 {len(pristine) - 2} 个文件的 SHA-256 与文件清单一致" in output
    assert "与本平台签发时登记的结果封存码一致" in output

    def tally_count(a):
        a["tally"][0]["items"]["overall"]["options"]["good"] += 1

    def band(a):
        first_subject_with_band(a)["band"] = "[95%, 100%] → 20"

    def received(a):
        a["received"] += 1

    def expected(a):
        a["expected"] -= 1

    def final_in_figures(a):
        a["figures"]["subjects"][2]["final"] = "19/2"  # 李华

    def plain_sha256_seal(a):
        # Change one vote and recompute the close seal with plain SHA-256, as anyone can.
        a["sealed"]["ballots"][0]["ratings"][0][2] = "poor"
        a["seal"] = a["attestation"]["close_seal"] = seal_of(a["sealed"])

    forged_parts = {"conduct": "1", "punishment": "2", "prevention": "3", "responsibility": "4"}
    pdf = pristine[SHEET]
    slot = pdf.index(b"survey-sheet-signature:")
    cases = {
        "计票数（tally）": edit_archive(pristine, tally_count),
        "分档（band）": edit_archive(pristine, band),
        "收回份数": edit_archive(pristine, received),
        "应到人数": edit_archive(pristine, expected),
        "所列得分（figures）": edit_archive(pristine, final_in_figures),
        "改票后用 SHA-256 重算封存码": relist(edit_archive(pristine, plain_sha256_seal)),
        "结果单 PDF 改一个字节": {**pristine, SHEET: flip_byte(pdf, slot // 2)},
        "结果单 PDF 改一个字节并更新清单": relist({**pristine, SHEET: flip_byte(pdf, slot // 2)}),
        "统计表改一个字节": {
            **pristine,
            "测评统计表.xlsx": flip_byte(pristine["测评统计表.xlsx"], 100),
        },
        "两人结果单互换": {**pristine, SHEET: pristine[OTHER_SHEET], OTHER_SHEET: pdf},
        "伪造其他考核部分并重算最终得分": relist(
            edit_archive(pristine, lambda a: recount_with_parts(a, forged_parts))
        ),
        "另一把密钥重新签名全部内容": resign_everything(
            relist(edit_archive(pristine, lambda a: recount_with_parts(a, forged_parts))),
            Ed25519PrivateKey.generate(),
        ),
        "删除一个文件": {k: v for k, v in pristine.items() if k != OTHER_SHEET},
        "多出一个文件": {**pristine, "说明.txt": "补充".encode()},
    }
    outcomes = {}
    for label, members in cases.items():
        code, verdict, output = run_verify(runner, tmp_path, rezip(members))
        outcomes[label] = (code, verdict, output)
    passed = {label: out for label, (code, verdict, out) in outcomes.items() if code == 0}
    assert passed == {}
    for label, (code, verdict, output) in outcomes.items():
        assert code == 1 and verdict.startswith("未通过"), (label, output)
        assert "✗" in output, (label, output)
    # Each change names its own reason.
    assert "计票表" in outcomes["计票数（tally）"][2]
    assert "计票表" in outcomes["分档（band）"][2]
    assert "收回份数不符" in outcomes["收回份数"][2]
    assert "应到人数不符" in outcomes["应到人数"][2]
    assert "李华" in outcomes["所列得分（figures）"][2]
    assert "结束封存码的签名无效" in outcomes["改票后用 SHA-256 重算封存码"][2]
    assert f"{SHEET} 与文件清单中的 SHA-256 不符" in outcomes["结果单 PDF 改一个字节"][2]
    both = outcomes["结果单 PDF 改一个字节并更新清单"][2]
    assert "文件清单（MANIFEST.json）的签名无效" in both and "签名后被改动" in both
    assert "测评统计表.xlsx 与文件清单中的 SHA-256 不符" in outcomes["统计表改一个字节"][2]
    swapped = outcomes["两人结果单互换"][2]
    assert f"{SHEET}：所载测评对象编号" in swapped
    forged = outcomes["伪造其他考核部分并重算最终得分"][2]
    assert "结果封存码的签名无效" in forged and "与本平台签发时登记的结果封存码" in forged
    other_key = outcomes["另一把密钥重新签名全部内容"][2]
    assert "不是本平台或所提供的公钥" in other_key
    assert f"文件清单中的 {OTHER_SHEET} 不在 ZIP 中" in outcomes["删除一个文件"][2]
    assert "ZIP 中的 说明.txt 不在文件清单中" in outcomes["多出一个文件"][2]
    # The forger's own key, once trusted on purpose, shows what was checked: their figures
    # still disagree with the seal recorded here at sign-off.
    forger = Ed25519PrivateKey.generate()
    forgery = resign_everything(
        relist(edit_archive(pristine, lambda a: recount_with_parts(a, forged_parts))), forger
    )
    key_file = tmp_path / "forger.pem"
    key_file.write_bytes(forgery[PUBLIC_KEY_NAME])
    code, verdict, output = run_verify(runner, tmp_path, rezip(forgery), "f.zip", str(key_file))
    assert code == 0 and verdict == "通过", output  # a trusted key is trusted: the point of keys

    # The seals recorded here at close and sign-off are compared too.
    session.result_seal = "0" * 64
    db.session.commit()
    code, verdict, output = run_verify(runner, tmp_path, data)
    assert code == 1 and "与本平台签发时登记的结果封存码不符" in output


def test_a_sheet_verifies_on_its_own_and_carries_a_readable_qr(client, signed, runner, tmp_path):
    session, data = signed
    members = unzip(data)
    sheet = members[SHEET]
    code, verdict, output = run_verify(runner, tmp_path, sheet, "sheet.pdf")
    assert (code, verdict) == (0, "通过"), output
    assert "李华" in output and "与本平台签发时登记的结果封存码一致" in output
    payload = read_pdf_signature(sheet)
    assert payload["digest"] == pdf_digest(sheet) and payload["result_seal"] == session.result_seal
    # The same sheet downloaded alone from the results page verifies too.
    alone = next(row for row in session.subjects if row.name == "李华")
    single = f"/sessions/{session.id}/results/subjects/{alone.id}/sheet"
    response = client.get(single)
    assert response.status_code == 200
    code, verdict, output = run_verify(runner, tmp_path, response.data, "single.pdf")
    assert (code, verdict) == (0, "通过"), output

    slot = sheet.index(b"survey-sheet-signature:")
    for at in (slot // 2, len(sheet) - 10, slot + 30):
        code, verdict, output = run_verify(runner, tmp_path, flip_byte(sheet, at), "bad.pdf")
        assert code == 1 and verdict.startswith("未通过"), (at, output)
    text = pdf_text(sheet)
    assert session.result_seal in text and session.seal in text
    zbar = shutil.which("zbarimg")
    pdftoppm = shutil.which("pdftoppm")
    if zbar is None or pdftoppm is None:
        requirement_missing("zbarimg or pdftoppm is not installed")
    (tmp_path / "s.pdf").write_bytes(sheet)
    subprocess.run([pdftoppm, "-r", "200", "-png", tmp_path / "s.pdf", tmp_path / "s"], check=True)
    decoded = subprocess.run(
        [zbar, "--raw", "-q", tmp_path / "s-1.png"], capture_output=True, text=True, check=True
    ).stdout
    assert f"result_seal={session.result_seal}" in decoded
    assert f"close_seal={session.seal}" in decoded
    # `survey keys` shows the fingerprint printed on the sheet and in the QR code, and exports
    # the public key the ZIP ships.
    out = tmp_path / "instance.pem"
    result = runner.invoke(args=["keys", "--export", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == members[PUBLIC_KEY_NAME]
    printed = result.output.splitlines()[0].split("：")[1].replace(" ", "")
    assert len(printed) == 64 and printed in text.replace(" ", "")
    assert decoded.split("key=")[1].strip() == printed
