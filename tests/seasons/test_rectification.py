"""整改: from 意见建议 to items with deadlines, the subject's report, overdue, the person's file."""

from datetime import timedelta

import sqlalchemy as sa

from survey.extensions import db
from survey.models import GrantLevel, RectificationItem, Role, SessionGrant, SubjectRole
from survey.services.inquiries import today
from tests.conftest import login
from tests.seasons.conftest import close, new_session, post_form, prepare, vote


def test_feedback_becomes_items_with_deadlines_reports_and_overdue(app, client, make_user):
    organizer = make_user(role=Role.ORGANIZER)
    session = new_session(organizer, "2026年度汇报测评")
    subjects = [
        ("县委领导班子", "", SubjectRole.TEAM),
        ("李华", "县长", SubjectRole.MEMBER),
    ]
    prepared = prepare(session, organizer, subjects, codes=5)
    member = next(s for s in session.subjects if s.name == "李华")
    phone = app.test_client()
    for number, code in enumerate(prepared.codes):
        comments = {member.id: "下基层调研偏少"} if number < 2 else None
        vote(phone, session, code, comments=comments)
    assert login(client, organizer.username).status_code == 302
    page = f"/sessions/{session.id}/rectification/{member.id}"

    # Before close there is no feedback and nothing can be recorded.
    refused = post_form(client, page, page, {"issue": "x", "due_on": "2026-01-01"})
    assert refused.status_code == 400 and "测评结束" in refused.get_data(as_text=True)
    close(session)

    html = client.get(page).get_data(as_text=True)
    assert html.count("<p>下基层调研偏少</p>") == 2  # two ballots said so
    late = (today() - timedelta(days=3)).isoformat()
    later = (today() + timedelta(days=30)).isoformat()
    assert (
        post_form(client, page, page, {"issue": "下基层调研偏少", "due_on": late}).status_code
        == 302
    )
    assert post_form(client, page, page, {"issue": "改进会风", "due_on": later}).status_code == 302
    assert post_form(client, page, page, {"issue": "", "due_on": later}).status_code == 400
    assert post_form(client, page, page, {"issue": "无期限", "due_on": ""}).status_code == 400

    overdue = client.get("/rectification/overdue").get_data(as_text=True)
    assert "下基层调研偏少" in overdue and "改进会风" not in overdue
    listing = client.get(f"/sessions/{session.id}/rectification").get_data(as_text=True)
    assert "已逾期" in listing and "2 项" in listing

    item = db.session.scalar(
        sa.select(RectificationItem).where(RectificationItem.issue == "下基层调研偏少")
    )
    reported = post_form(
        client,
        page,
        f"/sessions/{session.id}/rectification/items/{item.id}/report",
        {"report": "已制定调研计划，全年调研12次。"},
    )
    assert reported.status_code == 302
    assert db.session.get(RectificationItem, item.id).reported_on == today()
    assert "下基层调研偏少" not in client.get("/rectification/overdue").get_data(as_text=True)

    record = client.get("/people?name=李华").get_data(as_text=True)
    assert "已制定调研计划，全年调研12次。" in record and "改进会风" in record
    assert session.title in record  # the session's result line
    # The record's old address, which filed links may still carry, leads to the one page.
    moved = client.get("/people/record?name=李华")
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith("/people?name=%E6%9D%8E%E5%8D%8E")

    # An assessor granted the session reads the items but may not record any.
    assessor = make_user(role=Role.ASSESSOR)
    db.session.add(
        SessionGrant(session_id=session.id, user_id=assessor.id, level=GrantLevel.ASSESS)
    )
    db.session.commit()
    desk = app.test_client()
    login(desk, assessor.username)
    assert "改进会风" in desk.get(page).get_data(as_text=True)
    assert post_form(desk, page, page, {"issue": "x", "due_on": later}).status_code == 403
