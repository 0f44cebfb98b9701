"""质询 at a 述责述廉 meeting: attendees question a subject from their phones, anonymously.

The ballot code only proves the asker is an attendee: it must belong to a 述责述廉 session that
is not closed and must not be void (used or unused does not matter). It also caps how many
questions one card may send. What is stored, and what is not:

- `inquiry_quota` holds a count per code, keyed by an HMAC of the code under a purpose of its
  own (not the ballot_code lookup hash), and the session: no question, no link to one, no time.
- `inquiry` holds the question, the subject and the date only, under a random id, in a table
  without SQLite's hidden rowid. The count is taken in one transaction and the question stored
  in the next, so the two rows never share a PostgreSQL transaction id.
- What remains while the meeting runs is the physical order of the rows (PostgreSQL's ctid and
  nearby transaction ids, SQLite's WAL). Every moderation change rewrites all of the session's
  questions in random order in one transaction, which erases that order, as the close does for
  ballots (docs/anonymity.md).

A question the subject will answer in writing is due 7 working days after the meeting (seed
002, 第四项: 会后7个工作日内), counted past weekends and the holidays of the instance
(HOLIDAYS setting) and of the session's season, with 调休 working weekends counted.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app

from survey.clock import today
from survey.domain.workdays import Calendar, parse_calendar
from survey.extensions import db
from survey.models import (
    AnswerMode,
    BallotCode,
    CodeStatus,
    EvalSession,
    Inquiry,
    InquiryQuota,
    MeetingType,
    SessionState,
    Subject,
    SubjectRole,
    User,
)
from survey.security import canonical_code
from survey.services import ServiceError, one_of
from survey.services.anonymity import rewrite_inquiries
from survey.services.audit import record
from survey.services.ballots import lookup_code
from survey.services.history import filed_about
from survey.services.seasons import season_of_session
from survey.services.sessions import visible_sessions
from survey.services.upsert import upsert

DEFAULT_LIMIT = 3
MAX_TEXT = 500
ANSWER_WORKING_DAYS = 7
MAX_ANSWER = 10_000


class InquiryRefused(ServiceError):
    """The code cannot put a question; the message says why."""

    def __init__(self, message: str, status: int, unknown: bool = False):
        super().__init__(message)
        self.status = status
        self.unknown = unknown


def limit_per_code() -> int:
    return int(current_app.config.get("INQUIRY_LIMIT_PER_CODE", DEFAULT_LIMIT))


def quota_key(typed: str) -> str:
    """Key the counter by a hash of the code that cannot be matched to ballot_code's hash."""
    secret = current_app.config["BALLOT_CODE_KEY"].encode()
    message = b"inquiry-quota\x00" + canonical_code(typed).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def session_for_code(typed: str) -> tuple[BallotCode, EvalSession]:
    """Return the code and its session if the code may put questions now, else refuse."""
    code = lookup_code(typed)
    if code is None:
        raise InquiryRefused(
            "没有找到这个测评码，请核对卡片上的字符后重新输入。", 404, unknown=True
        )
    if code.status == CodeStatus.VOID:
        raise InquiryRefused("这个测评码已被组织者作废，不能提问。", 410)
    session = db.session.get(EvalSession, code.session_id)
    if session.meeting_type != MeetingType.SHUZE_SHULIAN:
        raise InquiryRefused("本次测评不是述责述廉会议，不接受质询。", 403)
    if session.state in (SessionState.CLOSING, SessionState.CLOSED):
        raise InquiryRefused("本次会议已结束，不再接受质询。", 410)
    if session.state != SessionState.OPEN:
        raise InquiryRefused("本次会议尚未开始，暂不接受质询。", 409)
    return code, session


def questions_left(typed: str) -> int:
    """Return how many more questions this code may put."""
    used = db.session.scalar(
        sa.select(InquiryQuota.count).where(InquiryQuota.key_hash == quota_key(typed))
    )
    return max(0, limit_per_code() - (used or 0))


def _take_one(key: str, session_id: int, limit: int) -> bool:
    """Add one to the code's count unless it reached the limit; tell whether it was added."""
    table = InquiryQuota.__table__
    statement = upsert(
        table,
        {"key_hash": key, "session_id": session_id, "count": 1},
        key=[table.c.key_hash],
        set_={"count": table.c.count + 1},
        where=table.c.count < limit,
    ).returning(table.c.count)
    # No row comes back when the WHERE refused the update (rowcount is not reliable here).
    return db.session.execute(statement).scalar() is not None


def ask(typed: str, subject_id: int, text: str) -> int:
    """Store a question to a subject; return how many the code has left. Refuse over the cap."""
    _, session = session_for_code(typed)
    subject = db.session.get(Subject, subject_id)
    if subject is None or subject.session_id != session.id or subject.kind == SubjectRole.TEAM:
        raise ServiceError("请选择要质询的述责述廉对象。")
    text = (text or "").strip()
    if not text:
        raise ServiceError("请填写质询的问题。")
    if len(text) > MAX_TEXT:
        raise ServiceError(f"问题不超过{MAX_TEXT}字，请删减后再提交。")
    limit = limit_per_code()
    if not _take_one(quota_key(typed), session.id, limit):
        db.session.rollback()
        raise InquiryRefused(f"每张测评码最多提出{limit}个问题，您已用完。", 429)
    db.session.flush()
    # A transaction of its own: the question shares no transaction id with the counter.
    db.session.add(
        Inquiry(session_id=session.id, subject_id=subject.id, text=text, asked_on=today())
    )
    db.session.flush()
    return questions_left(typed)


# ---- the organizer's side -----------------------------------------------------------------


def inquiries_of(session: EvalSession) -> list[Inquiry]:
    """Return the session's questions by subject, then by text (never by arrival)."""
    rows = db.session.scalars(
        sa.select(Inquiry)
        .join(Subject, Subject.id == Inquiry.subject_id)
        .where(Inquiry.session_id == session.id)
        .order_by(Subject.position, Inquiry.text, Inquiry.id)
    )
    return list(rows)


def on_screen(session: EvalSession) -> list[Inquiry]:
    return [i for i in inquiries_of(session) if i.on_screen]


def get_inquiry(session: EvalSession, inquiry_id: str) -> Inquiry:
    return one_of(Inquiry, inquiry_id, "质询不存在。", session_id=session.id)


def calendar_for(session: EvalSession) -> Calendar:
    """Return the instance's holiday list merged with that of the session's season."""
    calendar = parse_calendar(current_app.config.get("HOLIDAYS", "") or "")
    season = season_of_session(session.id)
    if season is not None and season.holidays:
        calendar = calendar.merged(parse_calendar(season.holidays))
    return calendar


def answer_deadline(session: EvalSession) -> date:
    """Return the due date of a written answer: 7 working days after the meeting."""
    start = session.meeting_date or today()
    return calendar_for(session).add_working_days(start, ANSWER_WORKING_DAYS)


def choose_for_screen(session: EvalSession, chosen: set[str], actor: User) -> int:
    """Show exactly the chosen questions on the meeting screen; return how many."""
    shown = 0
    for inquiry in inquiries_of(session):
        inquiry.on_screen = inquiry.id in chosen
        shown += inquiry.on_screen
    db.session.flush()
    rewrite_inquiries(session)
    record(actor, "choose_inquiries", session.id, f"投屏显示质询{shown}条")
    db.session.flush()
    return shown


def set_mode(session: EvalSession, inquiry_id: str, mode: AnswerMode, actor: User) -> Inquiry:
    """Mark a question answered on site, to be answered in writing (with its deadline), or open."""
    inquiry = get_inquiry(session, inquiry_id)
    inquiry.mode = mode
    inquiry.due_on = answer_deadline(session) if mode == AnswerMode.WRITTEN else None
    if mode != AnswerMode.WRITTEN:
        inquiry.answer = inquiry.answered_on = None
    due = inquiry.due_on
    db.session.flush()
    rewrite_inquiries(session)
    detail = mode.label + (f"，限{due.isoformat()}前书面答复" if due else "")
    record(actor, "inquiry_mode", session.id, detail)
    db.session.flush()
    return get_inquiry(session, inquiry_id)


def record_answer(session: EvalSession, inquiry_id: str, text: str, actor: User) -> None:
    """Record the subject's written answer to a question (filed with the 督查 department)."""
    inquiry = get_inquiry(session, inquiry_id)
    if inquiry.mode != AnswerMode.WRITTEN:
        raise ServiceError("只有“会后书面答复”的质询需要登记书面答复。")
    text = (text or "").strip()
    if not text or len(text) > MAX_ANSWER:
        raise ServiceError(f"请填写书面答复（不超过{MAX_ANSWER}字）。")
    inquiry.answer, inquiry.answered_on = text, today()
    db.session.flush()
    rewrite_inquiries(session)
    record(actor, "inquiry_answer", session.id, f"登记书面答复（{len(text)}字）")
    db.session.flush()


@dataclass
class OverdueInquiry:
    inquiry: Inquiry
    session: EvalSession
    working_days_late: int


def overdue_inquiries(user: User) -> list[OverdueInquiry]:
    """List written answers past their deadline in the sessions this user may see."""
    sessions = {s.id: s for s in visible_sessions(user)}
    now = today()
    rows = db.session.scalars(
        sa.select(Inquiry)
        .where(
            Inquiry.session_id.in_(sessions),
            Inquiry.mode == AnswerMode.WRITTEN,
            Inquiry.answer.is_(None),
            Inquiry.due_on < now,
        )
        .order_by(Inquiry.due_on, Inquiry.id)
    )
    found = []
    for inquiry in rows:
        session = sessions[inquiry.session_id]
        late = calendar_for(session).working_days_between(inquiry.due_on, now)
        found.append(OverdueInquiry(inquiry, session, late))
    return found


def inquiries_about(user: User, name: str) -> list[tuple[EvalSession, Inquiry]]:
    """Return the questions put to a person (by name) in the sessions this user may see."""
    return filed_about(user, name, Inquiry, Inquiry.asked_on.desc(), Inquiry.text)
