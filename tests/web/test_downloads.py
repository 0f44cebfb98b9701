"""Every download the results page offers, fetched through HTTP and opened as a file.

The votes are known (tests/web/known_votes.py): per subject 5 好, 3 较好, 4 一般, 2 差, one
comment on 张明 and one overall comment; each file must say what they said.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from survey.extensions import db
from survey.models import AuditEntry
from tests.conftest import login
from tests.seasons.conftest import post_form
from tests.web.filecheck import cells, pdf_pages, pdf_text, zip_members
from tests.web.known_votes import (
    OVERALL_COMMENT,
    SUBJECT_COMMENT,
    SUBJECTS,
    cast_known_votes_and_close,
)

KINDS = ("json", "xlsx", "pdf", "zip")
DOWNLOAD_LINK = re.compile(r'href="(/sessions/\d+/results/(?:download/\w+|subjects/\d+/\w+))"')


@pytest.fixture
def voted(app, open_session):
    """A closed demo session with the known votes, and a client logged in as its organizer."""
    session = cast_known_votes_and_close(app, open_session)
    desk = app.test_client()
    assert login(desk, open_session.organizer, open_session.password).status_code == 302
    return session, desk


def has_run(row: tuple, run: tuple) -> bool:
    """Tell whether the cells hold these values side by side (valid, then each option)."""
    return any(tuple(row[i : i + len(run)]) == run for i in range(len(row)))


def fetch(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.headers["Cache-Control"] == "no-store", url
    return response


def test_every_download_on_the_results_page_opens_and_says_what_the_votes_said(voted):
    session, desk = voted
    html = desk.get(f"/sessions/{session.id}/results").get_data(as_text=True)
    assert OVERALL_COMMENT in html and "总体意见建议（1 条）" in html
    links = list(dict.fromkeys(DOWNLOAD_LINK.findall(html)))
    kinds = {link.rsplit("/", 1)[1] for link in links if "/download/" in link}
    assert kinds == {"json", "xlsx", "pdf", "zip"}
    assert len([link for link in links if "/subjects/" in link]) == 2 * len(SUBJECTS)

    checked = set()
    for link in links:
        response = fetch(desk, link)
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;"), link
        data = response.get_data()
        if link.endswith("/json"):
            archive = json.loads(data)
            assert archive["seal"] == session.seal
            assert [row["subject"] for row in archive["results"]] == SUBJECTS
            assert {row["rate"] for row in archive["results"]} == {"8/14"}
            assert {row["valid"] for row in archive["results"]} == {14}
            assert len(archive["sealed"]["ballots"]) == 14
        elif link.endswith("/xlsx"):
            rows = cells(data)
            for name in SUBJECTS:
                row = next(r for r in rows if name in r)
                assert has_run(row, (14, 5, 3, 4, 2)), row
            assert any(OVERALL_COMMENT in str(v) for r in rows for v in r)
        elif link.endswith("/pdf"):
            text = pdf_text(data)
            assert session.title in text and session.seal in text
            assert text.count("57.14%") >= len(SUBJECTS) and "8/14" in text
        elif link.endswith("/zip"):
            members = zip_members(data)
            sheets = [name for name in members if name.endswith(".pdf")]
            assert len(sheets) >= len(SUBJECTS)
            archive = json.loads(next(v for k, v in members.items() if k.endswith(".json")))
            assert archive["seal"] == session.seal
            for name in sheets:
                pdf_pages(members[name])
        elif link.endswith("/sheet"):
            text = pdf_text(data)
            name = next(n for n in SUBJECTS if n in text)
            assert "57.14%" in text and "8/14" in text, name
            assert session.seal in text
        elif link.endswith("/feedback"):
            text = pdf_text(data)
            if "张明" in unquote(disposition):
                assert SUBJECT_COMMENT in text and OVERALL_COMMENT not in text
            if "县委领导班子" in unquote(disposition):
                # The overall comments speak to the whole team: its feedback carries them.
                assert "总体意见建议（共1条）" in text and OVERALL_COMMENT in text
        else:
            raise AssertionError(f"an unchecked download: {link}")
        checked.add(link)
    assert checked == set(links)


def test_download_names_are_meaningful_in_every_browser(voted):
    session, desk = voted
    html = desk.get(f"/sessions/{session.id}/results").get_data(as_text=True)
    for link in dict.fromkeys(DOWNLOAD_LINK.findall(html)):
        disposition = desk.get(link).headers["Content-Disposition"]
        ascii_name = re.search(r'filename="([^"]+)"', disposition).group(1)
        utf8_name = unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))
        assert ascii_name.isascii() and re.fullmatch(r"[\w.-]+", ascii_name), disposition
        assert f"session-{session.id}" in ascii_name and len(ascii_name) > 16, ascii_name
        assert ascii_name.rsplit(".", 1)[1] == utf8_name.rsplit(".", 1)[1]
        assert re.search(r"[\u4e00-\u9fff]", utf8_name), utf8_name


def test_survey_export_runs_as_a_process_for_each_format(voted, database_url, tmp_path):
    """`survey export` from the console script, on the database (file) the server uses."""
    session, _desk = voted
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "BALLOT_CODE_KEY": "test-ballot-key",
        "PUBLIC_BASE_URL": "http://vote.example.test",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    survey = str(Path(sys.executable).with_name("survey"))
    seal, session_id = session.seal, session.id
    # The command is another process: the test must not hold SQLite's write lock meanwhile.
    db.session.commit()
    for kind in KINDS:
        out = tmp_path / f"export.{kind}"
        done = subprocess.run(
            [survey, "export", str(session_id), "--format", kind, "--out", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert seal in done.stderr
        data = out.read_bytes()
        if kind == "json":
            assert {row["rate"] for row in json.loads(data)["results"]} == {"8/14"}
        elif kind == "xlsx":
            row = next(r for r in cells(data) if "王芳" in r)
            assert has_run(row, (14, 5, 3, 4, 2)), row
        elif kind == "pdf":
            assert "57.14%" in pdf_text(data)
        else:
            assert json.loads(zip_members(data)["archive.json"])["seal"] == session.seal
    db.session.commit()  # end the test's snapshot, to read what the processes wrote
    exports = db.session.scalars(
        db.select(AuditEntry.detail).where(AuditEntry.action == "export")
    ).all()
    assert sorted(exports) == sorted(f"命令行导出 {kind}" for kind in KINDS)


SEASON_LINK = re.compile(r'href="(/seasons/\d+/results\.(?:xlsx|pdf))"')


def test_season_downloads_open_and_carry_the_session(voted):
    """A season with the session as its one unit: its workbook and PDF show the votes."""
    session, desk = voted
    created = post_form(
        desk,
        "/seasons",
        "/seasons",
        {"name": "2026年度考核", "year": "2026", "checklist": "langfang-2014:1"},
    )
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    dashboard = created.headers["Location"]
    added = post_form(
        desk, dashboard, f"{dashboard}/units", {"name": "演示县", "population": "300000"}
    )
    assert added.status_code == 302
    unit_id = re.search(r"/units/(\d+)/session", desk.get(dashboard).get_data(as_text=True)).group(
        1
    )
    linked = post_form(
        desk, dashboard, f"{dashboard}/units/{unit_id}/session", {"session_id": str(session.id)}
    )
    assert linked.status_code == 302, linked.get_data(as_text=True)[:3000]
    page = desk.get(f"{dashboard}/results").get_data(as_text=True)
    links = SEASON_LINK.findall(page)
    assert sorted(link.rsplit(".", 1)[1] for link in links) == ["pdf", "xlsx"]
    members = [name for name in SUBJECTS if name != "县委领导班子"]
    for link in links:
        response = fetch(desk, link)
        assert 'filename="season-' in response.headers["Content-Disposition"]
        if link.endswith("xlsx"):
            rows = cells(response.get_data())
            assert next(r for r in rows if r[1] == "演示县")[:3] == (None, "演示县", 0)
            for name in members:
                row = next(r for r in rows if r[1] == name)
                # The rate as a number (0.00%), the exact fraction in its own column.
                assert row[4] == pytest.approx(8 / 14) and row[5] == 2 and row[7] == "8/14", row
        else:
            text = pdf_text(response.get_data())
            assert "2026年度考核" in text
            for name in members:
                assert re.search(f"演示县{name}\\S*?57.14%（8/14）2", text), name
