"""Transactions end at the boundary: services flush, the request or the command commits once.

Two services called one after the other share the caller's transaction: they land together,
or (after a refusal) not at all. "Another connection" below is a second connection from the
engine's pool, which sees only what was committed.
"""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from survey.extensions import db, write_intent
from survey.models import AuditEntry, EvalSession, Role, Subject, SubjectRole
from survey.services import ServiceError, roster
from survey.services import sessions as sessions_service
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, SessionInput
from tests.conftest import csrf_token_from


@contextmanager
def another_connection():
    """A reader beside the test's own transaction (on SQLite a deferred one: it takes no lock)."""
    token = write_intent.set(False)
    try:
        with db.engine.connect() as other:
            yield other
    finally:
        write_intent.reset(token)


def committed_titles() -> list[str]:
    with another_connection() as other:
        return list(other.scalars(sa.select(EvalSession.title).order_by(EvalSession.id)))


def committed_subjects(title: str) -> list[str]:
    with another_connection() as other:
        return list(
            other.scalars(
                sa.select(Subject.name)
                .join(EvalSession, Subject.session_id == EvalSession.id)
                .where(EvalSession.title == title)
                .order_by(Subject.position)
            )
        )


def test_two_services_commit_together_once_the_caller_commits(app, make_user):
    owner = make_user()
    db.session.commit()
    session = sessions_service.create_session(owner, SessionInput(title="组合测评"))
    roster.add_subject(session, SubjectInput("县委领导班子", "", SubjectRole.TEAM), owner)
    sessions_service.add_group(session, GroupInput("县级领导干部", 5), owner)
    assert "组合测评" not in committed_titles()  # flushed, not committed
    db.session.commit()
    assert "组合测评" in committed_titles()
    assert committed_subjects("组合测评") == ["县委领导班子"]


def test_a_refusal_in_the_second_service_undoes_the_first(app, make_user):
    owner = make_user()
    db.session.commit()
    session = sessions_service.create_session(owner, SessionInput(title="半途而废"))
    roster.add_subject(session, SubjectInput("县委领导班子", "", SubjectRole.TEAM), owner)
    with pytest.raises(ServiceError, match="已有领导班子"):
        roster.add_subject(session, SubjectInput("另一个班子", "", SubjectRole.TEAM), owner)
    db.session.rollback()  # what the request's boundary does on a refusal
    assert "半途而废" not in committed_titles()
    assert committed_subjects("半途而废") == []


def test_a_request_commits_what_its_services_wrote_and_a_refused_one_nothing(
    app, client, logged_in
):
    logged_in(Role.ORGANIZER)
    page = "/sessions/new"
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    form = {
        "csrf_token": token,
        "meeting_type": "report_evaluate",
        "rule_set": "",
        "questionnaire": "",
    }
    made = client.post(page, data={**form, "title": "经由网页", "unit": "某县委"})
    assert made.status_code == 302
    # The response was sent after the commit: another connection sees the session and the
    # audit line written by the same request, and the request left no transaction open.
    assert "经由网页" in committed_titles()
    with another_connection() as other:
        actions = list(other.scalars(sa.select(AuditEntry.action)))
    assert "create_session" in actions
    assert not db.session().in_transaction()

    refused = client.post(page, data={**form, "title": "x" * 300})
    assert refused.status_code == 400
    assert committed_titles().count("经由网页") == 1 and len(committed_titles()) == 1
    assert not db.session().in_transaction()
