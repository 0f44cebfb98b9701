"""A person's 廉政档案 view: their results across sessions and years, and what was filed
about them."""

from dataclasses import dataclass

import sqlalchemy as sa

from survey.domain.evaluation import SubjectResult
from survey.extensions import db
from survey.models import EvalSession, SessionState, Subject, User
from survey.services.results import compute_results
from survey.services.sessions import visible_sessions


@dataclass
class HistoryLine:
    session: EvalSession
    result: SubjectResult
    seal: str | None


def person_history(user: User, name: str) -> list[HistoryLine]:
    """Return every closed session this user may see in which `name` was rated, newest first."""
    visible = {s.id for s in visible_sessions(user) if s.state == SessionState.CLOSED}
    sessions = db.session.scalars(
        sa.select(EvalSession)
        .join(Subject, Subject.session_id == EvalSession.id)
        .where(Subject.name == name, EvalSession.id.in_(visible))
        .order_by(EvalSession.meeting_date.desc(), EvalSession.id.desc())
        .distinct()
    ).all()
    lines = []
    for session in sessions:
        results = compute_results(session)
        lines.extend(
            HistoryLine(session, row, session.seal)
            for row in results.subjects
            if row.spec.name == name
        )
    return lines


def filed_about(user: User, name: str, model, *order_by) -> list[tuple[EvalSession, object]]:
    """Return what was filed about `name` as a subject (`model`: the questions put to them,
    their rectification items), each with its session, in the sessions this user may see."""
    sessions = {s.id: s for s in visible_sessions(user)}
    rows = db.session.scalars(
        sa.select(model)
        .join(Subject, Subject.id == model.subject_id)
        .where(Subject.name == name, model.session_id.in_(sessions))
        .order_by(*order_by)
    )
    return [(sessions[row.session_id], row) for row in rows]
