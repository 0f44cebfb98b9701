"""整改 (rectification): from a subject's feedback to items with deadlines and the subject's report.

Seed 002, 第四项: the opinions raised at a 述责述廉 meeting are fed back in writing to the
subject, who must rectify by a deadline; the rectification is filed. The feedback is the
意见建议 of a closed session (SubjectResult.comments); the organizer turns what needs fixing
into items, records the subject's report against each, and sees what is overdue.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from survey.clock import today
from survey.extensions import db
from survey.models import EvalSession, RectificationItem, SessionState, Subject, User
from survey.services import NotFound, ServiceError, one_of
from survey.services.audit import record
from survey.services.history import filed_about
from survey.services.results import compute_results, require_closed
from survey.services.sessions import visible_sessions

MAX_ISSUE = 2000
MAX_REPORT = 20_000


def feedback(session: EvalSession, subject: Subject) -> list[str]:
    """Return the 意见建议 written about a subject on the ballots of a closed session."""
    require_closed(session)
    results = compute_results(session)
    row = next((r for r in results.subjects if r.spec.id == subject.id), None)
    return row.comments if row else []


def items_of(session: EvalSession, subject: Subject | None = None) -> list[RectificationItem]:
    query = sa.select(RectificationItem).where(RectificationItem.session_id == session.id)
    if subject is not None:
        query = query.where(RectificationItem.subject_id == subject.id)
    return list(db.session.scalars(query.order_by(RectificationItem.due_on, RectificationItem.id)))


def get_item(session: EvalSession, item_id: int) -> RectificationItem:
    return one_of(RectificationItem, item_id, "整改事项不存在。", session_id=session.id)


def add_item(
    session: EvalSession, subject: Subject, issue: str, due_on: date | None, actor: User
) -> RectificationItem:
    """Record an item the subject must rectify, with its deadline."""
    if session.state != SessionState.CLOSED:
        raise ServiceError("测评结束、意见建议反馈后才能登记整改事项。")
    if subject.session_id != session.id:
        raise NotFound("测评对象不存在。")
    issue = (issue or "").strip()
    if not issue or len(issue) > MAX_ISSUE:
        raise ServiceError(f"请填写整改事项（不超过{MAX_ISSUE}字）。")
    if due_on is None:
        raise ServiceError("请填写整改期限。")
    item = RectificationItem(
        session_id=session.id,
        subject_id=subject.id,
        issue=issue,
        due_on=due_on,
        created_by_id=actor.id,
    )
    db.session.add(item)
    record(actor, "add_rectification", session.id, f"{subject.name}：整改期限{due_on.isoformat()}")
    db.session.flush()
    return item


def record_report(session: EvalSession, item_id: int, text: str, actor: User) -> None:
    """Record the subject's rectification report (整改情况) against an item."""
    item = get_item(session, item_id)
    text = (text or "").strip()
    if not text or len(text) > MAX_REPORT:
        raise ServiceError(f"请填写整改情况报告（不超过{MAX_REPORT}字）。")
    item.report, item.reported_on = text, today()
    record(actor, "rectification_report", session.id, f"{item.subject.name}：登记整改情况")
    db.session.flush()


def is_overdue(item: RectificationItem, on: date | None = None) -> bool:
    return item.report is None and item.due_on < (on or today())


@dataclass
class PersonItem:
    session: EvalSession
    item: RectificationItem

    @property
    def overdue(self) -> bool:
        return is_overdue(self.item)


def overdue_items(user: User) -> list[PersonItem]:
    """List items past their deadline without a report, in the sessions this user may see."""
    sessions = {s.id: s for s in visible_sessions(user)}
    rows = db.session.scalars(
        sa.select(RectificationItem)
        .where(
            RectificationItem.session_id.in_(sessions),
            RectificationItem.report.is_(None),
            RectificationItem.due_on < today(),
        )
        .order_by(RectificationItem.due_on, RectificationItem.id)
    )
    return [PersonItem(sessions[item.session_id], item) for item in rows]


def items_about(user: User, name: str) -> list[PersonItem]:
    """Return a person's rectification items (by name) in the sessions this user may see."""
    filed = filed_about(
        user, name, RectificationItem, RectificationItem.due_on.desc(), RectificationItem.id
    )
    return [PersonItem(session, item) for session, item in filed]
