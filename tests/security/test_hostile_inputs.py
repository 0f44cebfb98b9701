"""The hostile inputs of issue 16, one by one, as an attacker in the hall would send them."""

import io
import logging
import os
import socket
import stat
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from survey import create_app
from survey.extensions import db
from survey.inputs import safe_next, strict_int
from survey.models import EvalSession, MeetingType, Role, Season, SeasonUnit, Subject, SubjectRole
from survey.services import seasons as season_service
from tests.conftest import csrf_token_from, login
from tests.reliability.test_sigkill import Server


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        (str(2**53), 2**53),
        (str(2**53 + 1), None),
        (str(2**63), None),
        ("9" * 5000, None),
        ("²", None),
        ("١٢", None),
        ("１", None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("1e3", None),
        ("1_000", None),
        ("", None),
        ("\x00", None),
        ("1\x00", None),
        (None, None),
        (True, None),
        (7, 7),
    ],
)
def test_strict_int(raw, expected):
    assert strict_int(raw) == expected


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/sessions/3", True),
        ("/sessions?x=1", True),
        ("//evil.example/", False),
        ("/\\evil.example", False),
        ("https://evil.example/", False),
        ("/sessions\r\nSet-Cookie: a=1", False),
        ("/sessions\x00", False),
        ("sessions", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_next(target, followed):
    assert safe_next(target) == (target if followed else None)


def test_next_with_crlf_is_not_followed(client, make_user):
    user = make_user()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    form = {"username": user.username, "password": "correct horse battery", "csrf_token": token}
    response = client.post("/login?next=/sessions%0d%0aSet-Cookie:%20x=1", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/sessions"
    assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_ids_past_64_bits_and_unicode_digits_are_not_found(client, open_session):
    for url in (
        f"/v/report/{2**63}/0",
        f"/v/report/{2**64 + 1}/0",
        "/v/report/%C2%B2/0",
        f"/sessions/{2**63}",
        f"/sessions/{'9' * 5000}",
    ):
        assert client.get(url).status_code == 404, url
    # ² passes str.isdigit() but not int(): no 500, no question stored without a proper subject.
    response = client.post("/q/ask", data={"code": open_session.codes[0], "subject": "²"})
    assert response.status_code < 500


def test_a_name_of_only_controls_is_refused_like_an_empty_name(client, logged_in):
    organizer = logged_in(Role.ORGANIZER)
    session = EvalSession(title="名单", owner=organizer, rule_set_key="x", rule_set_version="1")
    db.session.add(session)
    db.session.commit()
    url = f"/sessions/{session.id}/subjects"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    for name in ("\x00", "\x00\x01\x1b", "\x7f\x85"):
        form = {"name": name, "post": "", "kind": "member", "csrf_token": token}
        response = client.post(url, data=form)
        assert response.status_code == 400, repr(name)
        assert "请填写姓名" in response.get_data(as_text=True)
    # Controls inside a real name are dropped, the name kept.
    form = {"name": "张\x00三", "post": "书\x01记", "kind": "member", "csrf_token": token}
    assert client.post(url, data=form).status_code == 302
    db.session.rollback()
    assert [(s.name, s.post) for s in db.session.get(EvalSession, session.id).subjects] == [
        ("张三", "书记")
    ]


def test_questions_only_while_the_meeting_is_open(app, make_user):
    from tests.seasons.conftest import new_session, prepare

    organizer = make_user(role=Role.ORGANIZER)
    session = new_session(organizer, "述责述廉", MeetingType.SHUZE_SHULIAN)
    members = [("周明", "县委书记", SubjectRole.PRINCIPAL)]
    prepared = prepare(session, organizer, members, codes=3, open_it=False)
    phone = app.test_client()
    subject = prepared.session.subjects[0].id
    for response in (
        phone.post("/q", data={"code": prepared.codes[0]}),
        phone.post("/q/ask", data={"code": prepared.codes[0], "subject": subject, "text": "问"}),
    ):
        assert response.status_code == 409
        assert "尚未开始" in response.get_data(as_text=True)
    from survey.models import Inquiry

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


def test_a_report_is_not_found_by_counting_ids(app, client, open_session):
    session = open_session.session
    subject = session.subjects[0]
    subject.report_text = "述责述廉报告正文"
    db.session.commit()
    assert client.get(f"/v/report/{subject.id}").status_code == 404
    assert client.get(f"/v/report/{subject.id}/{'a' * 32}").status_code == 404
    # A code holder finds the link on the ballot page and reads it.
    page = client.get(f"/v/{open_session.codes[0]}").get_data(as_text=True)
    import re

    link = re.search(rf'href="(/v/report/{subject.id}/[0-9a-f]{{32}})"', page).group(1)
    assert "述责述廉报告正文" in client.get(link).get_data(as_text=True)


def test_the_sqlite_file_its_wal_and_backups_are_owner_only(tmp_path):
    from survey.services.backup import backup

    old = os.umask(0o022)  # the usual umask, under which files come out world-readable
    try:
        database = tmp_path / "survey.sqlite"
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": f"sqlite:///{database}",
                "SECRET_KEY": "s",
                "BALLOT_CODE_KEY": "k",
            }
        )
        with app.app_context():
            with db.engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE t (x)")
                connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            copy = backup(tmp_path / "copy.sqlite")
            files = [database, Path(f"{database}-wal"), Path(f"{database}-shm"), copy]
            for path in files:
                assert path.exists(), path
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            db.engine.dispose()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    database = tmp_path / "old.sqlite"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "s"})
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_season_workbook_survives_control_characters(app, make_user):
    owner = make_user(role=Role.ORGANIZER)
    season = season_service.create_season(owner, "考核年度", 2026, "langfang-2014:1")
    season_service.add_unit(season, "甲县", "300000", owner)
    # Written before forms stripped controls (or by any other path into the database).
    unit = db.session.scalar(sa.select(SeasonUnit).where(SeasonUnit.season_id == season.id))
    unit.name = "甲\x01县\x1b"
    db.session.get(Season, season.id).name = "=考核\x07年度"
    db.session.commit()
    client = app.test_client()
    assert login(client, owner.username).status_code == 302
    response = client.get(f"/seasons/{season.id}/results.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    values = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row if c]
    assert any(str(v).startswith("'=考核年度") for v in values)
    assert "甲县" in values


# ---- logs ---------------------------------------------------------------------------------


def raw_request(port: int, line: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(line + b"\r\nHost: localhost\r\n\r\n")
        try:
            return connection.recv(4096)
        except OSError:
            return b""


def crafted_lines(code: str) -> list[bytes]:
    lower = code.lower().encode()
    code_bytes = code.encode()
    return [
        b"GET /V/" + code_bytes + b" HTTP/1.1",
        b"GET /v/" + lower + b" HTTP/1.1",
        b"GET /%76/" + code_bytes + b" HTTP/1.1",
        b"GET /v%2F" + code_bytes + b" HTTP/1.1",
        b"GET /v/" + code_bytes + b"\x00 HTTP/1.1",
        b"GET /v/\x00" + code_bytes + b" HTTP/1.1",
        b"GET /v\x00/" + code_bytes + b" HTTP/1.1",
        b"GET /v/" + code_bytes[:5] + b"-" + code_bytes[5:] + b"\x01 HTTP/1.1",
    ]


def assert_no_code(log: str, code: str) -> None:
    for form in (code, code.lower(), f"{code[:5]}-{code[5:]}"):
        assert form not in log, (form, log[-3000:])


def test_gunicorn_logs_keep_codes_out_whatever_the_request_line(app, tmp_path, open_session):
    import importlib.util

    from tests.conftest import requirement_missing

    if importlib.util.find_spec("gunicorn") is None:
        requirement_missing("gunicorn is not installed")
    server = Server(app, tmp_path)
    server.env["WORKERS"] = "1"
    code = open_session.codes[0]
    db.session.commit()  # let go of SQLite's write lock before the server runs
    try:
        server.start()
        answers = [raw_request(server.port, line) for line in crafted_lines(code)]
        time.sleep(0.5)  # let the worker flush its log lines
    finally:
        server.stop()
    log = (tmp_path / "gunicorn.log").read_text(errors="replace")
    assert any(a.startswith(b"HTTP/1.1 400") for a in answers)  # the NUL lines were refused
    assert "Invalid request from ip=-:" in log  # the error log did speak of them
    invalid = [line for line in log.splitlines() if "Invalid request" in line]
    assert invalid and not any("127.0.0.1" in line for line in invalid), invalid
    assert "/v/[code]" in log
    assert_no_code(log, code)


def enable(monkeypatch, name: str) -> None:
    """Alembic's fileConfig (run by the session's migration) disables existing loggers."""
    monkeypatch.setattr(logging.getLogger(name), "disabled", False)


def test_a_failing_request_logs_no_code(app, caplog, monkeypatch):
    """Flask logs the path of a request that raised: the code must not be in it."""
    import survey.web.vote.routes as vote_view

    def broken(_typed):
        raise RuntimeError("boom")

    monkeypatch.setattr(vote_view, "show_ballot", broken)
    enable(monkeypatch, "survey")
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    code = "ABCDE23456"
    with caplog.at_level(logging.ERROR):
        assert app.test_client().get(f"/v/{code}").status_code == 500
    log = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "Exception on /v/[code]" in log
    assert_no_code(log, code)


def test_subject_names_with_controls_never_reach_the_database_through_forms(client, logged_in):
    organizer = logged_in(Role.ORGANIZER)
    response = client.get("/sessions/new")
    token = csrf_token_from(response.get_data(as_text=True))
    client.post("/sessions/new", data={"title": "\x00", "csrf_token": token})
    db.session.rollback()
    titles = db.session.scalars(sa.select(EvalSession.title)).all()
    assert "\x00" not in "".join(titles)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subject)) == 0
    assert organizer.id


def test_control_characters_in_text_parts_of_routes_are_not_found(client, logged_in):
    """PostgreSQL refuses NUL in text: a route's text part with one must be a 404, not a 500."""
    logged_in(Role.ADMIN)
    for url in (
        "/admin/rulesets/%00/1",
        "/admin/rulesets/1/%00/file",
        "/checklists/langfang-2014/%00",
        "/v/%00ABCDE23456",
        "/sessions/1/inquiries/%01/answer",
    ):
        method = client.post if url.endswith("answer") else client.get
        assert method(url).status_code == 404, url
