"""Who may see and change a season, and what computing the points refuses."""

import pytest

from survey.extensions import db
from survey.models import EvalSession, MeetingType, Role, Season, SessionState
from survey.services import NotAllowed, NotFound, ServiceError
from survey.services import seasons as season_service
from survey.services.sessions import SessionInput, create_session
from tests.conftest import login
from tests.seasons.conftest import post_form


@pytest.fixture
def season(app, make_user) -> Season:
    owner = make_user(role=Role.ORGANIZER)
    found = season_service.create_season(owner, "2026年度考核", 2026, "langfang-2014:1")
    season_service.add_unit(found, "甲县", "300000", owner)
    return found


def test_strangers_do_not_see_a_season(app, season, make_user):
    for role in (Role.ORGANIZER, Role.ASSESSOR):
        client = app.test_client()
        login(client, make_user(role=role).username)
        assert client.get(f"/seasons/{season.id}").status_code == 404
        assert client.get(f"/seasons/{season.id}/results.xlsx").status_code == 404
        assert "2026年度考核" not in client.get("/seasons").get_data(as_text=True)


def test_a_granted_assessor_enters_facts_but_does_not_manage(app, season, make_user):
    assessor = make_user(role=Role.ASSESSOR)
    season_service.grant_season(season, assessor.username, season.owner)
    client = app.test_client()
    login(client, assessor.username)
    dashboard = f"/seasons/{season.id}"
    assert "2026年度考核" in client.get("/seasons").get_data(as_text=True)
    assert client.get(dashboard).status_code == 200
    added = post_form(client, dashboard, f"{dashboard}/units", {"name": "乙县"})
    assert added.status_code == 403
    unit = season.units[0]
    facts = f"{dashboard}/units/{unit.id}/facts"
    saved = post_form(client, facts, facts, {"special_campaigns": "2", "population": "300000"})
    assert saved.status_code == 302
    assert season_service.facts_of(unit) == {"special_campaigns": "2"}
    bad = post_form(client, facts, facts, {"special_campaigns": "两次"})
    assert bad.status_code == 400 and "应填数字" in bad.get_data(as_text=True)


def test_the_owner_organizer_may_not_enter_facts(app, season):
    client = app.test_client()
    login(client, season.owner.username)
    facts = f"/seasons/{season.id}/units/{season.units[0].id}/facts"
    assert client.get(facts).status_code == 403


def test_linking_needs_organizer_rights_on_the_session(app, season, make_user):
    other = make_user(role=Role.ORGANIZER)
    foreign = create_session(other, SessionInput(title="别人的测评"))
    unit = season.units[0]
    with pytest.raises(NotFound):
        season_service.link_session(unit, foreign.id, season.owner)
    risk = create_session(
        season.owner, SessionInput(title="廉洁风险", rule_set="integrity-risk-grades:1")
    )
    with pytest.raises(ServiceError, match="没有领导班子考核部分"):
        season_service.link_session(unit, risk.id, season.owner)
    with pytest.raises(NotAllowed):
        season_service.add_unit(season, "丙县", None, other)


def test_applying_needs_complete_facts_and_linked_sessions(app, season, make_user):
    assessor = make_user(role=Role.ASSESSOR)
    season_service.grant_season(season, assessor.username, season.owner)
    with pytest.raises(ServiceError, match="尚未录入完整：甲县"):
        season_service.apply_points(season, assessor)
    checklist = season_service.checklist_of(season)
    everything = {key: "0" for key in checklist.facts}
    everything.update({k: "no" for k, f in checklist.facts.items() if f.kind == "yes_no"})
    season_service.enter_facts(season.units[0], everything, "300000", assessor)
    with pytest.raises(ServiceError, match="尚未关联测评：甲县"):
        season_service.apply_points(season, assessor)
    session = season_service.create_unit_session(season.units[0], season.owner)
    assert session.state == SessionState.DRAFT and session.unit == "甲县"
    result = season_service.apply_points(season, assessor)
    stored = db.session.get(EvalSession, session.id).team_parts
    # All no/zero: only the rank items and the forfeit item score (one unit is first).
    assert result.rows[0].checklist_score.points["punishment"] == 20 + 3 + 1 + 1 + 2
    assert stored["punishment"] == "27" and stored["conduct"] == "0"


def test_bad_holidays_and_names_are_refused(app, season):
    client = app.test_client()
    login(client, season.owner.username)
    dashboard = f"/seasons/{season.id}"
    response = post_form(
        client,
        dashboard,
        f"{dashboard}/edit",
        {"name": "x", "year": "2026", "holidays": "十月一日"},
    )
    assert response.status_code == 400 and "节假日列表有误" in response.get_data(as_text=True)
    duplicate = post_form(client, dashboard, f"{dashboard}/units", {"name": "甲县"})
    assert duplicate.status_code == 400 and "已在本考核年度中" in duplicate.get_data(as_text=True)
    created = post_form(
        client, "/seasons", "/seasons", {"name": "", "year": "2026", "checklist": "langfang-2014:1"}
    )
    assert created.status_code == 400


def test_the_checklist_file_and_the_meetings_are_reachable(app, season):
    client = app.test_client()
    login(client, season.owner.username)
    checklist = season_service.checklist_of(season)
    page = client.get("/checklists/langfang-2014/1").get_data(as_text=True)
    assert checklist.sha256 in page and "一票否决" in page
    assert client.get("/checklists/langfang-2014/99").status_code == 404
    meeting = create_session(
        season.owner, SessionInput(title="全委会述责述廉", meeting_type=MeetingType.SHUZE_SHULIAN)
    )
    listing = client.get("/seasons").get_data(as_text=True)
    assert "全委会述责述廉" in listing
    assert f"/sessions/{meeting.id}/inquiries" in listing
    assert f"/sessions/{meeting.id}/rectification" in listing
