"""The demo: a ready, open session so that a newcomer can vote from a phone at once."""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from survey.domain import DEFAULT_RULESET_ID, get_shipped
from survey.domain.questionnaire import shipped
from survey.extensions import db
from survey.models import EvalSession, MeetingType, RaterGroup, Role, Subject, SubjectRole, User
from survey.security import hash_password, new_password
from survey.services.codes import issue_codes
from survey.services.sessions import open_session

DEMO_USERNAME = "demo"
# The 书记 and the 县长 are both 党政主要负责人 (seed 002): both take 50 % personal + 50 % team.
DEMO_SUBJECTS = [
    ("县委领导班子", "", SubjectRole.TEAM),
    ("张明", "县委书记", SubjectRole.PRINCIPAL),
    ("李华", "县委副书记、县长", SubjectRole.PRINCIPAL),
    ("王芳", "县委常委、纪委书记", SubjectRole.MEMBER),
    ("赵强", "县委常委、组织部部长", SubjectRole.MEMBER),
    ("陈静", "县委常委、宣传部部长", SubjectRole.MEMBER),
]
DEMO_GROUPS = [("县级领导干部", "#c0392b"), ("部门主要负责人", "#2471a3")]


@dataclass
class DemoResult:
    session_id: int
    username: str
    password: str
    codes: dict[str, list[str]]


def create_demo(codes_per_group: int) -> DemoResult:
    """Create (or refresh the password of) the demo organizer and a new open demo session."""
    password = new_password()
    organizer = db.session.scalar(sa.select(User).where(User.username == DEMO_USERNAME))
    if organizer is None:
        organizer = User(username=DEMO_USERNAME, display_name="演示组织者", role=Role.ORGANIZER)
        db.session.add(organizer)
    organizer.password_hash = hash_password(password)
    organizer.active = True

    questionnaire = shipped()["dangfeng-zerenzhi"]
    session = EvalSession(
        title=f"{dt.date.today().year}年度党风廉政建设责任制民主测评（演示）",
        unit="演示县委",
        meeting_date=dt.date.today(),
        meeting_type=MeetingType.REPORT_EVALUATE,
        owner=organizer,
        rule_set_key=DEFAULT_RULESET_ID,
        rule_set_version=get_shipped(DEFAULT_RULESET_ID).version,
        questionnaire=questionnaire.canonical_json(),
    )
    session.subjects = [
        Subject(name=name, post=post, kind=kind, position=index)
        for index, (name, post, kind) in enumerate(DEMO_SUBJECTS)
    ]
    session.groups = [
        RaterGroup(name=name, colour=colour, expected_count=codes_per_group, position=index)
        for index, (name, colour) in enumerate(DEMO_GROUPS)
    ]
    db.session.add(session)
    db.session.flush()
    codes = {group.name: issue_codes(group, codes_per_group, organizer) for group in session.groups}
    session_id = session.id
    open_session(session, organizer)
    # The caller commits (the command's boundary); nothing is read after this point, so the
    # transaction it ends is the one that wrote the demo.
    return DemoResult(session_id, DEMO_USERNAME, password, codes)
