"""Helpers for seasons, inquiries and rectification: sessions with subjects, codes and votes."""

from dataclasses import dataclass
from fractions import Fraction

import pytest

from survey.domain.checklist import Checklist, Rule
from survey.models import EvalSession, MeetingType, SubjectRole, User
from survey.services import roster
from survey.services.codes import issue_codes
from survey.services.sessions import (
    GroupInput,
    SessionInput,
    add_group,
    close_session,
    create_session,
    open_session,
)
from tests.conftest import csrf_token_from
from tests.vote.conftest import ballot_form


def full_facts(checklist: Checklist) -> dict:
    """Facts that earn every base point: yes to every award, no to every loss, quotas met."""
    facts: dict = {}
    for part in checklist.parts:
        for item in part.items:
            if item.rule is Rule.AWARD:
                facts[item.fact] = True
            elif item.rule in (Rule.FORFEIT, Rule.DEDUCT, Rule.VETO):
                facts[item.fact] = False
            elif item.rule is Rule.QUOTA:
                facts[item.fact] = item.target
            elif item.rule is Rule.EACH:
                facts[item.fact] = 0
    facts.update(
        rules_issued=10,
        provincial_approvals=3,
        case_work_score=Fraction(90),
        petitions=10,
        visits=5,
        results_required=4,
        results_concluded=4,
    )
    return facts


GROUP = "县级领导干部"


@dataclass
class Prepared:
    session: EvalSession
    codes: list[str]


def prepare(
    session: EvalSession,
    owner: User,
    subjects: list[tuple[str, str, SubjectRole]],
    codes: int,
    *,
    open_it: bool = True,
) -> Prepared:
    """Add subjects and one rater group with codes to a draft session, then open it."""
    for name, post, kind in subjects:
        roster.add_subject(session, roster.SubjectInput(name, post, kind), owner)
    group = add_group(session, GroupInput(GROUP, codes), owner)
    issued = issue_codes(group, codes, owner)
    if open_it:
        open_session(session, owner)
    return Prepared(session, issued)


def new_session(owner: User, title: str, meeting_type=MeetingType.REPORT_EVALUATE) -> EvalSession:
    return create_session(owner, SessionInput(title=title, unit=title, meeting_type=meeting_type))


def vote(
    client, session: EvalSession, code: str, team="good", others="good", comments=None
) -> None:
    """Cast one ballot from a phone: `team` on the team's line, `others` on each member's."""
    fields, page = ballot_form(client, code)
    answers = {}
    for subject in session.subjects:
        name = f"r-{subject.id}-overall"
        assert name in page
        answers[name] = team if subject.kind == SubjectRole.TEAM else others
    for subject_id, text in (comments or {}).items():
        answers[f"c-{subject_id}"] = text
    response = client.post("/v/submit", data={**fields, **answers})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def close(session: EvalSession) -> None:
    close_session(session, None)


def post_form(client, page_url: str, action: str, data: dict, **kwargs):
    """Post a form with the CSRF token of the page it is on."""
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data}, **kwargs)


@pytest.fixture
def phone(app):
    """A second client with no login: an attendee's phone."""
    return app.test_client()
