"""测评日期 on the reports: a season's unit session carries the day it opened, never "—"."""

import re
from datetime import UTC, date, datetime

from survey.clock import today
from survey.exports import signed_sheet
from survey.extensions import db
from survey.models import EvalSession, Role, SubjectRole
from survey.reports.pdf import session_report
from survey.services import seasons as season_service
from survey.services.results import compute_results
from survey.services.sessions import SessionInput, create_session
from survey.services.signoff import sign_off
from tests.reports.test_archivist_reports import text_lines
from tests.seasons.conftest import close, prepare, vote

SUBJECTS = [
    ("甲县党政领导班子", "", SubjectRole.TEAM),
    ("赵一", "县委书记", SubjectRole.PRINCIPAL),
    ("钱二", "副县长", SubjectRole.MEMBER),
]


def flat_text(data: bytes) -> str:
    return re.sub(r"\s+", "", "".join(text_lines(data)))


def closed_with_votes(app, session: EvalSession, owner) -> EvalSession:
    prepared = prepare(session, owner, SUBJECTS, 6)
    phone = app.test_client()
    for code in prepared.codes:
        vote(phone, session, code)
    close(session)
    return db.session.get(EvalSession, session.id)


def test_a_season_session_prints_the_day_it_opened(app, make_user):
    owner = make_user(role=Role.ORGANIZER)
    season = season_service.create_season(owner, "2026年度考核", 2026, "langfang-2014:1")
    unit = season_service.add_unit(season, "甲县", "300000", owner)
    session = season_service.create_unit_session(unit, owner)
    assert session.meeting_date is None  # the season knows no meeting date
    opened_on = today()
    session = closed_with_votes(app, session, owner)
    assert session.meeting_date in (opened_on, today())  # (midnight may pass in between)
    day = session.meeting_date
    sign_off(session, owner, waive_parts=True)
    results = compute_results(session)
    shown = f"测评日期{day.year}年{day.month}月{day.day}日"
    for data in (session_report(results), signed_sheet(results, results.subjects[1])):
        text = flat_text(data)
        assert shown in text and "测评日期—" not in text


def test_a_typed_meeting_date_is_kept_at_opening(app, make_user):
    owner = make_user(role=Role.ORGANIZER)
    session = create_session(
        owner, SessionInput(title="述责述廉", unit="乙县", meeting_date=date(2026, 1, 9))
    )
    session = closed_with_votes(app, session, owner)
    assert session.meeting_date == date(2026, 1, 9)
    assert "测评日期2026年1月9日" in flat_text(session_report(compute_results(session)))


def test_a_session_opened_before_dates_were_recorded_prints_its_opening_day(app, make_user):
    owner = make_user(role=Role.ORGANIZER)
    session = create_session(owner, SessionInput(title="旧测评", unit="丙县"))
    session = closed_with_votes(app, session, owner)
    # As an older session was left: no date typed, opened late on 8 January UTC, which is
    # already 9 January in Beijing.
    session.meeting_date = None
    session.opened_at = datetime(2026, 1, 8, 17, 30, tzinfo=UTC)
    results = compute_results(session)
    assert "测评日期2026年1月9日（开始测评日期）" in flat_text(session_report(results))
    db.session.rollback()
