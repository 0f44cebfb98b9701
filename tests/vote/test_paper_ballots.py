"""Paper ballots: double entry by two clerks, the code used up, mismatches listed."""

import sqlalchemy as sa

from survey.extensions import db
from survey.models import GrantLevel, PaperEntry, Role, SessionGrant
from tests.conftest import csrf_token_from, login
from tests.vote.conftest import (
    ballot_form,
    count_ballots,
    full_answers,
    rating_fields,
    sealed_contents,
)


def clerk(app, make_user, session):
    user = make_user(role=Role.ORGANIZER)
    db.session.add(SessionGrant(session_id=session.id, user_id=user.id, level=GrantLevel.ORGANIZE))
    db.session.commit()
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def key_in(client, session_id, code, answers):
    url = f"/sessions/{session_id}/paper"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "code": code, **answers})


def paper_answers(client, session, option="good"):
    page = client.get(f"/sessions/{session.id}/paper").get_data(as_text=True)
    return {name: option for name in rating_fields(page)}


def test_two_agreeing_entries_count_once_and_leave_no_trace(app, make_user, open_session):
    session = open_session.session
    first, second = clerk(app, make_user, session), clerk(app, make_user, session)
    answers = paper_answers(first, session)
    code = open_session.codes[0]

    response = key_in(first, session.id, code, answers)
    assert response.status_code == 302
    assert "已录入第一遍" in first.get(response.headers["Location"]).get_data(as_text=True)
    assert count_ballots(session.id) == 0

    assert key_in(second, session.id, code.lower(), answers).status_code == 302
    assert count_ballots(session.id) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaperEntry)) == 0
    # The card's code is used up: it cannot also vote online.
    assert first.get(f"/v/{code}").status_code == 409


def test_same_clerk_cannot_enter_twice(app, make_user, open_session):
    session = open_session.session
    first = clerk(app, make_user, session)
    answers = paper_answers(first, session)
    key_in(first, session.id, open_session.codes[0], answers)
    again = key_in(first, session.id, open_session.codes[0], answers)
    assert again.status_code == 400
    assert "另一位录入员" in again.get_data(as_text=True)
    assert count_ballots(session.id) == 0


def test_disagreeing_entries_are_listed_and_can_be_settled(app, make_user, open_session):
    session = open_session.session
    first, second = clerk(app, make_user, session), clerk(app, make_user, session)
    code = open_session.codes[0]
    key_in(first, session.id, code, paper_answers(first, session, "good"))
    response = key_in(second, session.id, code, paper_answers(second, session, "poor"))
    assert "两次录入不一致" in second.get(response.headers["Location"]).get_data(as_text=True)
    assert count_ballots(session.id) == 0
    page = second.get(f"/sessions/{session.id}/paper").get_data(as_text=True)
    assert "待核对" in page
    # The entries are stored sealed; the page opens them for the organizer to compare.
    stored = " ".join(db.session.scalars(sa.select(PaperEntry.answers)))
    assert '"good"' not in stored and '"poor"' not in stored
    assert "&#34;good&#34;" in page and "&#34;poor&#34;" in page

    wrong = db.session.scalars(sa.select(PaperEntry).order_by(PaperEntry.id)).all()[-1]
    token = csrf_token_from(page)
    second.post(f"/sessions/{session.id}/paper/discard/{wrong.id}", data={"csrf_token": token})
    key_in(second, session.id, code, paper_answers(second, session, "good"))
    assert count_ballots(session.id) == 1
    (ballot,) = sealed_contents(session.id)
    assert set(ballot.ratings.values()) == {"good"} and ballot.paper is True


def test_code_already_used_online_cannot_be_entered_on_paper(app, client, make_user, open_session):
    session = open_session.session
    code = open_session.codes[0]
    fields, page = ballot_form(client, code)
    client.post("/v/submit", data={**fields, **full_answers(page)})
    first = clerk(app, make_user, session)
    response = key_in(first, session.id, code, paper_answers(first, session))
    assert response.status_code == 400
    assert "只能计一次" in response.get_data(as_text=True)
    assert count_ballots(session.id) == 1


def test_bad_paper_entry_keeps_what_was_typed(app, make_user, open_session):
    session = open_session.session
    first = clerk(app, make_user, session)
    answers = paper_answers(first, session, "average")
    response = key_in(first, session.id, "WRONG-CODE", answers)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "测评码无效" in html
    assert 'value="WRONG-CODE"' in html
    assert f'name="{next(iter(answers))}" value="average" checked' in html


def test_assessor_cannot_enter_paper_ballots(client, logged_in, open_session):
    logged_in(Role.ASSESSOR)
    assert client.get(f"/sessions/{open_session.session.id}/paper").status_code == 403
