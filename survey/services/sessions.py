"""Evaluation sessions: who may see them, their setup while draft, and draft → open → closed.

Everything that shapes a ballot (subjects, groups, questionnaire, rule set) can change only
while the session is a draft; the checks live here, not in the pages, so no request can slip
past them. Opening freezes the questionnaire; closing anonymises the ballots.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app

from survey.clock import in_beijing, today
from survey.domain import DEFAULT_RULESET_ID, shipped_rulesets
from survey.domain.questionnaire import Questionnaire, QuestionnaireError, from_document, shipped
from survey.extensions import db
from survey.models import (
    AuditEntry,
    BallotCode,
    EvalSession,
    GrantLevel,
    MeetingType,
    RaterGroup,
    Role,
    SessionGrant,
    SessionState,
    Subject,
    SubjectRole,
    User,
    utcnow,
)
from survey.services import NotAllowed, NotFound, ServiceError, closing, one_of
from survey.services.access import visible_to
from survey.services.audit import action_label, record
from survey.services.ballots import ballot_count
from survey.services.codes import lock_session
from survey.services.sealing import create_session_key

# China has no daylight saving time, so a fixed offset is exact.

DEFAULT_QUESTIONNAIRES = {
    MeetingType.REPORT_EVALUATE: "dangfeng-zerenzhi",
    MeetingType.SHUZE_SHULIAN: "shuze-shulian",
    MeetingType.RISK_PREVENTION: "lianjie-fengxian",
}
DEFAULT_RULE_SETS = {
    MeetingType.REPORT_EVALUATE: DEFAULT_RULESET_ID,
    MeetingType.SHUZE_SHULIAN: DEFAULT_RULESET_ID,
    MeetingType.RISK_PREVENTION: "integrity-risk-grades",
}
GROUP_COLOURS = ("#c0392b", "#2471a3", "#1e8449", "#b9770e", "#7d3c98", "#117a65", "#5d6d7e")
COLOUR_RE = re.compile(r"#[0-9a-fA-F]{6}")
MAX_EXPECTED = 10000


# ---- who may see what ---------------------------------------------------------------------


def visible_sessions(user: User) -> list[EvalSession]:
    """Return the sessions this user may open, newest first."""
    newest_first = (EvalSession.created_at.desc(), EvalSession.id.desc())
    return visible_to(user, EvalSession, SessionGrant.session_id, *newest_first)


def get_for(user: User, session_id: int, *, organize: bool) -> EvalSession:
    """Return a session the user may act on; organize=True asks for organizer rights.

    A session the user has no business with is reported as missing (404), so that its
    existence does not leak; a granted assessor asking to organize gets 403.
    """
    session = db.session.get(EvalSession, session_id)
    if session is None:
        raise NotFound("测评不存在。")
    if user.role == Role.ADMIN or session.owner_id == user.id:
        return session
    grant = db.session.get(SessionGrant, (session_id, user.id))
    if grant is None:
        raise NotFound("测评不存在。")
    if organize and (grant.level != GrantLevel.ORGANIZE or user.role != Role.ORGANIZER):
        raise NotAllowed("您没有组织此测评的权限。")
    return session


def can_organize(user: User, session: EvalSession) -> bool:
    """Tell whether the user holds organizer rights on the session."""
    try:
        get_for(user, session.id, organize=True)
    except ServiceError:
        return False
    return user.role in (Role.ADMIN, Role.ORGANIZER)


# ---- choices the organizer picks from -----------------------------------------------------


def rule_set_choices() -> list[tuple[str, str]]:
    """Return the selectable rule sets as ("id:version", label): the one place to change."""
    return [(f"{r.id}:{r.version}", r.label) for r in shipped_rulesets()]


def questionnaire_choices() -> list[tuple[str, str]]:
    """Return the shipped questionnaires as (key, "title（版本 n）")."""
    return [(key, f"{q.title}（版本 {q.version}）") for key, q in sorted(shipped().items())]


def default_rule_set(meeting_type: MeetingType) -> str:
    """Return the "id:version" used when the organizer leaves the rule set to the meeting type."""
    wanted = DEFAULT_RULE_SETS[meeting_type]
    latest = [value for value, _ in rule_set_choices() if value.split(":")[0] == wanted]
    if not latest:
        raise ServiceError(f"找不到默认规则集 {wanted}，请选择规则集。")
    return latest[-1]


# ---- setting a session up -----------------------------------------------------------------


@dataclass(frozen=True)
class SessionInput:
    """What the session form says; empty rule_set / questionnaire mean "by meeting type"."""

    title: str
    unit: str = ""
    meeting_date: date | None = None
    meeting_type: MeetingType = MeetingType.REPORT_EVALUATE
    rule_set: str = ""
    questionnaire: str = ""


def _checked(data: SessionInput) -> tuple[str, str, str, str]:
    """Return (title, unit, rule key, rule version) or refuse the input."""
    title, unit = " ".join(data.title.split()), data.unit.strip()
    if not title:
        raise ServiceError("请填写测评名称。")
    if len(title) > 200 or len(unit) > 200:
        raise ServiceError("测评名称和单位均不能超过200字。")
    choice = data.rule_set or default_rule_set(data.meeting_type)
    if choice not in dict(rule_set_choices()):
        raise ServiceError("请选择列表中的规则集。")
    key, version = choice.split(":", 1)
    return title, unit, key, version


def create_session(owner: User, data: SessionInput) -> EvalSession:
    """Create a draft session with the questionnaire of its choice (or of its meeting type)."""
    title, unit, key, version = _checked(data)
    questionnaire_key = data.questionnaire or DEFAULT_QUESTIONNAIRES[data.meeting_type]
    questionnaire = shipped().get(questionnaire_key)
    if questionnaire is None:
        raise ServiceError("请选择列表中的测评表。")
    session = EvalSession(
        title=title,
        unit=unit,
        meeting_date=data.meeting_date,
        meeting_type=data.meeting_type,
        owner=owner,
        rule_set_key=key,
        rule_set_version=version,
        questionnaire=questionnaire.canonical_json(),
        min_group_size=current_app.config["MIN_GROUP_SIZE"],
    )
    db.session.add(session)
    db.session.flush()
    record(owner, "create_session", session.id, title)
    db.session.flush()
    return session


def update_session(session: EvalSession, data: SessionInput, actor: User | None) -> None:
    """Change a draft session's title, unit, date, meeting type and rule set."""
    require_draft(session, "测评信息")
    title, unit, key, version = _checked(data)
    session.title, session.unit, session.meeting_date = title, unit, data.meeting_date
    session.meeting_type = data.meeting_type
    session.rule_set_key, session.rule_set_version = key, version
    record(actor, "update_session", session.id, title)
    db.session.flush()


def copy_session(
    source: EvalSession, owner: User, title: str, meeting_date: date | None
) -> EvalSession:
    """Start a new draft from an earlier session: its setup, never its codes or ballots."""
    title = " ".join(title.split())
    if not title:
        raise ServiceError("请填写新测评的名称。")
    if len(title) > 200:
        raise ServiceError("测评名称不能超过200字。")
    copy = EvalSession(
        title=title,
        unit=source.unit,
        meeting_date=meeting_date,
        meeting_type=source.meeting_type,
        owner=owner,
        rule_set_key=source.rule_set_key,
        rule_set_version=source.rule_set_version,
        # A frozen questionnaire becomes editable again in the copy; its hash is set at opening.
        questionnaire=source.questionnaire,
        min_group_size=source.min_group_size,
        copied_from_id=source.id,
    )
    copy.groups = [
        RaterGroup(
            name=g.name,
            expected_count=g.expected_count,
            position=g.position,
            colour=g.colour,
            weight=g.weight,
        )
        for g in source.groups
    ]
    # Written reports are this year's: they are not copied.
    copy.subjects = [
        Subject(name=s.name, post=s.post, kind=s.kind, position=s.position) for s in source.subjects
    ]
    db.session.add(copy)
    db.session.flush()
    record(owner, "copy_session", copy.id, f"复制自“{source.title}”（编号 {source.id}）")
    db.session.flush()
    return copy


def require_draft(session: EvalSession, what: str) -> None:
    """Refuse any change to what shapes the ballot once the session has opened."""
    lock_session(session)
    if session.state == SessionState.OPEN:
        raise ServiceError(
            f"测评已开始，不能再修改{what}。如确需修改，请结束本次测评后复制为新测评。"
        )
    if session.state in (SessionState.CLOSING, SessionState.CLOSED):
        raise ServiceError(f"测评已结束，不能再修改{what}。")


# ---- rater groups -------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupInput:
    name: str
    expected_count: int
    colour: str = ""


def _checked_group(session: EvalSession, data: GroupInput, group: RaterGroup | None) -> str:
    name = " ".join(data.name.split())
    if not name:
        raise ServiceError("请填写参评人员类别名称。")
    if len(name) > 100:
        raise ServiceError("参评人员类别名称不能超过100字。")
    if not isinstance(data.expected_count, int) or not 0 <= data.expected_count <= MAX_EXPECTED:
        raise ServiceError(f"应到人数应为0到{MAX_EXPECTED}之间的整数。")
    if data.colour and not COLOUR_RE.fullmatch(data.colour):
        raise ServiceError("颜色应写成 #RRGGBB 的形式。")
    if any(g.name == name and g is not group for g in session.groups):
        raise ServiceError(f"参评人员类别“{name}”已存在。")
    return name


def add_group(session: EvalSession, data: GroupInput, actor: User | None) -> RaterGroup:
    """Add a rater group with its expected count (应到) and card colour."""
    require_draft(session, "参评人员类别")
    name = _checked_group(session, data, None)
    colour = data.colour or GROUP_COLOURS[len(session.groups) % len(GROUP_COLOURS)]
    position = max((g.position for g in session.groups), default=-1) + 1
    group = RaterGroup(
        name=name, expected_count=data.expected_count, colour=colour.lower(), position=position
    )
    session.groups.append(group)
    record(actor, "add_group", session.id, f"{name}，应到{data.expected_count}人")
    db.session.flush()
    return group


def update_group(group: RaterGroup, data: GroupInput, actor: User | None) -> None:
    """Change a group's name, expected count or colour while the session is a draft."""
    require_draft(group.session, "参评人员类别")
    name = _checked_group(group.session, data, group)
    group.name, group.expected_count = name, data.expected_count
    if data.colour:
        group.colour = data.colour.lower()
    record(actor, "update_group", group.session_id, f"{name}，应到{data.expected_count}人")
    db.session.flush()


def delete_group(group: RaterGroup, actor: User | None) -> None:
    """Remove a draft session's group, unless codes were already issued for it."""
    session = group.session
    require_draft(session, "参评人员类别")
    issued = db.session.scalar(
        sa.select(sa.func.count()).select_from(BallotCode).where(BallotCode.group_id == group.id)
    )
    if issued:
        raise ServiceError(f"“{group.name}”已发放{issued}个测评码，不能删除。")
    session.groups.remove(group)
    record(actor, "delete_group", session.id, group.name)
    db.session.flush()


def get_group(session: EvalSession, group_id: int) -> RaterGroup:
    """Return one of the session's groups, or 404."""
    return one_of(RaterGroup, group_id, "参评人员类别不存在。", session_id=session.id)


# ---- the questionnaire --------------------------------------------------------------------


def questionnaire_of(session: EvalSession) -> Questionnaire | None:
    """Return the session's questionnaire, or None if it has none that holds together."""
    try:
        return session.frozen_questionnaire()
    except (QuestionnaireError, ValueError):
        return None


def use_questionnaire(session: EvalSession, key: str, actor: User | None) -> None:
    """Replace a draft session's questionnaire with a shipped one."""
    require_draft(session, "测评表")
    questionnaire = shipped().get(key)
    if questionnaire is None:
        raise ServiceError("请选择列表中的测评表。")
    session.questionnaire = questionnaire.canonical_json()
    record(
        actor,
        "use_questionnaire",
        session.id,
        f"{questionnaire.title}（版本 {questionnaire.version}）",
    )
    db.session.flush()


@dataclass(frozen=True)
class QuestionnaireWording:
    """The parts of a questionnaire an organizer may reword before opening."""

    title: str
    instructions: str
    item_labels: dict[str, str]
    comment_per_subject: bool
    comment_overall: bool
    comment_max_length: int


def reword_questionnaire(
    session: EvalSession, wording: QuestionnaireWording, actor: User | None
) -> None:
    """Change the title, instructions, item labels and comment settings before opening."""
    require_draft(session, "测评表")
    current = questionnaire_of(session)
    if current is None:
        raise ServiceError("本测评还没有可用的测评表，请先选用一个测评表。")
    document = current.to_document()
    document["title"] = " ".join(wording.title.split())
    document["instructions"] = wording.instructions.strip()
    for item in document["items"]:
        label = " ".join(wording.item_labels.get(item["key"], item["label"]).split())
        if len(label) > 200:
            raise ServiceError("测评项目名称不能超过200字。")
        item["label"] = label
    if len(document["title"]) > 200 or len(document["instructions"]) > 2000:
        raise ServiceError("测评表标题不能超过200字，填表说明不能超过2000字。")
    document["comments"] = {
        "per_subject": wording.comment_per_subject,
        "overall": wording.comment_overall,
        "max_length": wording.comment_max_length,
    }
    try:
        questionnaire = from_document(document)
    except QuestionnaireError as error:
        raise ServiceError(str(error)) from None
    session.questionnaire = questionnaire.canonical_json()
    record(actor, "update_questionnaire", session.id, questionnaire.title)
    db.session.flush()


# ---- draft → open → closed ----------------------------------------------------------------


def opening_problems(session: EvalSession) -> list[str]:
    """List what stops the session from opening (empty when it may open)."""
    problems = []
    if session.state != SessionState.DRAFT:
        problems.append(f"只有准备中的测评可以开始，当前状态：{session.state.label}。")
    questionnaire = questionnaire_of(session)
    if questionnaire is None:
        problems.append("测评表无法使用，请重新选用测评表。")
    if not session.subjects:
        problems.append("请先添加测评对象。")
    if not session.groups:
        problems.append("请先添加参评人员类别。")
    kinds = [s.kind for s in session.subjects]
    if kinds.count(SubjectRole.TEAM) > 1:
        problems.append("每次测评只能有一个领导班子。")
    # Any number of 主要负责人 (书记 and 县长 alike), and a session of members only (述责述廉 of a
    # group of cadres) are valid shapes: the team's items are then simply not asked.
    if questionnaire is not None:
        for subject in session.subjects:
            if not questionnaire.items_for(subject.kind):
                problems.append(
                    f"测评表“{questionnaire.title}”中没有适用于{subject.kind.label}的测评项目，"
                    f"请删除测评对象“{subject.name}”或换用测评表。"
                )
    return problems


def open_session(session: EvalSession, actor: User | None) -> None:
    """Freeze the questionnaire and start accepting ballots."""
    lock_session(session)
    problems = opening_problems(session)
    if problems:
        raise ServiceError(" ".join(problems))
    questionnaire = questionnaire_of(session)
    session.questionnaire = questionnaire.canonical_json()
    session.questionnaire_sha256 = questionnaire.sha256()
    session.state = SessionState.OPEN
    session.opened_at = utcnow()
    if session.meeting_date is None:
        # The evaluation takes place at the meeting it is opened for: a session created
        # without a date (a season creates its units' sessions long before their meetings)
        # carries the day it opened, which the seal at close then covers and every report
        # prints as its 测评日期.
        session.meeting_date = today()
    # Ballots are sealed to this key until the close (survey/services/sealing.py).
    session.ballot_public_key = create_session_key(session.id)
    record(actor, "open_session", session.id, f"测评表 SHA-256 {session.questionnaire_sha256}")
    db.session.flush()


def close_session(session: EvalSession, actor: User | None) -> int:
    """Stop accepting ballots, open and shuffle them, scrub, and return how many were received.

    Resumes a close left 正在结束 by a crash or timeout; see survey/services/closing.py.
    """
    return closing.close_session(session, actor)


# ---- during and after the meeting ---------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What the meeting screen shows: the state and how many ballots came in, no tallies."""

    state: SessionState
    submitted: int
    expected: int

    def to_json(self) -> dict:
        return {
            "state": self.state.value,
            "state_label": self.state.label,
            "submitted": self.submitted,
            "expected": self.expected,
        }


def progress(session: EvalSession) -> Progress:
    """Count the session's ballots against its expected attendance (应到)."""
    submitted = ballot_count(session.id)
    expected = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(RaterGroup.expected_count), 0)).where(
            RaterGroup.session_id == session.id
        )
    )
    state = db.session.scalar(sa.select(EvalSession.state).where(EvalSession.id == session.id))
    return Progress(SessionState(state), int(submitted), int(expected))


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    who: str
    action: str
    detail: str


def audit_log(session: EvalSession) -> list[AuditLine]:
    """Return the session's audit entries, newest first, in Beijing time and in Chinese."""
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.session_id == session.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    return [
        AuditLine(
            at=in_beijing(entry.at),
            who=(entry.user.display_name or entry.user.username) if entry.user else "命令行",
            action=action_label(entry.action),
            detail=entry.detail,
        )
        for entry in entries
    ]
