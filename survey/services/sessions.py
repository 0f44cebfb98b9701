"""Evaluation sessions: who may see them, and the moves between draft, open and closed."""

import json

import sqlalchemy as sa

from survey.domain.questionnaire import from_document
from survey.extensions import db
from survey.models import (
    EvalSession,
    GrantLevel,
    Role,
    SessionGrant,
    SessionState,
    User,
    utcnow,
)
from survey.services import NotAllowed, NotFound, ServiceError
from survey.services.audit import record


def visible_sessions(user: User) -> list[EvalSession]:
    """Return the sessions this user may open, newest first."""
    query = sa.select(EvalSession).order_by(EvalSession.created_at.desc(), EvalSession.id.desc())
    if user.role != Role.ADMIN:
        granted = sa.select(SessionGrant.session_id).where(SessionGrant.user_id == user.id)
        query = query.where(sa.or_(EvalSession.owner_id == user.id, EvalSession.id.in_(granted)))
    return list(db.session.scalars(query))


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


def open_session(session: EvalSession, actor: User | None) -> None:
    """Freeze the questionnaire and start accepting ballots."""
    if session.state != SessionState.DRAFT:
        raise ServiceError(f"只有准备中的测评可以开始，当前状态：{session.state.label}。")
    if not session.subjects:
        raise ServiceError("请先添加测评对象。")
    if not session.groups:
        raise ServiceError("请先添加参评人员类别。")
    questionnaire = from_document(json.loads(session.questionnaire))
    session.questionnaire = questionnaire.canonical_json()
    session.questionnaire_sha256 = questionnaire.sha256()
    session.state = SessionState.OPEN
    session.opened_at = utcnow()
    record(actor, "open_session", session.id)
    db.session.commit()
