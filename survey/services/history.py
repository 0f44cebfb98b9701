"""A person's 廉政档案 view: their results across sessions and years."""

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
