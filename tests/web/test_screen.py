"""The meeting screen: live count of ballots for organizers and assessors, never a tally."""

import json
import re

import pytest

from survey.extensions import db
from survey.models import GrantLevel, Role, SessionGrant, SubjectRole
from survey.services import roster
from survey.services import sessions as sessions_service
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, SessionInput
from tests.ballots import add_sealed


@pytest.fixture
def meeting(app, make_user):
    owner = make_user()
    session = sessions_service.create_session(owner, SessionInput(title="2025年度民主测评大会"))
    roster.add_subject(session, SubjectInput("县委领导班子", "", SubjectRole.TEAM), owner)
    roster.add_subject(session, SubjectInput("张明", "县委书记", SubjectRole.PRINCIPAL), owner)
    sessions_service.add_group(session, GroupInput("县级领导干部", 30), owner)
    sessions_service.add_group(session, GroupInput("党代表", 12), owner)
    return session, owner


def cast(session, group_index: int = 0, value: str = "good") -> None:
    add_sealed(session, [{(s.id, "overall"): value for s in session.subjects}], group_index)


def as_owner(client, owner):
    from tests.conftest import login

    assert login(client, owner.username).status_code == 302


def test_progress_counts_ballots_against_the_expected(app, client, meeting):
    session, owner = meeting
    as_owner(client, owner)
    url = f"/sessions/{session.id}/screen/progress"
    draft = client.get(url)
    assert draft.headers["Cache-Control"] == "no-store"
    assert draft.get_json() == {
        "state": "draft",
        "state_label": "准备中",
        "submitted": 0,
        "expected": 42,
    }
    sessions_service.open_session(session, owner)
    cast(session, 0, "good")
    cast(session, 1, "poor")
    cast(session, 1, "average")
    response = client.get(url)
    assert response.get_json() == {
        "state": "open",
        "state_label": "测评进行中",
        "submitted": 3,
        "expected": 42,
    }
    # Nothing about the answers: no option keys, no per-group or per-subject numbers.
    body = response.get_data(as_text=True)
    for leak in ("good", "poor", "average", "县级领导干部", "张明", "group", "subject"):
        assert leak not in body
    assert len(body.encode()) < 200


def test_the_screen_shows_the_count_and_works_without_javascript(app, client, meeting):
    session, owner = meeting
    sessions_service.open_session(session, owner)
    cast(session)
    as_owner(client, owner)
    html = client.get(f"/sessions/{session.id}/screen").get_data(as_text=True)
    assert "2025年度民主测评大会" in html
    assert re.search(r'id="submitted">1<', html) and re.search(r'id="expected">42<', html)
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert '<script src="/static/screen.js" defer></script>' in html
    # No inline script and nothing fetched from another server.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert 'src="/screen/entry-qr.svg"' in html
    assert "http://vote.example.test/v" in html
    assert "<progress" in html


def test_the_screen_script_polls_the_progress_endpoint(app, client):
    script = client.get("/static/screen.js").get_data(as_text=True)
    assert "data-progress-url" in script and "fetch(" in script
    assert "setTimeout(poll" in script


def test_the_entry_qr_code_is_served_from_here(app, client):
    response = client.get("/screen/entry-qr.svg")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    assert response.get_data(as_text=True).startswith("<svg")


def test_after_close_the_screen_says_so_with_the_final_count(app, client, meeting):
    session, owner = meeting
    sessions_service.open_session(session, owner)
    for _ in range(4):
        cast(session)
    sessions_service.close_session(session, owner)
    as_owner(client, owner)
    html = client.get(f"/sessions/{session.id}/screen").get_data(as_text=True)
    assert "测评已结束" in html
    assert re.search(r'id="submitted">4<', html)
    assert 'id="results"' in html  # where the results issue will show its tables
    assert client.get(f"/sessions/{session.id}/screen/progress").get_json()["state"] == "closed"


def test_screen_access_follows_session_access(app, client, meeting, make_user):
    session, _owner = meeting
    url = f"/sessions/{session.id}/screen/progress"
    # Anonymous: sent to the login page.
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(f"/sessions/{session.id}/screen").status_code == 302
    # Another organizer: the session does not exist for them.
    stranger = make_user(role=Role.ORGANIZER)
    client = app.test_client()
    as_owner(client, stranger)
    assert client.get(url).status_code == 404
    assert client.get(f"/sessions/{session.id}/screen").status_code == 404
    # A granted assessor may watch.
    assessor = make_user(role=Role.ASSESSOR)
    db.session.add(
        SessionGrant(session_id=session.id, user_id=assessor.id, level=GrantLevel.ASSESS)
    )
    db.session.commit()
    client = app.test_client()
    as_owner(client, assessor)
    assert client.get(url).status_code == 200
    assert json.loads(client.get(url).data)["expected"] == 42
