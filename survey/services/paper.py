"""Paper ballots keyed in twice by two clerks; a ballot counts only when both entries agree.

An entry pairs a code with answers, so it is kept like a ballot: sealed to the session key,
and compared with the other clerk's through a digest keyed by a secret derived from that key
(survey/services/sealing.py). Both go when the close destroys the key.
"""

import base64
import json
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from survey.boxes import Opener, seal
from survey.extensions import db
from survey.models import BallotCode, CodeStatus, EvalSession, PaperEntry, SessionState, User
from survey.services import ServiceError
from survey.services.audit import record
from survey.services.ballots import (
    Submission,
    ensure_public_key,
    lookup_code,
    parse_submission,
    store_sealed,
)
from survey.services.sealing import entry_digest, private_key


class PaperOutcome(StrEnum):
    FIRST = "first"
    COUNTED = "counted"
    MISMATCH = "mismatch"


OUTCOME_MESSAGES = {
    PaperOutcome.FIRST: "已录入第一遍，请由另一位录入员再录入一遍核对。",
    PaperOutcome.COUNTED: "两次录入一致，这张纸质测评表已计入。",
    PaperOutcome.MISMATCH: "两次录入不一致，已列入待核对清单，请对照纸质表处理。",
}


@dataclass
class EntryView:
    """One clerk's entry as the organizer sees it when entries disagree: opened for the page."""

    id: int
    clerk: User
    answers: str


@dataclass
class Mismatch:
    code_hash: str
    entries: list[EntryView]


def canonical(submission: Submission) -> str:
    return json.dumps(
        {
            "ratings": sorted([s, i, v] for (s, i), v in submission.ratings.items()),
            "comments": sorted([s, t] for s, t in submission.comments.items()),
            "overall": submission.overall_comment,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def enter_paper_ballot(
    session: EvalSession, clerk: User, typed_code: str, form: dict[str, str]
) -> PaperOutcome:
    """Record one clerk's entry of a paper ballot; count it when a second clerk agrees."""
    if session.state != SessionState.OPEN:
        raise ServiceError("只有测评进行中才能录入纸质测评表。")
    code = lookup_code(typed_code)
    if code is None or code.session_id != session.id:
        raise ServiceError("测评码无效：不是本次测评发放的测评码。")
    if code.status == CodeStatus.VOID:
        raise ServiceError("这个测评码已作废，它的纸质测评表不能计入。")
    if code.status == CodeStatus.USED:
        raise ServiceError("这个测评码已经提交过（在线或纸质），同一测评码只能计一次。")
    submission = parse_submission(session, form)
    answers = canonical(submission)
    public_key = session.ballot_public_key or ensure_public_key(session.id)
    digest = entry_digest(private_key(session.id), answers)
    entries = db.session.scalars(
        sa.select(PaperEntry).where(PaperEntry.code_hash == code.code_hash)
    ).all()
    if any(entry.clerk_id == clerk.id for entry in entries):
        raise ServiceError("您已录入过这张测评表，第二遍须由另一位录入员录入。")
    if any(entry.digest == digest for entry in entries):
        return _count(session, code, public_key, submission, clerk)
    db.session.add(
        PaperEntry(
            session_id=session.id,
            code_hash=code.code_hash,
            clerk_id=clerk.id,
            answers=base64.b64encode(seal(public_key, answers.encode())).decode(),
            digest=digest,
        )
    )
    outcome = PaperOutcome.MISMATCH if entries else PaperOutcome.FIRST
    record(clerk, f"paper_entry_{outcome}", session.id)
    db.session.flush()
    return outcome


def _count(
    session: EvalSession,
    code: BallotCode,
    public_key: str,
    submission: Submission,
    clerk: User,
) -> PaperOutcome:
    claimed = db.session.execute(
        sa.update(BallotCode)
        .where(BallotCode.id == code.id, BallotCode.status == CodeStatus.UNUSED)
        .values(status=CodeStatus.USED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise ServiceError("这个测评码刚刚已被使用，同一测评码只能计一次。")
    store_sealed(session.id, public_key, code.group_id, submission, paper=True)
    db.session.execute(sa.delete(PaperEntry).where(PaperEntry.code_hash == code.code_hash))
    record(clerk, "paper_ballot_counted", session.id)
    db.session.flush()
    return PaperOutcome.COUNTED


def mismatches(session: EvalSession) -> list[Mismatch]:
    """Codes whose entries disagree, for the organizer to settle against the paper."""
    entries = db.session.scalars(
        sa.select(PaperEntry).where(PaperEntry.session_id == session.id).order_by(PaperEntry.id)
    ).all()
    by_code: dict[str, list[PaperEntry]] = {}
    for entry in entries:
        by_code.setdefault(entry.code_hash, []).append(entry)
    disputed = {code: found for code, found in by_code.items() if len(found) > 1}
    if not disputed:
        return []
    opener = Opener(private_key(session.id))
    return [
        Mismatch(code, [_view(opener, entry) for entry in found])
        for code, found in disputed.items()
    ]


def _view(opener: Opener, entry: PaperEntry) -> EntryView:
    try:
        answers = opener.open(base64.b64decode(entry.answers)).decode()
    except ValueError:
        answers = "（无法解开这条录入，请删除后重新录入）"
    return EntryView(entry.id, entry.clerk, answers)


def pending_count(session: EvalSession) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(PaperEntry.code_hash))).where(
            PaperEntry.session_id == session.id
        )
    )


def discard_entry(session: EvalSession, entry_id: int, actor: User) -> None:
    """Drop a wrong entry so that the paper can be keyed again."""
    entry = db.session.get(PaperEntry, entry_id)
    if entry is None or entry.session_id != session.id:
        raise ServiceError("录入记录不存在或已处理。")
    db.session.delete(entry)
    record(actor, "paper_entry_discarded", session.id)
    db.session.flush()
