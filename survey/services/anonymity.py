"""Cut every link between a ballot and the code or the moment it was cast.

While a session is open, a ballot's physical place in the database (SQLite's pages and WAL,
PostgreSQL's ctid and the xmin it shares with the code it used up) follows the order of voting.
At close the ballots are rewritten in random order in the closing transaction, and the old
copies are then scrubbed from the files. See docs/anonymity.md.
"""

import logging
import secrets
import time

import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    Answer,
    Ballot,
    BallotCode,
    EvalSession,
    Inquiry,
    InquiryQuota,
    PaperEntry,
    random_id,
)

# Tables whose rows could betray the order of voting or asking until rewritten at close.
REWRITTEN_AT_CLOSE = ("answer", "ballot", "ballot_code", "paper_entry", "inquiry", "inquiry_quota")


def rewrite_ballots(session: EvalSession) -> int:
    """Re-insert the session's ballots under new random ids, in random order; return the count.

    Runs inside the caller's transaction (the close), so the ballots never exist twice.
    """
    in_session = Ballot.session_id == session.id
    ballots = db.session.execute(
        sa.select(Ballot.id, Ballot.group_id, Ballot.paper, Ballot.comment).where(in_session)
    ).all()
    answers: dict[str, list[tuple]] = {ballot.id: [] for ballot in ballots}
    for row in db.session.execute(
        sa.select(Answer.ballot_id, Answer.subject_id, Answer.item, Answer.value, Answer.comment)
        .join(Ballot, Ballot.id == Answer.ballot_id)
        .where(in_session)
    ):
        answers[row.ballot_id].append(row)
    secrets.SystemRandom().shuffle(ballots)

    db.session.execute(
        sa.delete(Answer).where(Answer.ballot_id.in_(sa.select(Ballot.id).where(in_session)))
    )
    db.session.execute(sa.delete(Ballot).where(in_session))
    db.session.expire_all()
    new_ballots, new_answers = [], []
    for ballot in ballots:  # in the shuffled order, under fresh random ids
        new_id = random_id()
        new_ballots.append(
            {
                "id": new_id,
                "session_id": session.id,
                "group_id": ballot.group_id,
                "paper": ballot.paper,
                "comment": ballot.comment,
            }
        )
        new_answers.extend(
            {
                "ballot_id": new_id,
                "subject_id": a.subject_id,
                "item": a.item,
                "value": a.value,
                "comment": a.comment,
            }
            for a in answers[ballot.id]
        )
    if new_ballots:
        db.session.execute(sa.insert(Ballot), new_ballots)
    if new_answers:
        db.session.execute(sa.insert(Answer), new_answers)
    # Nothing may lead back to a code once voting is over: drop the reprintable copies, the
    # receipts of submissions, and paper entries that never found a matching second entry.
    db.session.execute(sa.delete(PaperEntry).where(PaperEntry.session_id == session.id))
    db.session.execute(
        sa.update(BallotCode)
        .where(BallotCode.session_id == session.id)
        .values(code_sealed=None, submit_token_hash=None)
    )
    return len(ballots)


def scrub_storage() -> None:
    """Clear old row versions out of the database files, after the closing commit."""
    # A transaction still open in this session would pin the old WAL frames.
    db.session.commit()
    engine = db.engine
    if engine.dialect.name == "sqlite":
        # secure_delete (set on every connection) zeroed the freed pages; fold the WAL, which
        # held the ballots in commit order, back into the file and empty it, then rebuild.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            _checkpoint_truncate(connection)
            connection.exec_driver_sql("VACUUM")
            _checkpoint_truncate(connection)
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in (
                "answer",
                "ballot",
                "ballot_code",
                "paper_entry",
                "inquiry",
                "inquiry_quota",
            ):
                connection.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {table}")


def _checkpoint_truncate(connection, attempts: int = 50) -> None:
    """Empty the WAL; another worker's read in progress only delays it."""
    for _ in range(attempts):
        busy, _frames, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if not busy:
            return
        time.sleep(0.1)
    # The close has committed; say so loudly, the next close or checkpoint will finish the job.
    logging.getLogger(__name__).warning("WAL not emptied after close: a reader stayed open 5 s")


def rewrite_inquiries(session: EvalSession) -> None:
    """Re-insert the session's questions in random order, inside the caller's transaction."""
    rows = [
        {c.name: getattr(inquiry, c.name) for c in Inquiry.__table__.columns}
        for inquiry in db.session.scalars(
            sa.select(Inquiry).where(Inquiry.session_id == session.id)
        )
    ]
    secrets.SystemRandom().shuffle(rows)
    db.session.execute(sa.delete(Inquiry).where(Inquiry.session_id == session.id))
    db.session.expire_all()
    if rows:
        db.session.execute(sa.insert(Inquiry), rows)


def forget_askers(session: EvalSession) -> None:
    """At close: drop the per-code counters and put the questions in random order."""
    db.session.execute(sa.delete(InquiryQuota).where(InquiryQuota.session_id == session.id))
    rewrite_inquiries(session)
