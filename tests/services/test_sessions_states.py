"""Draft → open → closed: what each state allows, enforced in the services (and the CLI)."""

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    AuditEntry,
    BallotCode,
    CodeStatus,
    EvalSession,
    SessionState,
    SubjectRole,
)
from survey.security import display_code
from survey.services import ServiceError, roster
from survey.services import codes as code_service
from survey.services import sessions as sessions_service
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, SessionInput
from tests.ballots import add_sealed, first_options


def ready_session(owner, questionnaire: str = "") -> EvalSession:
    """A draft with a team, a principal, a member and two groups of five."""
    session = sessions_service.create_session(
        owner, SessionInput(title="2025年度民主测评", unit="某县委", questionnaire=questionnaire)
    )
    for name, post, kind in (
        ("县委领导班子", "", SubjectRole.TEAM),
        ("张明", "县委书记", SubjectRole.PRINCIPAL),
        ("李华", "县委副书记", SubjectRole.MEMBER),
    ):
        roster.add_subject(session, SubjectInput(name, post, kind), owner)
    sessions_service.add_group(session, GroupInput("县级领导干部", 5), owner)
    sessions_service.add_group(session, GroupInput("部门主要负责人", 5), owner)
    db.session.commit()  # as the requests that set it up would have
    return session


def add_ballot(session: EvalSession) -> None:
    """Store an anonymous ballot directly, sealed, as a submitted phone ballot leaves it."""
    add_sealed(session, [first_options(session)])


def actions(session: EvalSession) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.session_id == session.id)
            .order_by(AuditEntry.id)
        )
    )


def test_open_freezes_the_questionnaire_and_is_logged(app, make_user):
    owner = make_user()
    session = ready_session(owner)
    sessions_service.open_session(session, owner)
    db.session.expire_all()
    assert session.state == SessionState.OPEN
    assert session.opened_at is not None
    assert len(session.questionnaire_sha256) == 64
    assert sessions_service.questionnaire_of(session).sha256() == session.questionnaire_sha256
    assert actions(session)[0] == "create_session"
    assert actions(session)[-1] == "open_session"


@pytest.mark.parametrize(
    "change",
    [
        lambda s, u: roster.add_subject(s, SubjectInput("王芳", "", SubjectRole.MEMBER), u),
        lambda s, u: roster.update_subject(
            s.subjects[2], SubjectInput("李华", "县长", SubjectRole.MEMBER), u
        ),
        lambda s, u: roster.delete_subject(s.subjects[2], u),
        lambda s, u: roster.move_subject(s.subjects[2], "up", u),
        lambda s, u: roster.set_report(s.subjects[1], text="述职报告", actor=u),
        lambda s, u: roster.import_roster(
            s, "名单.csv", "姓名,类别\n王芳,班子成员\n".encode(), replace=False, actor=u
        ),
        lambda s, u: sessions_service.add_group(s, GroupInput("党代表", 3), u),
        lambda s, u: sessions_service.update_group(s.groups[0], GroupInput("县级领导干部", 9), u),
        lambda s, u: sessions_service.delete_group(s.groups[1], u),
        lambda s, u: sessions_service.use_questionnaire(s, "shuze-shulian", u),
        lambda s, u: sessions_service.update_session(s, SessionInput(title="新名称"), u),
        lambda s, u: sessions_service.reword_questionnaire(
            s,
            sessions_service.QuestionnaireWording("新标题", "", {}, True, True, 300),
            u,
        ),
    ],
    ids=[
        "add-subject",
        "update-subject",
        "delete-subject",
        "move-subject",
        "report",
        "import",
        "add-group",
        "update-group",
        "delete-group",
        "questionnaire",
        "session-facts",
        "reword",
    ],
)
@pytest.mark.parametrize("state", ["open", "closed"])
def test_setup_cannot_change_after_opening(app, make_user, change, state):
    owner = make_user()
    session = ready_session(owner)
    sessions_service.open_session(session, owner)
    db.session.commit()
    if state == "closed":
        sessions_service.close_session(session, owner)
    frozen = session.questionnaire
    subjects = [(s.name, s.post, s.position) for s in session.subjects]
    with pytest.raises(ServiceError) as refused:
        change(session, owner)
    db.session.rollback()
    assert ("测评已开始" if state == "open" else "测评已结束") in str(refused.value)
    assert "不能再修改" in str(refused.value)
    db.session.expire_all()
    assert session.questionnaire == frozen
    assert [(s.name, s.post, s.position) for s in session.subjects] == subjects
    assert [g.expected_count for g in session.groups] == [5, 5]


def test_close_rewrites_counts_logs_and_wipes_the_card_copies(app, make_user):
    owner = make_user()
    session = ready_session(owner)
    code_service.issue_codes(session.groups[0], 4, owner)
    sessions_service.open_session(session, owner)
    for _ in range(3):
        add_ballot(session)
    assert sessions_service.close_session(session, owner) == 3
    db.session.expire_all()
    assert session.state == SessionState.CLOSED
    assert session.closed_at is not None
    assert actions(session)[-1] == "close_session"
    sealed = db.session.scalars(
        sa.select(BallotCode.code_sealed).where(BallotCode.session_id == session.id)
    ).all()
    assert sealed == [None] * 4
    assert sessions_service.progress(session).submitted == 3


@pytest.mark.parametrize("state", ["draft", "closed"])
def test_only_an_open_session_can_be_closed(app, make_user, state):
    owner = make_user()
    session = ready_session(owner)
    if state == "closed":
        sessions_service.open_session(session, owner)
        sessions_service.close_session(session, owner)
    before = len(actions(session))
    with pytest.raises(ServiceError, match="只有进行中的测评可以结束"):
        sessions_service.close_session(session, owner)
    assert len(actions(session)) == before


def test_a_closed_session_accepts_nothing(app, client, make_user):
    owner = make_user()
    session = ready_session(owner)
    [code] = code_service.issue_codes(session.groups[0], 1, owner)
    sessions_service.open_session(session, owner)
    sessions_service.close_session(session, owner)
    with pytest.raises(ServiceError, match="测评已结束"):
        code_service.issue_codes(session.groups[0], 1, owner)
    with pytest.raises(ServiceError, match="测评已结束"):
        code_service.void_codes(session, code, owner)
    with pytest.raises(ServiceError, match="测评已结束"):
        code_service.unused_codes_to_print(session, owner)
    with pytest.raises(ServiceError, match="只有准备中的测评可以开始"):
        sessions_service.open_session(session, owner)
    db.session.rollback()
    # An attendee holding an unused code is turned away too.
    response = client.get(f"/v/{display_code(code)}")
    assert response.status_code == 410
    assert "测评已结束" in response.get_data(as_text=True)


def test_opening_needs_subjects_and_groups_but_no_team(app, make_user):
    """A session of members only (述责述廉 of a group of cadres) opens; no team is needed."""
    owner = make_user()
    session = sessions_service.create_session(owner, SessionInput(title="空测评"))
    problems = " ".join(sessions_service.opening_problems(session))
    assert "请先添加测评对象" in problems
    assert "请先添加参评人员类别" in problems
    roster.add_subject(session, SubjectInput("张明", "书记", SubjectRole.PRINCIPAL), owner)
    roster.add_subject(session, SubjectInput("李华", "县长", SubjectRole.PRINCIPAL), owner)
    roster.add_subject(session, SubjectInput("王芳", "副县长", SubjectRole.MEMBER), owner)
    sessions_service.add_group(session, GroupInput("委员", 5), owner)
    assert sessions_service.opening_problems(session) == []
    sessions_service.open_session(session, owner)
    assert session.state == SessionState.OPEN


def test_shuze_shulian_rates_members_only(app, make_user):
    """Its items apply to the principal and members: a team subject has nothing to rate."""
    owner = make_user()
    session = ready_session(owner, questionnaire="shuze-shulian")
    with pytest.raises(ServiceError, match="没有适用于领导班子的测评项目"):
        sessions_service.open_session(session, owner)
    db.session.rollback()
    roster.delete_subject(session.subjects[0], owner)
    sessions_service.open_session(session, owner)
    assert session.state == SessionState.OPEN


def test_one_team_and_any_number_of_principals(app, make_user):
    owner = make_user()
    session = ready_session(owner)
    with pytest.raises(ServiceError, match="已有领导班子“县委领导班子”"):
        roster.add_subject(session, SubjectInput("另一个班子", "", SubjectRole.TEAM), owner)
    db.session.rollback()
    # The 县长 becomes a second 主要负责人 beside the 书记, and a third may be added.
    roster.update_subject(
        session.subjects[2], SubjectInput("李华", "县长", SubjectRole.PRINCIPAL), owner
    )
    roster.add_subject(session, SubjectInput("孙伟", "区长", SubjectRole.PRINCIPAL), owner)
    kinds = [s.kind for s in session.subjects]
    assert kinds.count(SubjectRole.PRINCIPAL) == 3
    assert sessions_service.opening_problems(session) == []
    sessions_service.open_session(session, owner)
    assert session.state == SessionState.OPEN


def test_subjects_move_up_and_down(app, make_user):
    owner = make_user()
    session = ready_session(owner)
    names = lambda: [s.name for s in sorted(session.subjects, key=lambda s: s.position)]  # noqa: E731
    roster.move_subject(session.subjects[2], "up", owner)
    db.session.expire_all()
    assert names() == ["县委领导班子", "李华", "张明"]
    first = next(s for s in session.subjects if s.name == "县委领导班子")
    roster.move_subject(first, "up", owner)  # already first: nothing happens
    roster.move_subject(first, "down", owner)
    db.session.expire_all()
    assert names() == ["李华", "县委领导班子", "张明"]


def test_group_names_are_unique_and_counts_checked(app, make_user):
    owner = make_user()
    session = ready_session(owner)
    with pytest.raises(ServiceError, match="已存在"):
        sessions_service.add_group(session, GroupInput(" 县级领导干部 ", 5), owner)
    db.session.rollback()
    with pytest.raises(ServiceError, match="应到人数"):
        sessions_service.add_group(session, GroupInput("党代表", -1), owner)
    db.session.rollback()
    with pytest.raises(ServiceError, match="#RRGGBB"):
        sessions_service.add_group(session, GroupInput("党代表", 3, "red"), owner)
    db.session.rollback()
    code_service.issue_codes(session.groups[0], 1, owner)
    with pytest.raises(ServiceError, match="已发放1个测评码，不能删除"):
        sessions_service.delete_group(session.groups[0], owner)


def test_cli_close_prints_the_count(app, runner, make_user):
    owner = make_user()
    session = ready_session(owner)
    sessions_service.open_session(session, owner)
    add_ballot(session)
    add_ballot(session)
    result = runner.invoke(args=["close", str(session.id)])
    assert result.exit_code == 0, result.output
    assert "已结束" in result.output
    assert "共收回测评表 2 张" in result.output
    db.session.expire_all()
    assert session.state == SessionState.CLOSED
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "close_session")
    ).one()
    assert entry.user_id is None


def test_cli_close_refuses_unknown_and_not_open_sessions(app, runner, make_user):
    owner = make_user()
    session = ready_session(owner)
    unknown = runner.invoke(args=["close", "999999"])
    assert unknown.exit_code == 1
    assert "不存在" in unknown.output
    draft = runner.invoke(args=["close", str(session.id)])
    assert draft.exit_code == 1
    assert "只有进行中的测评可以结束" in draft.output
    db.session.expire_all()
    assert session.state == SessionState.DRAFT


def test_codes_can_be_issued_while_open_and_voided(app, make_user):
    owner = make_user()
    session = ready_session(owner)
    sessions_service.open_session(session, owner)
    codes = code_service.issue_codes(session.groups[1], 3, owner)
    assert (
        code_service.void_codes(session, f"{codes[0].lower()}\n\n{display_code(codes[1])}", owner)
        == 2
    )
    counts = {c.group.name: c for c in code_service.code_counts(session)}
    assert (counts["部门主要负责人"].issued, counts["部门主要负责人"].void) == (3, 2)
    assert counts["部门主要负责人"].unused == 1
    voided = db.session.scalars(
        sa.select(BallotCode).where(BallotCode.status == CodeStatus.VOID)
    ).all()
    assert all(code.code_sealed is None for code in voided)
