"""Decompression and nesting bombs posted over HTTP to gunicorn: refused, the worker stays small.

Each bomb is written to disk with streaming ZIP writes (never held inflated in memory), posted
through a real gunicorn with one worker, and the worker's peak resident memory (VmHWM, reset
before each bomb through /proc/<pid>/clear_refs) is read after the answer. Every bomb must be
refused with a 4xx naming the limit, store nothing, and keep the worker under 300 MB.
Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

import http.client
import importlib.util
import json
import re
import struct
import time
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest

from survey.extensions import db
from survey.models import EvalSession, Role, RuleSetRecord
from tests.conftest import TEST_PASSWORD, requirement_missing
from tests.reliability.test_sigkill import Server

MB = 1024 * 1024
PEAK_LIMIT = 300 * MB
PEAKS: dict[str, int] = {}


# ---- bombs, streamed to disk --------------------------------------------------------------


def zeros_zip(path: Path, member: str, size: int) -> Path:
    """A ZIP whose one member inflates to `size` bytes of zeros, written 1 MB at a time."""
    block = b"\0" * MB
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle,
        bundle.open(member, "w", force_zip64=size >= 2**31) as out,
    ):
        for _ in range(size // MB):
            out.write(block)
    return path


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def workbook_zip(path: Path, sheet: bytes, shared_strings_size: int = 0) -> Path:
    """A well-formed XLSX; with shared_strings_size, one shared string of that many 'A's."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        bundle.writestr("[Content_Types].xml", CONTENT_TYPES)
        bundle.writestr("_rels/.rels", ROOT_RELS)
        bundle.writestr("xl/workbook.xml", WORKBOOK)
        bundle.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        bundle.writestr("xl/worksheets/sheet1.xml", sheet)
        with bundle.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            out.write(b"<si><t>")
            block = b"A" * MB
            for _ in range(shared_strings_size // MB):
                out.write(block)
            out.write(b"</t></si></sst>")
    return path


def shared_string_sheet() -> bytes:
    cells = '<c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>类别</t></is></c>'
    return (SHEET_HEAD + f'<sheetData><row r="1">{cells}</row></sheetData></worksheet>').encode()


def huge_dimension_sheet() -> bytes:
    """One cell, but a <dimension> claiming every row and column Excel allows."""
    return (
        SHEET_HEAD + '<dimension ref="A1:XFD1048576"/><sheetData>'
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        "</sheetData></worksheet>"
    ).encode()


def lying_zip(path: Path, member: str, actual: int, declared: int) -> Path:
    """A ZIP whose headers claim `declared` bytes for a member that inflates to `actual`."""
    zeros_zip(path, member, actual)
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", declared)
    path.write_bytes(bytes(data))
    return path


# ---- a gunicorn worker we can measure -----------------------------------------------------


class Browser:
    """Cookies and CSRF tokens over http.client, as a person's browser would carry them."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=b"", content_type=None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def token(self, path: str) -> str:
        status, page = self.request("GET", path)
        assert status == 200, (path, status)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    def login(self, username: str) -> None:
        form = {"username": username, "password": TEST_PASSWORD, "csrf_token": self.token("/login")}
        status, _ = self.request(
            "POST", "/login", urlencode(form).encode(), "application/x-www-form-urlencoded"
        )
        assert status == 302, status

    def upload(self, path: str, page: str, field: str, filename: str, data: bytes, **extra):
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in {"csrf_token": self.token(page), **extra}.items()
        ]
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        body = "".join(parts).encode() + head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
        return self.request("POST", path, body, f"multipart/form-data; boundary={boundary}")


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError("gunicorn started no worker")


def peak_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def reset_peak(pid: int) -> None:
    # Writing 5 resets the peak resident set size (VmHWM) to the current one (Linux 4.0+).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@pytest.fixture
def one_worker(app, tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        requirement_missing("gunicorn is not installed")
    if not Path("/proc/self/clear_refs").exists():
        requirement_missing("/proc/<pid>/clear_refs is needed to measure each bomb's peak")
    server = Server(app, tmp_path / "instance")
    server.instance.mkdir()
    server.env["WORKERS"] = "1"
    server.env["THREADS"] = "1"
    yield server
    server.stop()


def test_bombs_are_refused_and_the_worker_stays_small(
    app, make_user, one_worker, tmp_path, request
):
    organizer = make_user(role=Role.ORGANIZER)
    admin = make_user(role=Role.ADMIN)
    session = EvalSession(title="炸弹", owner=organizer, rule_set_key="x", rule_set_version="1")
    db.session.add(session)
    db.session.commit()
    session_id, organizer_name, admin_name = session.id, organizer.username, admin.username
    # The test's transaction takes SQLite's write lock like a CLI command: end it before the
    # server needs to write (no database access from here until the server has answered).
    db.session.commit()

    bombs = tmp_path / "bombs"
    bombs.mkdir()
    archive_bomb = zeros_zip(bombs / "archive.zip", "archive.json", 1536 * MB)
    liar = lying_zip(bombs / "liar.zip", "archive.json", 200 * MB, declared=1000)
    strings_bomb = workbook_zip(bombs / "strings.xlsx", shared_string_sheet(), 400 * MB)
    dimension_bomb = workbook_zip(bombs / "dimension.xlsx", huge_dimension_sheet())
    deep_json = b'{"sealed":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    deep_toml = b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    assert archive_bomb.stat().st_size < 2 * MB and strings_bomb.stat().st_size < MB

    one_worker.start()
    worker = worker_pid(one_worker.process.pid)
    organizer_browser = Browser(one_worker.port)
    admin_browser = Browser(one_worker.port)
    try:
        organizer_browser.login(organizer_name)
        admin_browser.login(admin_name)
    except AssertionError:
        pytest.fail("login failed:\n" + one_worker.log())
    subjects = f"/sessions/{session_id}/subjects"

    cases = [
        (
            "1.5 GB archive.json in a 1.5 MB ZIP → /verify",
            organizer_browser,
            ("/verify", "/verify", "archive", "archive.zip", archive_bomb.read_bytes()),
            422,
            "50 MB",
        ),
        (
            "ZIP whose header says 1 KB for 200 MB → /verify",
            organizer_browser,
            ("/verify", "/verify", "archive", "archive.zip", liar.read_bytes()),
            422,
            "损坏",
        ),
        (
            "400 MB sharedStrings in a 0.4 MB XLSX → roster",
            organizer_browser,
            (f"{subjects}/import", subjects, "file", "名单.xlsx", strings_bomb.read_bytes()),
            400,
            "20 MB",
        ),
        (
            "XLSX declaring 1,048,576 × 16,384 cells → roster",
            organizer_browser,
            (f"{subjects}/import", subjects, "file", "名单.xlsx", dimension_bomb.read_bytes()),
            400,
            "名单",
        ),
        (
            "JSON nested 200,000 deep → /verify",
            organizer_browser,
            ("/verify", "/verify", "archive", "archive.json", deep_json),
            422,
            "32层",
        ),
        (
            "TOML nested 100,000 deep → rule-set upload",
            admin_browser,
            ("/admin/rulesets", "/admin/rulesets", "file", "deep.toml", deep_toml),
            400,
            "32层",
        ),
    ]
    for name, browser, upload, expected_status, named_limit in cases:
        reset_peak(worker)
        baseline = peak_bytes(worker)
        status, page = browser.upload(*upload)
        peak = peak_bytes(worker)
        PEAKS[name] = peak
        request.node.user_properties.append(("peak_memory", (name, peak, baseline)))
        assert status == expected_status, (name, status, page[-2000:])
        assert named_limit in page, (name, page[-2000:])
        assert peak < PEAK_LIMIT, (name, peak // MB)
    assert worker_pid(one_worker.process.pid) == worker, "the worker died (and was replaced)"

    db.session.rollback()
    assert db.session.get(EvalSession, session_id).subjects == []
    assert db.session.query(RuleSetRecord).count() == 0
    assert "Traceback" not in one_worker.log(), one_worker.log()


def test_archive_bomb_from_the_command_line_is_refused(tmp_path, runner):
    bomb = zeros_zip(tmp_path / "archive.zip", "archive.json", 300 * MB)
    result = runner.invoke(args=["verify", str(bomb)])
    assert result.exit_code == 1
    assert "50 MB" in result.output


def test_member_longer_than_declared_is_counted_as_inflated(tmp_path):
    """Our reader stops at the limit by the bytes it inflates, whatever the header says."""
    from survey.uploads import UploadRefused, open_zip, read_member

    liar = lying_zip(tmp_path / "liar.zip", "archive.json", 8 * MB, declared=1000)
    with open_zip(liar.read_bytes()) as bundle, pytest.raises(UploadRefused, match="损坏"):
        read_member(bundle, "archive.json", limit=4 * MB)
    honest = zeros_zip(tmp_path / "honest.zip", "archive.json", 8 * MB)
    with open_zip(honest.read_bytes()) as bundle, pytest.raises(UploadRefused, match="4 MB"):
        read_member(bundle, "archive.json", limit=4 * MB)
    with open_zip(honest.read_bytes()) as bundle:
        assert read_member(bundle, "archive.json", limit=8 * MB) == b"\0" * (8 * MB)


def test_nesting_checks_need_no_recursion():
    from survey.uploads import UploadRefused, check_json_nesting, check_toml_nesting

    check_json_nesting(json.dumps({"a": [[1, {"b": "[[[[[[" * 10}]]}).encode())
    check_json_nesting(b"[]" * 1_000_000)  # wide, not deep
    for deep in (b"[" * 33 + b"]" * 33, b"[" * 10**6):
        with pytest.raises(UploadRefused, match="32层"):
            check_json_nesting(deep)
    check_toml_nesting(f'a = "{"[" * 40}" # {"{" * 40}\n[[parts]]\nx = [[1]]\n')
    with pytest.raises(UploadRefused, match="32层"):
        check_toml_nesting("x = " + "{a=" * 40 + "1" + "}" * 40)
