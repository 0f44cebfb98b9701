"""质询 from phones: the code proves attendance and caps the questions; nothing links a stored
question to a code; moderation, the screen, written answers due in 7 working days, overdue."""

import re
from datetime import date

import pytest
import sqlalchemy as sa

from survey.clock import today
from survey.extensions import db
from survey.models import (
    AnswerMode,
    BallotCode,
    EvalSession,
    GrantLevel,
    Inquiry,
    InquiryQuota,
    MeetingType,
    Role,
    SessionGrant,
    SubjectRole,
)
from survey.services import inquiries as inquiry_service
from survey.services import seasons as season_service
from survey.services.codes import void_codes
from tests.conftest import login
from tests.seasons.conftest import close, new_session, post_form, prepare
from tests.vote.conftest import ballot_form, full_answers

MEMBERS = [
    ("周明", "县委书记", SubjectRole.PRINCIPAL),
    ("吴刚", "县委副书记", SubjectRole.MEMBER),
]


@pytest.fixture
def meeting(app, make_user):
    """An open 述责述廉 meeting with two subjects and six cards, and its organizer."""
    organizer = make_user(role=Role.ORGANIZER)
    session = new_session(organizer, "2026年度县委全委会述责述廉", MeetingType.SHUZE_SHULIAN)
    prepared = prepare(session, organizer, MEMBERS, codes=6)
    return prepared, organizer


def subject_id(session: EvalSession, name: str) -> int:
    return next(s.id for s in session.subjects if s.name == name)


def ask(phone, code: str, subject: int, text: str):
    return phone.post("/q/ask", data={"code": code, "subject": str(subject), "text": text})


def test_an_attendee_asks_from_a_phone_without_javascript(meeting, phone):
    prepared, _ = meeting
    entry = phone.get("/q")
    assert entry.status_code == 200 and entry.headers["Cache-Control"] == "no-store"
    assert "<script" not in entry.get_data(as_text=True)
    # No CSRF token: an attendee has no login; the code itself stops forgery.
    form = phone.post("/q", data={"code": prepared.codes[0].lower()})
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert "周明" in html and "吴刚" in html and "还可以提问 3 次" in html
    sent = ask(
        phone, prepared.codes[0], subject_id(prepared.session, "周明"), "乡镇信访积案如何化解？"
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)
    assert sent.headers["Location"].endswith("/q/sent")
    assert "问题已提交" in phone.get("/q/sent").get_data(as_text=True)
    stored = db.session.scalars(sa.select(Inquiry)).all()
    assert [(i.text, i.asked_on, i.mode) for i in stored] == [
        ("乡镇信访积案如何化解？", today(), AnswerMode.PENDING)
    ]
    assert re.fullmatch(r"[0-9a-f]{32}", stored[0].id)


def test_one_code_may_send_three_questions_and_no_more(meeting, phone):
    prepared, _ = meeting
    target = subject_id(prepared.session, "吴刚")
    for number in range(3):
        assert ask(phone, prepared.codes[1], target, f"问题{number}").status_code == 303
    refused = ask(phone, prepared.codes[1], target, "第四个问题")
    assert refused.status_code == 429
    assert "每张测评码最多提出3个问题" in refused.get_data(as_text=True)
    again = phone.post("/q", data={"code": prepared.codes[1]}).get_data(as_text=True)
    assert "提问次数已用完" in again
    # Another card is not affected.
    assert ask(phone, prepared.codes[2], target, "另一张卡片的问题").status_code == 303
    texts = sorted(db.session.scalars(sa.select(Inquiry.text)))
    assert texts == ["另一张卡片的问题", "问题0", "问题1", "问题2"]


def test_no_code_or_hash_is_stored_with_a_question(meeting, phone):
    prepared, _ = meeting
    code = prepared.codes[3]
    ask(phone, code, subject_id(prepared.session, "周明"), "关于八项规定执行情况的问题")
    inquiry_columns = {c.name for c in Inquiry.__table__.columns}
    assert inquiry_columns == {
        "id",
        "session_id",
        "subject_id",
        "text",
        "asked_on",
        "on_screen",
        "mode",
        "due_on",
        "answer",
        "answered_on",
    }
    assert str(Inquiry.__table__.c.asked_on.type) == "DATE"  # a date, never a time
    quota_columns = {c.name for c in InquiryQuota.__table__.columns}
    assert quota_columns == {"key_hash", "session_id", "count"}
    code_row = db.session.scalars(sa.select(BallotCode)).all()
    hashes = {row.code_hash for row in code_row}
    [quota] = db.session.scalars(sa.select(InquiryQuota)).all()
    assert quota.count == 1 and quota.key_hash not in hashes  # not joinable to ballot_code
    inquiry_values = [
        str(value) for row in db.session.execute(sa.select(Inquiry.__table__)) for value in row
    ]
    forbidden = {code, code.lower(), quota.key_hash, *hashes}
    assert not forbidden & set(inquiry_values)
    assert not any(code in value or quota.key_hash in value for value in inquiry_values)


def test_what_the_code_must_be(app, meeting, phone, make_user):
    prepared, organizer = meeting
    session = prepared.session
    principal = subject_id(session, "周明")
    assert phone.post("/q", data={"code": "ABCDE-FGHJK"}).status_code == 404
    # A used code (it has voted) still proves attendance.
    fields, page = ballot_form(phone, prepared.codes[4])
    assert phone.post("/v/submit", data={**fields, **full_answers(page)}).status_code == 303
    assert ask(phone, prepared.codes[4], principal, "投票后再提问").status_code == 303
    # A void code does not.
    void_codes(session, prepared.codes[5], organizer)
    assert ask(phone, prepared.codes[5], principal, "作废的卡片").status_code == 410
    # A subject of another session, or no subject, is refused.
    other = new_session(organizer, "另一场述责述廉", MeetingType.SHUZE_SHULIAN)
    other_prepared = prepare(other, organizer, [("郑华", "县长", SubjectRole.MEMBER)], codes=5)
    foreign = other_prepared.session.subjects[0].id
    refused = ask(phone, prepared.codes[0], foreign, "问别的会议的人")
    assert refused.status_code == 400 and "请选择要质询的述责述廉对象" in refused.get_data(
        as_text=True
    )
    assert ask(phone, prepared.codes[0], principal, " ").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 1
    # A 汇报测评 does not take questions; a closed meeting no longer does.
    report = new_session(organizer, "汇报测评", MeetingType.REPORT_EVALUATE)
    team = [("县委领导班子", "", SubjectRole.TEAM), ("王敏", "副县长", SubjectRole.MEMBER)]
    report_codes = prepare(report, organizer, team, codes=5)
    assert phone.post("/q", data={"code": report_codes.codes[0]}).status_code == 403
    close(session)
    assert phone.post("/q", data={"code": prepared.codes[0]}).status_code == 410


def test_organizer_chooses_questions_for_the_screen(app, meeting, phone, client, make_user):
    prepared, organizer = meeting
    session = prepared.session
    for code, text in zip(prepared.codes[:3], ("问题甲", "问题乙", "问题丙"), strict=True):
        ask(phone, code, subject_id(session, "周明"), text)
    assert login(client, organizer.username).status_code == 302
    page = f"/sessions/{session.id}/inquiries"
    html = client.get(page).get_data(as_text=True)
    assert all(text in html for text in ("问题甲", "问题乙", "问题丙"))
    ids = {i.text: i.id for i in db.session.scalars(sa.select(Inquiry))}
    chosen = post_form(client, page, f"{page}/screen", {"show": [ids["问题甲"], ids["问题丙"]]})
    assert chosen.status_code == 302
    screen = client.get(f"{page}/screen").get_data(as_text=True)
    assert "问题甲" in screen and "问题丙" in screen and "问题乙" not in screen
    # Rewritten in random order, same questions under the same ids.
    assert {i.text: i.id for i in db.session.scalars(sa.select(Inquiry))} == ids
    stranger = app.test_client()
    login(stranger, make_user(role=Role.ORGANIZER).username)
    assert stranger.get(page).status_code == 404
    assert stranger.get(f"{page}/screen").status_code == 404


def test_a_written_answer_is_due_in_seven_working_days_and_listed_when_late(
    app, meeting, phone, client, monkeypatch
):
    prepared, organizer = meeting
    session = prepared.session
    session.meeting_date = date(2026, 3, 6)  # a Friday
    db.session.commit()
    # The session belongs to a season whose holiday list has Thursday 03-12.
    season = season_service.create_season(
        organizer, "2026年度考核", 2026, "langfang-2014:1", "2026-03-12 假日"
    )
    unit = season_service.add_unit(season, "某县", None, organizer)
    # A 述责述廉 session under the default rule set links like any other.
    season_service.link_session(unit, session.id, organizer)
    ask(phone, prepared.codes[0], subject_id(session, "吴刚"), "复杂问题，需书面答复")
    [inquiry] = db.session.scalars(sa.select(Inquiry)).all()
    login(client, organizer.username)
    page = f"/sessions/{session.id}/inquiries"
    marked = post_form(client, page, f"{page}/{inquiry.id}/mode", {"mode": "written"})
    assert marked.status_code == 302
    inquiry = db.session.get(Inquiry, inquiry.id)
    # Mon 9 … Wed 11 (3), Fri 13 (4), Mon 16 … Wed 18 (7): one day later for the holiday.
    assert inquiry.due_on == date(2026, 3, 18)
    # The instance's own list counts too.
    app.config["HOLIDAYS"] = "2026-03-16"
    assert inquiry_service.answer_deadline(session) == date(2026, 3, 19)

    def fixed_today() -> date:
        return date(2026, 3, 20)

    monkeypatch.setattr(inquiry_service, "today", fixed_today)
    monkeypatch.setattr("survey.services.rectification.today", fixed_today)
    monkeypatch.setattr("survey.web.rectification.routes.today", fixed_today)
    late = client.get("/rectification/overdue").get_data(as_text=True)
    assert "复杂问题，需书面答复" in late and "2 个工作日" in late  # 19th and 20th
    answered = post_form(client, page, f"{page}/{inquiry.id}/answer", {"answer": "已书面说明。"})
    assert answered.status_code == 302
    assert "复杂问题，需书面答复" not in client.get("/rectification/overdue").get_data(as_text=True)
    record = client.get("/people?name=吴刚").get_data(as_text=True)
    assert "复杂问题，需书面答复" in record and "已书面说明。" in record


def test_only_organizers_moderate(app, meeting, phone, make_user):
    prepared, organizer = meeting
    ask(phone, prepared.codes[0], subject_id(prepared.session, "周明"), "问题")
    [inquiry] = db.session.scalars(sa.select(Inquiry)).all()
    assessor = make_user(role=Role.ASSESSOR)
    db.session.add(
        SessionGrant(session_id=prepared.session.id, user_id=assessor.id, level=GrantLevel.ASSESS)
    )
    db.session.commit()
    desk = app.test_client()
    login(desk, assessor.username)
    page = f"/sessions/{prepared.session.id}/inquiries"
    assert desk.get(page).status_code == 200
    response = post_form(desk, page, f"{page}/{inquiry.id}/mode", {"mode": "written"})
    assert response.status_code == 403
    assert db.session.get(Inquiry, inquiry.id).mode == AnswerMode.PENDING


def test_close_forgets_who_asked_and_in_which_order(meeting, phone):
    prepared, _ = meeting
    target = subject_id(prepared.session, "周明")
    for number, code in enumerate(prepared.codes[:4]):
        assert ask(phone, code, target, f"会上问题{number}").status_code == 303
    db.session.rollback()
    before = set(db.session.scalars(sa.select(Inquiry.text)))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InquiryQuota)) == 4
    close(prepared.session)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InquiryQuota)) == 0
    assert set(db.session.scalars(sa.select(Inquiry.text))) == before  # questions kept
