"""Copying last year's session: its setup comes along, never its codes, ballots or reports."""

import datetime as dt

import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    AuditEntry,
    Ballot,
    BallotCode,
    EvalSession,
    MeetingType,
    SessionState,
    SubjectRole,
)
from survey.services import codes as code_service
from survey.services import roster
from survey.services import sessions as sessions_service
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, QuestionnaireWording, SessionInput
from tests.ballots import add_sealed, first_options
from tests.conftest import csrf_token_from


def last_year(owner) -> EvalSession:
    session = sessions_service.create_session(
        owner,
        SessionInput(
            title="2024年度述责述廉测评",
            unit="某县纪委",
            meeting_date=dt.date(2024, 12, 20),
            meeting_type=MeetingType.SHUZE_SHULIAN,
        ),
    )
    roster.add_subject(session, SubjectInput("张明", "县委书记", SubjectRole.PRINCIPAL), owner)
    roster.add_subject(session, SubjectInput("李华", "县长", SubjectRole.MEMBER), owner)
    roster.set_report(session.subjects[1], text="2024年述责述廉报告", actor=owner)
    sessions_service.add_group(session, GroupInput("全委会委员", 31, "#1e8449"), owner)
    sessions_service.add_group(session, GroupInput("列席人员", 12), owner)
    sessions_service.reword_questionnaire(
        session, QuestionnaireWording("某县述责述廉测评表", "说明", {}, True, False, 300), owner
    )
    code_service.issue_codes(session.groups[0], 3, owner)
    sessions_service.open_session(session, owner)
    add_sealed(session, [first_options(session)])
    sessions_service.close_session(session, owner)
    return session


def test_copy_takes_the_setup_and_nothing_else(app, make_user):
    owner = make_user()
    source = last_year(owner)
    copy = sessions_service.copy_session(
        source, owner, "2025年度述责述廉测评", dt.date(2025, 12, 19)
    )
    db.session.expire_all()
    assert (copy.title, copy.unit, copy.meeting_date) == (
        "2025年度述责述廉测评",
        "某县纪委",
        dt.date(2025, 12, 19),
    )
    assert copy.state == SessionState.DRAFT
    assert copy.meeting_type == source.meeting_type
    assert (copy.rule_set_key, copy.rule_set_version) == (
        source.rule_set_key,
        source.rule_set_version,
    )
    assert copy.copied_from_id == source.id
    assert copy.questionnaire == source.questionnaire
    assert copy.questionnaire_sha256 is None and copy.opened_at is None and copy.closed_at is None
    assert sessions_service.questionnaire_of(copy).title == "某县述责述廉测评表"
    assert [(s.name, s.post, s.kind, s.position) for s in copy.subjects] == [
        (s.name, s.post, s.kind, s.position) for s in source.subjects
    ]
    assert all(s.report_text is None and s.report_pdf is None for s in copy.subjects)
    assert [(g.name, g.expected_count, g.colour) for g in copy.groups] == [
        ("全委会委员", 31, "#1e8449"),
        (source.groups[1].name, 12, source.groups[1].colour),
    ]
    for model in (BallotCode, Ballot):
        count = sa.select(sa.func.count()).select_from(model).where(model.session_id == copy.id)
        assert db.session.scalar(count) == 0
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.session_id == copy.id)).one()
    assert audit.action == "copy_session" and "2024年度述责述廉测评" in audit.detail
    # The copy is a draft like any other: it can be changed and opened.
    sessions_service.add_group(copy, GroupInput("两代表一委员", 8), owner)
    sessions_service.open_session(copy, owner)


def test_copy_from_the_page(app, client, logged_in):
    owner = logged_in()
    source = last_year(owner)
    page = client.get(f"/sessions/{source.id}/copy")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "不复制：测评码" in html
    response = client.post(
        f"/sessions/{source.id}/copy",
        data={
            "csrf_token": csrf_token_from(html),
            "title": "2025年度述责述廉测评",
            "meeting_date": "2025-12-19",
        },
    )
    assert response.status_code == 302
    copy = db.session.scalars(
        sa.select(EvalSession).where(EvalSession.copied_from_id == source.id)
    ).one()
    assert response.headers["Location"].endswith(f"/sessions/{copy.id}")
    assert len(copy.subjects) == 2 and len(copy.groups) == 2


def test_another_organizers_session_cannot_be_copied(app, client, logged_in, make_user):
    source = last_year(make_user())
    logged_in()
    assert client.get(f"/sessions/{source.id}/copy").status_code == 404
